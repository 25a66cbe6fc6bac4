/* SPDX-License-Identifier: MIT */
/*
 * What one uprobe hit costs on this kernel, for the floor in
 * docs/PERFORMANCE.md: times N calls of a function whose first
 * instruction is a 1-byte nop (what a USDT note is: the kernel traps with
 * int3 and emulates the nop) or a 5-byte nop (which kernels with the
 * uprobe optimisation turn into a call to a trampoline that makes the
 * uprobe syscall), and N getppid() calls (one plain kernel entry and exit).
 * bench.py attaches a uprobe to nop1/nop5 and runs this again.
 *
 * usage: trapcost nop1|nop5|syscall N   prints: <ns per iteration>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

__attribute__((noinline, used)) void lt_nop1(void)
{
	__asm__ volatile("nop");
}

__attribute__((noinline, used)) void lt_nop5(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x44, 0x00, 0x00");	/* nopl 0x0(%rax,%rax,1) */
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	void (*fn)(void) = NULL;
	long n;
	double t0;

	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: trapcost nop1|nop5|syscall N\n");
		return 2;
	}
	if (!strcmp(argv[1], "nop1"))
		fn = lt_nop1;
	else if (!strcmp(argv[1], "nop5"))
		fn = lt_nop5;
	else if (strcmp(argv[1], "syscall")) {
		fprintf(stderr, "trapcost: unknown variant %s\n", argv[1]);
		return 2;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (fn)
			fn();
		else
			syscall(SYS_getppid);
	}
	printf("%.1f\n", (now_ns() - t0) / n);
	return 0;
}
