/* SPDX-License-Identifier: MIT */
/* The offline subcommands (main.c's table; user/commands.h): each takes its
 * own argv (argv[0] = the command name) and returns the exit status
 * LT_EXIT_* of common/err.h. They build without BPF (make offline). */
#ifndef LT_ANALYSIS_CMDS_H
#define LT_ANALYSIS_CMDS_H

int cmd_analyze(int argc, char **argv);		/* analyze.c */
int cmd_detect(int argc, char **argv);		/* detect.c */
int cmd_export(int argc, char **argv);		/* export.c */
int cmd_import_paper(int argc, char **argv);	/* import_paper.c */
int cmd_summarize(int argc, char **argv);	/* summary.c */

#endif
