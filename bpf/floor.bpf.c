// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark floor: the same attach points as leaktrace.bpf.c with programs
 * that do nothing, so that `record --floor` measures what the kernel's
 * uprobe machinery alone costs per call (bench/, docs/PERFORMANCE.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_resume(void *ctx)
{
	return 0;
}

SEC("uprobe")
int floor_return(void *ctx)
{
	return 0;
}
