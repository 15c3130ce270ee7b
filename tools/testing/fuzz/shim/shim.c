// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace stand-ins of shim.h that need a body: allocation and user
 * copies the fuzzer can make fail, the xarray, the capability chain,
 * iova_bitmap_set() checked against its window, CRC32C.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "shim.h"

#include <time.h>
#include "fuzz.h"

#include "libvfio-mig.h"

struct shim_faults shim_faults;

/* --- allocation -------------------------------------------------------- */

void *shim_alloc(size_t size, bool zero)
{
	if (shim_faults.alloc && !--shim_faults.alloc)
		return NULL;
	/* The engine never asks for nothing; make it visible if it does. */
	if (!size)
		abort();
	return zero ? calloc(1, size) : malloc(size);
}

void shim_free(const void *p)
{
	free((void *)p);
}

/* --- user copies --------------------------------------------------------- */

unsigned long copy_to_user(void *to, const void *from, unsigned long n)
{
	if (shim_faults.user && !--shim_faults.user)
		return n;
	memcpy(to, from, n);
	return 0;
}

unsigned long copy_from_user(void *to, const void *from, unsigned long n)
{
	if (shim_faults.user && !--shim_faults.user)
		return n;
	memcpy(to, from, n);
	return 0;
}

/* --- xarray ---------------------------------------------------------------- */

/* The position of the first index >= @index. */
static unsigned long xa_pos(const struct xarray *xa, unsigned long index)
{
	unsigned long lo = 0, hi = xa->n;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (xa->index[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *xa_load(struct xarray *xa, unsigned long index)
{
	unsigned long i = xa_pos(xa, index);

	return i < xa->n && xa->index[i] == index ? xa->entry[i] : NULL;
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry,
	       gfp_t gfp)
{
	unsigned long i = xa_pos(xa, index);

	(void)gfp;
	if (i < xa->n && xa->index[i] == index) {
		void *old = xa->entry[i];

		xa->entry[i] = entry;
		return old;
	}
	if (xa->n == xa->cap) {
		unsigned long cap = xa->cap ? 2 * xa->cap : 8;
		unsigned long *ni = shim_alloc_array(cap, sizeof(*ni), false);
		void **ne = shim_alloc_array(cap, sizeof(*ne), false);

		if (!ni || !ne) {
			shim_free(ni);
			shim_free(ne);
			return ERR_PTR(-ENOMEM);
		}
		if (xa->n) {
			memcpy(ni, xa->index, xa->n * sizeof(*ni));
			memcpy(ne, xa->entry, xa->n * sizeof(*ne));
		}
		shim_free(xa->index);
		shim_free(xa->entry);
		xa->index = ni;
		xa->entry = ne;
		xa->cap = cap;
	}
	memmove(xa->index + i + 1, xa->index + i, (xa->n - i) * sizeof(long));
	memmove(xa->entry + i + 1, xa->entry + i, (xa->n - i) * sizeof(void *));
	xa->index[i] = index;
	xa->entry[i] = entry;
	xa->n++;
	return NULL;
}

void xa_destroy(struct xarray *xa)
{
	shim_free(xa->index);
	shim_free(xa->entry);
	memset(xa, 0, sizeof(*xa));
}

/* The first entry with an index in [@start, @last]; sets *@index. */
void *shim_xa_find(struct xarray *xa, unsigned long *index,
		   unsigned long start, unsigned long last)
{
	unsigned long i = xa_pos(xa, start);

	if (i >= xa->n || xa->index[i] > last)
		return NULL;
	*index = xa->index[i];
	return xa->entry[i];
}

/* The first entry after *@index, up to @last. */
void *shim_xa_find_after(struct xarray *xa, unsigned long *index,
			 unsigned long last)
{
	if (*index >= last)
		return NULL;
	return shim_xa_find(xa, index, *index + 1, last);
}

/* --- capabilities ---------------------------------------------------------- */

int vfio_info_add_capability(struct vfio_info_cap *caps,
			     struct vfio_info_cap_header *cap, size_t size)
{
	void *buf = shim_alloc(caps->size + size, false);
	struct vfio_info_cap_header *h, *last;

	if (!buf)
		return -ENOMEM;
	if (caps->size)
		memcpy(buf, caps->buf, caps->size);
	shim_free(caps->buf);
	memcpy((char *)buf + caps->size, cap, size);
	h = (void *)((char *)buf + caps->size);
	h->next = 0;
	if (caps->size) {
		/* Chain the previous last header to this one. */
		for (last = buf; last->next; last = (void *)((char *)buf + last->next))
			;
		last->next = caps->size;
	}
	caps->buf = buf;
	caps->size += size;
	return 0;
}

void vfio_info_cap_shift(struct vfio_info_cap *caps, size_t offset)
{
	struct vfio_info_cap_header *h = caps->buf;

	for (;;) {
		unsigned int next = h->next;

		if (next)
			h->next += offset;
		if (!next)
			break;
		h = (void *)((char *)caps->buf + next);
	}
}

/* --- DMA logging reports ------------------------------------------------- */

void iova_bitmap_set(struct iova_bitmap *b, unsigned long iova,
		     size_t length)
{
	struct shim_iova_bitmap *s = (void *)b;
	unsigned long i;

	/* The engine must stay inside the window it was asked for. */
	if (!length || iova < s->iova || iova - s->iova > s->length ||
	    length > s->length - (iova - s->iova))
		abort();
	for (i = (iova - s->iova) / PAGE_SIZE;
	     i <= (iova + length - 1 - s->iova) / PAGE_SIZE; i++)
		s->bits[i / 64] |= 1ULL << (i % 64);
}

/* --- never reached by the fuzzers ---------------------------------------- */

int remap_vmalloc_range(struct vm_area_struct *vma, void *addr,
			unsigned long pgoff)
{
	abort();
}

int eventfd_signal(struct eventfd_ctx *ctx, u64 n)
{
	abort();
}

void vfio_free_device(struct vfio_device *vdev)
{
	abort();
}

/* --- fault injection: debugfs only, none in the fuzzers ------------------ */

struct vfio_mig_core;

void vfio_mig_fault_init(struct vfio_mig_core *core)
{
}

void vfio_mig_fault_module_init(void)
{
}

void vfio_mig_fault_module_exit(void)
{
}

/* The v1 front-end asks for faults: none is ever armed here. */
bool vfio_mig_fault_state(struct vfio_mig_core *core, u32 next,
			  const char *outcome)
{
	return false;
}

void vfio_mig_fault_stall(struct vfio_mig_core *core)
{
}

void vfio_mig_fault_save(struct vfio_mig_core *core, s64 *fail_at,
			 s64 *flip_at)
{
	*fail_at = -1;
	*flip_at = -1;
}

bool vfio_mig_fault_resume(struct vfio_mig_core *core)
{
	return false;
}

void vfio_mig_fault_fire(struct vfio_mig_core *core, const char *what)
{
	abort();	/* nothing is armed, so nothing fires */
}

/* --- CRC32C: the kernel's raw form over the client library's ------------ */

u64 ktime_get_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (u64)t.tv_sec * 1000000000 + t.tv_nsec;
}

u32 (*shim_crc32c)(u32 crc, const void *p, size_t len);

u32 crc32c(u32 crc, const void *p, size_t len)
{
	if (shim_crc32c)
		return shim_crc32c(crc, p, len);
	return ~vmig_crc32c(~crc, p, len);
}

const char *crc32c_impl(void)
{
	return shim_crc32c ? "the program's" : "the client library's";
}
