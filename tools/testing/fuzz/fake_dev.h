/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzers' vendor driver (fake_dev.c).
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef FAKE_DEV_H
#define FAKE_DEV_H

#include "fuzz.h"

#include "vfio_mig_priv.h"

#define FAKE_CONFIGS	4
#define FAKE_SMALL	2	/* configurations from here on are small */

struct fake_dev {
	struct vfio_mig_device mig;
	const char *model;
	unsigned int ports;
	u64 mem_size;
	bool quiesced;
	unsigned int loaded;	/* records applied */
	u8 regs[8];		/* region 0: 8 byte-wide registers */
	u8 cfg[256];		/* region 7, and the config record */
	u8 uart[2][27];
	u8 irq[2];
	u8 dma[48];
	u8 *mem;		/* region 2: device memory */
};

/* A device of configuration @config (modulo FAKE_CONFIGS). */
struct fake_dev *fake_dev_create(unsigned int config);
/*
 * Save @d whole, stopped, into *@buf (*@cap bytes, grown with realloc()
 * when too small); returns the stream's length.
 */
size_t fake_dev_save(struct fake_dev *d, u8 **buf, size_t *cap);
/* A one-port device of @mem_size bytes of memory (the codec benchmark). */
struct fake_dev *fake_dev_create_mem(u64 mem_size, u64 data_size);
void fake_dev_destroy(struct fake_dev *d);

#endif
