// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the CRC32C every stream record carries, computed by
 * the faster of two implementations on this machine.  When the module
 * loads it times each over the same buffer, in the calls that a stream's
 * page records make, as crypto/xor.c and lib/raid6 time theirs, and keeps
 * the faster: the engine's own table code (slicing by eight bytes) or the
 * kernel's crc32c() (libcrc32c up to 6.14, which uses the best CRC32C
 * driver registered, such as crc32c-intel; the CRC library with its
 * architecture code from 6.15).  The module parameter crc32c_impl says
 * which was chosen, or, given at load time, chooses it.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: none; the choice is made once, before any device exists.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/string.h>
#include <linux/vfio_mig_compat.h>
#include <linux/vmalloc.h>

#include "vfio_mig_priv.h"

#define CRC_POLY	0x82f63b78	/* CRC32C, reflected */
#define CAL_BYTES	(256 * 1024)	/* timed per candidate and round */
#define CAL_ROUNDS	3		/* the best round counts */

static u32 crc_tab[8][256];

static void crc_tab_init(void)
{
	u32 i, k, c;

	if (crc_tab[0][128])	/* built already: that entry is CRC_POLY */
		return;
	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c >> 1 ^ (CRC_POLY & (0 - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_tab[k][i] = crc_tab[k - 1][i] >> 8 ^
					crc_tab[0][crc_tab[k - 1][i] & 0xff];
}

/* One step of the table code: the CRC after the eight bytes @v (LE). */
static inline u32 crc_step8(u32 crc, u64 v)
{
	v ^= crc;
	return crc_tab[7][v & 0xff] ^ crc_tab[6][v >> 8 & 0xff] ^
	       crc_tab[5][v >> 16 & 0xff] ^ crc_tab[4][v >> 24 & 0xff] ^
	       crc_tab[3][v >> 32 & 0xff] ^ crc_tab[2][v >> 40 & 0xff] ^
	       crc_tab[1][v >> 48 & 0xff] ^ crc_tab[0][v >> 56];
}

/* The raw CRC32C update (no inversions), eight bytes per step. */
static u32 crc_table(u32 crc, const void *p, size_t len)
{
	const u8 *b = p;

	for (; len >= 8; len -= 8, b += 8)
		crc = crc_step8(crc, get_unaligned_le64(b));
	while (len--)
		crc = crc_tab[0][(crc ^ *b++) & 0xff] ^ crc >> 8;
	return crc;
}

/* The same while copying: each word is stored as it is summed. */
static u32 crc_table_copy(u32 crc, void *dst, const void *src, size_t len)
{
	const u8 *s = src;
	u8 *d = dst;

	for (; len >= 8; len -= 8, s += 8, d += 8) {
		u64 v = get_unaligned_le64(s);

		put_unaligned_le64(v, d);
		crc = crc_step8(crc, v);
	}
	while (len--) {
		u8 b = *s++;	/* read once: @src may be mapped by the user */

		*d++ = b;
		crc = crc_tab[0][(crc ^ b) & 0xff] ^ crc >> 8;
	}
	return crc;
}

static u32 __maybe_unused crc_kernel(u32 crc, const void *p, size_t len)
{
	return vfio_mig_crc32c_kernel(crc, p, len);
}

/* crc32c() has no copying form: copy, then sum the copy while it is hot. */
static u32 __maybe_unused crc_kernel_copy(u32 crc, void *dst, const void *src,
					  size_t len)
{
	memcpy(dst, src, len);
	return vfio_mig_crc32c_kernel(crc, dst, len);
}

static const struct crc_impl {
	const char *name;
	u32 (*fn)(u32 crc, const void *p, size_t len);
	u32 (*copy)(u32 crc, void *dst, const void *src, size_t len);
} crc_impls[] = {
	{ "table", crc_table, crc_table_copy },
#if VFIO_MIG_KERNEL_CRC32C
	{ "crc32c", crc_kernel, crc_kernel_copy },
#endif
};

static const struct crc_impl *crc_use = &crc_impls[0];

static char impl_param[16] = "auto";
module_param_string(crc32c_impl, impl_param, sizeof(impl_param), 0444);
MODULE_PARM_DESC(crc32c_impl,
		 "CRC32C of the stream records: auto (the faster on this machine, measured at load), table or crc32c; reads back the choice");

/**
 * vfio_mig_crc32c() - the raw CRC32C update, by the engine's choice
 * @crc: the CRC so far (not inverted)
 * @p: the bytes
 * @len: their number
 *
 * The stream's records use it; drivers may too (mtty-mig's memory digest).
 *
 * Return: the updated CRC, as __crc32c_le() and crc32c() compute it.
 */
u32 vfio_mig_crc32c(u32 crc, const void *p, size_t len)
{
	return crc_use->fn(crc, p, len);
}
EXPORT_SYMBOL_GPL(vfio_mig_crc32c);

/*
 * Copy @len bytes from @src to @dst and return the CRC updated over them,
 * as vfio_mig_crc32c() would: in one pass with the table code.
 */
u32 vfio_mig_crc32c_copy(u32 crc, void *dst, const void *src, size_t len)
{
	return crc_use->copy(crc, dst, src, len);
}

/*
 * MB/s of @fn over @buf, the best of CAL_ROUNDS, called as the stream
 * calls it: per page record, its 16-byte header, then its payload (the
 * offset and the 4 KiB page), so that the cost of each call, such as the
 * shash dispatch of libcrc32c, counts.
 */
static u64 crc_rate(u32 (*fn)(u32, const void *, size_t), const u8 *buf,
		    u32 *out)
{
	const size_t rec = VFIO_MIG_PAGE_REC;
	u64 best = U64_MAX;
	unsigned int r;
	size_t off;

	for (r = 0; r < CAL_ROUNDS; r++) {
		u64 t = ktime_get_ns();
		u32 crc = ~0U;

		for (off = 0; off + rec <= CAL_BYTES; off += rec) {
			crc = fn(crc, buf + off, VFIO_MIG_REC_HDR);
			crc = fn(crc, buf + off + VFIO_MIG_REC_HDR,
				 rec - VFIO_MIG_REC_HDR);
		}
		t = ktime_get_ns() - t;
		best = min(best, t);
		*out = crc;
	}
	return div64_u64((u64)(CAL_BYTES / rec * rec) * 1000,
			 max_t(u64, best, 1));
}

/* Use the implementation called @name; -EINVAL if there is none. */
int vfio_mig_crc_choose(const char *name)
{
	unsigned int i;

	crc_tab_init();
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		if (sysfs_streq(name, crc_impls[i].name)) {
			crc_use = &crc_impls[i];
			strscpy(impl_param, crc_impls[i].name,
				sizeof(impl_param));
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * vfio_mig_crc_init() - choose the CRC32C implementation, at module load
 *
 * Return: 0, or -EINVAL for an unknown crc32c_impl, -EIO if the two
 * implementations disagree (then neither can be trusted).
 */
int vfio_mig_crc_init(void)
{
	u64 rate[ARRAY_SIZE(crc_impls)];
	u32 crc[ARRAY_SIZE(crc_impls)];
	unsigned int i, pick = 0, last = ARRAY_SIZE(crc_impls) - 1;
	bool copy_bad = false;
	u8 *buf;

	if (!vfio_mig_crc_choose(impl_param)) {
		pr_info("crc32c: %s, as crc32c_impl asks\n", impl_param);
		return 0;
	}
	if (!sysfs_streq(impl_param, "auto")) {
		pr_err("crc32c_impl=%s: not auto or one of this kernel's: table%s\n",
		       impl_param, VFIO_MIG_KERNEL_CRC32C ? ", crc32c" : "");
		return -EINVAL;
	}
	if (ARRAY_SIZE(crc_impls) == 1) {
		pr_info("crc32c: table (this kernel has no crc32c() library)\n");
		return vfio_mig_crc_choose("table");
	}
	buf = vmalloc(2 * CAL_BYTES);
	if (!buf)
		return vfio_mig_crc_choose("table");	/* no measuring */
	get_random_bytes(buf, CAL_BYTES);
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		rate[i] = crc_rate(crc_impls[i].fn, buf, &crc[i]);
		if (rate[i] > rate[pick])
			pick = i;
	}
	/* The copying forms, which the resume uses, must agree too. */
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		memset(buf + CAL_BYTES, 0, CAL_BYTES);
		if (crc_impls[i].copy(~0U, buf + CAL_BYTES, buf, CAL_BYTES) !=
		    crc_impls[i].fn(~0U, buf, CAL_BYTES) ||
		    memcmp(buf + CAL_BYTES, buf, CAL_BYTES))
			copy_bad = true;
	}
	vfree(buf);
	if (crc[0] != crc[last] || copy_bad) {
		pr_err("crc32c: table %08x, crc32c() %08x over the same bytes%s\n",
		       crc[0], crc[last],
		       copy_bad ? "; a copying form differs" : "");
		return -EIO;
	}
	vfio_mig_crc_choose(crc_impls[pick].name);
	pr_info("crc32c: table %llu MB/s, crc32c() %llu MB/s (%s): using %s\n",
		rate[0], rate[last], vfio_mig_crc32c_kernel_name(),
		crc_impls[pick].name);
	return 0;
}
