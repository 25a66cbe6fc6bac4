// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, after its
 * globals and maps): reading CPython objects of the target and sending
 * them. read_str (a str's text), send_code (the strings of a code or type
 * object, once per object: CODE records), code_gen_flags (a code's
 * generator flags, from the CPU's cache where it can) and decode_value (a
 * return or argument value into a RET record and its payload).
 *
 * Uses from leaktrace.bpf.c: the load-time configuration (layout,
 * build_addrs, value_str_max, types_only, returns_only, root_*), the maps
 * seen and scratch_map (struct scratch, struct obj_key/obj_tag), the free
 * counts obj_gone and obj_epoch with obj_bucket() and the SLOT_* bits,
 * emit(), rd64() and the read_failures and seen_inserts counters. The
 * layouts it fills are leaktrace.h's.
 */
#ifndef LEAKTRACE_PYOBJECTS_BPF_H
#define LEAKTRACE_PYOBJECTS_BPF_H

/*
 * Read a str object's text: returns bytes copied into dst (at most cap),
 * *kind: 0 = UTF-8 bytes, 1/2/4 = fixed-width code units, *nchars = length
 * in characters of the whole string. -1 if not readable.
 */
static __always_inline int read_str(const struct lt_py_layout *L, void *dst, __u32 cap, __u64 obj, __u8 *kind,
				    __u64 *nchars, __u32 max_chars)
{
	__u32 state = 0;
	__u64 len = 0;
	__u64 k, n, data;

	if (bpf_probe_read_user(&len, sizeof(len), (void *)(obj + layout.str_length)))
		return -1;
	if (bpf_probe_read_user(&state, sizeof(state), (void *)(obj + layout.str_state)))
		return -1;
	*nchars = len;
	if (!((state >> 5) & 1))	/* not compact */
		return -1;
	k = (state >> 2) & 7;
	if ((state >> 6) & 1) {		/* ascii: data right after PyASCIIObject */
		data = obj + layout.str_ascii_size;
		k = 1;
	} else {
		data = obj + layout.str_compact_size;
		if (k != 1 && k != 2 && k != 4)
			return -1;
	}
	*kind = k;
	n = len < max_chars ? len : max_chars;
	n = n * k;
	/* cap is a power of 2: at most cap - 1 bytes, bounded for the verifier */
	if (n >= cap)
		n = cap - 1;
	asm volatile("" : "+r"(n));	/* keep the mask: the verifier needs it */
	n &= cap - 1;
	if (n && bpf_probe_read_user(dst, n, (void *)data))
		return -1;
	return n;
}

/* --root matching as userspace does it (rebuild.c name_matches): the whole
 * qualname, or (a name without '.') its last dotted part. The name's bytes
 * as CPython stores them (kind 1, 2 or 4, little-endian) against --root in
 * that same kind: a non-ASCII name is no UTF-8 in the target */
static __always_inline bool root_named(const char *name, __u32 len, __u8 kind)
{
	__u32 ki = kind >> 1, rl, off;

	if ((kind != 1 && kind != 2 && kind != 4) || ki > 2)
		return false;
	rl = root_len[ki];
	if (!rl || len < rl || len >= LT_NAME_MAX)
		return false;
	off = len - rl;
	if (off) {
		/* the character before: '.', its other bytes 0 */
		if (root_dotted || off < kind || name[(off - kind) & (LT_NAME_MAX - 1)] != '.')
			return false;
		for (__u32 j = 1; j < 4; j++)
			if (j < kind && name[(off - kind + j) & (LT_NAME_MAX - 1)])
				return false;
	}
	for (int i = 0; i < LT_ROOT_MAX; i++) {
		if (i >= rl)
			break;
		if (name[(off + i) & (LT_NAME_MAX - 1)] != root_name[ki][i])
			return false;
	}
	return true;
}

static __always_inline bool same_tag(const struct obj_tag *a, const struct obj_tag *b)
{
	return a->name == b->name && a->file == b->file && a->line == b->line;
}

/* the count of frees and renames an object's cache slot is valid for
 * (obj_gone). Read at any time while the object lives: a free of an
 * object that had its address before counted before it was made */
static __always_inline __u32 obj_gen(const struct obj_key *key)
{
	return obj_gone[obj_bucket(key->addr, key->tgid)] + obj_epoch;
}

/* whether the CPU's cache slot still holds the object key names, with
 * every bit of kind in its root (SLOT_CODE or SLOT_TYPE, SLOT_FLAGS): none
 * of its bucket freed or renamed since it was filled */
static __always_inline bool slot_holds(const struct obj_key *slot_key, __u32 slot_root,
				       const struct obj_key *key, __u32 kind)
{
	return (slot_root & kind) == kind && slot_key->pad == obj_gen(key) &&
	       slot_key->addr == key->addr && slot_key->tgid == key->tgid;
}

/* the CPU's cache slot: key, identity, the frees it is valid for, and
 * root: whether the code is named like --root, the slot's kind
 * (SLOT_CODE, SLOT_TYPE) and a code's flags (SLOT_FLAGS) */
static __always_inline void fill_slot(typeof(&((struct scratch *)0)->cache[0]) slot,
				      const struct obj_key *key, const struct obj_tag *id, __u32 root)
{
	slot->key.addr = key->addr;
	slot->key.tgid = key->tgid;
	slot->key.pad = obj_gen(key);
	slot->tag.name = id->name;
	slot->tag.file = id->file;
	slot->tag.line = id->line;
	slot->tag.root = root;
}

/*
 * Send the strings of a code object (is_type = 0) or a type's tp_name once
 * per (process, address, identity): a code's identity (first line,
 * co_filename and co_qualname objects) is read in one helper call, from
 * the LT_CODE_WIN bytes at co_window; a type's is its tp_name pointer and
 * tp_basicsize. An object in the CPU's cache whose bucket saw no free or
 * rename since is not read at all. Returns 1 for a code object named like --root
 * (--no-durations only).
 */
static __always_inline int send_code(const struct lt_py_layout *L, struct scratch *s, __u64 obj, int is_type,
				     __u32 tid)
{
	struct lt_rec_code *c = &s->code;
	struct obj_key key = {};
	struct obj_tag tag = {};
	struct obj_tag *prev;
	typeof(&s->cache[0]) slot;
	__u32 skind = is_type ? SLOT_TYPE : SLOT_CODE;
	__u64 nch = 0;
	int n;
	__u8 kind = 0;

	key.addr = obj;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	slot = &s->cache[obj_bucket(obj, key.tgid)];
	/* an object of this kind this CPU knew, none of its bucket freed or
	 * renamed since (where the build's are probed): still it, nothing read */
	if ((is_type ? layout.type_frees_seen : layout.code_frees_seen) &&
	    slot_holds(&slot->key, slot->tag.root, &key, skind))
		return slot->tag.root & 1;
	if (is_type) {
		/* tp_name, then tp_basicsize */
		if (bpf_probe_read_user(&tag.name, 16, (void *)(obj + layout.type_tp_name)))
			return 0;
	} else {
		if (bpf_probe_read_user(s->cwin, LT_CODE_WIN, (void *)(obj + layout.co_window)))
			return 0;
		tag.name = *(const __u64 *)(s->cwin + ((layout.co_qualname - layout.co_window) & 0x78));
		tag.file = *(const __u64 *)(s->cwin + ((layout.co_filename - layout.co_window) & 0x78));
		tag.line = *(const __s32 *)(s->cwin + ((layout.co_firstlineno - layout.co_window) & 0x7c));
		if (layout.co_flags_in_window)
			tag.root = SLOT_FLAGS |
				   (*(const __u32 *)(s->cwin + ((layout.co_flags - layout.co_window) & 0x7c)) &
				    0x2a0) << SLOT_FLAGS_SHIFT;
	}
	/* (tag.root: the flags just read, not yet whether named like --root) */
	if (slot->key.addr == obj && slot->key.tgid == key.tgid && same_tag(&slot->tag, &tag)) {
		slot->key.pad = obj_gen(&key);
		slot->tag.root = (slot->tag.root & 1) | tag.root | skind;
		return slot->tag.root & 1;
	}
	prev = bpf_map_lookup_elem(&seen, &key);
	if (prev && same_tag(prev, &tag)) {
		fill_slot(slot, &key, prev, (prev->root & 1) | tag.root | skind);
		return prev->root & 1;
	}

	c->type = LT_REC_CODE;
	c->is_type = is_type;
	c->tid = tid;
	c->code = obj;
	c->tgid = key.tgid;
	c->pad = 0;
	c->firstlineno = tag.line;
	c->name_len = 0;
	c->file_len = 0;
	c->file_kind = 0;
	if (is_type) {
		/* tp_name is a C string */
		n = bpf_probe_read_user_str(c->name, sizeof(c->name), (void *)tag.name);
		if (n <= 0)
			return 0;
		c->name_kind = 0;
		c->name_len = n - 1;
	} else {
		n = read_str(L, c->name, sizeof(c->name), tag.name, &kind, &nch, LT_NAME_MAX);
		if (n < 0)
			return 0;
		c->name_kind = kind;
		c->name_len = n;
		if (returns_only && root_named(c->name, n, kind))
			tag.root |= 1;
		n = read_str(L, c->file, sizeof(c->file), tag.file, &kind, &nch, LT_FILE_MAX);
		if (n >= 0) {
			c->file_kind = kind;
			c->file_len = n;
		}
	}
	if (emit_alone(s, c, sizeof(*c)) == 0) {
		/* a new key counted (the trailer's evictions: these less the
		 * entries left), an address reused by another object replaced */
		if (!bpf_map_update_elem(&seen, &key, &tag, BPF_NOEXIST))
			__sync_fetch_and_add(&seen_inserts, 1);
		else
			bpf_map_update_elem(&seen, &key, &tag, BPF_ANY);
		fill_slot(slot, &key, &tag, tag.root | skind);
	}
	return tag.root & 1;
}

/* a code object's CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
 * flags: from the CPU's cache where it holds the code as send_code left it
 * (its frame start or resume, most often on this CPU), else read; -1 if
 * unreadable */
static __always_inline int code_gen_flags(const struct lt_py_layout *L, const struct scratch *s,
					  __u64 code)
{
	struct obj_key key = { .addr = code, .tgid = bpf_get_current_pid_tgid() >> 32 };
	const typeof(s->cache[0]) *slot = &s->cache[obj_bucket(code, key.tgid)];
	__u32 f = 0;

	if (layout.code_frees_seen && slot_holds(&slot->key, slot->tag.root, &key, SLOT_CODE | SLOT_FLAGS))
		return (slot->tag.root >> SLOT_FLAGS_SHIFT) & 0x2a0;
	if (bpf_probe_read_user(&f, 4, (void *)(code + layout.co_flags)))
		return -1;
	return f & 0x2a0;
}

/* 3.14+: the object of a _PyStackRef (the tag bits cleared) */
static __always_inline __u64 untag(const struct lt_py_layout *L, __u64 ref)
{
	return ref & ~layout.stackref_mask;
}

static __always_inline void decode_value(struct scratch *s, __u64 obj, __u64 bias, __u32 tid,
					 __u32 bi)
{
	const struct lt_build_addrs *b = &build_addrs[bi & (LT_MAX_BUILDS - 1)];
	const struct lt_py_layout *L = &layouts[bi & (LT_MAX_BUILDS - 1)];
	struct lt_rec_ret *r = &s->ret;
	__u64 t, nch = 0, ob[4] = {};
	int fail = 0, n;
	__u8 kind = 0;
	/* refcount, type and the next 16 bytes at once: an int's size and
	 * first two digits, a float's value (else read field by field) */
	bool whole;

	if (layout.stackref_mask && (obj & layout.stackref_mask) == layout.stackref_mask) {
		r->vkind = types_only ? LT_RV_OTHER : LT_RV_INT;	/* a tagged int */
		r->val = types_only ? 0 : (__u64)((__s64)obj >> 2);
		r->type_ptr = bias + b->type_vaddr[LT_T_LONG];
		if (types_only)
			send_code(L, s, r->type_ptr, 1, tid);
		return;
	}
	obj = untag(L, obj);
	/* None, True and False by their address: nothing read */
	t = obj - bias;
	if (b->none_vaddr && t == b->none_vaddr) {
		r->vkind = LT_RV_NONE;
		r->type_ptr = bias + b->type_vaddr[LT_T_NONE];
		return;
	}
	if (b->false_vaddr && (t == b->true_vaddr || t == b->false_vaddr)) {
		r->vkind = LT_RV_BOOL;
		r->val = t == b->true_vaddr;
		r->type_ptr = bias + b->type_vaddr[LT_T_BOOL];
		return;
	}
	whole = !bpf_probe_read_user(ob, sizeof(ob), (void *)obj);
	t = whole ? ob[1] : rd64(obj + 8, &fail);	/* ob_type */
	if (fail) {
		r->vkind = LT_RV_UNREAD;
		r->flags |= LT_RF_READFAIL;
		return;
	}
	r->type_ptr = t;
	t -= bias;
	if (t == b->type_vaddr[LT_T_NONE]) {
		r->vkind = LT_RV_NONE;
	} else if (t == b->type_vaddr[LT_T_BOOL]) {
		r->vkind = LT_RV_BOOL;
		r->val = (obj - bias) == b->true_vaddr;
	} else if (types_only) {
		/* --no-values: every other type by its name, sent once */
		r->vkind = LT_RV_OTHER;
		send_code(L, s, r->type_ptr, 1, tid);
	} else if (t == b->type_vaddr[LT_T_LONG]) {
		__s64 size = whole && layout.var_ob_size == 16 ? (__s64)ob[2] :
			     (__s64)rd64(obj + layout.var_ob_size, &fail);
		__u64 a;

		if (layout.long_tag)	/* lv_tag: digits << 3 | sign (0 +, 1 zero, 2 -) */
			size = (size & 3) == 2 ? -(size >> 3) : (size >> 3);
		a = size < 0 ? -size : size;

		if (fail) {
			r->vkind = LT_RV_UNREAD;
		} else if (a <= 2) {
			__u32 d[2] = {};

			if (whole && layout.long_digit == 24) {
				d[0] = a ? (__u32)ob[3] : 0;
				d[1] = a > 1 ? (__u32)(ob[3] >> 32) : 0;
			} else if (a && bpf_probe_read_user(d, a * 4, (void *)(obj + layout.long_digit))) {
				r->vkind = LT_RV_UNREAD;
				return;
			}
			r->vkind = LT_RV_INT;
			r->val = (__u64)d[0] | ((__u64)d[1] << 30);
			if (size < 0)
				r->val = -r->val;
		} else {
			/* beyond LT_BIGINT_DIGITS digits the most significant
			 * ones: userspace writes a marker (FORMAT.md §2) */
			__u64 n = a < LT_BIGINT_DIGITS ? a : LT_BIGINT_DIGITS;
			__u32 bytes = (n * 4) & (LT_MAX_STR - 1);

			if (bpf_probe_read_user(s->payload, bytes,
						(void *)(obj + layout.long_digit + (a - n) * 4))) {
				r->vkind = LT_RV_UNREAD;
				return;
			}
			r->vkind = LT_RV_BIGINT;
			r->str_len = (__u32)size;	/* |size| < 2^31 digits */
			r->payload_len = bytes;
		}
	} else if (t == b->type_vaddr[LT_T_FLOAT]) {
		r->vkind = LT_RV_FLOAT;
		r->val = whole && layout.float_fval == 16 ? ob[2] : rd64(obj + layout.float_fval, &fail);
		if (fail)
			r->vkind = LT_RV_UNREAD;
	} else if (t == b->type_vaddr[LT_T_STR]) {
		n = read_str(L, s->payload, LT_MAX_STR, obj, &kind, &nch, value_str_max + 1);
		if (n < 0) {
			r->vkind = LT_RV_UNREAD;
			return;
		}
		r->vkind = LT_RV_STR;
		r->str_kind = kind;
		r->str_len = nch > 0xffffffffULL ? 0xffffffffU : nch;
		r->payload_len = n;
	} else {
		r->vkind = LT_RV_OTHER;
		send_code(L, s, r->type_ptr, 1, tid);
	}
}

#endif /* LEAKTRACE_PYOBJECTS_BPF_H */
