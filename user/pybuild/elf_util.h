/* SPDX-License-Identifier: MIT */
/* ELF facts the loader needs: build-id, USDT notes, symbols, file offsets. */
#ifndef LT_ELF_UTIL_H
#define LT_ELF_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct usdt_note {
	uint64_t loc;		/* link-time address of the probe (nop) */
	uint64_t loc_off;	/* its file offset (what a uprobe takes) */
	uint64_t sema;		/* link-time address of the semaphore, 0 if none */
	uint64_t sema_off;	/* its file offset (uprobe ref_ctr_offset) */
};

/* 0 on success; -1 if the file is not a readable ELF or lacks the item */
int elf_build_id(const char *path, char *hex, size_t n);
int elf_usdt(const char *path, const char *provider, const char *name, struct usdt_note *out);
/* number of "python" provider USDT notes (0: built without --with-dtrace) */
int elf_usdt_count(const char *path, const char *provider);
int elf_symbol(const char *path, const char *name, uint64_t *vaddr);
int elf_vaddr_to_offset(const char *path, uint64_t vaddr, uint64_t *off);
/* the n bytes of the file at symbol name's address (initialised data such
 * as Py_Version); 0, or -1 */
int elf_symbol_bytes(const char *path, const char *name, void *buf, size_t n);
/* link-time address of the PT_LOAD segment at file offset 0 (the load
 * bias of a mapping is its start minus this) */
int elf_first_load_vaddr(const char *path, uint64_t *vaddr);
/* the libpython*.so an executable links (DT_NEEDED, found through its
 * RUNPATH/RPATH with $ORIGIN, then the usual library directories); 0 on
 * success with the path in out */
int elf_needed_libpython(const char *exe, char *out, size_t n);
/* the same for a file exe seen from elsewhere (another process, at its
 * exec): $ORIGIN is origin_dir (NULL: not known, such directories are
 * passed over), an absolute directory is looked up under root ("" for
 * ours), LD_LIBRARY_PATH is ld_library_path (NULL: none) */
int elf_needed_libpython_in(const char *exe, const char *origin_dir, const char *root,
			    const char *ld_library_path, char *out, size_t n);
/* the version string "MAJOR.MINOR.PATCH..." embedded in a CPython build
 * whose MAJOR.MINOR is prefix ("3.11"); 0 on success */
int elf_python_version(const char *path, const char *prefix, char *out, size_t n);

#endif
