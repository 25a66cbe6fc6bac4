// SPDX-License-Identifier: MIT
/* libFuzzer harness: the rules loader, then the matcher, describe and
 * observed texts of every rule against a small fixed execution (the path
 * `record --rules` and `detect` take). */
#include "analysis/rules.h"
#include "fuzz_common.h"

static struct lt_exec *sample;

static void on_match(void *ctx, const struct lt_exec *e, const struct lt_rule *r)
{
	(void)ctx, (void)e;
	char d[256];
	lt_rule_describe(r, d, sizeof(d));
}

static struct lt_exec *make_sample(void)
{
	struct lt_exec *e = lt_exec_new();
	struct lt_node *root = lt_node_new(e, lt_intern("predict"));
	root->dur_ns = 60000000;
	root->has_ret = true;
	root->ret.type = lt_intern("str");
	root->ret.kind = LT_V_STR;
	root->ret.s = "Result:macaw";
	root->ret.slen = 12;
	e->root = root;
	const char *names[] = { "open", "JpegImageFile._open", "i16be", "i16be", "f.<locals>.<lambda>" };
	struct lt_node *parent = root;
	for (int i = 0; i < 5; i++) {
		struct lt_node *n = lt_node_new(e, lt_intern(names[i]));
		n->dur_ns = 1000000 * (i + 1);
		n->has_ret = true;
		n->ret.type = lt_intern("int");
		n->ret.kind = LT_V_INT;
		n->ret.u.i = 100 + i % 2;
		lt_node_append(parent, n);
		if (i == 1)
			parent = n;
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[300];
	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/rules.json", fz_dir());
		sample = make_sample();
	}
	fz_put(path, data, size);
	struct lt_rules *rs = lt_rules_load(path);
	if (!rs)
		return 0;
	lt_rules_match(rs, sample, on_match, NULL);
	for (size_t i = 0; i < rs->n; i++) {
		char b[512];
		lt_rule_describe(&rs->v[i], b, sizeof(b));
		lt_rule_observed(&rs->v[i], b, sizeof(b));
		lt_rule_observed(&rs->v[i], b, 8);	/* short buffers cut cleanly */
	}
	lt_rules_free(rs);
	return 0;
}
