/* SPDX-License-Identifier: MIT */
/*
 * Where a code or type object's identity ends (py_gone_sites, sites.h):
 * functions found through the exported type objects' slots, for the BPF
 * side's lt_obj_gone, which counts objects freed or renamed so that the
 * CPU's cache of names can answer without reading (FORMAT.md §3).
 */
#include <string.h>

#include "pybuild/elfcode.h"
#include "pybuild/sites.h"

/* the function a pointer stored at vaddr holds (a type's slot), past
 * its endbr64, as a site whose object is the first argument; 0 where the
 * slot holds no function start */
static struct py_site fn_site(struct img *m, uint64_t vaddr)
{
	uint64_t fn = 0;

	if (!img_ptr(m, vaddr, &fn) || !fn || !img_exec(m, fn) ||
	    (m->nfstart && !img_is_fstart(m, fn)))
		return (struct py_site){ 0 };
	return (struct py_site){ past_endbr(m, fn), x86_slot(G_RDI), 0 };
}

void py_gone_sites(struct img *m, struct py_build *b)
{
	/* tp_name follows PyObject_VAR_HEAD: 24 bytes in every supported
	 * build (also where the offsets are not known yet: tools/pysites);
	 * tp_dealloc is 3 words past it, tp_getset 28 */
	uint64_t tp_name = b->off.type_tp_name ? b->off.type_tp_name : 24;
	uint64_t type = 0, size = 0, gs = 0, name = 0;

	if (img_sym(m, "PyCode_Type", &type, &size) && type)
		b->code_free = fn_site(m, type + tp_name + 24);
	if (!img_sym(m, "PyType_Type", &type, &size) || !type ||
	    !img_ptr(m, type + tp_name + 28 * 8, &gs) || !gs)
		return;
	/* PyGetSetDef: name, get, set, doc, closure; a NULL name ends it */
	for (int i = 0; i < 32 && img_ptr(m, gs + 40 * i, &name) && name; i++) {
		const uint8_t *n = img_bytes(m, name, 9);

		if (n && !memcmp(n, "__name__", 9)) {
			b->type_rename = fn_site(m, gs + 40 * i + 16);
			if (b->type_rename.vaddr)
				b->type_free = fn_site(m, type + tp_name + 24);
			return;
		}
	}
}
