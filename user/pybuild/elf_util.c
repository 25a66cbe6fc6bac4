/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pybuild/elf_util.h"

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_open(const char *path, struct elf_file *f)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		if (f->elf)
			elf_end(f->elf);
		close(f->fd);
		return -1;
	}
	return 0;
}

static void elf_close(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* call fn for each note of a given type in any SHT_NOTE section */
typedef int (*note_fn)(const GElf_Nhdr *nh, const char *name, const char *desc, void *arg);

static int for_each_note(Elf *elf, note_fn fn, void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
			int r = fn(&nh, (const char *)data->d_buf + noff,
				   (const char *)data->d_buf + doff, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

struct bid_arg {
	char *hex;
	size_t n;
};

static int bid_note(const GElf_Nhdr *nh, const char *name, const char *desc, void *arg)
{
	struct bid_arg *a = arg;

	if (nh->n_type != NT_GNU_BUILD_ID || nh->n_namesz != 4 || memcmp(name, "GNU", 4))
		return 0;
	if (a->n < nh->n_descsz * 2 + 1)
		return -1;
	for (size_t i = 0; i < nh->n_descsz; i++)
		sprintf(a->hex + 2 * i, "%02x", (unsigned char)desc[i]);
	return 1;
}

int elf_build_id(const char *path, char *hex, size_t n)
{
	struct elf_file f;
	struct bid_arg a = { hex, n };
	int r;

	if (elf_open(path, &f))
		return -1;
	r = for_each_note(f.elf, bid_note, &a);
	elf_close(&f);
	return r == 1 ? 0 : -1;
}

struct usdt_arg {
	const char *provider, *name;
	uint64_t loc, base, sema;
	int count;
};

/* stapsdt note: pc, base, semaphore (3 addresses), then provider\0name\0args\0 */
static int usdt_note(const GElf_Nhdr *nh, const char *name, const char *desc, void *arg)
{
	struct usdt_arg *a = arg;
	uint64_t addr[3];
	const char *prov, *pname;

	if (nh->n_type != 3 || nh->n_namesz != 8 || memcmp(name, "stapsdt", 8))
		return 0;
	if (nh->n_descsz < sizeof(addr) + 2)
		return 0;
	memcpy(addr, desc, sizeof(addr));
	prov = desc + sizeof(addr);
	if (strnlen(prov, nh->n_descsz - sizeof(addr)) >= nh->n_descsz - sizeof(addr))
		return 0;
	pname = prov + strlen(prov) + 1;
	if (strcmp(prov, a->provider))
		return 0;
	a->count++;
	if (!a->name || strcmp(pname, a->name))
		return 0;
	a->loc = addr[0];
	a->base = addr[1];
	a->sema = addr[2];
	return 1;
}

static int vaddr_to_off(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

int elf_usdt(const char *path, const char *provider, const char *name, struct usdt_note *out)
{
	struct elf_file f;
	struct usdt_arg a = { .provider = provider, .name = name };
	GElf_Shdr sh;
	int r = -1;

	if (elf_open(path, &f))
		return -1;
	if (for_each_note(f.elf, usdt_note, &a) != 1)
		goto out;
	/* prelink adjustment: the note's base vs the actual .stapsdt.base */
	if (find_section(f.elf, ".stapsdt.base", &sh) && a.base && sh.sh_addr != a.base) {
		a.loc += sh.sh_addr - a.base;
		if (a.sema)
			a.sema += sh.sh_addr - a.base;
	}
	out->loc = a.loc;
	out->sema = a.sema;
	out->sema_off = 0;
	if (vaddr_to_off(f.elf, a.loc, &out->loc_off))
		goto out;
	if (a.sema && vaddr_to_off(f.elf, a.sema, &out->sema_off))
		goto out;
	r = 0;
out:
	elf_close(&f);
	return r;
}

int elf_usdt_count(const char *path, const char *provider)
{
	struct elf_file f;
	struct usdt_arg a = { .provider = provider };

	if (elf_open(path, &f))
		return -1;
	for_each_note(f.elf, usdt_note, &a);
	elf_close(&f);
	return a.count;
}

static int sym_in(Elf *elf, Elf_Scn *scn, const char *name, uint64_t *vaddr)
{
	GElf_Shdr sh;
	Elf_Data *data;

	if (!gelf_getshdr(scn, &sh) || !(data = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return -1;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Sym sym;
		const char *n;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		n = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (n && !strcmp(n, name)) {
			*vaddr = sym.st_value;
			return 0;
		}
	}
	return -1;
}

int elf_symbol(const char *path, const char *name, uint64_t *vaddr)
{
	struct elf_file f;
	GElf_Shdr sh;
	Elf_Scn *scn = NULL;
	int r = -1;

	if (elf_open(path, &f))
		return -1;
	while (r && (scn = elf_nextscn(f.elf, scn)))
		if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB))
			r = sym_in(f.elf, scn, name, vaddr);
	elf_close(&f);
	return r;
}

int elf_vaddr_to_offset(const char *path, uint64_t vaddr, uint64_t *off)
{
	struct elf_file f;
	int r;

	if (elf_open(path, &f))
		return -1;
	r = vaddr_to_off(f.elf, vaddr, off);
	elf_close(&f);
	return r;
}

int elf_python_version(const char *path, const char *prefix, char *out, size_t n)
{
	struct elf_file f;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;
	size_t plen = strlen(prefix);
	int r = -1;

	if (elf_open(path, &f))
		return -1;
	scn = find_section(f.elf, ".rodata", &sh);
	if (!scn || !(d = elf_getdata(scn, NULL)))
		goto out;
	for (const char *p = d->d_buf, *end = p + d->d_size; p + plen + 2 < end; p++) {
		const char *q;

		/* "3.11.2" alone, or inside a path such as ".../Python-3.11.7/..." */
		if ((p > (const char *)d->d_buf && p[-1] != 0 && p[-1] != '-' && p[-1] != '/') ||
		    memcmp(p, prefix, plen) || p[plen] != '.')
			continue;
		for (q = p + plen + 1; q < end && isdigit((unsigned char)*q); q++)
			;
		if (q == p + plen + 1)
			continue;
		while (q < end && (isalnum((unsigned char)*q) || *q == '+'))
			q++;
		if (q < end && (*q == 0 || *q == '/') && (size_t)(q - p) < n) {
			memcpy(out, p, q - p);
			out[q - p] = 0;
			r = 0;
			break;
		}
	}
out:
	elf_close(&f);
	return r;
}

/* the first dir of the ':'-list dirs (modified) that holds needed;
 * $ORIGIN stands for origin (NULL: such a dir is passed over), an
 * absolute dir is under root. 0, or -1 */
static int search_dirs(char *dirs, const char *origin, const char *root, const char *needed,
		       char *out, size_t n)
{
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!strncmp(dir, "$ORIGIN", 7) && !origin)
			continue;
		if (!strncmp(dir, "$ORIGIN", 7))
			snprintf(out, n, "%s%s/%s", origin, dir + 7, needed);
		else
			snprintf(out, n, "%s%s/%s", *dir == '/' ? root : "", *dir ? dir : ".", needed);
		if (!faccessat(AT_FDCWD, out, R_OK, AT_EACCESS))
			return 0;
	}
	return -1;
}

int elf_needed_libpython_in(const char *exe, const char *origin_dir, const char *root,
			    const char *ld_library_path, char *out, size_t n)
{
	static const char *const std_dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/local/lib", "/usr/lib", "/lib",
	};
	struct elf_file f;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	char needed[256] = "", runpath[1024] = "", rpath[1024] = "";
	int r = -1;

	if (elf_open(exe, &f))
		return -1;
	while ((scn = elf_nextscn(f.elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *v;

			if (!gelf_getdyn(d, i, &dyn))
				continue;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
				continue;
			v = elf_strptr(f.elf, sh.sh_link, dyn.d_un.d_val);
			if (!v)
				continue;
			if (dyn.d_tag == DT_NEEDED && !strncmp(v, "libpython", 9))
				snprintf(needed, sizeof(needed), "%s", v);
			else if (dyn.d_tag == DT_RUNPATH)
				snprintf(runpath, sizeof(runpath), "%s", v);
			else if (dyn.d_tag == DT_RPATH)
				snprintf(rpath, sizeof(rpath), "%s", v);
		}
	}
	elf_close(&f);
	if (!needed[0])
		return -1;
	/* the dynamic loader's order (ld.so(8)): DT_RPATH when there is no
	 * DT_RUNPATH, then LD_LIBRARY_PATH, then DT_RUNPATH, then the system
	 * directories */
	if (!runpath[0] && !search_dirs(rpath, origin_dir, root, needed, out, n))
		r = 0;
	if (r && ld_library_path) {
		char env[4096];

		snprintf(env, sizeof(env), "%s", ld_library_path);
		if (!search_dirs(env, origin_dir, root, needed, out, n))
			r = 0;
	}
	if (r && !search_dirs(runpath, origin_dir, root, needed, out, n))
		r = 0;
	for (size_t i = 0; r && i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++) {
		snprintf(out, n, "%s%s/%s", root, std_dirs[i], needed);
		if (!faccessat(AT_FDCWD, out, R_OK, AT_EACCESS))
			r = 0;
	}
	return r;
}

int elf_needed_libpython(const char *exe, char *out, size_t n)
{
	const char *slash = strrchr(exe, '/');
	char origin[PATH_MAX];

	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - exe) : 1, slash ? exe : ".");
	/* LD_LIBRARY_PATH: ours, which the command we start inherits */
	return elf_needed_libpython_in(exe, origin, "", getenv("LD_LIBRARY_PATH"), out, n);
}

int elf_symbol_bytes(const char *path, const char *name, void *buf, size_t n)
{
	uint64_t a, o;
	int fd, r = -1;

	if (elf_symbol(path, name, &a) || elf_vaddr_to_offset(path, a, &o))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, buf, n, (off_t)o) == (ssize_t)n)
		r = 0;
	close(fd);
	return r;
}

int elf_first_load_vaddr(const char *path, uint64_t *vaddr)
{
	struct elf_file f;
	size_t n;
	int r = -1;

	if (elf_open(path, &f))
		return -1;
	if (!elf_getphdrnum(f.elf, &n)) {
		for (size_t i = 0; i < n && r; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(f.elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
				*vaddr = ph.p_vaddr;
				r = 0;
			}
		}
	}
	elf_close(&f);
	return r;
}
