/* SPDX-License-Identifier: MIT */
/*
 * An ELF file's code as sites.c needs it (x86-64 only): bytes by link-time
 * address (PT_LOAD segments), pointers as the loader leaves them
 * (R_X86_64_RELATIVE addends), symbols (.symtab, else .dynsym), PLT stubs
 * resolved to the function they are bound to, function starts from
 * .eh_frame_hdr (present in stripped files), and capstone's decoding of one
 * instruction reduced to what the site patterns look at (kind of control
 * transfer, registers written, operands).
 *
 * Errors: functions that can fail write one line into m->why (img_fail)
 * and return -1 or false/0; nothing is printed.
 */
#ifndef LT_ELFCODE_H
#define LT_ELFCODE_H

#include <capstone/capstone.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_SEGS		32

struct seg {
	uint64_t vaddr, off, filesz;
	bool exec;
};

struct rel {
	uint64_t off, addend;
};

struct img {
	int fd;
	Elf *elf;
	uint8_t *buf;		/* the whole file, read (img_load) */
	const uint8_t *raw;
	size_t rawlen;
	struct seg seg[MAX_SEGS];
	int nseg;
	struct rel *rel;	/* R_X86_64_RELATIVE, sorted by offset */
	size_t nrel;
	struct rel *slot;	/* GOT slots (GLOB_DAT, JUMP_SLOT): the value of
				 * their symbol when defined here, else 0 */
	size_t nslot;
	uint64_t *fstart;	/* function starts from .eh_frame_hdr, sorted */
	size_t nfstart;
	csh cs;
	cs_insn *insn;
	char *why;
	size_t whylen;
};

int img_fail(struct img *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* read path and open it with libelf (m->fd = -1, m->why, m->whylen set by
 * the caller): any ELF file */
int img_load(struct img *m, const char *path);
/* img_load, then an x86-64 file's segments, relocations, unwind table and
 * capstone; img_close also after a failure of either */
int img_open(struct img *m, const char *path);
void img_close(struct img *m);
/* len bytes at vaddr in the file, NULL past a segment's file content */
const uint8_t *img_bytes(const struct img *m, uint64_t vaddr, size_t len);
bool img_exec(const struct img *m, uint64_t vaddr);
/* the 8-byte pointer at vaddr after relocation (load bias 0) */
bool img_ptr(const struct img *m, uint64_t vaddr, uint64_t *val);
bool img_sym(struct img *m, const char *name, uint64_t *val, uint64_t *size);
/* the first function start after a, 0 if unknown; whether a is one */
uint64_t img_next_fstart(const struct img *m, uint64_t a);
bool img_is_fstart(const struct img *m, uint64_t a);
/* [lo, hi): the unwind-table function (or .cold part) holding a; false if
 * no entry covers it */
bool img_func_of(const struct img *m, uint64_t a, uint64_t *lo, uint64_t *hi);
/* what a call to t runs: t, or the function its PLT stub is bound to
 * (0: bound to another file, or unreadable) */
uint64_t img_through_plt(struct img *m, uint64_t t);

/* general-purpose registers, by the index of their 64-bit parent */
enum { G_NONE = -1, G_RAX, G_RBX, G_RCX, G_RDX, G_RSI, G_RDI, G_RBP, G_RSP,
       G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15, G_RIP, NGPR };

/* the G_* of a capstone register (its 64-bit parent), G_NONE if not a GPR */
int x86_gpr(unsigned r);
/* x86-64 struct pt_regs slot of a G_* (-1: rsp, rip) and its name */
int x86_slot(int g);
const char *x86_gpr_name(int g);

enum { K_OTHER, K_JMP, K_JCC, K_JMP_IND, K_CALL, K_CALL_IND, K_RET, K_STOP };

/* one decoded instruction, reduced to what the patterns look at */
struct ins {
	uint64_t addr, next, target;	/* target: of a direct jump or call */
	unsigned id;
	int kind;
	uint32_t wr;			/* GPRs written (bit per G_*) */
	const cs_x86 *x;
};

#define CALLER_SAVED ((1u << G_RAX) | (1u << G_RCX) | (1u << G_RDX) | (1u << G_RSI) | \
		      (1u << G_RDI) | (1u << G_R8) | (1u << G_R9) | (1u << G_R10) | (1u << G_R11))

/* decode the instruction at addr (in an executable segment); false if
 * none. in->x stays valid until the next img_decode on m. */
bool img_decode(struct img *m, uint64_t addr, struct ins *in);

#endif
