/* SPDX-License-Identifier: MIT */
/*
 * Option parsing of the offline subcommands with glibc's argp, which writes
 * their --help from the option table. The house rules on top of argp:
 *   - -h and --help print the help on stdout, exit status 0;
 *   - a bad option or a missing argument is one line "leaktrace: CMD: ..."
 *     and exit status 2 (argp's own message and exit status 64 are off);
 *   - a bad value is reported by the command's parser with lt_err, which
 *     then returns lt_cli_bad(state): one line, not two;
 *   - the operands (non-option arguments) are collected in order, after
 *     every option (GNU permutation, as getopt_long did).
 *
 * Use: the command's input struct starts with a struct lt_cli; its parser
 * handles its own keys and ends with `default: return lt_cli_key(key, arg,
 * state);`; its option table includes LT_CLI_HELP. Long-only options take
 * keys from LT_CLI_LONG up, so that they get no short form.
 *
 *	int rc = lt_cli_parse(&argp, &in.cli, "analyze", argc, argv);
 *	if (rc >= 0)
 *		return rc;	// help printed (0) or bad usage (2)
 *	// in.cli.ops[0 .. in.cli.nops) are the operands
 */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <argp.h>
#include <stdbool.h>

#define LT_CLI_LONG 0x100
#define LT_CLI_HELP { "help", 'h', NULL, 0, "show this help and exit", -1 }

struct lt_cli {
	const char *cmd;	/* "analyze" */
	char **ops;		/* operands, in order */
	int nops;
	bool helped, reported;
};

/* after printing with lt_err: what the parser returns for a bad value */
error_t lt_cli_bad(struct argp_state *state);
/* the keys every command shares: help, operands, errors */
error_t lt_cli_key(int key, char *arg, struct argp_state *state);
/* parse argv (argv[0] = the command name); -1 to go on, else the exit
 * status to return now (0 after the help, LT_EXIT_USAGE after a message).
 * cli must be the first member of the struct passed as input. */
int lt_cli_parse(const struct argp *argp, struct lt_cli *cli, const char *cmd, int argc, char **argv);
/* --format human|json (and "text" for human): *json set, or one line
 * printed and lt_cli_bad's error returned */
error_t lt_cli_format(const char *arg, bool *json, struct argp_state *state);
/* the help of the command on f (for usage errors that show it) */
void lt_cli_help(const struct argp *argp, const struct lt_cli *cli, FILE *f);
void lt_cli_free(struct lt_cli *cli);

#endif
