// SPDX-License-Identifier: MIT
/* argp with leaktrace's messages and exit codes (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/cli.h"
#include "common/err.h"

error_t lt_cli_bad(struct argp_state *state)
{
	((struct lt_cli *)state->input)->reported = true;
	return EINVAL;
}

error_t lt_cli_format(const char *arg, bool *json, struct argp_state *state)
{
	if (!strcmp(arg, "json")) {
		*json = true;
	} else if (!strcmp(arg, "human") || !strcmp(arg, "text")) {
		*json = false;
	} else {
		lt_err("--format: '%s' is not human or json", arg);
		return lt_cli_bad(state);
	}
	return 0;
}

void lt_cli_help(const struct argp *argp, const struct lt_cli *cli, FILE *f)
{
	char name[64];

	snprintf(name, sizeof(name), "leaktrace %s", cli->cmd);
	/* argp_state_help is silent under ARGP_NO_ERRS: argp_help, no exit */
	argp_help(argp, f, ARGP_HELP_STD_HELP & ~(ARGP_HELP_EXIT_OK | ARGP_HELP_EXIT_ERR), name);
}

/* the option argv[state->next - 1] that getopt refused: unknown, or one
 * that needs an argument and is last */
static void report_option(struct argp_state *state, struct lt_cli *cli)
{
	const char *a = state->next > 0 && state->next <= state->argc ? state->argv[state->next - 1] : "?";
	const struct argp_option *o;

	for (o = state->root_argp->options; o && (o->name || o->key); o++) {
		bool named = a[0] == '-' && a[1] == '-' && o->name &&
			     !strncmp(a + 2, o->name, strcspn(a + 2, "="));
		bool keyed = a[0] == '-' && a[1] != '-' && a[1] && o->key == a[strlen(a) - 1];

		if (o->arg && (named || keyed) && state->next >= state->argc) {
			lt_err("%s: option '%s' needs an argument; see 'leaktrace %s --help'", cli->cmd, a, cli->cmd);
			return;
		}
	}
	lt_err("%s: unknown option '%s'; see 'leaktrace %s --help'", cli->cmd, a, cli->cmd);
}

error_t lt_cli_key(int key, char *arg, struct argp_state *state)
{
	struct lt_cli *cli = state->input;

	switch (key) {
	case 'h':
		lt_cli_help(state->root_argp, cli, stdout);
		cli->helped = true;
		/* stop here: nothing else is checked or run */
		state->next = state->argc;
		return 0;
	case ARGP_KEY_ARG:
		cli->ops[cli->nops++] = arg;
		return 0;
	case ARGP_KEY_ERROR:
		if (!cli->reported && !cli->helped)
			report_option(state, cli);
		cli->reported = true;
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

int lt_cli_parse(const struct argp *argp, struct lt_cli *cli, const char *cmd, int argc, char **argv)
{
	cli->cmd = cmd;
	cli->ops = calloc(argc + 1, sizeof(*cli->ops));
	if (!cli->ops) {
		lt_err("out of memory");
		exit(1);
	}
	/* ARGP_NO_ERRS: leaktrace's messages and exit codes, not argp's;
	 * ARGP_NO_HELP: -h as well as --help, on stdout; ARGP_IN_ORDER off:
	 * operands after the options, as getopt_long permuted them */
	int err = argp_parse(argp, argc, argv, ARGP_NO_ERRS | ARGP_NO_HELP, NULL, cli);
	if (cli->helped)
		return LT_EXIT_OK;
	if (err) {
		if (!cli->reported)
			lt_err("%s: %s", cmd, strerror(err));
		return LT_EXIT_USAGE;
	}
	return -1;
}

void lt_cli_free(struct lt_cli *cli)
{
	free(cli->ops);
	cli->ops = NULL;
	cli->nops = 0;
}
