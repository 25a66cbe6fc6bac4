// SPDX-License-Identifier: MIT
/*
 * pysites FILE MINOR: print the probe sites py_sites_find() finds in a
 * CPython binary (user/pybuild/sites.h), and whether the JIT is compiled
 * in; a debugging aid, built as .output/pysites. Exit 2 on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/err.h"
#include "pybuild/sites.h"

static const char *const kinds[] = { "return", "yield", "raise", "clear", "yield_sp" };

int main(int argc, char **argv)
{
	struct py_build b = { 0 };
	struct timespec t0, t1;
	char why[256];
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
	for (int i = 0; i < b.nresume; i++)
		printf("resume 0x%lx frame %u instr %u\n", (unsigned long)b.resume[i].vaddr,
		       b.resume[i].frame_reg, b.resume[i].instr_reg);
	for (int i = 0; i < b.nret; i++)
		printf("ret 0x%lx frame %u kind %s aux %u\n", (unsigned long)b.ret[i].vaddr,
		       b.ret[i].frame_reg, b.ret[i].kind < 5 ? kinds[b.ret[i].kind] : "?",
		       b.ret[i].aux_reg);
	if (b.evalframe.vaddr)
		printf("evalframe 0x%lx frame %u\n", (unsigned long)b.evalframe.vaddr,
		       b.evalframe.frame_reg);
	jit = py_jit_compiled(argv[1], why, sizeof(why));
	printf("jit %s\n", jit < 0 ? why : jit ? "compiled in" : "no");
	printf("time %.1f ms\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
