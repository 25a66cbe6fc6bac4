/* Writer: exact text of FORMAT.md §1/§2 lines, gzip, mode 0600, escapes, floats. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "common/json.h"
#include "trace/trace.h"
/* unit.h RUN() trips -Wmisleading-indentation (reported to the lead) */
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#include "unit.h"

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	gzFile g = gzopen(path, "rb");	/* reads plain files too */
	int n = gzread(g, buf, sizeof(buf) - 1);
	gzclose(g);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static struct lt_exec *sample(void)
{
	struct lt_exec *e = lt_exec_new();
	e->id = 7;
	e->pid = 123;
	e->tid = 124;
	e->start_ns = 1000;
	e->dur_ns = 5000;
	struct lt_node *r = lt_node_new(e, lt_intern("<thread>"));
	r->synthetic = true;
	r->dur_ns = 99;	/* synthetic: must not be written */
	e->root = r;
	struct lt_node *a = lt_node_new(e, lt_intern("JpegImageFile._open"));
	a->file = lt_intern("/x/PIL/JpegImagePlugin.py");
	a->line = 339;
	a->has_ret = true;
	a->ret.type = lt_intern("int");
	a->ret.kind = LT_V_INT;
	a->ret.u.i = 100;
	a->dur_ns = 1234;
	lt_node_append(r, a);
	struct lt_node *b = lt_node_new(e, lt_intern("f.<locals>.g"));
	b->has_ret = true;
	b->ret.type = lt_intern("float");
	b->ret.kind = LT_V_FLOAT;
	b->ret.u.f = NAN;
	b->ret.yield = true;
	b->truncated_calls = 3;
	lt_node_append(a, b);
	struct lt_node *c = lt_node_new(e, lt_intern("h"));
	c->has_ret = true;
	c->ret.type = lt_intern("str");
	c->ret.kind = LT_V_STR;
	c->ret.s = lt_arena_strndup(&e->arena, "a\"\\\n\x01\xc3\xa9\xff", 8);
	c->ret.slen = 8;
	c->ret.truncated = true;
	c->nargs = 3;
	c->args = lt_arena_alloc(&e->arena, 3 * sizeof(struct lt_value));
	c->args[0].type = lt_intern("int");
	c->args[0].kind = LT_V_BIGINT;
	c->args[0].s = "-123456789012345678901234567890";
	c->args[1].type = lt_intern("bool");
	c->args[1].kind = LT_V_BOOL;
	c->args[1].u.b = false;
	c->args[2].type = lt_intern("numpy.ndarray");
	lt_node_append(a, c);
	struct lt_node *d = lt_node_new(e, lt_intern("boom"));
	d->has_ret = true;
	d->ret.type = lt_intern("<raise>");
	d->dur_ns = 0;
	lt_node_append(r, d);
	return e;
}

static const char *expect =
	"{\"type\":\"header\",\"format\":1,\"tool\":\"leaktrace\",\"python\":\"3.11.2\",\"pid\":123,\"root\":\"predict\",\"argv\":[\"python3\",\"x y\"],\"start\":\"2026-11-25T10:00:00Z\"}\n"
	"{\"type\":\"exec\",\"id\":7,\"pid\":123,\"tid\":124,\"start_ns\":1000,\"dur_ns\":5000,\"complete\":true,\"root\":"
	"{\"fn\":\"<thread>\",\"synthetic\":true,\"calls\":["
	"{\"fn\":\"JpegImageFile._open\",\"file\":\"/x/PIL/JpegImagePlugin.py\",\"line\":339,\"ret\":{\"type\":\"int\",\"value\":100},\"dur_ns\":1234,\"calls\":["
	"{\"fn\":\"f.<locals>.g\",\"ret\":{\"type\":\"float\",\"value\":\"nan\",\"yield\":true},\"truncated_calls\":3},"
	"{\"fn\":\"h\",\"ret\":{\"type\":\"str\",\"value\":\"a\\\"\\\\\\n\\u0001\xc3\xa9\\ufffd\",\"truncated\":true},"
	"\"args\":[{\"type\":\"int\",\"value\":\"-123456789012345678901234567890\"},{\"type\":\"bool\",\"value\":false},{\"type\":\"numpy.ndarray\"}]}]},"
	"{\"fn\":\"boom\",\"ret\":{\"type\":\"<raise>\"},\"dur_ns\":0}]}}\n"
	"{\"type\":\"stats\",\"execs\":1,\"calls\":4,\"lost_events\":2,\"incomplete_execs\":0,\"truncated_strings\":1}\n";

static void write_file(const char *path)
{
	const char *argv[] = { "python3", "x y" };
	struct lt_header h = { .format = 1, .python = "3.11.2", .pid = 123, .root = "predict",
			       .argc = 2, .argv = argv, .start = "2026-11-25T10:00:00Z" };
	struct lt_stats s = { .execs = 1, .calls = 4, .lost_events = 2, .truncated_strings = 1 };
	struct lt_writer *w = lt_writer_open(path);
	CHECK(w != NULL);
	if (!w)
		return;
	struct lt_exec *e = sample();
	CHECK(lt_writer_header(w, &h) == 0);
	CHECK(lt_writer_exec(w, e) == 0);
	CHECK(lt_writer_stats(w, &s) == 0);
	CHECK(lt_writer_close(w) == 0);
	lt_exec_free(e);
}

static void test_exact_text(void)
{
	char path[] = "/tmp/lt-unit-XXXXXX.jsonl";
	int fd = mkstemps(path, 6);
	close(fd);
	unlink(path);
	write_file(path);
	const char *got = slurp(path);
	if (strcmp(got, expect))
		printf("  got:    %s\n  expect: %s\n", got, expect);
	CHECK(!strcmp(got, expect));
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	unlink(path);
}

static void test_gzip(void)
{
	char path[] = "/tmp/lt-unit-XXXXXX.gz";
	int fd = mkstemps(path, 3);
	close(fd);
	unlink(path);
	write_file(path);
	FILE *f = fopen(path, "rb");
	unsigned char magic[2] = { 0 };
	CHECK(f && fread(magic, 1, 2, f) == 2);
	if (f)
		fclose(f);
	CHECK(magic[0] == 0x1f && magic[1] == 0x8b);
	CHECK(!strcmp(slurp(path), expect));
	unlink(path);
}

static void test_bad_path(void)
{
	CHECK(lt_writer_open("/nonexistent-dir/x.jsonl") == NULL);
}

static void test_float_repr(void)
{
	char b[32];
	CHECK(!strcmp(lt_float_repr(0.5, b), "0.5"));
	CHECK(!strcmp(lt_float_repr(1.0, b), "1.0"));
	CHECK(!strcmp(lt_float_repr(-2.0, b), "-2.0"));
	CHECK(!strcmp(lt_float_repr(0.1, b), "0.1"));
	CHECK(!strcmp(lt_float_repr(0.0001, b), "0.0001"));
	CHECK(!strcmp(lt_float_repr(0.00001, b), "1e-05"));
	CHECK(!strcmp(lt_float_repr(1e15, b), "1000000000000000.0"));
	CHECK(!strcmp(lt_float_repr(1e16, b), "1e+16"));
	CHECK(!strcmp(lt_float_repr(123.456, b), "123.456"));
	CHECK(!strcmp(lt_float_repr(1.5e300, b), "1.5e+300"));
	CHECK(!strcmp(lt_float_repr(1.0 / 3, b), "0.3333333333333333"));
	CHECK(!strcmp(lt_float_repr(1.2345678901234568e+17, b), "1.2345678901234568e+17"));
	CHECK(!strcmp(lt_float_repr(-INFINITY, b), "-inf"));
	CHECK(!strcmp(lt_float_repr(0.0, b), "0.0"));
}

static void test_intern(void)
{
	char x[] = "hello";
	const char *a = lt_intern("hello"), *b = lt_intern(x), *c = lt_intern_n("hello!", 5);
	CHECK(a == b && b == c && a != x);
	CHECK(lt_intern_len(a) == 5);
	CHECK(lt_intern_n("a\0b", 3) != lt_intern("a"));
	/* many strings: the table grows and stays consistent */
	char buf[32];
	const char *p[20000];
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		p[i] = lt_intern(buf);
	}
	int ok = 1;
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ok &= lt_intern(buf) == p[i] && !strcmp(p[i], buf);
	}
	CHECK(ok);
}

static void test_deep_tree(void)
{
	/* 200,000 nested calls: written without recursion */
	struct lt_exec *e = lt_exec_new();
	struct lt_node *n = e->root = lt_node_new(e, lt_intern("<thread>"));
	for (int i = 0; i < 200000; i++) {
		struct lt_node *c = lt_node_new(e, lt_intern("f"));
		lt_node_append(n, c);
		n = c;
	}
	struct jw j;
	jw_init(&j);
	lt_json_node(&j, e->root);
	CHECK(j.len == strlen("{\"fn\":\"<thread>\",\"calls\":[") + 199999 * strlen("{\"fn\":\"f\",\"calls\":[") +
		       strlen("{\"fn\":\"f\"}") + 200000 * 2);
	CHECK(j.buf[j.len - 1] == '}');
	jw_free(&j);
	lt_exec_free(e);
}

/* a flat execution of n leaf calls (its line: about 40 bytes a call) */
static struct lt_exec *flat(int n)
{
	struct lt_exec *e = lt_exec_new();
	struct lt_node *r = e->root = lt_node_new(e, lt_intern("burst"));

	for (int i = 0; i < n; i++) {
		struct lt_node *c = lt_node_new(e, lt_intern("g"));

		c->has_ret = true;
		c->ret.type = lt_intern("int");
		c->ret.kind = LT_V_INT;
		c->ret.u.i = i;
		lt_node_append(r, c);
	}
	return e;
}

/* executions handed to the writer thread (lt_writer_exec_take: built
 * there, a large one in pieces) land in order among the other lines,
 * byte for byte as lt_writer_exec writes them */
static void test_taken_in_order(void)
{
	const char *argv[] = { "python3" };
	struct lt_header h = { .format = 1, .python = "3.11.2", .argc = 1, .argv = argv };
	struct lt_stats s = { .execs = 5 };
	char path[2][32] = { "/tmp/lt-unit-XXXXXX.jsonl", "/tmp/lt-unit-XXXXXX.jsonl" };
	char *text[2];

	for (int k = 0; k < 2; k++) {
		int fd = mkstemps(path[k], 6);
		struct lt_writer *w;

		close(fd);
		w = lt_writer_open(path[k]);
		CHECK(w != NULL);
		if (!w)
			return;
		CHECK(lt_writer_header(w, &h) == 0);
		for (int i = 0; i < 5; i++) {
			/* 3: a line of about 8 MB, 30 spills */
			struct lt_exec *e = i == 3 ? flat(200000) : sample();

			e->id = i;
			if (k == 0) {
				CHECK(lt_writer_exec(w, e) == 0);
				lt_exec_free(e);
			} else {
				CHECK(lt_writer_exec_take(w, e) == 0);
			}
			if (i == 1)	/* a line between taken ones */
				CHECK(lt_writer_stats(w, &s) == 0);
		}
		CHECK(lt_writer_tick(w, 1) == 0);
		CHECK(lt_writer_stats(w, &s) == 0);
		CHECK(lt_writer_close(w) == 0);
		FILE *f = fopen(path[k], "r");
		size_t cap = 0;

		text[k] = NULL;
		CHECK(f && getdelim(&text[k], &cap, 0, f) > 8000000);
		if (f)
			fclose(f);
		unlink(path[k]);
	}
	CHECK(text[0] && text[1] && !strcmp(text[0], text[1]));
	free(text[0]);
	free(text[1]);
}

int main(void)
{
	RUN(test_exact_text);
	RUN(test_gzip);
	RUN(test_bad_path);
	RUN(test_float_repr);
	RUN(test_intern);
	RUN(test_deep_tree);
	RUN(test_taken_in_order);
	UNIT_EXIT();
}
