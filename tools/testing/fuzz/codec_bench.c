// SPDX-License-Identifier: GPL-2.0
/*
 * Native benchmark of the engine's record codec: the producer
 * (vfio_mig_save_chunk() over a stopped device) and the parser
 * (vfio_mig_resume_feed() and vfio_mig_resume_finish(): every record
 * checked, its pages written into the device), compiled unchanged against
 * the fuzzers' userspace shim and timed on this machine against memcpy()
 * of the same number of bytes, once with each of the engine's CRC32C
 * choices (vfio_mig_crc.c): its own table code (slicing by eight bytes, as
 * the kernel's generic one), and crc32c(), which here is the SSE4.2 crc32
 * instruction.  The last two columns bound what the front-ends' staging
 * copy (the data section, a v2 file's buffer) adds to a save and a resume.
 * Prints figures, never passes or fails on them.
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

/* Validate and apply @len bytes of stream into @d, a section at a time. */
static void consume(struct fake_dev *d, const u8 *p, size_t len)
{
	struct vfio_mig_core *core = d->mig.core;
	size_t chunk = core->cfg.data_size;

	mutex_lock(&core->lock);
	if (vfio_mig_resume_start(core))
		abort();
	vfio_mig_quiesce(core);
	while (len) {
		size_t n = len < chunk ? len : chunk;

		if (vfio_mig_resume_feed(core, p, n))
			abort();
		p += n;
		len -= n;
	}
	if (vfio_mig_resume_finish(core))
		abort();
	vfio_mig_unquiesce(core);
	mutex_unlock(&core->lock);
}

int main(int argc, char **argv)
{
	static const char *const impls[] = { "table", "crc32c" };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t mem = mib << 20, cap = mem + mem / 64 + (2 << 20), len = 0;
	struct fake_dev *src, *dst;
	double tcpy = 1e9;
	u8 *stream, *copy;
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
	src = fake_dev_create_mem(mem, 1 << 20);
	dst = fake_dev_create_mem(mem, 1 << 20);
	stream = malloc(cap);
	copy = malloc(cap);
	if (!stream || !copy)
		abort();
	srand(1);
	for (b = 0; b < mem; b++)	/* incompressible, non-zero */
		src->mem[b] = rand() % 255 + 1;
	memset(stream, 1, cap);
	memset(copy, 2, cap);

	printf("native codec, %lu MiB of device memory, 1 MiB sections, best of %d\n",
	       mib, ROUNDS);
	printf("  %-8s %12s %12s %12s %12s %10s %10s %8s %8s\n", "crc32c", "crc MiB/s",
	       "produce", "consume", "memcpy", "prod/cpy", "cons/cpy",
	       "stage-s", "stage-r");
	for (i = 0; i < 2; i++) {
		double tp = 1e9, tc = 1e9, tcrc = 1e9, t;
		u32 sink = 0;

		/* The engine's own table code, or crc32c() (SSE4.2 here). */
		shim_crc32c = crc_sse42;
		if (vfio_mig_crc_choose(impls[i]))
			abort();
		for (r = 0; r < ROUNDS; r++) {
			t = now();
			len = fake_dev_save(src, &stream, &cap);	/* no realloc: cap fits */
			t = now() - t;
			tp = t < tp ? t : tp;
			t = now();
			consume(dst, stream, len);
			t = now() - t;
			tc = t < tc ? t : tc;
			t = now();
			memcpy(copy, stream, len);
			t = now() - t;
			tcpy = t < tcpy ? t : tcpy;
			t = now();
			sink ^= vfio_mig_crc32c(0, stream, len);
			t = now() - t;
			tcrc = t < tcrc ? t : tcrc;
		}
		if (memcmp(src->mem, dst->mem, mem) || copy[len / 2] != stream[len / 2])
			abort();
		printf("  %-8s %12.0f %12.0f %12.0f %12.0f %9.0f%% %9.0f%% %7.0f%% %7.0f%%\n",
		       i ? "sse4.2" : "table", len / 1048576.0 / tcrc,
		       len / 1048576.0 / tp, len / 1048576.0 / tc,
		       len / 1048576.0 / tcpy, 100 * tcpy / tp, 100 * tcpy / tc,
		       100 * tcpy / (tp + tcpy), 100 * tcpy / (tc + tcpy));
		crc_sink = sink;
	}
	printf("  (MiB/s of stream bytes: %zu for %lu MiB; memcpy copies the same bytes)\n"
	       "  (stage-s, stage-r: the share a front-end's staging copy, to or from the\n"
	       "   user's buffer, would add to a save and a resume, at most: one memcpy)\n",
	       len, mib);
	fake_dev_destroy(src);
	fake_dev_destroy(dst);
	free(stream);
	free(copy);
	return 0;
}
