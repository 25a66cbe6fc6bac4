// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): the process tree, for userspace: a
 * followed process forks (the child followed at once), a new child stops
 * at its fork return until its probes are on, a process exits.
 *
 * Uses from leaktrace.bpf.c: follow_tree, the followed map, is_followed(),
 * wanted(), emit() and the drops counter.
 */
/* follow_tree: a followed process forked a new process (not a thread):
 * the child is followed from its first instruction, before userspace
 * hears of it (LT_REC_FORK: pid the child, tid the parent) */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lt_fork, struct task_struct *parent, struct task_struct *child)
{
	struct lt_rec_exit e = {};
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = FOLLOWED_NEW;

	if (!follow_tree || ctgid == ptgid || !is_followed(ptgid))
		return 0;
	/* a full map loses the child's calls: counted, never silent */
	if (bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY))
		__sync_fetch_and_add(&drops, 1);
	e.type = LT_REC_FORK;
	e.tid = ptgid;
	e.pid = ctgid;
	e.ts = bpf_ktime_get_ns();
	emit(&e, sizeof(e));
	return 0;
}

/*
 * Following with per-process probes: a new process of the tree (added by
 * lt_fork before it runs) stops before its first instruction, in its own
 * context as it returns 0 from fork/clone (the first thing it does: the
 * scheduler's schedule_tail is neither ftrace- nor kprobe-able), and says
 * so (LT_REC_STOPPED); userspace puts its probes on it and continues it
 * (SIGCONT). Its probes are then its own: no other process of the build
 * takes a probe hit. This runs at every syscall exit of the host while
 * following, so the cheap tests come first.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(lt_child_start, struct pt_regs *regs, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct lt_rec_exit e = {};
	__u32 *state;

	if (ret || (__u32)id != tgid)
		return 0;
	state = bpf_map_lookup_elem(&followed, &tgid);
	if (!state || *state != FOLLOWED_NEW)
		return 0;
	*state = FOLLOWED_RUNNING;
	if (bpf_send_signal(19 /* SIGSTOP */))
		return 0;
	e.type = LT_REC_STOPPED;
	e.tid = tgid;
	e.pid = tgid;
	e.ts = bpf_ktime_get_ns();
	/* the child waits for userspace: wake it (and its FORK record,
	 * before this one, is read in the same pass) */
	if (bpf_ringbuf_output(&events, &e, sizeof(e), BPF_RB_FORCE_WAKEUP))
		__sync_fetch_and_add(&drops, 1);
	return 0;
}

/* BTF-typed tracepoint: needs no tracefs mounted */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(lt_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_rec_exit e = {};

	if (!wanted(id))
		return 0;
	e.type = LT_REC_EXIT;
	e.tid = (__u32)id;
	bpf_map_delete_elem(&evf_stacks, &e.tid);
	e.pid = id >> 32;
	/* the process ends with its main thread (a pid is not reused while
	 * other threads of it live) */
	if (follow_tree && e.tid == e.pid)
		bpf_map_delete_elem(&followed, &e.pid);
	e.ts = bpf_ktime_get_ns();
	emit(&e, sizeof(e));
	return 0;
}
