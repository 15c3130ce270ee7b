// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the CRC32C every stream record carries, computed by
 * the fastest implementation on this machine.  When the module loads it
 * times each over the same buffer, in the calls that a stream's page
 * records make, as crypto/xor.c and lib/raid6 time theirs, and keeps the
 * fastest: the engine's own table code (slicing by eight bytes), the
 * kernel's crc32c() (libcrc32c up to 6.14, which uses the best CRC32C
 * driver registered, such as crc32c-intel; the CRC library with its
 * architecture code from 6.15), or, on x86-64 CPUs with SSE4.2, the
 * engine's own code around the crc32 instruction.  The module parameter
 * crc32c_impl says which was chosen, or, given at load time, chooses it.
 *
 * Each has a copying form, which the stream uses for device memory: the
 * bytes are summed in the pass that copies them (the csum_and_copy idiom),
 * each source byte read once.  Only crc32c() has none: it copies, then
 * sums the copy while it is in the cache.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: none; the choice is made once, before any device exists.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/prefetch.h>
#ifdef CONFIG_X86_64
#include <asm/cpufeature.h>
#endif
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

/*
 * The same while copying: each word is stored as it is summed.  The sums
 * keep the CPU busier than the loads, so where the bytes live does not
 * matter (@to_far is for the x86 form).
 */
static u32 crc_table_copy(u32 crc, void *dst, const void *src, size_t len,
			  bool to_far)
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
					  size_t len, bool to_far)
{
	memcpy(dst, src, len);
	return vfio_mig_crc32c_kernel(crc, dst, len);
}

#ifdef CONFIG_X86_64
/*
 * The crc32 instruction (SSE4.2) works on general registers, so it needs
 * no FPU section.  Each one waits three cycles for the one before it on
 * the same CRC, but the CPU starts one every cycle: three independent
 * streams keep it busy.  A block of three lanes A, B, C of @lane bytes is
 * summed as crc(A) from the CRC so far, crc(B) and crc(C) from 0, then
 * joined: the CRC of X then Y is the CRC of Y from 0 xor the CRC of X
 * carried over |Y| zero bytes, and that carry is a linear map of the 32
 * bits, kept as four tables of a byte each (zero_tab).
 */
#define X86_LANE_PAGE	1360	/* 3 x 1360 + 16: a 4 KiB page */
#define X86_LANE_SMALL	128
#define X86_PREFETCH_AHEAD	8192

static u32 zero_tab[2][4][256];	/* [0]: X86_LANE_PAGE, [1]: X86_LANE_SMALL */

static __always_inline u64 x86_crc64(u64 crc, u64 v)
{
	asm("crc32q %1, %0" : "+r" (crc) : "r" (v));
	return crc;
}

static __always_inline u32 x86_crc8(u32 crc, u8 v)
{
	asm("crc32b %1, %0" : "+r" (crc) : "r" (v));
	return crc;
}

/* The raw CRC @c carried over as many zero bytes as @t was made for. */
static __always_inline u32 zero_carry(const u32 (*t)[256], u32 c)
{
	return t[0][c & 0xff] ^ t[1][c >> 8 & 0xff] ^ t[2][c >> 16 & 0xff] ^
	       t[3][c >> 24];
}

static void zero_tab_init(u32 (*t)[256], size_t zeros)
{
	u32 basis[32], c;
	unsigned int j, k, b;
	size_t n;

	for (j = 0; j < 32; j++) {
		for (c = 1U << j, n = 0; n < zeros; n++)
			c = crc_tab[0][c & 0xff] ^ c >> 8;
		basis[j] = c;
	}
	for (k = 0; k < 4; k++) {
		for (b = 0; b < 256; b++) {
			for (c = 0, j = 0; j < 8; j++)
				if (b & 1U << j)
					c ^= basis[8 * k + j];
			t[k][b] = c;
		}
	}
}

/*
 * One block of three lanes, copied to @d too if @copy: each word is read
 * once, then stored and summed.  @to_far: @d, not @s, is the side far from
 * the CPU (device memory that a resume writes).
 */
static __always_inline u32 x86_block(u32 crc, u8 *d, const u8 *s, size_t lane,
				     const u32 (*t)[256], bool copy,
				     bool to_far)
{
	u64 a = crc, b = 0, c = 0;
	size_t i;

	/*
	 * Eight-byte loads in three streams keep too few cache misses in
	 * flight, and the CPU's own prefetchers stop at each 4 KiB page, the
	 * unit a page-by-page caller comes back with: ask now for the far
	 * side's bytes two pages on (only that side: asking for both halves
	 * the gain).  A prefetch is a hint that never faults, so reaching
	 * past the end of the buffer costs nothing.
	 */
	for (i = 0; i < 3 * lane; i += L1_CACHE_BYTES) {
		if (copy && to_far)
			prefetchw(d + X86_PREFETCH_AHEAD + i);
		else
			prefetch(s + X86_PREFETCH_AHEAD + i);
	}
	for (i = 0; i < lane; i += 8) {
		u64 va = get_unaligned_le64(s + i);
		u64 vb = get_unaligned_le64(s + lane + i);
		u64 vc = get_unaligned_le64(s + 2 * lane + i);

		if (copy) {
			put_unaligned_le64(va, d + i);
			put_unaligned_le64(vb, d + lane + i);
			put_unaligned_le64(vc, d + 2 * lane + i);
		}
		a = x86_crc64(a, va);
		b = x86_crc64(b, vb);
		c = x86_crc64(c, vc);
	}
	return zero_carry(t, zero_carry(t, a) ^ b) ^ c;
}

static __always_inline u32 x86_any(u32 crc, u8 *d, const u8 *s, size_t len,
				   bool copy, bool to_far)
{
	const size_t big = 3 * X86_LANE_PAGE, small = 3 * X86_LANE_SMALL;
	size_t i = 0;

	for (; len - i >= big; i += big)
		crc = x86_block(crc, copy ? d + i : NULL, s + i, X86_LANE_PAGE,
				zero_tab[0], copy, to_far);
	for (; len - i >= small; i += small)
		crc = x86_block(crc, copy ? d + i : NULL, s + i, X86_LANE_SMALL,
				zero_tab[1], copy, to_far);
	for (; len - i >= 8; i += 8) {
		u64 v = get_unaligned_le64(s + i);

		if (copy)
			put_unaligned_le64(v, d + i);
		crc = x86_crc64(crc, v);
	}
	for (; i < len; i++) {
		u8 v = s[i];

		if (copy)
			d[i] = v;
		crc = x86_crc8(crc, v);
	}
	return crc;
}

static u32 crc_x86(u32 crc, const void *p, size_t len)
{
	return x86_any(crc, NULL, p, len, false, false);
}

static u32 crc_x86_copy(u32 crc, void *dst, const void *src, size_t len,
			bool to_far)
{
	if (to_far)
		return x86_any(crc, dst, src, len, true, true);
	return x86_any(crc, dst, src, len, true, false);
}

static bool crc_x86_usable(void)
{
	if (!boot_cpu_has(X86_FEATURE_XMM4_2))
		return false;
	if (!zero_tab[0][0][1]) {	/* 0 carries to 0; 1 never does */
		zero_tab_init(zero_tab[0], X86_LANE_PAGE);
		zero_tab_init(zero_tab[1], X86_LANE_SMALL);
	}
	return true;
}
#endif /* CONFIG_X86_64 */

static const struct crc_impl {
	const char *name;
	u32 (*fn)(u32 crc, const void *p, size_t len);
	u32 (*copy)(u32 crc, void *dst, const void *src, size_t len,
		    bool to_far);
	bool (*usable)(void);	/* NULL: always */
} crc_impls[] = {
	{ "table", crc_table, crc_table_copy, NULL },
#if VFIO_MIG_KERNEL_CRC32C
	{ "crc32c", crc_kernel, crc_kernel_copy, NULL },
#endif
#ifdef CONFIG_X86_64
	{ "x86", crc_x86, crc_x86_copy, crc_x86_usable },
#endif
};

static const struct crc_impl *crc_use = &crc_impls[0];

static char impl_param[16] = "auto";
module_param_string(crc32c_impl, impl_param, sizeof(impl_param), 0444);
MODULE_PARM_DESC(crc32c_impl,
		 "CRC32C of the stream records: auto (the fastest on this machine, measured at load), table, crc32c or x86; reads back the choice");

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
 * as vfio_mig_crc32c() would, reading each byte of @src once: in one pass
 * but with crc32c().  @to_far: @dst is the side far from the CPU (device
 * memory that a resume fills), else @src is or neither is; a hint for
 * prefetching only.
 */
u32 vfio_mig_crc32c_copy(u32 crc, void *dst, const void *src, size_t len,
			 bool to_far)
{
	return crc_use->copy(crc, dst, src, len, to_far);
}

/*
 * MB/s of @impl over @buf, the best of CAL_ROUNDS, called as the stream
 * calls it for each page record: its 16-byte header, its 8-byte offset,
 * then the copying form over the 4 KiB page (into @buf + CAL_BYTES), so
 * that the cost of each call, such as the shash dispatch of libcrc32c,
 * counts.  *@out: the CRC of the whole.
 */
static u64 crc_rate(const struct crc_impl *impl, u8 *buf, u32 *out)
{
	const size_t rec = VFIO_MIG_PAGE_REC, page = VFIO_MIG_STREAM_PAGE_SIZE;
	u64 best = U64_MAX;
	unsigned int r;
	size_t off;

	for (r = 0; r < CAL_ROUNDS; r++) {
		u64 t = ktime_get_ns();
		u32 crc = ~0U;

		for (off = 0; off + rec <= CAL_BYTES; off += rec) {
			crc = impl->fn(crc, buf + off, VFIO_MIG_REC_HDR);
			crc = impl->fn(crc, buf + off + VFIO_MIG_REC_HDR, 8);
			crc = impl->copy(crc, buf + CAL_BYTES + off + rec - page,
					 buf + off + rec - page, page, false);
		}
		t = ktime_get_ns() - t;
		best = min(best, t);
		*out = crc;
	}
	return div64_u64((u64)(CAL_BYTES / rec * rec) * 1000,
			 max_t(u64, best, 1));
}

static bool crc_usable(const struct crc_impl *impl)
{
	return !impl->usable || impl->usable();
}

/* Use the implementation called @name; -EINVAL if there is none here. */
int vfio_mig_crc_choose(const char *name)
{
	unsigned int i;

	crc_tab_init();
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		if (sysfs_streq(name, crc_impls[i].name) &&
		    crc_usable(&crc_impls[i])) {
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
 * Return: 0, or -EINVAL for a crc32c_impl this machine does not have, -EIO
 * if two implementations disagree (then none can be trusted).
 */
int vfio_mig_crc_init(void)
{
	u64 rate[ARRAY_SIZE(crc_impls)];
	u32 crc[ARRAY_SIZE(crc_impls)];
	unsigned int i, far, pick = 0;
	char names[64] = "", line[160] = "";
	const char *bad = NULL;
	size_t len;
	u32 odd;
	u8 *buf;

	crc_tab_init();		/* before any usable(): x86's tables use it */
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		if (!crc_usable(&crc_impls[i]))
			continue;
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s",
			 len ? ", " : "", crc_impls[i].name);
	}
	if (!vfio_mig_crc_choose(impl_param)) {
		pr_info("crc32c: %s, as crc32c_impl asks\n", impl_param);
		return 0;
	}
	if (!sysfs_streq(impl_param, "auto")) {
		pr_err("crc32c_impl=%s: not auto or one of this machine's: %s\n",
		       impl_param, names);
		return -EINVAL;
	}
	buf = vmalloc(2 * CAL_BYTES);
	if (!buf)
		return vfio_mig_crc_choose("table");	/* no measuring */
	get_random_bytes(buf, CAL_BYTES);
	for (i = 0; i < ARRAY_SIZE(crc_impls); i++) {
		const struct crc_impl *impl = &crc_impls[i];

		rate[i] = 0;
		if (!crc_usable(impl))
			continue;
		rate[i] = crc_rate(impl, buf, &crc[i]);
		if (crc[i] != crc[0])
			bad = "the CRC of the same bytes";
		/*
		 * The copying form must copy, and sum what the plain one
		 * does, whichever side it prefetches.
		 */
		for (far = 0; far < 2; far++) {
			memset(buf + CAL_BYTES, 0, CAL_BYTES);
			if (impl->copy(~0U, buf + CAL_BYTES, buf, CAL_BYTES,
				       far) != impl->fn(~0U, buf, CAL_BYTES) ||
			    memcmp(buf + CAL_BYTES, buf, CAL_BYTES))
				bad = "a copying form";
		}
		/* And an odd length at odd addresses, for the tails. */
		memset(buf + CAL_BYTES, 0, CAL_BYTES);
		odd = crc_table(~0U, buf + 3, 4099);
		if (impl->fn(~0U, buf + 3, 4099) != odd ||
		    impl->copy(~0U, buf + CAL_BYTES + 5, buf + 3, 4099,
			       false) != odd ||
		    memcmp(buf + CAL_BYTES + 5, buf + 3, 4099))
			bad = "an odd length";
		if (rate[i] > rate[pick])
			pick = i;
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, "%s%s %llu MB/s%s%s%s",
			 len ? ", " : "", impl->name, rate[i],
			 impl->copy == crc_kernel_copy ? " (" : "",
			 impl->copy == crc_kernel_copy ?
			 vfio_mig_crc32c_kernel_name() : "",
			 impl->copy == crc_kernel_copy ? ")" : "");
	}
	vfree(buf);
	if (bad) {
		pr_err("crc32c: the implementations differ in %s (%s)\n",
		       bad, line);
		return -EIO;
	}
	vfio_mig_crc_choose(crc_impls[pick].name);
	pr_info("crc32c: %s%s: using %s\n", line,
		VFIO_MIG_KERNEL_CRC32C ? "" : " (no crc32c() library)",
		crc_impls[pick].name);
	return 0;
}
