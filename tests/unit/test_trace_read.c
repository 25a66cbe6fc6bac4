/* Reader: round trip with the writer, paper files, malformed input, depth. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/json.h"
#include "trace/trace.h"
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

/* a trace whose one execution is a chain of depth calls */
static void put_deep(const char *name, int depth)
{
	char *t = malloc((size_t)depth * 22 + 200), *o = t;

	o += sprintf(o, "{\"type\":\"header\",\"format\":1}\n{\"type\":\"exec\",\"complete\":true,\"root\":");
	for (int i = 0; i < depth; i++)
		o += sprintf(o, "{\"fn\":\"f\",\"calls\":[");
	o += sprintf(o, "{\"fn\":\"leaf\"}");
	for (int i = 0; i < depth; i++)
		o += sprintf(o, "]}");
	o += sprintf(o, "}\n");
	put_file(name, t);
	free(t);
}

static void test_deep(void)
{
	/* 150,000 nested calls: neither parser nor builder recurses */
	int depth = 150000;
	put_deep("deep.jsonl", depth);
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
}

/* an execution as text: its fields and its tree as the writer encodes them
 * (which leaves out what a synthetic root has) */
static void exec_text(struct jw *j, const struct lt_exec *e)
{
	char b[240];

	snprintf(b, sizeof(b), "%lld %d %d %d %d %llu %lld %lld %d %d %lld ", (long long)e->id, e->pid, e->tid,
		 e->nspid, e->nstid, (unsigned long long)e->start_ns, (long long)e->dur_ns,
		 (long long)e->run_ns, e->complete, e->root->has_ret, (long long)e->root->dur_ns);
	jw_raw(j, b, strlen(b));
	lt_json_node(j, e->root);
	jw_raw(j, "\n", 1);
}

/* every execution of p read with the fast path on or off, as text; the
 * lt_reader_next status at the end and the fast path's line count */
static char *read_text(const char *p, bool fast, int *rc, long long *fast_lines)
{
	struct lt_reader *r = lt_reader_open(p);
	struct lt_exec *e;
	struct jw j;

	jw_init(&j);
	jw_raw(&j, "", 0);
	lt_reader_set_fast(r, fast);
	while ((*rc = lt_reader_next(r, &e)) == 1) {
		exec_text(&j, e);
		lt_exec_free(e);
	}
	*fast_lines = lt_reader_fast_lines(r);
	lt_reader_close(r);
	char *text = strdup(j.buf);
	jw_free(&j);
	return text;
}

/* lines with what the writer never writes: the first four in its shape
 * (for the fast path), the others not */
static const char *odd_lines =
	/* cmdline and cgroup (not read back), no "id", -0, "calls":[] */
	"{\"type\":\"exec\",\"pid\":1,\"tid\":2,\"cmdline\":\"python3 x.py\",\"cgroup\":\"/sys/fs/cgroup/a\",\"start_ns\":18446744073709551615,\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"int\",\"value\":-0},\"calls\":[]}}\n"
	/* numbers: 19 digits, float as integer text and with exponent, a
	 * decimal string int, yield and truncated false, null value */
	"{\"type\":\"exec\",\"id\":-3,\"start_ns\":99999999999999999999,\"complete\":false,\"root\":{\"fn\":\"g\",\"line\":0,\"ret\":{\"type\":\"int\",\"value\":1234567890123456789},\"dur_ns\":0,\"args\":[{\"type\":\"float\",\"value\":3},{\"type\":\"float\",\"value\":1E-5},{\"type\":\"int\",\"value\":\"-5\"},{\"type\":\"str\",\"value\":\"\",\"truncated\":false,\"yield\":false},{\"type\":\"NoneType\",\"value\":null},{\"type\":\"int\",\"value\":\"h:ab\"}]}}\n"
	/* a synthetic root with stray fields, names of 7, 8, 16, 17 bytes
	 * (two of 17 that differ only in the middle) */
	"{\"type\":\"exec\",\"id\":5,\"complete\":true,\"root\":{\"fn\":\"<thread>\",\"ret\":{\"type\":\"int\",\"value\":1},\"dur_ns\":5,\"calls\":[{\"fn\":\"mod.f10\",\"file\":\"abcdefgh\"},{\"fn\":\"abcdefghijklmnop\",\"file\":\"abcdefgh0ijklmnop\"},{\"fn\":\"abcdefgh1ijklmnop\"},{\"fn\":\"mod.f10\",\"file\":\"abcdefgh\"},{\"fn\":\"\xc3\xa9\"}]}}\n"
	/* escapes: in names (decoded, not in the line: no name cache), \/,
	 * pairs and lone surrogates, a quote that ends a string after \\ */
	"{\"type\":\"exec\",\"id\":24,\"complete\":true,\"root\":{\"fn\":\"f\\u00e9\\\"\",\"file\":\"a\\\\b.py\",\"ret\":{\"type\":\"str\",\"value\":\"l\\nm\\t\\ud83d\\ude00 \\udc00 \\/ \\\\\"},\"calls\":[{\"fn\":\"f\\u00e9\\\"\"},{\"fn\":\"\\u0000\"}]}}\n"
	/* for the generic path: other order, unknown keys, spaces, duplicate
	 * keys, leading blank, trailing blank */
	"{\"type\":\"exec\",\"complete\":true,\"id\":21,\"root\":{\"fn\":\"f\",\"dur_ns\":3,\"ret\":{\"value\":2,\"type\":\"int\"}}}\n"
	"{\"type\":\"exec\",\"id\":22,\"future\":[1,{\"a\":null}],\"complete\":true,\"root\":{\"fn\":\"f\",\"newkey\":{\"x\":1},\"ret\":{\"type\":\"int\",\"value\":1,\"extra\":true}}}\n"
	"{\"type\":\"exec\", \"id\":23, \"complete\":true, \"root\":{\"fn\":\"f\"}}\n"
	"{\"type\":\"exec\",\"id\":25,\"id\":26,\"complete\":true,\"root\":{\"fn\":\"a\",\"fn\":\"b\",\"line\":1,\"line\":2}}\n"
	" {\"type\":\"exec\",\"id\":27,\"complete\":true,\"root\":{\"fn\":\"f\"}}\n"
	"{\"type\":\"exec\",\"id\":28,\"complete\":true,\"root\":{\"fn\":\"f\"}} \r\n";

/*
 * The fast path and the generic parser build the same executions: a trace
 * the writer wrote (round trip of varied values and trees) and lines that
 * the fast path reads or leaves to the generic one, read both ways; and
 * malformed lines are refused both ways at the same execution.
 */
static void test_fast_path_same_as_generic(void)
{
	static const char *in =
		"{\"type\":\"header\",\"format\":1}\n"
		"{\"type\":\"exec\",\"id\":7,\"pid\":5,\"tid\":6,\"nspid\":2,\"nstid\":3,\"start_ns\":10,\"dur_ns\":20,\"run_ns\":7,\"complete\":true,\"root\":"
		"{\"fn\":\"main\",\"file\":\"/a/b.py\",\"line\":3,\"ret\":{\"type\":\"int\",\"value\":-42},\"dur_ns\":20,\"run_ns\":7,\"args\":["
		"{\"type\":\"str\",\"value\":\"abc\",\"truncated\":true},{\"type\":\"float\",\"value\":1.5},{\"type\":\"float\",\"value\":\"nan\"},"
		"{\"type\":\"float\",\"value\":\"-inf\"},{\"type\":\"float\",\"value\":1e300},{\"type\":\"bool\",\"value\":false},"
		"{\"type\":\"int\",\"value\":\"123456789012345678901234\"},{\"type\":\"list\",\"value\":\"h:00ff\"},{\"type\":\"NoneType\"}],"
		"\"truncated_calls\":4,\"calls\":[{\"fn\":\"g\",\"ret\":{\"type\":\"<raise>\"}},{\"fn\":\"h\",\"file\":\"caf\xc3\xa9.py\",\"interp\":3,\"ret\":"
		"{\"type\":\"generator\",\"yield\":true},\"calls\":[{\"fn\":\"<lambda>\",\"line\":2147483647,\"ret\":{\"type\":\"int\","
		"\"value\":999999999999999999,\"yield\":true},\"args\":[]}]}]}}\n"
		"{\"type\":\"exec\",\"id\":8,\"pid\":5,\"tid\":6,\"start_ns\":11,\"complete\":false,\"root\":{\"fn\":\"<thread>\",\"calls\":["
		"{\"fn\":\"a\",\"ret\":{\"type\":\"bool\",\"value\":true},\"dur_ns\":1},{\"fn\":\"a\",\"ret\":{\"type\":\"str\",\"value\":\"x\"}}]}}\n"
		"{\"type\":\"exec\",\"id\":9,\"pid\":5,\"tid\":6,\"start_ns\":12,\"complete\":true,\"root\":"
		"{\"fn\":\"s\",\"ret\":{\"type\":\"str\",\"value\":\"l\\n \\\"q\\\" \\\\ \\u0001\"}}}\n";
	char p1[256];
	int rc1, rc2;
	long long n1, n2;

	/* the writer's own text of these executions (read the generic way) */
	put_file("in.jsonl", in);
	snprintf(p1, sizeof(p1), "%s/w.jsonl", dir);
	struct lt_reader *r = lt_reader_open(path("in.jsonl"));
	struct lt_writer *w = lt_writer_open(p1);
	struct lt_header h = { .format = 1 };
	struct lt_exec *e;
	lt_reader_set_fast(r, false);
	lt_writer_header(w, &h);
	while (lt_reader_next(r, &e) == 1) {
		lt_writer_exec(w, e);
		lt_exec_free(e);
	}
	lt_reader_close(r);
	CHECK(lt_writer_close(w) == 0);
	/* then the odd lines, and a trailer */
	FILE *f = fopen(p1, "a");
	fputs(odd_lines, f);
	fputs("{\"type\":\"stats\",\"execs\":13}\n", f);
	fclose(f);
	char *fast = read_text(p1, true, &rc1, &n1), *generic = read_text(p1, false, &rc2, &n2);
	CHECK(rc1 == 0 && rc2 == 0);
	CHECK(strstr(fast, "\"file\":\"caf\xc3\xa9.py\",\"interp\":3,\"ret\"") != NULL);
	/* run_ns read back both ways: the exec's and the root node's */
	CHECK(fast && strstr(fast, " 20 7 1 1 20 ") && strstr(fast, "\"dur_ns\":20,\"run_ns\":7"));
	CHECK(!strcmp(fast, generic));
	if (strcmp(fast, generic))
		printf("  fast:\n%s  generic:\n%s", fast, generic);
	/* the fast path took the writer's lines and the first four odd
	 * lines; the generic one none */
	CHECK(n1 == 3 + 4 && n2 == 0);
	CHECK(strstr(fast, "\"fn\":\"b\",\"line\":2"));	/* duplicates: as before */
	free(fast);
	free(generic);

	/* malformed lines after good ones: refused both ways after the
	 * same executions */
	static const char *bad[] = {
		"\"complete\":7,\"root\":{\"fn\":\"f\"}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"line\":-1}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"line\":01}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"dur_ns\":1.5}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"int\",\"value\":\"abc\"}}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"bool\",\"value\":1}}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"calls\":[1]}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"int\",\"value\":1]}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"calls\":[{\"fn\":\"g\"}}}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"calls\":[{\"fn\":\"g\"}",
		"\"complete\":true,\"root\":{\"fn\":\"f\\x\"}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\\u12\"}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"file\":\"a\\\"}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"ret\":{\"type\":\"str\",\"value\":\"\\n\t\"}}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\"}}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\"}}x",
		"\"pid\":2147483648,\"complete\":true,\"root\":{\"fn\":\"f\"}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"line\":2147483648}}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"truncated_calls\":4294967296}}",
		"\"root\":{\"fn\":\"f\"}}",
		"\"start_ns\":-1,\"complete\":true,\"root\":{\"fn\":\"f\"}}",
		"\"complete\":true}",
		"\"complete\":true,\"root\":{\"fn\":\"f\",\"args\":[{\"type\":\"int\",\"value\":1},]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "{\"type\":\"header\",\"format\":1}\n"
			 "{\"type\":\"exec\",\"id\":0,\"complete\":true,\"root\":{\"fn\":\"f\"}}\n"
			 "{\"type\":\"exec\",\"id\":1,%s\n"
			 "{\"type\":\"exec\",\"id\":2,\"complete\":true,\"root\":{\"fn\":\"f\"}}\n"
			 "{\"type\":\"stats\",\"execs\":3}\n", bad[i]);
		put_file("bad.jsonl", text);
		fast = read_text(path("bad.jsonl"), true, &rc1, &n1);
		generic = read_text(path("bad.jsonl"), false, &rc2, &n2);
		if (rc1 != -1 || rc2 != -1 || strcmp(fast, generic) || n1 != 1)
			printf("  bad case %zu: rc %d/%d, %lld fast lines\n", i, rc1, rc2, n1);
		CHECK(rc1 == -1 && rc2 == -1 && !strcmp(fast, generic) && n1 == 1);
		free(fast);
		free(generic);
	}

	/* past the parser's nesting limit the fast path does not build the
	 * tree: the generic path refuses it, as before */
	put_deep("deep.jsonl", JSON_MAX_DEPTH / 2 + 10);
	fast = read_text(path("deep.jsonl"), true, &rc1, &n1);
	CHECK(rc1 == -1 && n1 == 0);
	free(fast);
}

/*
 * Synthetic roots are what the trace marks ("synthetic":true), whatever
 * their name; a Python call named "<lambda>" or "<module>" is a call with
 * its ret and dur_ns, root or not; traces from before the field keep their
 * "<thread>" and "<execution>" roots synthetic. Fast and generic paths
 * alike, and the writer writes the mark back.
 */
static void test_synthetic_roots(void)
{
	static const char *in =
		"{\"type\":\"header\",\"format\":1}\n"
		"{\"type\":\"exec\",\"id\":0,\"complete\":true,\"root\":{\"fn\":\"<lambda>\",\"ret\":{\"type\":\"int\",\"value\":42},\"dur_ns\":7}}\n"
		"{\"type\":\"exec\",\"id\":1,\"complete\":true,\"root\":{\"fn\":\"<thread>\",\"ret\":{\"type\":\"int\",\"value\":1},\"dur_ns\":5,\"calls\":[{\"fn\":\"<module>\",\"dur_ns\":3}]}}\n"
		"{\"type\":\"exec\",\"id\":2,\"complete\":true,\"root\":{\"fn\":\"all\",\"synthetic\":true,\"dur_ns\":5,\"calls\":[{\"fn\":\"g\",\"synthetic\":true,\"dur_ns\":4}]}}\n"
		"{\"type\":\"exec\",\"id\":3,\"complete\":true,\"root\":{\"fn\":\"<genexpr>\",\"synthetic\":false,\"ret\":{\"type\":\"NoneType\"},\"dur_ns\":2}}\n"
		"{\"type\":\"stats\",\"execs\":4}\n";
	static const bool syn[] = { false, true, true, false };
	static const bool has_ret[] = { true, false, false, true };
	static const long long dur[] = { 7, -1, -1, 2 };

	put_file("syn.jsonl", in);
	for (int fast = 0; fast < 2; fast++) {
		struct lt_reader *r = lt_reader_open(path("syn.jsonl"));
		struct lt_writer *w = lt_writer_open(path("syn-w.jsonl"));
		struct lt_header h = { .format = 1 };
		struct lt_exec *e;
		int i = 0;

		lt_reader_set_fast(r, fast);
		lt_writer_header(w, &h);
		while (lt_reader_next(r, &e) == 1) {
			CHECK(i < 4 && e->root->synthetic == syn[i] && lt_node_synthetic_root(e->root) == syn[i]);
			CHECK(i < 4 && e->root->has_ret == has_ret[i] && e->root->dur_ns == dur[i]);
			/* below the root nothing is synthetic: its dur_ns stays */
			if (e->root->first)
				CHECK(!lt_node_synthetic_root(e->root->first) && e->root->first->dur_ns >= 3);
			lt_writer_exec(w, e);
			lt_exec_free(e);
			i++;
		}
		CHECK(i == 4);
		lt_reader_close(r);
		CHECK(lt_writer_close(w) == 0);
		FILE *f = fopen(path("syn-w.jsonl"), "r");
		char line[512];
		int n = 0, marked = 0;

		while (f && fgets(line, sizeof(line), f)) {
			marked += !!strstr(line, "\"synthetic\":true");
			n += !!strstr(line, "\"fn\":\"<lambda>\",\"ret\":{\"type\":\"int\",\"value\":42},\"dur_ns\":7");
			n += !!strstr(line, "\"fn\":\"all\",\"synthetic\":true,\"calls\":[{\"fn\":\"g\",\"dur_ns\":4}]");
		}
		if (f)
			fclose(f);
		CHECK(marked == 2 && n == 2);
	}
}

/*
 * Executions on lines longer than the reader keeps for another part's
 * line (16 MiB): each part of a parallel reader builds its own whole, with
 * its line number, and passes over the others' without holding them.
 */
static void test_long_lines_in_parts(void)
{
	static const char node[] = "{\"fn\":\"f\",\"ret\":{\"type\":\"int\",\"value\":1},\"dur_ns\":1},";
	const size_t per = sizeof(node) - 1, n = (20u << 20) / per;
	FILE *f = fopen(path("long.jsonl"), "w");

	fputs("{\"type\":\"header\",\"format\":1}\n\n", f);	/* a blank line 2 */
	for (int e = 0; e < 4; e++) {
		/* execution e: n + e calls, then a last one returning e */
		fprintf(f, "{\"type\":\"exec\",\"id\":%d,\"complete\":true,\"root\":{\"fn\":\"r\",\"calls\":[", e);
		for (size_t i = 0; i < n + e; i++)
			fputs(node, f);
		fprintf(f, "{\"fn\":\"last\",\"ret\":{\"type\":\"int\",\"value\":%d}}]}}\n", e);
	}
	fputs("{\"type\":\"stats\",\"execs\":4}\n", f);
	fclose(f);
	for (int part = 0; part < 2; part++) {
		struct lt_reader *r = lt_reader_open_part(path("long.jsonl"), part, 2);
		struct lt_exec *e;
		int got = 0;
		char want[300];

		while (lt_reader_next(r, &e) == 1) {
			int id = (int)e->id;

			CHECK(id % 2 == part && e->root->ncalls == n + id + 1);
			CHECK(e->root->last && e->root->last->ret.u.i == id);
			snprintf(want, sizeof(want), "%s:%d", path("long.jsonl"), id + 3);
			CHECK(!strcmp(lt_reader_where(r), want));
			lt_exec_free(e);
			got++;
		}
		CHECK(got == 2);
		lt_reader_close(r);
	}
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
	RUN(test_fast_path_same_as_generic);
	RUN(test_synthetic_roots);
	RUN(test_long_lines_in_parts);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	UNIT_EXIT();
}
