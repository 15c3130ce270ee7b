/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fuzz targets and the shim share: the faults a fuzz input asks
 * for, the report bitmap iova_bitmap_set() fills, and the fake device.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef FUZZ_H
#define FUZZ_H

#include "shim.h"

/* Countdowns: when one reaches 0 that call fails (0: never). */
struct shim_faults {
	unsigned long alloc;	/* the Nth allocation returns NULL */
	unsigned long user;	/* the Nth user copy faults */
};

extern struct shim_faults shim_faults;

/* What the engine gets as a struct iova_bitmap: a window and its bits. */
struct shim_iova_bitmap {
	u64 iova, length;
	u64 *bits;
};

#endif
