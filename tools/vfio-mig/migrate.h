/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvfio-mig: live save into, and load from, the saved-device container.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef VMIG_MIGRATE_H
#define VMIG_MIGRATE_H

#include "libvfio-mig.h"

/* When pre-copy stops and the device is stopped. */
struct vmig_policy {
	double max_downtime_ms;	/* stop once the rest fits in this */
	uint64_t threshold;	/* ... and precopy_only is at most this */
	unsigned int max_iterations;
};

struct vmig_stats {
	unsigned int iterations;
	bool forced;		/* stopped by the iteration limit or a stall */
	uint64_t device_pre;	/* device stream bytes before the stop */
	uint64_t device_stop;	/* ... and after it */
	uint64_t guest_pages_pre;
	uint64_t guest_pages_stop;
	uint64_t bytes;		/* container bytes */
	double bandwidth;	/* bytes/s of the last iteration */
	double t_start, t_stop, t_running;	/* vmig_now_ms() stamps */
	double stop_copy_ms;	/* source side of the downtime */
	double total_ms;
};

struct vmig_hooks {
	/* Pause the guest before the stop; describe it in @meta. */
	void (*stop)(void *ctx, char *meta, size_t len);
	void (*progress)(void *ctx, const struct vmig_stats *st,
			 uint64_t pending);
	void *ctx;
};

/* Where a load failed, for the CLI's exit codes. */
enum vmig_fault {
	VMIG_FAULT_NONE,
	VMIG_FAULT_INPUT,	/* the container is bad or truncated */
	VMIG_FAULT_REFUSED,	/* the device refused the stream */
	VMIG_FAULT_DEVICE,	/* the device failed otherwise */
};

double vmig_now_ms(void);
/*
 * Save @d live into @out.  On failure the device is set FAILED then
 * RUNNING: it runs on with its state intact.
 */
int vmig_save(struct vmig_dev *d, struct vmig_io *out,
	      const struct vmig_policy *pol, struct vmig_stats *st,
	      const struct vmig_hooks *h);
/*
 * Load a saved device from @in into @d and let it run.  @meta receives the
 * META section, if any.  On failure the device is set CANCELLED (power-on
 * state) and *fault says what failed.
 */
int vmig_load(struct vmig_dev *d, struct vmig_io *in, struct vmig_stats *st,
	      char *meta, size_t metalen, enum vmig_fault *fault);

#endif
