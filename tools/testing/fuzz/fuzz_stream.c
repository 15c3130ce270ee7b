// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the destination's stream parser and record checks
 * (vfio_mig_stream.c), fed the way every front-end feeds it.
 *
 * Input: a configuration byte (which fake device), a flags byte, two
 * bytes of chunk size, then the stream.  Flags bit 0 reseals every record
 * header's CRC before feeding, so mutations of record contents get past
 * the CRC to the checks behind it; bits 1-2 choose the engine's CRC32C
 * implementation (0 and 3 the table code, 1 crc32c(), 2 the x86 code
 * where the CPU has it), whose copying forms the parser's paths use.  The
 * stream is fed in chunks of the given size (1 to 65536 bytes); then
 * RESUME_COMPLETED is asked for.
 *
 * The corpus starts from streams saved from real mtty-mig devices
 * (configurations 0 and 1); with VFIO_MIG_FUZZ_SEEDS=DIR set, the target
 * instead writes streams the engine saves from the small fake devices
 * into DIR, as further seeds, and exits.
 *
 * Invariants: no memory error or leak (ASan, LSan), no undefined
 * behaviour (UBSan), no WARN_ON; a record reaches the device only after
 * passing its check (fake_dev.c aborts otherwise); a stream the
 * destination accepted saves again from it and that stream is accepted by
 * a fresh device of the same configuration.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "fake_dev.h"

#include <stdint.h>

/* Recompute the CRC of each whole record of @p, as a valid sender would. */
static void reseal(u8 *p, size_t len)
{
	size_t off = 0;

	while (len - off >= VFIO_MIG_REC_HDR) {
		struct vfio_mig_record_hdr h;
		u32 plen;

		memcpy(&h, p + off, sizeof(h));
		plen = le32_to_cpu(h.length);
		if (plen > len - off - VFIO_MIG_REC_HDR)
			break;
		h.crc = cpu_to_le32(vfio_mig_crc(&h, p + off + sizeof(h), plen));
		memcpy(p + off, &h, sizeof(h));
		off += VFIO_MIG_REC_HDR + plen;
	}
}

/* Feed @len bytes in @chunk-byte pieces; 0 once all went in. */
static int feed(struct fake_dev *d, const u8 *p, size_t len, size_t chunk)
{
	int ret = 0;

	mutex_lock(&d->mig.core->lock);
	while (len && !ret) {
		size_t n = len < chunk ? len : chunk;

		ret = vfio_mig_resume_feed(d->mig.core, p, n);
		p += n;
		len -= n;
	}
	mutex_unlock(&d->mig.core->lock);
	return ret;
}

/* Save @d whole, stopped, into a new buffer; returns its length. */
static size_t save(struct fake_dev *d, u8 **out)
{
	size_t cap = 0;

	*out = NULL;
	return fake_dev_save(d, out, &cap);
}

/*
 * Resume @len bytes of @p into a new device; 0 if it was accepted.  A
 * refused stream ends as the front-ends end it (vfio_mig_resume_fail()).
 */
static int resume(unsigned int config, const u8 *p, size_t len, size_t chunk,
		  struct fake_dev **out)
{
	struct fake_dev *d = fake_dev_create(config);
	int ret;

	mutex_lock(&d->mig.core->lock);
	ret = vfio_mig_resume_start(d->mig.core);
	/* As the front-ends do: pages reach only a quiesced device. */
	vfio_mig_quiesce(d->mig.core);
	mutex_unlock(&d->mig.core->lock);
	if (ret)
		abort();
	ret = feed(d, p, len, chunk);
	mutex_lock(&d->mig.core->lock);
	if (!ret)
		ret = vfio_mig_resume_finish(d->mig.core);
	if (ret) {
		/* A refused stream applied none of its records. */
		if (d->loaded)
			abort();
		vfio_mig_resume_fail(d->mig.core);
	}
	vfio_mig_unquiesce(d->mig.core);
	mutex_unlock(&d->mig.core->lock);
	*out = d;
	return ret;
}

/* Write a saved stream of each small configuration into @dir. */
static void write_seeds(const char *dir)
{
	unsigned int config;

	for (config = FAKE_SMALL; config < FAKE_CONFIGS; config++) {
		struct fake_dev *d = fake_dev_create(config);
		u8 prefix[4] = { config, 1, 0xff, 0x0f };
		char path[512];
		size_t len;
		u8 *p;
		FILE *f;

		memset(d->cfg, 0x11 * config, sizeof(d->cfg));
		d->uart[0][16] = 2;
		d->uart[0][0] = 'h';
		d->uart[0][1] = 'i';
		if (d->mem)
			memset(d->mem + PAGE_SIZE, 0x5a, PAGE_SIZE);
		len = save(d, &p);
		snprintf(path, sizeof(path), "%s/small-%u", dir, config);
		f = fopen(path, "w");
		if (!f || fwrite(prefix, 1, sizeof(prefix), f) != sizeof(prefix) ||
		    fwrite(p, 1, len, f) != len || fclose(f))
			abort();
		free(p);
		fake_dev_destroy(d);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("VFIO_MIG_FUZZ_SEEDS");

	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const crc_impls[] = { "table", "crc32c", "x86",
						 "table" };
	struct fake_dev *d, *again;
	unsigned int config;
	size_t chunk, len;
	u8 *p, *resaved;

	if (size < 4)
		return 0;
	config = data[0] % FAKE_CONFIGS;
	if (vfio_mig_crc_choose(crc_impls[data[1] >> 1 & 3]))
		vfio_mig_crc_choose("table");	/* no SSE4.2 here */
	chunk = 1 + (data[2] | data[3] << 8);
	len = size - 4;
	p = malloc(len ?: 1);
	if (!p)
		abort();
	memcpy(p, data + 4, len);
	if (data[1] & 1)
		reseal(p, len);

	if (!resume(config, p, len, chunk, &d)) {
		/* What was accepted saves again, and that is accepted too. */
		len = save(d, &resaved);
		if (resume(config, resaved, len, 65536, &again))
			abort();
		if (memcmp(again->cfg, d->cfg, sizeof(d->cfg)) ||
		    memcmp(again->uart, d->uart, sizeof(d->uart)) ||
		    (d->mem_size && memcmp(again->mem, d->mem, d->mem_size)))
			abort();
		fake_dev_destroy(again);
		free(resaved);
	}
	fake_dev_destroy(d);
	free(p);
	return 0;
}
