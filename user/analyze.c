/* SPDX-License-Identifier: MIT */
/* placeholder until the analysis engine lands (issue 3) */
#include <stdio.h>
#include "commands.h"

int cmd_analyze(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: analyze is not built yet\n");
	return LT_EXIT_FAIL;
}

int cmd_detect(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: detect is not built yet\n");
	return LT_EXIT_FAIL;
}

int cmd_export(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: export is not built yet\n");
	return LT_EXIT_FAIL;
}

int cmd_import_paper(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: import-paper is not built yet\n");
	return LT_EXIT_FAIL;
}
