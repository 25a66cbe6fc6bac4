// SPDX-License-Identifier: MIT
/*
 * pysites FILE MINOR: print the probe sites py_sites_find() finds in a
 * CPython binary (user/pybuild/sites.h), whether the JIT is compiled in,
 * and how long the search took; a debugging aid, built as .output/pysites.
 * Exit 2 on failure, with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/err.h"
#include "pybuild/sites.h"

int main(int argc, char **argv)
{
	struct py_build b = { 0 };
	struct timespec t0, t1;
	char why[256], text[1024];
	int minor, jit;

	if (argc != 3 || (minor = atoi(argv[2])) < 8) {
		lt_err("usage: pysites FILE MINOR (e.g. pysites /usr/bin/python3.11 11)");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (py_sites_find(argv[1], minor, &b, why, sizeof(why))) {
		lt_err("%s: %s", argv[1], why);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	py_sites_describe(&b, text, sizeof(text));
	fputs(text, stdout);
	if (why[0])	/* 3.11 without return sites: USDT only */
		printf("note %s\n", why);
	jit = py_jit_compiled(argv[1], why, sizeof(why));
	printf("jit %s\n", jit < 0 ? why : jit ? "compiled in" : "no");
	printf("time %.1f ms\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
