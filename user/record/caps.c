// SPDX-License-Identifier: MIT
/*
 * The capabilities recording needs, checked before anything is loaded so
 * that a missing one is named instead of surfacing as an EPERM from libbpf:
 *   CAP_BPF        load the programs, create the maps and the ring buffer
 *   CAP_PERFMON    load tracing programs
 *   CAP_SYS_PTRACE -p/-a: read another user's /proc/PID/{maps,mem,root}
 *                  (the target's interpreter, its memory for the live check)
 *   CAP_SYS_ADMIN  only where the kernel wants it for uprobe perf events:
 *                  the fix for c9e0924e5c2b ("perf/core: open access to
 *                  probes for CAP_PERFMON privileged process", reported by
 *                  Jann Horn, in 2025 kernels and their stable updates)
 *                  requires it again. Found out by opening one disabled
 *                  uprobe event on our own binary. CAP_SYS_ADMIN also grants
 *                  what CAP_BPF and CAP_PERFMON do.
 * Not checked here: CAP_DAC_READ_SEARCH, needed only when the target's
 * interpreter lies where the agent's user may not read (pybuild/target.c
 * names it with the "Permission denied").
 * Root has them all; deploy/ gives exactly these to a non-root agent
 * (tests/test_deploy.py checks the set is enough and each one needed).
 * Memory locked by BPF maps is charged to the memory cgroup since Linux
 * 5.11 (libbpf then leaves RLIMIT_MEMLOCK alone): no CAP_SYS_RESOURCE.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common/err.h"
#include "record/record.h"

static bool has_cap(const struct __user_cap_data_struct *d, int c)
{
	return d[c / 32].effective & (1u << (c % 32));
}

static void add(char *buf, size_t len, const char *name, const char *why)
{
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, "%s%s (%s)", n ? ", " : "", name, why);
}

/* 1: this process may create a uprobe perf event; 0: EACCES; -1: unknown */
static int uprobe_allowed(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	int type = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	if (type < 0)
		return -1;
	/* offset 0 of our own file, disabled, never enabled: no code is probed */
	struct perf_event_attr a = { .size = sizeof(a), .type = (uint32_t)type, .disabled = 1 };
	a.config1 = (uint64_t)(uintptr_t)"/proc/self/exe";
	a.config2 = 0;
	int fd = (int)syscall(SYS_perf_event_open, &a, getpid(), -1, -1, 0);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == EACCES || errno == EPERM ? 0 : -1;
}

int lt_record_check_caps(bool other_procs)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	char missing[512] = "";

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d)) {
		lt_err("cannot read this process's capabilities (capget): %s", strerror(errno));
		return LT_EXIT_FAIL;
	}
	bool admin = has_cap(d, CAP_SYS_ADMIN);
	if (!has_cap(d, CAP_BPF) && !admin)
		add(missing, sizeof(missing), "CAP_BPF", "or CAP_SYS_ADMIN: load BPF programs and maps");
	if (!has_cap(d, CAP_PERFMON) && !admin)
		add(missing, sizeof(missing), "CAP_PERFMON", "or CAP_SYS_ADMIN: load tracing programs");
	if (other_procs && !has_cap(d, CAP_SYS_PTRACE))
		add(missing, sizeof(missing), "CAP_SYS_PTRACE", "read the target's /proc/PID/maps, mem and root");
	/* without CAP_PERFMON the probe fails anyway and tells nothing */
	if (!admin && has_cap(d, CAP_PERFMON) && uprobe_allowed() == 0)
		add(missing, sizeof(missing), "CAP_SYS_ADMIN",
		    "this kernel creates uprobe perf events for CAP_SYS_ADMIN only");
	if (!missing[0])
		return 0;
	lt_err("recording needs root or these capabilities, which it lacks: %s (sudo, or "
	       "deploy/README.md)", missing);
	return LT_EXIT_USAGE;
}
