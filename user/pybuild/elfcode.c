// SPDX-License-Identifier: MIT
/*
 * An ELF file's code, read with libelf and decoded with capstone
 * (contract in elfcode.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pybuild/elfcode.h"


int img_fail(struct img *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, m->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the ELF file ---- */

const uint8_t *img_bytes(const struct img *m, uint64_t vaddr, size_t len)
{
	for (int i = 0; i < m->nseg; i++) {
		const struct seg *s = &m->seg[i];

		uint64_t rel = vaddr - s->vaddr;

		/* no sum that can wrap: vaddr may be any immediate */
		if (vaddr < s->vaddr || rel > s->filesz || len > s->filesz - rel ||
		    s->off > m->rawlen || rel > m->rawlen - s->off || len > m->rawlen - s->off - rel)
			continue;
		return m->raw + s->off + rel;
	}
	return NULL;
}

bool img_exec(const struct img *m, uint64_t vaddr)
{
	for (int i = 0; i < m->nseg; i++)
		if (m->seg[i].exec && vaddr >= m->seg[i].vaddr &&
		    vaddr - m->seg[i].vaddr < m->seg[i].filesz)
			return true;
	return false;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* the pointer stored at vaddr as the loader leaves it: a relative
 * relocation's addend in a PIE or shared object (the word in the file is
 * then 0), else the word itself (non-PIE, or RELR, whose addend is in
 * place) */
bool img_ptr(const struct img *m, uint64_t vaddr, uint64_t *val)
{
	struct rel key = { .off = vaddr }, *r;
	const uint8_t *p;

	r = m->nrel ? bsearch(&key, m->rel, m->nrel, sizeof(*r), cmp_rel) : NULL;
	if (r) {
		*val = r->addend;
		return true;
	}
	p = img_bytes(m, vaddr, 8);
	if (!p)
		return false;
	memcpy(val, p, 8);
	return true;
}

static int push_rel(struct img *m, struct rel **arr, size_t *n, size_t *cap, uint64_t off,
		    uint64_t val)
{
	if (*n == *cap) {
		struct rel *a;

		*cap = *cap ? 2 * *cap : 4096;
		a = realloc(*arr, *cap * sizeof(*a));
		if (!a)
			return img_fail(m, "out of memory");
		*arr = a;
	}
	(*arr)[*n].off = off;
	(*arr)[(*n)++].addend = val;
	return 0;
}

/* the value of dynamic symbol i of the table in section symscn; 0 when
 * it is not defined in this file */
static uint64_t sym_value(struct img *m, size_t symscn, size_t i)
{
	Elf_Scn *scn = elf_getscn(m->elf, symscn);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	GElf_Sym s;

	if (!d || !gelf_getsym(d, i, &s) || s.st_shndx == SHN_UNDEF)
		return 0;
	return s.st_value;
}

static int load_relocs(struct img *m)
{
	size_t cap = 0, slotcap = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 24); i++) {
			GElf_Rela r;
			int type;

			if (!gelf_getrela(d, i, &r))
				continue;
			type = GELF_R_TYPE(r.r_info);
			if (type == R_X86_64_RELATIVE &&
			    push_rel(m, &m->rel, &m->nrel, &cap, r.r_offset, r.r_addend))
				return -1;
			if ((type == R_X86_64_GLOB_DAT || type == R_X86_64_JUMP_SLOT) &&
			    push_rel(m, &m->slot, &m->nslot, &slotcap, r.r_offset,
				     sym_value(m, sh.sh_link, GELF_R_SYM(r.r_info))))
				return -1;
		}
	}
	if (m->nrel)
		qsort(m->rel, m->nrel, sizeof(*m->rel), cmp_rel);
	if (m->nslot)
		qsort(m->slot, m->nslot, sizeof(*m->slot), cmp_rel);
	return 0;
}

/* .eh_frame_hdr's binary-search table holds the start of every function
 * with unwind info, local and .cold parts included, in stripped files too:
 * the end of a function without a symbol is the next start. Only the
 * encodings GNU ld writes are read; others leave the list empty. */
static int load_fstarts(struct img *m, uint64_t hdr_vaddr, uint64_t hdr_len)
{
	const uint8_t *h = img_bytes(m, hdr_vaddr, hdr_len);
	uint32_t count;

	if (!h || hdr_len < 12 || h[0] != 1)
		return 0;
	/* eh_frame_ptr: any 4-byte encoding; fde_count: udata4; table:
	 * datarel|sdata4 pairs, relative to the header */
	if ((h[1] & 0x0f) != 0x03 && (h[1] & 0x0f) != 0x0b)
		return 0;
	if (h[2] != 0x03 || h[3] != 0x3b)
		return 0;
	memcpy(&count, h + 8, 4);
	if (12 + (uint64_t)count * 8 > hdr_len)
		return 0;
	m->fstart = calloc(count ? count : 1, sizeof(*m->fstart));
	if (!m->fstart)
		return img_fail(m, "out of memory");
	for (uint32_t i = 0; i < count; i++) {
		int32_t loc;

		memcpy(&loc, h + 12 + 8 * (size_t)i, 4);
		m->fstart[i] = hdr_vaddr + (int64_t)loc;
	}
	m->nfstart = count;
	qsort(m->fstart, count, sizeof(*m->fstart), cmp_u64);
	return 0;
}

/* the first function start after a (0: unknown) */
uint64_t img_next_fstart(const struct img *m, uint64_t a)
{
	size_t lo = 0, hi = m->nfstart;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->fstart[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nfstart ? m->fstart[lo] : 0;
}

bool img_func_of(const struct img *m, uint64_t a, uint64_t *lo, uint64_t *hi)
{
	size_t l = 0, h = m->nfstart;

	while (l < h) {		/* the first start > a */
		size_t mid = (l + h) / 2;

		if (m->fstart[mid] <= a)
			l = mid + 1;
		else
			h = mid;
	}
	if (!l || l == m->nfstart)
		return false;
	*lo = m->fstart[l - 1];
	*hi = m->fstart[l];
	return true;
}

bool img_is_fstart(const struct img *m, uint64_t a)
{
	return m->nfstart && bsearch(&a, m->fstart, m->nfstart, sizeof(a), cmp_u64);
}

void img_close(struct img *m)
{
	if (m->insn)
		cs_free(m->insn, 1);
	if (m->cs)
		cs_close(&m->cs);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	free(m->rel);
	free(m->slot);
	free(m->fstart);
}

/*
 * The file is read, not mapped: while a uprobe is registered on the file
 * (another leaktrace, a test), the kernel writes its int3 into every
 * private mapping of it that may execute, ours included (uprobe_mmap;
 * valid_vma only asks for VM_MAYEXEC), and the sites would be decoded
 * from breakpoints. read() goes through the page cache, which uprobes
 * never change.
 */
int img_load(struct img *m, const char *path)
{
	struct stat st;
	size_t got = 0;

	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return img_fail(m, "cannot open it: %s", strerror(errno));
	if (fstat(m->fd, &st) || !S_ISREG(st.st_mode))
		return img_fail(m, "not a regular file");
	m->buf = malloc(st.st_size ? st.st_size : 1);
	if (!m->buf)
		return img_fail(m, "out of memory reading it (%lld bytes)", (long long)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(m->fd, m->buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return img_fail(m, "cannot read it: %s", n ? strerror(errno) : "file shrank");
		got += n;
	}
	m->raw = m->buf;
	m->rawlen = got;
	elf_version(EV_CURRENT);
	m->elf = elf_memory((char *)m->buf, got);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF)
		return img_fail(m, "not an ELF file");
	return 0;
}

int img_open(struct img *m, const char *path)
{
	GElf_Ehdr eh;
	size_t nph;

	if (img_load(m, path))
		return -1;
	if (!gelf_getehdr(m->elf, &eh))
		return img_fail(m, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return img_fail(m, "not an x86-64 ELF file");
	if (elf_getphdrnum(m->elf, &nph))
		return img_fail(m, "cannot read its program headers");
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(m->elf, i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && m->nseg < MAX_SEGS) {
			m->seg[m->nseg++] = (struct seg){ ph.p_vaddr, ph.p_offset, ph.p_filesz,
							  !!(ph.p_flags & PF_X) };
		}
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(m->elf, i, &ph) && ph.p_type == PT_GNU_EH_FRAME &&
		    load_fstarts(m, ph.p_vaddr, ph.p_filesz))
			return -1;
	}
	if (load_relocs(m))
		return -1;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &m->cs) != CS_ERR_OK)
		return img_fail(m, "capstone cannot decode x86-64");
	cs_option(m->cs, CS_OPT_DETAIL, CS_OPT_ON);
	m->insn = cs_malloc(m->cs);
	if (!m->insn)
		return img_fail(m, "out of memory");
	return 0;
}

/* a symbol's value and size, from .symtab if present, else .dynsym */
bool img_sym(struct img *m, const char *name, uint64_t *val, uint64_t *size)
{
	for (int pass = 0; pass < 2; pass++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(m->elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) ||
			    sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize ||
			    !(d = elf_getdata(scn, NULL)))
				continue;
			for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym s;
				const char *n;

				if (!gelf_getsym(d, i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
					continue;
				n = elf_strptr(m->elf, sh.sh_link, s.st_name);
				if (n && !strcmp(n, name)) {
					*val = s.st_value;
					*size = s.st_size;
					return true;
				}
			}
		}
	}
	return false;
}

/* ---- instructions ---- */

int x86_gpr(unsigned r)
{
	static const struct { unsigned r; int g; } map[] = {
		{ X86_REG_RAX, G_RAX }, { X86_REG_EAX, G_RAX }, { X86_REG_AX, G_RAX },
		{ X86_REG_AH, G_RAX }, { X86_REG_AL, G_RAX },
		{ X86_REG_RBX, G_RBX }, { X86_REG_EBX, G_RBX }, { X86_REG_BX, G_RBX },
		{ X86_REG_BH, G_RBX }, { X86_REG_BL, G_RBX },
		{ X86_REG_RCX, G_RCX }, { X86_REG_ECX, G_RCX }, { X86_REG_CX, G_RCX },
		{ X86_REG_CH, G_RCX }, { X86_REG_CL, G_RCX },
		{ X86_REG_RDX, G_RDX }, { X86_REG_EDX, G_RDX }, { X86_REG_DX, G_RDX },
		{ X86_REG_DH, G_RDX }, { X86_REG_DL, G_RDX },
		{ X86_REG_RSI, G_RSI }, { X86_REG_ESI, G_RSI }, { X86_REG_SI, G_RSI },
		{ X86_REG_SIL, G_RSI },
		{ X86_REG_RDI, G_RDI }, { X86_REG_EDI, G_RDI }, { X86_REG_DI, G_RDI },
		{ X86_REG_DIL, G_RDI },
		{ X86_REG_RBP, G_RBP }, { X86_REG_EBP, G_RBP }, { X86_REG_BP, G_RBP },
		{ X86_REG_BPL, G_RBP },
		{ X86_REG_RSP, G_RSP }, { X86_REG_ESP, G_RSP }, { X86_REG_SP, G_RSP },
		{ X86_REG_SPL, G_RSP },
		{ X86_REG_R8, G_R8 }, { X86_REG_R8D, G_R8 }, { X86_REG_R8W, G_R8 }, { X86_REG_R8B, G_R8 },
		{ X86_REG_R9, G_R9 }, { X86_REG_R9D, G_R9 }, { X86_REG_R9W, G_R9 }, { X86_REG_R9B, G_R9 },
		{ X86_REG_R10, G_R10 }, { X86_REG_R10D, G_R10 }, { X86_REG_R10W, G_R10 },
		{ X86_REG_R10B, G_R10 },
		{ X86_REG_R11, G_R11 }, { X86_REG_R11D, G_R11 }, { X86_REG_R11W, G_R11 },
		{ X86_REG_R11B, G_R11 },
		{ X86_REG_R12, G_R12 }, { X86_REG_R12D, G_R12 }, { X86_REG_R12W, G_R12 },
		{ X86_REG_R12B, G_R12 },
		{ X86_REG_R13, G_R13 }, { X86_REG_R13D, G_R13 }, { X86_REG_R13W, G_R13 },
		{ X86_REG_R13B, G_R13 },
		{ X86_REG_R14, G_R14 }, { X86_REG_R14D, G_R14 }, { X86_REG_R14W, G_R14 },
		{ X86_REG_R14B, G_R14 },
		{ X86_REG_R15, G_R15 }, { X86_REG_R15D, G_R15 }, { X86_REG_R15W, G_R15 },
		{ X86_REG_R15B, G_R15 },
		{ X86_REG_RIP, G_RIP },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].r == r)
			return map[i].g;
	return G_NONE;
}

/* x86-64 struct pt_regs slot of a register (the order of
 * scripts/gen_offsets.py's PT_REGS), -1 for rsp/rip */
int x86_slot(int g)
{
	static const int slot[NGPR] = {
		[G_RAX] = 10, [G_RBX] = 5, [G_RCX] = 11, [G_RDX] = 12, [G_RSI] = 13, [G_RDI] = 14,
		[G_RBP] = 4, [G_RSP] = -1, [G_R8] = 9, [G_R9] = 8, [G_R10] = 7, [G_R11] = 6,
		[G_R12] = 3, [G_R13] = 2, [G_R14] = 1, [G_R15] = 0, [G_RIP] = -1,
	};

	return g >= 0 && g < NGPR ? slot[g] : -1;
}

const char *x86_gpr_name(int g)
{
	static const char *n[NGPR] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip" };

	return g >= 0 && g < NGPR ? n[g] : "?";
}

bool img_decode(struct img *m, uint64_t addr, struct ins *in)
{
	const uint8_t *code;
	uint64_t a = addr;
	size_t len = 16;
	cs_regs rr, rw;
	uint8_t nr = 0, nw = 0;
	const cs_x86 *x;

	code = img_bytes(m, addr, len);
	if (!code || !img_exec(m, addr) || !cs_disasm_iter(m->cs, &code, &len, &a, m->insn))
		return false;
	x = &m->insn->detail->x86;
	*in = (struct ins){ .addr = addr, .next = a, .id = m->insn->id, .kind = K_OTHER, .x = x };
	if (!cs_regs_access(m->cs, m->insn, rr, &nr, rw, &nw))
		for (int i = 0; i < nw; i++)
			if (x86_gpr(rw[i]) >= 0)
				in->wr |= 1u << x86_gpr(rw[i]);
	if (in->id == X86_INS_RET || in->id == X86_INS_HLT || in->id == X86_INS_UD2) {
		in->kind = in->id == X86_INS_RET ? K_RET : K_STOP;
	} else if (in->id == X86_INS_CALL) {
		in->kind = x->operands[0].type == X86_OP_IMM ? K_CALL : K_CALL_IND;
		in->target = x->operands[0].imm;
		in->wr |= CALLER_SAVED;	/* what the callee may clobber */
	} else if (cs_insn_group(m->cs, m->insn, X86_GRP_JUMP)) {
		bool direct = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;

		in->kind = in->id == X86_INS_JMP ? (direct ? K_JMP : K_JMP_IND) : K_JCC;
		if (direct)
			in->target = x->operands[0].imm;
	}
	return true;
}

/*
 * A call through the PLT (3.13 exports _PyEval_FrameClearAndPop, so
 * libpython calls it through its own PLT): the function the stub's GOT
 * slot is bound to when this file defines it, else 0. Any other target is
 * returned as it is.
 */
uint64_t img_through_plt(struct img *m, uint64_t t)
{
	struct rel key, *r;
	struct ins in;
	const cs_x86_op *o;

	if (!img_decode(m, t, &in))
		return 0;
	if (in.id == X86_INS_ENDBR64 && !img_decode(m, in.next, &in))	/* .plt.sec with CET */
		return 0;
	o = in.x->operands;
	if (in.kind != K_JMP_IND || o[0].type != X86_OP_MEM || o[0].mem.base != X86_REG_RIP ||
	    o[0].mem.index != X86_REG_INVALID)
		return t;
	key.off = in.next + o[0].mem.disp;
	r = m->nslot ? bsearch(&key, m->slot, m->nslot, sizeof(*r), cmp_rel) : NULL;
	return r ? r->addend : 0;
}

