// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): the process tree, for userspace: a
 * followed process forks (the child followed at once), a new child stops
 * at its fork return until its probes are on, a process execs (held at
 * its first exec of a file until userspace has looked for a build in
 * it), a process exits (the code and type objects cached for it are
 * forgotten at both).
 *
 * Uses from leaktrace.bpf.c: follow_tree, follow_exec, targ_tgid, armed, the
 * followed map, the events ring buffer, is_followed(), wanted(), emit_task(),
 * flush_cpu(), the drops counter and obj_epoch.
 */
/* a new thread, before it runs: the CPU's batch goes first (a yield of
 * its process's only thread may be in it, which the new one could resume:
 * sole_thread). follow_tree: a followed process forked a new process: the
 * child is followed from its first instruction, before userspace hears of
 * it (LT_REC_FORK: pid the child, tid the parent) */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lt_fork, struct task_struct *parent, struct task_struct *child)
{
	struct lt_rec_exit e = {};
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = FOLLOWED_NEW;

	if (ctgid == ptgid) {
		flush_cpu();
		return 0;
	}
	if (!follow_tree || !is_followed(ptgid))
		return 0;
	/* a full map loses the child's calls: counted, never silent */
	if (bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY))
		__sync_fetch_and_add(&drops, 1);
	e.type = LT_REC_FORK;
	e.tid = ptgid;
	e.pid = ctgid;
	e.ts = bpf_ktime_get_ns();
	emit_task(&e, sizeof(e));
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

/* a thread of a process that may be traced exits (the last one frees
 * the pid for reuse; which one is last is not told), or a process execs
 * (another image at the same addresses): the code and type objects the
 * CPUs cached for it are not taken for granted any more (send_code). Any
 * process where -a's --comm decides: a thread may have another name */
static __always_inline void forget_codes(__u64 id)
{
	if (armed && (!targ_tgid || is_followed(id >> 32)))
		__sync_fetch_and_add(&obj_epoch, 1);
}

/* BTF-typed tracepoint: needs no tracefs mounted */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(lt_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_rec_exit e = {};

	forget_codes(id);
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
	emit_task(&e, sizeof(e));
	return 0;
}

/* -a: a process image was replaced; userspace checks whether it runs a
 * CPython build not traced yet */

/* the new image's command line, read now: a short-lived process may be
 * gone before userspace could read /proc/PID/cmdline */
static __always_inline void send_cmdline(struct task_struct *p, __u32 pid)
{
	struct mm_struct *mm = p->mm;
	struct lt_rec_cmdline *c;
	__u64 start, len;

	if (!mm)
		return;
	start = BPF_CORE_READ(mm, arg_start);
	len = BPF_CORE_READ(mm, arg_end) - start;
	c = bpf_ringbuf_reserve(&events, sizeof(*c), 0);
	if (!c) {
		__sync_fetch_and_add(&drops, 1);
		return;
	}
	c->type = LT_REC_CMDLINE;
	c->pid = pid;
	if (len > LT_CMDLINE_MAX)
		len = LT_CMDLINE_MAX;
	if (bpf_probe_read_user(c->buf, len, (void *)start))
		len = 0;
	c->len = len;
	bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
}

/*
 * Executables a followed process ran (device, inode), whatever they are:
 * the first exec of each holds the process (SIGSTOP) before its first
 * instruction, so that userspace can put the probes of a build not traced
 * yet on before it runs a call (LT_EXEC_HELD; userspace continues it).
 * Later execs of the same file are not held: its build is traced by then,
 * or it is not a CPython. Userspace enters the traced builds' files at
 * load. A full map holds no more (userspace then finds builds late, as -a
 * does).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lt_exe_key);
	__type(value, __u8);
} exe_seen SEC(".maps");

/* the first exec of this file by a followed process: true if the map
 * took it now */
static __always_inline bool first_exec(struct linux_binprm *bprm)
{
	struct inode *ino = bprm->file->f_inode;
	struct lt_exe_key k = { .ino = ino->i_ino, .dev = ino->i_sb->s_dev };
	__u8 one = 1;

	return !bpf_map_update_elem(&exe_seen, &k, &one, BPF_NOEXIST);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_rec_exit *e;
	bool followed = targ_tgid && is_followed(id >> 32);

	forget_codes(id);
	if (!follow_exec && !followed)
		return 0;
	flush_cpu();	/* the old image's calls first */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&drops, 1);
		return 0;
	}
	e->type = LT_REC_EXEC;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->tid = (__u32)id;
	e->pid = id >> 32;
	e->ts = bpf_ktime_get_ns();
	e->pad2 = 0;
	/* held only once its record is sure to reach userspace, which
	 * continues it; that record wakes the consumer */
	if (followed && first_exec(bprm) && !bpf_send_signal(19 /* SIGSTOP */))
		e->pad2 = LT_EXEC_HELD;
	send_cmdline(p, e->pid);
	bpf_ringbuf_submit(e, e->pad2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}
