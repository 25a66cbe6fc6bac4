/* SPDX-License-Identifier: MIT */
/*
 * Attaching: the one table of probe mechanisms, the load-time
 * configuration (the skeleton's rodata, named as the BPF side names it),
 * the build addresses, and the uprobes themselves. Every cookie is packed
 * here with LT_COOKIE (leaktrace.h, FORMAT.md §3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "common/err.h"
#include "leaktrace.h"
#include "leaktrace.skel.h"
#include "pybuild/opcodes.h"
#include "pybuild/py_tables.h"
#include "pybuild/pystr.h"
#include "floor.skel.h"
#include "record/record.h"
#include "record/roots.h"

/* the probes a mechanism puts on a build */
enum {
	PROBE_RESUME = 1 << 0,		/* lt_resume on the RESUME sites: frame starts */
	PROBE_USDT_RETURN = 1 << 1,	/* lt_return on the python:function__return note */
	PROBE_RETURN_SITES = 1 << 2,	/* lt_return_site on the table's return sites */
	PROBE_EVALFRAME = 1 << 3,	/* lt_evf_entry and a uretprobe (lt_evf_return)
					 * on _PyEval_EvalFrameDefault */
};

/* how a mechanism's records are read (user/record/rebuild.c) */
enum mech_records {
	RECORDS_ENTRY_RET,	/* ENTRY at frame starts, RET at exits: nesting by
				 * the live-frame stack, durations */
	RECORDS_RET_ONLY,	/* RET only, in post-order: nesting by the caller
				 * frame (rb_config.returns_only), no durations */
};

/*
 * One entry per way of catching calls. The target's build decides the
 * family (py_target.use_evalframe / use_sites, from what the build offers
 * and --mechanism), --no-durations the variant. --floor attaches the same
 * probes with the floor programs.
 */
struct lt_mechanism {
	const char *name;		/* the trace header's "mechanism" (FORMAT.md §1) */
	unsigned probes;		/* PROBE_* */
	enum mech_records records;
	/* BPF switches */
	bool bpf_returns_only;		/* rodata returns_only: a RET sends its code's
					 * strings and the root walk (LT_RF_ROOT_*) */
	bool bpf_evalframe;		/* layout.evf_mode: the frame object tells yields */
};

static const struct lt_mechanism mechanisms[] = {
	{ "usdt+resume", PROBE_RESUME | PROBE_USDT_RETURN, RECORDS_ENTRY_RET },
	{ "resume+return-sites", PROBE_RESUME | PROBE_RETURN_SITES, RECORDS_ENTRY_RET },
	{ "evalframe-uprobes", PROBE_EVALFRAME, RECORDS_ENTRY_RET, .bpf_evalframe = true },
	{ "usdt-returns", PROBE_USDT_RETURN, RECORDS_RET_ONLY, .bpf_returns_only = true },
	{ "return-sites", PROBE_RETURN_SITES, RECORDS_RET_ONLY, .bpf_returns_only = true },
};

const struct lt_mechanism *mech_choose(const struct py_target *t, bool returns_only)
{
	unsigned family = t->use_evalframe ? PROBE_EVALFRAME :
			  t->use_sites ? PROBE_RETURN_SITES : PROBE_USDT_RETURN;
	enum mech_records want = returns_only ? RECORDS_RET_ONLY : RECORDS_ENTRY_RET;

	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if ((mechanisms[i].probes & family) && mechanisms[i].records == want)
			return &mechanisms[i];
	/* the only pair without an entry */
	lt_err("--no-durations needs the USDT or probe-site mechanism; python %s is traced "
	       "through _PyEval_EvalFrameDefault, whose return probe needs its entry probe",
	       t->version);
	return NULL;
}

const char *mech_name(const struct lt_mechanism *m)
{
	return m->name;
}

bool mech_returns_only(const struct lt_mechanism *m)
{
	return m->records == RECORDS_RET_ONLY;
}

/* t's link-time addresses as build bi (also after load: .bss) */
static void set_build_addrs(struct leaktrace_bpf *skel, const struct py_target *t, int bi)
{
	struct lt_build_addrs *b = &skel->bss->build_addrs[bi];

	b->runtime_vaddr = t->runtime;
	memcpy(b->type_vaddr, t->types, sizeof(b->type_vaddr));
	b->true_vaddr = t->true_struct;
	b->none_vaddr = t->none_struct;
	b->false_vaddr = t->false_struct;
}

/* the struct layout of build t (before load, or after it for a build -a
 * meets later: .bss); -1 if the BPF side cannot read it */
static int set_layout(struct lt_py_layout *l, const struct lt_mechanism *m,
		      const struct py_target *t)
{
	const struct py_offsets *o = &t->build->off;
	int minor = py_minor(t->build->version);
	const struct py_opcodes *ops;

	/* a code's identity is read in one window (send_code) */
	if (o->co_filename + 8 > (o->co_firstlineno & ~7u) + LT_CODE_WIN ||
	    o->co_qualname + 8 > (o->co_firstlineno & ~7u) + LT_CODE_WIN ||
	    o->co_filename < (o->co_firstlineno & ~7u) || o->co_qualname < (o->co_firstlineno & ~7u) ||
	    (o->co_filename | o->co_qualname) & 7 || o->co_firstlineno & 3) {
		lt_err("python %s: co_firstlineno, co_filename and co_qualname in the offset table do "
		       "not lie within the %d bytes the BPF side reads at once; this build is not "
		       "supported", t->version, LT_CODE_WIN);
		return -1;
	}
	/* frame starts, returns and the walk to a Python caller read a
	 * frame's first LT_FRAME_HDR bytes at once */
	if (o->fr_code + 8 > LT_FRAME_HDR || o->fr_previous + 8 > LT_FRAME_HDR ||
	    o->fr_prev_instr + 8 > LT_FRAME_HDR || o->fr_stacktop + 8 > LT_FRAME_HDR ||
	    o->fr_owner + 1 > LT_FRAME_HDR ||
	    (o->fr_code | o->fr_previous | o->fr_prev_instr) & 7 || o->fr_stacktop & 3) {
		lt_err("python %s: the frame fields in the offset table lie beyond the %d bytes "
		       "the BPF side reads at once; this build is not supported",
		       t->version, LT_FRAME_HDR);
		return -1;
	}
	l->rt_tstate_current = o->rt_tstate_current;
	l->ts_cframe = o->ts_cframe;
	l->ts_curexc_type = o->ts_curexc_type;
	l->cf_current_frame = o->cf_current_frame;
	l->fr_code = o->fr_code;
	l->fr_previous = o->fr_previous;
	l->fr_prev_instr = o->fr_prev_instr;
	l->fr_stacktop = o->fr_stacktop;
	l->fr_localsplus = o->fr_localsplus;
	l->co_argcount = o->co_argcount;
	l->co_firstlineno = o->co_firstlineno;
	l->co_filename = o->co_filename;
	l->co_qualname = o->co_qualname;
	l->type_tp_name = o->type_tp_name;
	l->var_ob_size = o->var_ob_size;
	l->long_digit = o->long_digit;
	l->float_fval = o->float_fval;
	l->str_length = o->str_length;
	l->str_state = o->str_state;
	l->str_ascii_size = o->str_ascii_size;
	l->str_compact_size = o->str_compact_size;
	l->op_yield_value = t->op_yield_value;
	l->fr_state = o->fr_state;
	l->evf_mode = !m->bpf_evalframe ? 0 : minor == 10 ? 2 : minor < 10 ? 1 : 3;
	l->fr_owner = o->fr_owner;
	l->co_flags = o->co_flags;
	l->gen_state_rel = o->gen_state_rel;
	l->gen_created = o->gen_created;
	l->owned_by_gen = o->owned_by_gen;
	l->long_tag = minor >= 12;
	l->co_consts = o->co_consts;
	l->tuple_items = o->tuple_items;
	l->skip_cstack = (m->probes & PROBE_RETURN_SITES) && l->long_tag;
	l->owned_by_cstack = o->owned_by_cstack;
	l->op_return_value = o->op_return_value;
	l->op_return_const = o->op_return_const;
	l->op_instr_return_value = o->op_instr_return_value;
	l->op_instr_return_const = o->op_instr_return_const;
	l->op_extended_arg = o->op_extended_arg;
	l->op_instr_line = o->op_instr_line;
	l->stackref_mask = minor >= 14 ? 3 : 0;	/* Py_TAG_BITS */
	l->stack_is_ptr = minor >= 14;
	l->gen_executing = o->gen_executing;
	/* with co_flags where they fit, so that a code's generator flags
	 * are known from the CPU's cache (leaktrace.bpf.c code_gen_flags) */
	l->co_window = o->co_firstlineno & ~7u;
	if ((o->co_flags & ~7u) < l->co_window &&
	    o->co_firstlineno + 4 <= (o->co_flags & ~7u) + LT_CODE_WIN &&
	    o->co_filename + 8 <= (o->co_flags & ~7u) + LT_CODE_WIN &&
	    o->co_qualname + 8 <= (o->co_flags & ~7u) + LT_CODE_WIN)
		l->co_window = o->co_flags & ~7u;
	l->co_flags_in_window = !(o->co_flags & 3) && o->co_flags >= l->co_window &&
				o->co_flags + 4 <= l->co_window + LT_CODE_WIN;
	l->gen_resume_in_creator = minor >= 15;
	l->yield_ip_after = minor >= 13;
	l->ts_interp = o->ts_interp;
	l->is_id = o->is_id;
	l->rt_interp_head = o->rt_interp_head;
	l->is_next = o->is_next;
	l->is_threads_head = o->is_threads_head;
	l->ts_next = o->ts_next;
	l->ts_cur_frame = o->ts_cur_frame;
	l->cur_via_cframe = minor == 12;
	l->chain_base = minor >= 15;
	l->gen_iframe = o->gen_iframe;
	l->op_instr_yield_value = o->op_instr_yield_value;
	l->op_instr_instruction = o->op_instr_instruction;
	l->yf_slot = minor >= 15 ? 2 : 1;
	l->co_monitoring = o->co_monitoring;
	l->co_code_adaptive = o->co_code_adaptive;
	l->mon_lines = o->mon_lines;
	l->mon_per_instr = o->mon_per_instr;
	l->lines_format = minor >= 14 ? LT_LINES_BPE : minor == 13 ? LT_LINES_EITHER : LT_LINES_PAIRS;
	/* return sites fire before these instructions' tracing hooks
	 * (leaktrace.bpf.c: caller_exited) */
	ops = py_opcodes_of(minor);
	l->op_exit_hook[0] = l->op_exit_hook[1] = PY_TABLE_NO_OP;
	l->exit_hook_any_frame = minor == 11;
	l->fr_is_entry = minor == 11 && o->fr_is_entry < LT_FRAME_HDR ? o->fr_is_entry : 0;
	/* attach_probes probes these wherever they were found, first */
	l->code_frees_seen = t->build->code_free.vaddr != 0;
	l->type_frees_seen = t->build->type_free.vaddr && t->build->type_rename.vaddr;
	l->clear_ra_value = t->build->clear_ra_value;
	if (minor == 11) {
		l->op_exit_hook[0] = o->op_return_value;
		l->op_exit_hook[1] = o->op_yield_value;
	} else if (minor >= 14 && ops && ops->instr_yield_value >= 0) {
		/* 3.12, 3.13: the generator is suspended during the event */
		l->op_exit_hook[0] = (uint32_t)ops->instr_yield_value;
	}
	return 0;
}

int attach_configure(struct leaktrace_bpf *skel, const struct lt_mechanism *const *mechs,
		     const struct py_target *targets, int n, int tgid, bool in_pidns)
{
	struct leaktrace_bpf__rodata *ro = skel->rodata;
	const struct lt_mechanism *m = mechs[0];	/* returns only or not: one for all */

	for (int i = 0; i < n; i++) {
		if (set_layout(&skel->bss->layouts[i], mechs[i], &targets[i]))
			return -1;
		set_build_addrs(skel, &targets[i], i);
	}
	ro->targ_tgid = tgid;
	ro->targ_in_pidns = in_pidns;
	if (env.comm)
		strncpy((char *)ro->targ_comm, env.comm, sizeof(ro->targ_comm) - 1);
	ro->value_str_max = env.str_len;
	ro->types_only = env.no_values;
	ro->send_arg_values = env.args;
	ro->follow_exec = env.all;
	ro->follow_tree = following();
	/* the child stop: per-process probes while following */
	if (!following())
		bpf_program__set_autoload(skel->progs.lt_child_start, false);
	ro->returns_only = m->bpf_returns_only;
	if (m->bpf_returns_only && env.root) {
		/* the name part of MODULE:QUAL or NAME@FILE (userspace checks
		 * the module or file); the BPF side compares the target's own
		 * bytes: it in each kind a qualname holding it may have (the
		 * CLI keeps it below LT_ROOT_MAX UTF-8 bytes; a wider kind may
		 * not fit: 0) */
		const char *name = root_name_part(env.root);

		for (int k = 1, i = 0; k <= 4; k *= 2, i++)
			ro->root_len[i] = lt_utf8_to_units(name, k, (char *)ro->root_name[i],
							   LT_ROOT_MAX - 1);
		ro->root_dotted = !!strchr(name, '.') || strchr(env.root, ':');
	}
	bpf_map__set_max_entries(skel->maps.events, (uint32_t)env.ringbuf_mb << 20);
	ro->ring_wake_bytes = (uint32_t)env.ringbuf_mb << 18;	/* a quarter */
	return 0;
}

/* the programs a mechanism's probes run: leaktrace's, or --floor's */
struct probe_progs {
	struct bpf_program *resume, *usdt_return, *return_site, *evf_entry, *evf_return, *obj_gone;
};

/* every probe attached, with the process it is for (-1: every one) */
static struct bpf_link **links;
static int *link_pid;
static int nlinks, links_cap;
/* probes of exited processes, removed by the reaper thread (detach_process) */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dead_cond = PTHREAD_COND_INITIALIZER;
static struct bpf_link **dead;
static int ndead, dead_cap;
static bool reaper_started;

/* the file offset of a probe: from its link-time address */
#define OFF_OF_VADDR	UINT64_MAX

/* one uprobe (or uretprobe) on the instruction at link-time address
 * vaddr of t, at file offset off (OFF_OF_VADDR: found from vaddr);
 * ref_ctr_off: a USDT semaphore the kernel counts (0: none) */
static int attach_uprobe(struct bpf_program *prog, const struct py_target *t, int pid,
			 uint64_t vaddr, uint64_t off, uint64_t cookie, uint64_t ref_ctr_off,
			 bool retprobe, const char *what)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = cookie, .ref_ctr_offset = ref_ctr_off,
		    .retprobe = retprobe);
	struct bpf_link *l;

	if (!prog) {
		lt_err("--floor does not cover CPython 3.8-3.10");
		return -1;
	}
	if (nlinks == links_cap) {
		int cap = links_cap ? 2 * links_cap : 64;
		void *l2 = realloc(links, cap * sizeof(*links)), *p2;

		if (l2)
			links = l2;
		p2 = l2 ? realloc(link_pid, cap * sizeof(*link_pid)) : NULL;
		if (!p2) {
			lt_err("out of memory");
			return -1;
		}
		link_pid = p2;
		links_cap = cap;
	}
	if (!LT_COOKIE_FITS(vaddr)) {
		lt_err("%s 0x%llx in %s lies above the 2^%d bytes a probe cookie holds", what,
		       (unsigned long long)vaddr, t->shown, LT_COOKIE_VADDR_BITS);
		return -1;
	}
	if (off == OFF_OF_VADDR && elf_vaddr_to_offset(t->path, vaddr, &off)) {
		lt_err("%s 0x%llx is outside %s", what, (unsigned long long)vaddr, t->shown);
		return -1;
	}
	l = bpf_program__attach_uprobe_opts(prog, pid, t->path, off, &o);
	if (!l) {
		lt_err("cannot attach to the %s 0x%llx in %s: %s", what, (unsigned long long)vaddr,
		       t->shown, strerror(errno));
		return -1;
	}
	link_pid[nlinks] = pid;
	links[nlinks++] = l;
	if (env.verbose)
		lt_err("%s 0x%llx (file offset 0x%llx, cookie 0x%llx%s)", what,
		       (unsigned long long)vaddr, (unsigned long long)off,
		       (unsigned long long)cookie, ref_ctr_off ? ", with semaphore" : "");
	return 0;
}

/* the probes of mechanism m on t as build bi */
static int attach_probes(const struct lt_mechanism *m, const struct probe_progs *p,
			 const struct py_target *t, int pid, uint64_t bi)
{
	const struct py_build *b = t->build;
	const struct py_site *gone[] = { &b->code_free, &b->type_free, &b->type_rename };

	/* before any probe that sends a code or type object (set_layout) */
	for (int i = 0; i < 3; i++)
		if (gone[i]->vaddr &&
		    attach_uprobe(p->obj_gone, t, pid, gone[i]->vaddr, OFF_OF_VADDR,
				  LT_COOKIE(bi, gone[i]->vaddr, 0, gone[i]->frame_reg), 0, false,
				  i == 0 ? "code_dealloc" : i == 1 ? "type_dealloc" : "type_set_name"))
			return -1;
	if (m->probes & PROBE_EVALFRAME) {
		const struct py_site *e = &b->evalframe;

		if (attach_uprobe(p->evf_entry, t, pid, e->vaddr, OFF_OF_VADDR,
				  LT_COOKIE(bi, e->vaddr, LT_NO_SLOT, e->frame_reg), 0, false,
				  "_PyEval_EvalFrameDefault entry") ||
		    attach_uprobe(p->evf_return, t, pid, e->vaddr, OFF_OF_VADDR,
				  LT_COOKIE(bi, 0, 0, 0), 0, true, "_PyEval_EvalFrameDefault return"))
			return -1;
	}
	for (int i = 0; (m->probes & PROBE_RETURN_SITES) && i < b->nret; i++) {
		const struct py_ret_site *rs = &b->ret[i];

		if (attach_uprobe(p->return_site, t, pid, rs->vaddr, OFF_OF_VADDR,
				  LT_COOKIE(bi, rs->vaddr, LT_SITE_EXTRA(rs->kind, rs->aux_reg),
					    LT_SITE_FRAME(rs->frame_reg, rs->prev_slot1)), 0, false,
				  "return site"))
			return -1;
	}
	if ((m->probes & PROBE_USDT_RETURN) &&
	    attach_uprobe(p->usdt_return, t, pid, t->ret_note.loc, t->ret_note.loc_off,
			  LT_COOKIE(bi, t->ret_note.loc, 0, 0), t->ret_note.sema_off, false,
			  "python:function__return"))
		return -1;
	for (int i = 0; (m->probes & PROBE_RESUME) && i < b->nresume; i++) {
		const struct py_site *s = &b->resume[i];

		if (attach_uprobe(p->resume, t, pid, s->vaddr, OFF_OF_VADDR,
				  LT_COOKIE(bi, s->vaddr, s->instr_reg, s->frame_reg), 0, false,
				  "RESUME site"))
			return -1;
	}
	return 0;
}

void detach_probes(void)
{
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	/* the reaper's queue too: the probes are gone when this returns */
	pthread_mutex_lock(&dead_lock);
	while (ndead > 0)
		bpf_link__destroy(dead[--ndead]);
	pthread_mutex_unlock(&dead_lock);
	free(links);
	free(link_pid);
	links = NULL;
	link_pid = NULL;
	links_cap = 0;
}

static void leaktrace_progs(struct leaktrace_bpf *skel, struct probe_progs *p)
{
	*p = (struct probe_progs){
		.resume = skel->progs.lt_resume,
		.usdt_return = skel->progs.lt_return,
		.return_site = skel->progs.lt_return_site,
		.evf_entry = skel->progs.lt_evf_entry,
		.evf_return = skel->progs.lt_evf_return,
		.obj_gone = skel->progs.lt_obj_gone,
	};
}

int attach_process(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
		   const struct py_target *targets, int n, int pid)
{
	struct probe_progs p;

	leaktrace_progs(skel, &p);
	for (int i = 0; i < n; i++)
		if (attach_probes(m[i], &p, &targets[i], pid, i))
			return -1;
	return 0;
}

int attach_all(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
	       const struct py_target *targets, int n, int pid)
{
	if (attach_process(skel, m, targets, n, pid))
		return -1;
	skel->links.lt_exec = bpf_program__attach(skel->progs.lt_exec);
	skel->links.lt_exit = bpf_program__attach(skel->progs.lt_exit);
	if (!skel->links.lt_exit) {
		lt_err("cannot attach to sched_process_exit: %s", strerror(errno));
		return -1;
	}
	/* a new thread sends its creator's batch (a yield in it) first; a
	 * followed process's new child is followed */
	if (!(skel->links.lt_fork = bpf_program__attach(skel->progs.lt_fork))) {
		lt_err("cannot attach to sched_process_fork: %s", strerror(errno));
		return -1;
	}
	/* a CPU's batch of records goes when its task leaves the CPU */
	if (!(skel->links.lt_switch = bpf_program__attach(skel->progs.lt_switch))) {
		lt_err("cannot attach to sched_switch: %s", strerror(errno));
		return -1;
	}
	return 0;
}

bool flush_batches(struct leaktrace_bpf *skel)
{
	int fd = bpf_program__fd(skel->progs.lt_flush), ncpu = libbpf_num_possible_cpus();
	bool all = true;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

		/* an offline CPU fails (ENXIO): it runs no probe */
		if (!bpf_prog_test_run_opts(fd, &o) && o.retval)
			all = false;
	}
	return all;
}


/*
 * The probes of a process that exited go, or their perf events would
 * pile up (gunicorn's --max-requests restarts), each probe hit walking
 * them all in the kernel's uprobe filter. Removing a uprobe waits for
 * RCU grace periods (about 70 ms a probe here): a thread of its own does
 * it, so that the consumer goes on (a child waits stopped for it).
 */

static void *reaper(void *arg)
{
	prctl(PR_SET_NAME, "lt-reaper");
	for (;;) {
		struct bpf_link *l;

		pthread_mutex_lock(&dead_lock);
		while (!ndead)
			pthread_cond_wait(&dead_cond, &dead_lock);
		l = dead[--ndead];
		pthread_mutex_unlock(&dead_lock);
		bpf_link__destroy(l);
	}
	return NULL;
}

void detach_process(int pid)
{
	int j = 0;

	if (pid <= 0)
		return;
	if (!reaper_started) {
		pthread_t t;

		reaper_started = !pthread_create(&t, NULL, reaper, NULL);
		if (reaper_started)
			pthread_detach(t);
	}
	pthread_mutex_lock(&dead_lock);
	for (int i = 0; i < nlinks; i++) {
		if (link_pid[i] == pid) {
			if (ndead == dead_cap) {
				int cap = dead_cap ? 2 * dead_cap : 64;
				void *d = realloc(dead, cap * sizeof(*dead));

				if (d) {
					dead = d;
					dead_cap = cap;
				}
			}
			if (reaper_started && ndead < dead_cap)
				dead[ndead++] = links[i];
			else
				bpf_link__destroy(links[i]);
			continue;
		}
		links[j] = links[i];
		link_pid[j++] = link_pid[i];
	}
	nlinks = j;
	pthread_cond_signal(&dead_cond);
	pthread_mutex_unlock(&dead_lock);
}

bool attach_child_stop(struct leaktrace_bpf *skel)
{
	skel->links.lt_child_start = bpf_program__attach(skel->progs.lt_child_start);
	return skel->links.lt_child_start != NULL;
}

int attach_build(struct leaktrace_bpf *skel, const struct lt_mechanism *m,
		 const struct py_target *t, int n)
{
	struct probe_progs p;

	leaktrace_progs(skel, &p);
	if (set_layout(&skel->bss->layouts[n], m, t))
		return -1;
	set_build_addrs(skel, t, n);
	return attach_probes(m, &p, t, -1, n);
}

int run_floor(const struct lt_mechanism *m, const struct py_target *t, int pid, bool is_child,
	      int release_fd)
{
	struct floor_bpf *skel = floor_bpf__open_and_load();
	int err = LT_EXIT_FAIL, status;
	uint64_t t0 = mono_ns();
	struct probe_progs p;

	if (!skel) {
		lt_err("cannot load the floor programs: %s", strerror(errno));
		goto out;
	}
	/* the same probes, empty programs; none for 3.8-3.10 */
	p = (struct probe_progs){
		.resume = skel->progs.floor_resume,
		.usdt_return = skel->progs.floor_return,
		.return_site = skel->progs.floor_return,
		.obj_gone = skel->progs.floor_resume,
	};
	if (attach_probes(m, &p, t, pid, 0))
		goto out;
	if (release_fd >= 0 && write(release_fd, "g", 1) != 1)
		goto out;
	while (!exiting && process_alive(pid, is_child, NULL)) {
		usleep(20000);
		if (env.duration && mono_ns() - t0 >= env.duration * 1e9)
			break;
	}
	err = 0;
out:
	if (release_fd >= 0)
		close(release_fd);
	if (is_child)
		waitpid(pid, &status, 0);
	detach_probes();
	floor_bpf__destroy(skel);
	return err;
}
