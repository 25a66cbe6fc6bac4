/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include "common/err.h"

static void say(const char *prefix, const char *fmt, va_list ap)
{
	/* one fprintf per part, but stderr is unbuffered: build the line
	 * first so that concurrent writers do not interleave inside it */
	char line[4096];
	int n = snprintf(line, sizeof(line), "leaktrace: %s", prefix);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void lt_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void lt_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}
