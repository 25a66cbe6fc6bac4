// SPDX-License-Identifier: MIT
/* leaktrace export / import-paper. */
#include <stdio.h>
#include "commands.h"

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
