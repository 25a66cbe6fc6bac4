/* SPDX-License-Identifier: MIT */
/* leaktrace subcommands: each takes its own argv (argv[0] = command name)
 * and returns the process exit status (0 ok, 1 runtime failure, 2 usage or
 * bad input: LT_EXIT_* of common/err.h). */
#ifndef LT_COMMANDS_H
#define LT_COMMANDS_H

#include "common/err.h"		/* LT_EXIT_* */
#include "analysis/cmds.h"	/* the offline commands */

int cmd_record(int argc, char **argv);		/* record/record.c; main.c without BPF */

#endif
