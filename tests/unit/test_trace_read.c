/* Reader: round trip with the writer, paper files, malformed input, depth. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "json.h"
#include "trace.h"
/* unit.h RUN() trips -Wmisleading-indentation (reported to the lead) */
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#include "unit.h"

static char dir[] = "/tmp/lt-unit-rd-XXXXXX";

static void put_file(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

static char *path(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static const char *trace_text =
	"{\"type\":\"header\",\"format\":1,\"tool\":\"leaktrace\",\"python\":\"3.11.2\",\"pid\":5,\"future\":{\"x\":[1,2]}}\n"
	"{\"type\":\"exec\",\"id\":0,\"pid\":5,\"tid\":6,\"start_ns\":10,\"dur_ns\":20,\"complete\":true,\"root\":"
	"{\"fn\":\"predict\",\"ret\":{\"type\":\"str\",\"value\":\"caf\\u00e9 \\ud83d\\ude00\"},\"dur_ns\":20,\"calls\":["
	"{\"fn\":\"a\",\"ret\":{\"type\":\"int\",\"value\":123456789012345678901234},\"dur_ns\":1},"
	"{\"fn\":\"b\",\"ret\":{\"type\":\"float\",\"value\":\"-inf\",\"yield\":true},\"newkey\":1,\"calls\":[{\"fn\":\"c\",\"ret\":{\"type\":\"bool\",\"value\":true}}]}]}}\n"
	"\n"
	"{\"type\":\"exec\",\"id\":1,\"pid\":5,\"tid\":6,\"complete\":false,\"root\":{\"fn\":\"<thread>\"}}\n"
	"{\"type\":\"stats\",\"execs\":2,\"calls\":4,\"lost_events\":3,\"incomplete_execs\":1,\"truncated_strings\":0}\n";

static void test_read_jsonl(void)
{
	put_file("t.jsonl", trace_text);
	struct lt_reader *r = lt_reader_open(path("t.jsonl"));
	CHECK(r != NULL);
	if (!r)
		return;
	struct lt_exec *e;
	CHECK(lt_reader_next(r, &e) == 1);
	CHECK(!strcmp(lt_reader_where(r), strcat(path("t.jsonl"), ":2")));
	CHECK(e->complete && e->id == 0 && e->tid == 6 && e->dur_ns == 20);
	struct lt_node *root = e->root;
	CHECK(!strcmp(root->fn, "predict") && root->ncalls == 2);
	CHECK(root->ret.kind == LT_V_STR && !strcmp(root->ret.s, "caf\xc3\xa9 \xf0\x9f\x98\x80"));
	struct lt_node *a = root->first, *b = a->next;
	CHECK(a->ret.kind == LT_V_BIGINT && !strcmp(a->ret.s, "123456789012345678901234"));
	CHECK(b->ret.kind == LT_V_FLOAT && isinf(b->ret.u.f) && b->ret.u.f < 0 && b->ret.yield);
	CHECK(b->first->ret.kind == LT_V_BOOL && b->first->ret.u.b && b->first->parent == b);
	CHECK(b->dur_ns == -1 && b->line == -1 && !b->file);
	CHECK(lt_reader_header(r) && !strcmp(lt_reader_header(r)->python, "3.11.2"));
	lt_exec_free(e);
	CHECK(lt_reader_next(r, &e) == 1);
	CHECK(!e->complete && !strcmp(e->root->fn, "<thread>"));
	CHECK(!strcmp(lt_reader_where(r), strcat(path("t.jsonl"), ":4")));
	lt_exec_free(e);
	CHECK(lt_reader_next(r, &e) == 0);
	CHECK(lt_reader_stats(r)->lost_events == 3);
	lt_reader_close(r);
}

/* write what was read, read again: same text */
static void test_roundtrip(void)
{
	put_file("t.jsonl", trace_text);
	struct lt_reader *r = lt_reader_open(path("t.jsonl"));
	char out1[256], out2[256];
	snprintf(out1, sizeof(out1), "%s/o1.jsonl.gz", dir);
	snprintf(out2, sizeof(out2), "%s/o2.jsonl", dir);
	struct lt_writer *w = lt_writer_open(out1);
	struct lt_exec *e;
	struct lt_header h = { .format = 1 };
	lt_writer_header(w, &h);
	while (lt_reader_next(r, &e) == 1) {
		lt_writer_exec(w, e);
		lt_exec_free(e);
	}
	lt_writer_stats(w, lt_reader_stats(r));
	CHECK(lt_writer_close(w) == 0);
	lt_reader_close(r);
	r = lt_reader_open(out1);
	w = lt_writer_open(out2);
	lt_writer_header(w, &h);
	int n = 0;
	while (lt_reader_next(r, &e) == 1) {
		lt_writer_exec(w, e);
		lt_exec_free(e);
		n++;
	}
	lt_writer_stats(w, lt_reader_stats(r));
	lt_writer_close(w);
	lt_reader_close(r);
	CHECK(n == 2);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "zcat %s | cmp -s - %s", out1, out2);
	CHECK(system(cmd) == 0);
}

static void test_paper_dir(void)
{
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/paper", dir);
	mkdir(sub, 0700);
	put_file("paper/10.json", "[{\"name\":\"open()\",\"return\":\"int:7\",\"child\":[{\"name\":\"i16be()\",\"return\":\"int:100\",\"child\":[]}]}]");
	put_file("paper/2.json", "[\n {\"name\":\"open()\",\"return\":\"str:a:b\",\"child\":[]},\n {\"name\":\"x()\",\"return\":\"list:[0, 1]\",\"child\":[]},{\"name\":\"y()\",\"return\":\"bool:False\"}]");
	put_file("paper/notes.txt", "ignored");
	struct lt_reader *r = lt_reader_open(sub);
	CHECK(r != NULL);
	if (!r)
		return;
	struct lt_exec *e;
	CHECK(lt_reader_next(r, &e) == 1);	/* 2.json before 10.json */
	CHECK(e->id == 2 && lt_reader_is_paper(r));
	CHECK(!strcmp(e->root->fn, "<execution>") && e->root->ncalls == 3);
	CHECK(!strcmp(e->root->first->fn, "open") && !strcmp(e->root->first->ret.s, "a:b"));
	CHECK(!strcmp(e->root->first->next->ret.type, "list") && e->root->first->next->ret.kind == LT_V_NONE);
	CHECK(e->root->last->ret.kind == LT_V_BOOL && !e->root->last->ret.u.b);
	lt_exec_free(e);
	CHECK(lt_reader_next(r, &e) == 1);
	CHECK(e->id == 10 && !strcmp(e->root->first->first->fn, "i16be") && e->root->first->first->ret.u.i == 100);
	lt_exec_free(e);
	CHECK(lt_reader_next(r, &e) == 0);
	lt_reader_close(r);
}

static int read_all(const char *p)
{
	struct lt_reader *r = lt_reader_open(p);
	if (!r)
		return -2;
	struct lt_exec *e;
	int rc;
	while ((rc = lt_reader_next(r, &e)) == 1)
		lt_exec_free(e);
	lt_reader_close(r);
	return rc;
}

static void test_malformed(void)
{
	static const char *hdr = "{\"type\":\"header\",\"format\":1}\n";
	const char *cases[] = {
		"{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\"}}\n",	/* no header */
		"H{\"type\":\"exec\",\"complete\":true}\n",			/* no root */
		"H{\"type\":\"exec\",\"root\":{\"fn\":\"f\"}}\n",		/* no complete */
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"calls\":[]}}\n",	/* no fn */
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"int\",\"value\":1.5}}}\n",
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\",\"calls\":[1]}}\n",
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\"}\n{\"type\":\"stats\"}\n",	/* cut */
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\"}},\n",
		"H[1]\n",
		"H{\"complete\":true}\n",
		"{\"type\":\"header\",\"format\":2}\n",
		"H{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\\x\"}}\n",
		"garbage\n",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "%s%s", cases[i][0] == 'H' ? hdr : "", cases[i] + (cases[i][0] == 'H'));
		put_file("bad.jsonl", text);
		int rc = read_all(path("bad.jsonl"));
		if (rc != -1 && rc != -2)
			printf("  case %zu accepted\n", i);
		CHECK(rc == -1 || rc == -2);
	}
	put_file("bad.json", "[{\"name\":\"f()\",\"return\":\"int:x\"}]");
	CHECK(read_all(path("bad.json")) == -1);
	/* killed recorder: no trailer, last line cut: warnings, not errors */
	put_file("cut.jsonl", "{\"type\":\"header\",\"format\":1}\n{\"type\":\"exec\",\"complete\":true,\"root\":{\"fn\":\"f\"}}\n{\"type\":\"exec\",\"comp");
	CHECK(read_all(path("cut.jsonl")) == 0);
	CHECK(read_all(path("missing.jsonl")) == -2);
}

static void test_deep(void)
{
	/* 150,000 nested calls: neither parser nor builder recurses */
	int depth = 150000;
	size_t cap = (size_t)depth * 40 + 200;
	char *t = malloc(cap), *o = t;
	o += sprintf(o, "{\"type\":\"header\",\"format\":1}\n{\"type\":\"exec\",\"complete\":true,\"root\":");
	for (int i = 0; i < depth; i++)
		o += sprintf(o, "{\"fn\":\"f\",\"calls\":[");
	o += sprintf(o, "{\"fn\":\"leaf\"}");
	for (int i = 0; i < depth; i++)
		o += sprintf(o, "]}");
	o += sprintf(o, "}\n");
	put_file("deep.jsonl", t);
	struct lt_reader *r = lt_reader_open(path("deep.jsonl"));
	struct lt_exec *e;
	CHECK(lt_reader_next(r, &e) == 1);
	int d = 0;
	for (struct lt_node *n = e->root; n->first; n = n->first)
		d++;
	CHECK(d == depth);
	lt_exec_free(e);
	lt_reader_close(r);
	/* beyond the documented JSON depth limit: refused, not a crash */
	struct jparse p;
	jp_init(&p);
	size_t n = JSON_MAX_DEPTH + 10;
	char *deep = malloc(n * 2 + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	CHECK(jp_parse(&p, deep, n * 2) == -1 && strstr(p.err, "too deep"));
	jp_free(&p);
	free(deep);
	free(t);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_read_jsonl);
	RUN(test_roundtrip);
	RUN(test_paper_dir);
	RUN(test_malformed);
	RUN(test_deep);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	UNIT_EXIT();
}
