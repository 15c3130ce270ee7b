/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel APIs the engine's pure parts use, in userspace, so the same
 * source files (drivers/vfio/mdev/vfio_mig_*.c but v2 and dev)
 * build into the fuzzers unchanged.  Every stand-in is the simplest
 * honest one: allocations are malloc (and fail when the fuzzer says so),
 * user copies are memcpy (and fault when the fuzzer says so), locks are
 * flags that lockdep_assert_held() checks, a WARN_ON() that fires aborts.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef SHIM_H
#define SHIM_H

#include <linux/types.h>
#include <linux/vfio.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the compiler and kconfig ------------------------------------------ */

#define __user
#define __packed		__attribute__((packed))
#define __must_check		__attribute__((warn_unused_result))
#define __maybe_unused		__attribute__((unused))
#ifndef __always_inline
#define __always_inline		inline __attribute__((always_inline))
#endif
#define fallthrough		__attribute__((fallthrough))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
/* The shim's kernel has libcrc32c (its crc32c() is shim.c's) and no
 * IOMMUFD: an option is enabled when it is defined to 1 here. */
#define CONFIG_LIBCRC32C	1
#ifdef __x86_64__
#define CONFIG_X86_64		1	/* the engine's crc32-instruction code */
#endif
#define SHIM_ARG_1		0,
#define shim_second(ignored, val, ...)	val
#define shim_defined3(junk_or_0comma)	shim_second(junk_or_0comma 1, 0, 0)
#define shim_defined2(val)	shim_defined3(SHIM_ARG_##val)
#define IS_ENABLED(option)	shim_defined2(option)
#define KERNEL_VERSION(a, b, c)	(((a) << 16) + ((b) << 8) + (c))
#define LINUX_VERSION_CODE	KERNEL_VERSION(6, 1, 0)
#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), #cond)
#define EXPORT_SYMBOL_GPL(sym)	extern int shim_export_##sym
#define MODULE_LICENSE(x)
#define MODULE_VERSION(x)
#define MODULE_SOFTDEP(x)
#define MODULE_AUTHOR(x)
#define MODULE_DESCRIPTION(x)
#define THIS_MODULE		NULL
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MODULE_PARM_DESC(p, d)
#define module_param_string(name, str, len, perm)
#define __init
#define __exit
/* The module's init and exit, kept referenced (the fuzzers call neither). */
#define module_init(fn)		int (*shim_module_init)(void) = fn
#define module_exit(fn)		void (*shim_module_exit)(void) = fn
#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME		"vfio_mig"
#endif
#ifndef pr_fmt
#define pr_fmt(fmt)		fmt
#endif
#define pr_info(fmt, ...)	fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...)	fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)

#define WARN_ON(cond) ({						\
	int __c = !!(cond);						\
	if (__c) {							\
		fprintf(stderr, "WARN_ON(%s) at %s:%d\n", #cond,	\
			__FILE__, __LINE__);				\
		abort();						\
	}								\
	__c;								\
})
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define pr_warn_ratelimited(...)	do { } while (0)
#define pr_warn(...)		do { } while (0)
#define dev_warn_ratelimited(...)	do { } while (0)

/* --- arithmetic ---------------------------------------------------------- */

#define BITS_PER_BYTE		8
#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BIT(n)			(1UL << (n))
#define U64_MAX			((u64)~0ULL)
#define SZ_64K			0x00010000
#define SZ_1M			0x00100000
#define SZ_16M			0x01000000
#define SZ_256M			0x10000000
#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_ALIGNED(x)		(((x) & (PAGE_SIZE - 1)) == 0)
#define offset_in_page(p)	((unsigned long)(p) & (PAGE_SIZE - 1))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define offsetofend(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m))
#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define min(a, b)		({ typeof(a) __a = (a); typeof(b) __b = (b); \
				   __a < __b ? __a : __b; })
#define max(a, b)		({ typeof(a) __a = (a); typeof(b) __b = (b); \
				   __a > __b ? __a : __b; })
#define min_t(t, a, b)		min((t)(a), (t)(b))
#define max_t(t, a, b)		max((t)(a), (t)(b))
#define container_of(p, T, m)	((T *)((char *)(p) - offsetof(T, m)))

#define cpu_to_le16(x)		((__le16)(u16)(x))
#define cpu_to_le32(x)		((__le32)(u32)(x))
#define cpu_to_le64(x)		((__le64)(u64)(x))
#define le16_to_cpu(x)		((u16)(x))
#define le32_to_cpu(x)		((u32)(x))
#define le64_to_cpu(x)		((u64)(x))

static inline u64 get_unaligned_le64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void put_unaligned_le64(u64 v, void *p)
{
	memcpy(p, &v, sizeof(v));
}

/* --- errors -------------------------------------------------------------- */

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE(ptr);
}

/* --- memory: fails when the fuzzer asks (shim.c) ------------------------- */

#define GFP_KERNEL		0x1u
#define GFP_KERNEL_ACCOUNT	0x3u

void *shim_alloc(size_t size, bool zero);
void shim_free(const void *p);

#define kmalloc(n, gfp)		shim_alloc(n, false)
#define kzalloc(n, gfp)		shim_alloc(n, true)
#define kvmalloc(n, gfp)	shim_alloc(n, false)
#define kvzalloc(n, gfp)	shim_alloc(n, true)
#define kcalloc(n, s, gfp)	shim_alloc_array(n, s, true)
#define kvmalloc_array(n, s, gfp)	shim_alloc_array(n, s, false)
#define vmalloc(n)		shim_alloc(n, false)
#define vmalloc_user(n)		shim_alloc(n, true)
#define vzalloc(n)		shim_alloc(n, true)
#define __vmalloc(n, gfp)	shim_alloc(n, false)
#define kfree(p)		shim_free(p)
#define kvfree(p)		shim_free(p)
#define vfree(p)		shim_free(p)

static inline void *shim_alloc_array(size_t n, size_t s, bool zero)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, s, &bytes))
		return NULL;
	return shim_alloc(bytes, zero);
}

static inline unsigned long get_zeroed_page(gfp_t gfp)
{
	return (unsigned long)shim_alloc(PAGE_SIZE, true);
}

static inline void free_page(unsigned long addr)
{
	shim_free((void *)addr);
}

/* --- user memory: faults when the fuzzer asks (shim.c) ------------------- */

unsigned long copy_to_user(void *to, const void *from, unsigned long n);
unsigned long copy_from_user(void *to, const void *from, unsigned long n);

/* --- locks: a held flag, checked ----------------------------------------- */

struct mutex {
	int held;
};

typedef struct {
	int held;
} spinlock_t;

#define mutex_init(m)		((m)->held = 0)
#define mutex_destroy(m)	assert(!(m)->held)
#define mutex_lock(m)		do { assert(!(m)->held); (m)->held = 1; } while (0)
#define mutex_unlock(m)		do { assert((m)->held); (m)->held = 0; } while (0)
#define spin_lock_init(l)	((l)->held = 0)
#define spin_lock(l)		do { assert(!(l)->held); (l)->held = 1; } while (0)
#define spin_unlock(l)		do { assert((l)->held); (l)->held = 0; } while (0)
#define spin_lock_irq(l)	spin_lock(l)
#define spin_unlock_irq(l)	spin_unlock(l)
#define spin_lock_irqsave(l, f)	do { (f) = 0; spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, f)	do { (void)(f); spin_unlock(l); } while (0)
#define lockdep_assert_held(l)	assert((l)->held)

/* --- lists ----------------------------------------------------------------- */

struct list_head {
	struct list_head *next, *prev;
};

#define INIT_LIST_HEAD(h)	((h)->next = (h)->prev = (h))

/* --- bitmaps ------------------------------------------------------------- */

#define BITS_TO_LONGS(n)	DIV_ROUND_UP(n, BITS_PER_LONG)

static inline unsigned long *bitmap_zalloc(unsigned long nbits, gfp_t gfp)
{
	return shim_alloc_array(BITS_TO_LONGS(nbits), sizeof(long), true);
}

static inline void bitmap_free(const unsigned long *b)
{
	shim_free(b);
}

static inline void set_bit(unsigned long nr, unsigned long *b)
{
	b[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void clear_bit(unsigned long nr, unsigned long *b)
{
	b[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

#define __clear_bit(nr, b)	clear_bit(nr, b)

static inline bool test_bit(unsigned long nr, const unsigned long *b)
{
	return b[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG) & 1;
}

static inline bool test_and_set_bit(unsigned long nr, unsigned long *b)
{
	bool old = test_bit(nr, b);

	set_bit(nr, b);
	return old;
}

static inline void bitmap_set(unsigned long *b, unsigned long start,
			      unsigned long n)
{
	while (n--)
		set_bit(start++, b);
}

static inline void bitmap_fill(unsigned long *b, unsigned long nbits)
{
	bitmap_set(b, 0, nbits);
}

/* Word by word, as the kernel's: the codec benchmark times callers. */
static inline unsigned long find_next_bit(const unsigned long *b,
					  unsigned long size,
					  unsigned long off)
{
	const unsigned int bits = 8 * sizeof(long);

	while (off < size) {
		unsigned long w = b[off / bits] >> (off % bits);

		if (w) {
			off += __builtin_ctzl(w);
			return off < size ? off : size;
		}
		off = (off / bits + 1) * bits;
	}
	return size;
}

#define find_first_bit(b, size)	find_next_bit(b, size, 0)

static inline unsigned long bitmap_weight(const unsigned long *b,
					  unsigned long nbits)
{
	unsigned long i, w = 0;

	for (i = 0; i < nbits; i++)
		w += test_bit(i, b);
	return w;
}

/* --- xarray: a sorted array of (index, entry), enough for the logs ------- */

struct xarray {
	unsigned long *index;
	void **entry;
	unsigned long n, cap;
};

#define xa_init(xa)		memset(xa, 0, sizeof(*(xa)))
void *xa_load(struct xarray *xa, unsigned long index);
void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);
void xa_destroy(struct xarray *xa);
void *shim_xa_find(struct xarray *xa, unsigned long *index,
		   unsigned long start, unsigned long last);
void *shim_xa_find_after(struct xarray *xa, unsigned long *index,
			 unsigned long last);
#define xa_err(entry)		(IS_ERR(entry) ? (int)PTR_ERR(entry) : 0)
#define xa_for_each_range(xa, idx, e, start, last)			\
	for ((e) = shim_xa_find(xa, &(idx), start, last); (e);		\
	     (e) = shim_xa_find_after(xa, &(idx), last))
#define xa_for_each(xa, idx, e)	xa_for_each_range(xa, idx, e, 0, ULONG_MAX)

/* --- what the files name but the fuzzers never reach -------------------- */

struct vm_area_struct {
	unsigned long vm_start, vm_end, vm_pgoff, vm_flags;
};

#define VM_SHARED	0x08UL
#define VM_EXEC		0x04UL
#define VM_MAYEXEC	0x40UL
#define VM_DONTEXPAND	0x40000UL
#define VM_DONTDUMP	0x4000000UL

int remap_vmalloc_range(struct vm_area_struct *vma, void *addr,
			unsigned long pgoff);

struct device;

/* The part of the vfio core's device the engine touches here. */
struct vfio_device {
	struct device *dev;
};

struct iova_bitmap;
struct eventfd_ctx;
struct file;

void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length);
int eventfd_signal(struct eventfd_ctx *ctx, u64 n);
void vfio_free_device(struct vfio_device *vdev);

/* --- the vfio core's capability chain ------------------------------------- */

struct vfio_info_cap {
	struct vfio_info_cap_header *buf;
	size_t size;
};

int vfio_info_add_capability(struct vfio_info_cap *caps,
			     struct vfio_info_cap_header *cap, size_t size);
void vfio_info_cap_shift(struct vfio_info_cap *caps, size_t offset);

/* --- CRC32C -------------------------------------------------------------- */

static inline bool sysfs_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (*a == *b) || (*a == '\n' && !a[1] && !*b) ||
	       (*b == '\n' && !b[1] && !*a);
}

static inline ssize_t strscpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size);

	if (!size)
		return -E2BIG;
	if (n == size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = 0;
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return n;
}

static inline void get_random_bytes(void *buf, size_t len)
{
	unsigned char *b = buf;

	while (len--)
		*b++ = rand();
}

u64 ktime_get_ns(void);

static inline u64 div64_u64(u64 a, u64 b)
{
	return a / b;
}

u32 crc32c(u32 crc, const void *p, size_t len);
const char *crc32c_impl(void);
/* If set, what crc32c() computes with (the codec benchmark). */
extern u32 (*shim_crc32c)(u32 crc, const void *p, size_t len);

#endif /* SHIM_H */
