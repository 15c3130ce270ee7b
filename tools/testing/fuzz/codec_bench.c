// SPDX-License-Identifier: GPL-2.0
/*
 * Native benchmark of the engine's record codec: the producer
 * (vfio_mig_save_chunk() over a stopped device) and the parser
 * (vfio_mig_resume_feed() and vfio_mig_resume_finish(): every record
 * checked, its pages written into the device), compiled unchanged against
 * the fuzzers' userspace shim and timed on this machine, once with each of
 * the engine's CRC32C implementations (vfio_mig_crc.c): its table code
 * (slicing by eight bytes, as the kernel's generic one), crc32c() (here
 * the SSE4.2 crc32 instruction in one chain, which has no copying form)
 * and its own x86 code (the crc32 instruction in three streams, summing
 * in the pass that copies).
 *
 * The data moves as in the kernel: the producer fills a section-sized
 * buffer (the data section, or a v2 file's buffer) chunk after chunk, from
 * which a front-end copies it out; the parser is fed from such a buffer,
 * into which a front-end copied it.  Only the codec's calls are timed (the
 * copies between the section and the whole stream are the front-ends'
 * staging copies, shown apart).  The reference is memcpy() making the
 * same moves, device memory to the section and back, chunk by chunk
 * ("memcpy" column); "stream" is memcpy() of the whole stream into a
 * buffer of its size, for comparison with the earlier figures (for large
 * sizes glibc then writes past the cache, which a chunk never needs).
 * Rates are MiB/s of device memory.  Prints figures, never passes or
 * fails on them.
 *
 * usage: codec_bench [MiB]   (device memory, default 64)
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "fake_dev.h"

#include <nmmintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS	5	/* the best of, for each figure */
#define SECTION	(1 << 20)	/* the data section: 1 MiB, as mtty-mig's */

/* The raw CRC32C update with the SSE4.2 instruction: crc32c() here. */
__attribute__((target("sse4.2")))
static u32 crc_sse42(u32 crc, const void *p, size_t len)
{
	const u8 *b = p;
	u64 c = crc;

	for (; len >= 8; len -= 8, b += 8) {
		u64 v;

		memcpy(&v, b, 8);
		c = _mm_crc32_u64(c, v);
	}
	crc = c;
	while (len--)
		crc = _mm_crc32_u8(crc, *b++);
	return crc;
}

static volatile u32 crc_sink;	/* the CRCs timed are used */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The compiler must assume @p's bytes are used: no copy into it is dead. */
static void used(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

/*
 * Save @d, stopped, chunk by chunk through @sec into @stream; returns the
 * stream's length, *@t the time of the codec's calls alone.
 */
static size_t produce(struct fake_dev *d, u8 *sec, u8 *stream, double *t)
{
	struct vfio_mig_core *core = d->mig.core;
	size_t len = 0;
	double t0;
	u64 n;

	*t = 0;
	mutex_lock(&core->lock);
	if (vfio_mig_stop_copy(core))
		abort();
	do {
		t0 = now();
		n = vfio_mig_save_chunk(core, sec, SECTION);
		*t += now() - t0;
		memcpy(stream + len, sec, n);	/* a front-end's copy-out */
		len += n;
	} while (n);
	vfio_mig_save_drop(core);
	vfio_mig_unquiesce(core);
	mutex_unlock(&core->lock);
	return len;
}

/* Validate and apply @len bytes of @stream into @d through @sec. */
static double consume(struct fake_dev *d, u8 *sec, const u8 *stream,
		      size_t len)
{
	struct vfio_mig_core *core = d->mig.core;
	double t = 0, t0;

	mutex_lock(&core->lock);
	if (vfio_mig_resume_start(core))
		abort();
	vfio_mig_quiesce(core);
	while (len) {
		size_t n = len < SECTION ? len : SECTION;

		memcpy(sec, stream, n);		/* a front-end's copy-in */
		t0 = now();
		if (vfio_mig_resume_feed(core, sec, n))
			abort();
		t += now() - t0;
		stream += n;
		len -= n;
	}
	t0 = now();
	if (vfio_mig_resume_finish(core))
		abort();
	t += now() - t0;
	vfio_mig_unquiesce(core);
	mutex_unlock(&core->lock);
	return t;
}

/* memcpy() making the codec's moves: memory to the section (or back). */
static double memcpy_chunked(u8 *mem, u8 *sec, size_t size, bool in)
{
	double t = 0, t0;
	size_t off, n;

	for (off = 0; off < size; off += n) {
		n = size - off < SECTION ? size - off : SECTION;
		t0 = now();
		if (in)
			memcpy(mem + off, sec, n);
		else
			memcpy(sec, mem + off, n);
		t += now() - t0;
		used(in ? mem : sec);
	}
	return t;
}

int main(int argc, char **argv)
{
	static const char *const impls[] = { "table", "crc32c", "x86" };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t mem = mib << 20, cap = mem + mem / 64 + (2 << 20), len = 0;
	double tout = 1e9, tin = 1e9, tbig = 1e9, t;
	struct fake_dev *src, *dst;
	u8 *stream, *copy, *sec;
	unsigned int i, r;
	size_t b;

	if (argc > 2 || !mib || mib > 4096) {
		fprintf(stderr, "usage: codec_bench [MiB]   (1 to 4096, default 64)\n");
		return 64;
	}
	if (!__builtin_cpu_supports("sse4.2")) {
		fprintf(stderr, "codec_bench: this CPU has no SSE4.2\n");
		return 69;
	}
	src = fake_dev_create_mem(mem, SECTION);
	dst = fake_dev_create_mem(mem, SECTION);
	stream = malloc(cap);
	copy = malloc(cap);
	sec = aligned_alloc(4096, SECTION);
	if (!stream || !copy || !sec)
		abort();
	srand(1);
	for (b = 0; b < mem; b++)	/* incompressible, non-zero */
		src->mem[b] = rand() % 255 + 1;
	memset(stream, 1, cap);
	memset(copy, 2, cap);
	memset(sec, 3, SECTION);

	/* The references, the best of ROUNDS each. */
	for (r = 0; r < ROUNDS; r++) {
		tout = min_d(tout, memcpy_chunked(src->mem, sec, mem, false));
		tin = min_d(tin, memcpy_chunked(dst->mem, sec, mem, true));
		t = now();
		memcpy(copy, src->mem, mem);
		used(copy);
		tbig = min_d(tbig, now() - t);
	}

	printf("native codec, %lu MiB of device memory, %d KiB sections, best of %d\n",
	       mib, SECTION >> 10, ROUNDS);
	printf("  memcpy, memory to section %.0f MiB/s, section to memory %.0f MiB/s, whole (stream) %.0f MiB/s\n",
	       mib / tout, mib / tin, mib / tbig);
	printf("  %-7s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n", "crc32c",
	       "crc MiB/s", "produce", "consume", "prod/cpy", "cons/cpy",
	       "prod/str", "cons/str", "stage-s", "stage-r");
	for (i = 0; i < 3; i++) {
		double tp = 1e9, tc = 1e9, tcrc = 1e9;
		u32 sink = 0;

		/* crc32c() is the SSE4.2 instruction in one chain here. */
		shim_crc32c = crc_sse42;
		if (vfio_mig_crc_choose(impls[i]))
			abort();
		for (r = 0; r < ROUNDS; r++) {
			len = produce(src, sec, stream, &t);
			tp = min_d(tp, t);
			tc = min_d(tc, consume(dst, sec, stream, len));
			t = now();
			sink ^= vfio_mig_crc32c(0, stream, len);
			tcrc = min_d(tcrc, now() - t);
		}
		if (memcmp(src->mem, dst->mem, mem))
			abort();
		printf("  %-7s %9.0f %9.0f %9.0f %8.0f%% %8.0f%% %7.0f%% %7.0f%% %7.0f%% %7.0f%%\n",
		       impls[i], len / 1048576.0 / tcrc, mib / tp, mib / tc,
		       100 * tout / tp, 100 * tin / tc,
		       100 * tbig / tp, 100 * tbig / tc,
		       100 * tout / (tp + tout), 100 * tin / (tc + tin));
		crc_sink = sink;
	}
	printf("  (MiB/s of device memory; the stream is %zu bytes for %lu MiB)\n"
	       "  (prod/cpy, cons/cpy: against memcpy() making the same moves, chunk by chunk;\n"
	       "   prod/str, cons/str: against memcpy() of the whole, as before issue 13 item 4)\n"
	       "  (stage-s, stage-r: the share a front-end's staging copy between the section\n"
	       "   and the user's buffer would add to a save and a resume, at most: one memcpy)\n",
	       len, mib);
	fake_dev_destroy(src);
	fake_dev_destroy(dst);
	free(stream);
	free(copy);
	free(sec);
	return 0;
}
