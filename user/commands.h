/* SPDX-License-Identifier: MIT */
/* leaktrace subcommands: each takes its own argv (argv[0] = command name)
 * and returns the process exit status (0 ok, 1 runtime failure, 2 usage or
 * bad input). */
#ifndef LT_COMMANDS_H
#define LT_COMMANDS_H

int cmd_record(int argc, char **argv);		/* record.c */
int cmd_analyze(int argc, char **argv);		/* analyze.c */
int cmd_detect(int argc, char **argv);		/* detect.c */
int cmd_export(int argc, char **argv);		/* export.c */
int cmd_import_paper(int argc, char **argv);	/* export.c */

#include "common/err.h"	/* LT_EXIT_* */

#endif
