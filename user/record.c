/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "commands.h"
#include "leaktrace.skel.h"
int cmd_record(int argc, char **argv)
{
	fprintf(stderr, "leaktrace: record is not built yet\n");
	return LT_EXIT_FAIL;
}
