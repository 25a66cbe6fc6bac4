/* SPDX-License-Identifier: MIT */
/* leaktrace: subcommand dispatch (bpftool style). */
#include <stdio.h>
#include <string.h>
#include "commands.h"

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "record", cmd_record, "(-p PID | -a | -- CMD...) [options]  record Python calls" },
	{ "analyze", cmd_analyze, "CLEAN ADV [options]          find leakage between two trace sets" },
	{ "detect", cmd_detect, "--rules RULES TRACE...        apply rules to executions" },
	{ "export", cmd_export, "--format chrome|folded|paper TRACE -o OUT" },
	{ "import-paper", cmd_import_paper, "DIR... -o TRACE         paper JSON traces to a trace file" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: leaktrace COMMAND [ARGS]\n"
		   "       leaktrace -p PID [record options]   (same as: leaktrace record -p PID)\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  leaktrace %-12s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'leaktrace COMMAND --help' shows the options of a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return LT_EXIT_OK;
	}
	/* `leaktrace -p PID ...` and other options first: record */
	if (argv[1][0] == '-')
		return cmd_record(argc, argv);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "leaktrace: unknown command '%s'; run 'leaktrace --help'\n", argv[1]);
	return LT_EXIT_USAGE;
}
