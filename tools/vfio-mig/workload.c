// SPDX-License-Identifier: GPL-2.0
/*
 * The mtty-mig workload.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "workload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "mtty-mig.h"

#define DMA_AREA	(1u << 20)	/* guest bytes the DMA engine fills */
#define IN_FLIGHT	12		/* bytes allowed in the 16-byte FIFO */

size_t workload_guest_size(uint64_t mem_size)
{
	/* [0, mem) device-memory copies, then the DMA fill area. */
	return mem_size + DMA_AREA;
}

static void set_error(struct workload *w, const char *msg)
{
	if (!w->error[0])
		snprintf(w->error, sizeof(w->error), "%s", msg);
}

static uint8_t uin(struct workload *w, unsigned int reg)
{
	uint8_t v = 0;

	if (vmig_region_read(w->d, MTTYM_UART0_REGION, reg, &v, 1))
		set_error(w, "UART read failed");
	return v;
}

static void uout(struct workload *w, unsigned int reg, uint8_t v)
{
	if (vmig_region_write(w->d, MTTYM_UART0_REGION, reg, &v, 1))
		set_error(w, "UART write failed");
}

static void dma(struct workload *w, uint32_t op, uint64_t src, uint64_t dst,
		uint64_t len)
{
	uint32_t status = 0;

	/* The registers follow the device memory in BAR2. */
	uint64_t r = mttym_dma_base(mttym_bar2_size(w->mem_size));

	if (vmig_region_write(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_SRC, &src, 8) ||
	    vmig_region_write(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_DST, &dst, 8) ||
	    vmig_region_write(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_LEN, &len, 8) ||
	    vmig_region_write(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_PATTERN, &w->ticks, 8) ||
	    vmig_region_write(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_CMD, &op, 4) ||
	    vmig_region_read(w->d, MTTYM_MEM_REGION, r + MTTYM_DMA_STATUS, &status, 4) ||
	    status != MTTYM_DMA_DONE)
		set_error(w, "DMA operation failed");
	w->dma_ops++;
}

/* Receive what arrived, checking the sequence. */
static void receive(struct workload *w)
{
	while (uin(w, UART_LSR) & UART_LSR_DR) {
		uint8_t b = uin(w, UART_RX);

		if (b != (uint8_t)w->rx) {
			char msg[128];

			snprintf(msg, sizeof(msg),
				 "UART byte %" PRIu64 " is %#x, expected %#x: lost or duplicated data",
				 w->rx, b, (uint8_t)w->rx);
			set_error(w, msg);
			return;
		}
		w->rx++;
	}
}

static void tick(struct workload *w)
{
	uint64_t pages = w->mem_size / VMIG_PAGE, guest_pages = DMA_AREA / VMIG_PAGE;
	unsigned int i;

	receive(w);
	for (i = 0; i < 4 && w->tx - w->rx < IN_FLIGHT; i++)
		uout(w, UART_TX, (uint8_t)w->tx++);
	for (i = 0; i < w->mem_rate; i++) {
		uint64_t val = w->ticks << 16 | i;
		uint64_t off = ((w->ticks * 7 + i * 37) % pages) * VMIG_PAGE +
			       (w->ticks % 512) * 8;

		if (vmig_region_write(w->d, MTTYM_MEM_REGION, off, &val, 8))
			set_error(w, "device memory write failed");
		w->mem_writes++;
	}
	if (w->ticks % 4 == 0)
		dma(w, MTTYM_DMA_OP_FILL, 0,
		    w->mem_size + (w->ticks / 4 % guest_pages) * VMIG_PAGE,
		    VMIG_PAGE);
	if (w->ticks % 8 == 4)
		dma(w, MTTYM_DMA_OP_TO_DEV,
		    w->mem_size + (w->ticks / 8 % guest_pages) * VMIG_PAGE,
		    (w->ticks % pages) * VMIG_PAGE, 512);
	w->ticks++;
}

static void *run(void *arg)
{
	struct workload *w = arg;
	struct timespec ts = { 0, 500000 };

	while (!atomic_load(&w->stop) && !w->error[0]) {
		tick(w);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int workload_start(struct workload *w, struct vmig_dev *d,
		   unsigned int mem_rate)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
	w->mem_rate = mem_rate;
	w->mem_size = mttym_mem_size(vmig_region_size(d, MTTYM_MEM_REGION));
	if (!w->mem_size || d->guest_size < workload_guest_size(w->mem_size)) {
		set_error(w, "the device or its guest memory is not fit for the workload");
		return -1;
	}
	uout(w, UART_IER, 0);
	uout(w, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	atomic_store(&w->stop, false);
	if (pthread_create(&w->thread, NULL, run, w)) {
		set_error(w, "cannot start the workload thread");
		return -1;
	}
	w->started = true;
	return w->error[0] ? -1 : 0;
}

static uint64_t hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Hash device memory: copy it into guest memory by DMA, hash that. */
static uint64_t devmem_hash(struct workload *w)
{
	dma(w, MTTYM_DMA_OP_FROM_DEV, 0, 0, w->mem_size);
	return hash(w->d->guest, w->mem_size);
}

void workload_pause(struct workload *w, char *meta, size_t len)
{
	uint64_t dh, gh;

	atomic_store(&w->stop, true);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	dh = devmem_hash(w);
	gh = hash(w->d->guest, w->d->guest_size);
	snprintf(meta, len,
		 "workload=mtty\ntx=%" PRIu64 "\nrx=%" PRIu64 "\nticks=%" PRIu64
		 "\ndevmem=%016" PRIx64 "\nguest=%016" PRIx64 "\nerror=%s\n",
		 w->tx, w->rx, w->ticks, dh, gh, w->error);
}

static int meta_u64(const char *meta, const char *key, uint64_t *val)
{
	const char *p = meta;
	size_t n = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == '=')
			return sscanf(p + n + 1, "%" SCNx64, val) == 1 ? 0 : -1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

int workload_verify(struct workload *w, struct vmig_dev *d, const char *meta,
		    unsigned int ms)
{
	uint64_t tx, rx, ticks, dh, gh;
	struct timespec ts = { 0, 500000 };
	unsigned int i;

	memset(w, 0, sizeof(*w));
	w->d = d;
	w->mem_size = mttym_mem_size(vmig_region_size(d, MTTYM_MEM_REGION));
	/* Sequence numbers are decimal, hashes hexadecimal. */
	if (!meta || sscanf(strstr(meta, "tx=") ? strstr(meta, "tx=") : "",
			    "tx=%" SCNu64, &tx) != 1 ||
	    sscanf(strstr(meta, "rx=") ? strstr(meta, "rx=") : "",
		   "rx=%" SCNu64, &rx) != 1 ||
	    sscanf(strstr(meta, "ticks=") ? strstr(meta, "ticks=") : "",
		   "ticks=%" SCNu64, &ticks) != 1 ||
	    meta_u64(meta, "devmem", &dh) || meta_u64(meta, "guest", &gh)) {
		set_error(w, "the saved device carries no workload record");
		return -1;
	}
	if (strstr(meta, "error=") && strstr(meta, "error=")[6] != '\n') {
		set_error(w, "the workload had failed on the source");
		return -1;
	}
	if (hash(d->guest, d->guest_size) != gh) {
		set_error(w, "guest memory differs from the source's at the stop point");
		return -1;
	}
	w->tx = tx;
	w->rx = rx;
	w->ticks = ticks;
	w->mem_rate = 4;
	if (devmem_hash(w) != dh) {
		set_error(w, "device memory differs from the source's at the stop point");
		return -1;
	}
	for (i = 0; i < ms * 2 && !w->error[0]; i++) {
		tick(w);
		nanosleep(&ts, NULL);
	}
	/* Drain: every byte sent must come back exactly once. */
	for (i = 0; i < 100 && w->rx != w->tx && !w->error[0]; i++)
		receive(w);
	if (!w->error[0] && w->rx != w->tx)
		set_error(w, "UART bytes were lost");
	return w->error[0] ? -1 : 0;
}
