// SPDX-License-Identifier: MIT
/* leaktrace detect: apply a rules file to executions (SPEC 4). */
#include <stdio.h>
#include "commands.h"

int cmd_detect(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: detect is not built yet\n");
	return LT_EXIT_FAIL;
}
