/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A workload that drives an mtty-mig device the way a guest driver would:
 * UART traffic with sequence numbers through the loopback, device-memory
 * writes, and DMA between guest memory and device memory.  It runs in a
 * thread (a "vCPU"), pauses for the stop-and-copy, and continues on the
 * destination, checking that nothing was lost or duplicated.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef VMIG_WORKLOAD_H
#define VMIG_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "libvfio-mig.h"

struct workload {
	struct vmig_dev *d;
	pthread_t thread;
	atomic_bool stop;
	bool started;
	uint64_t tx, rx;	/* next byte sequence numbers */
	uint64_t ticks;
	uint64_t mem_writes, dma_ops;
	uint64_t mem_size;
	unsigned int mem_rate;	/* device-memory writes per tick */
	char error[256];	/* first error seen, if any */
};

/* Guest memory a workload needs for a device with @mem_size bytes. */
size_t workload_guest_size(uint64_t mem_size);

/* Set the device up (FIFO on, interrupts off) and start the thread. */
int workload_start(struct workload *w, struct vmig_dev *d,
		   unsigned int mem_rate);
/*
 * Stop the thread, then record the stop point in @meta: sequence numbers
 * and hashes of device memory and guest memory.
 */
void workload_pause(struct workload *w, char *meta, size_t len);
/*
 * On the destination, after the load: check the hashes in @meta, then run
 * the workload for @ms milliseconds more, checking the byte sequence.
 * Returns 0, or -1 with w->error set.
 */
int workload_verify(struct workload *w, struct vmig_dev *d, const char *meta,
		    unsigned int ms);

#endif
