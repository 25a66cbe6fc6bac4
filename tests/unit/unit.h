/* Minimal unit-test helpers: PASS/FAIL lines for tests/run.sh. */
#ifndef LT_UNIT_H
#define LT_UNIT_H
#include <stdio.h>
#include <stdlib.h>

static int unit_failed;
static const char *unit_name;
static int unit_case_failed;

#define CHECK(cond) do { if (!(cond)) { \
	printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	unit_case_failed = 1; } } while (0)

#define RUN(fn) do { unit_name = #fn; unit_case_failed = 0; fn(); \
	if (unit_case_failed) { unit_failed++; printf("FAIL %s: see above\n", unit_name); } \
	else { printf("PASS %s\n", unit_name); } \
	fflush(stdout); } while (0)

#define UNIT_EXIT() return unit_failed ? 1 : 0
#endif
