// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the access layer (vfio_mig_access.c: decoding of file
 * positions, bounds, widths, the bounce copies, their commit and undo),
 * the device reset and close (vfio_mig_main.c), the vfio-mig region's
 * header actions and state machine (vfio_mig_region.c), the v1 region
 * (vfio_mig_v1.c), the session core behind them (vfio_mig_session.c), the
 * dirty logs (vfio_mig_log.c) and DMA logging's reports.
 *
 * Input: a configuration byte (one of the two small fake devices: the
 * mtty-sized ones only slow this target down), then operations of 8
 * bytes each, some
 * followed by payload:
 *   [0] what: read, write, reset, a device-memory write, a DMA write into
 *       guest memory, DMA logging start / report / stop
 *   [1] where: the vfio-mig header, its data section, the v1 header, its
 *       data section, BAR0, device memory, config space, or a raw file
 *       position (8 payload bytes)
 *   [2-3] offset, [4] length
 *   [5] faults: low nibble, the Nth user copy of this operation faults;
 *       high nibble, the Nth allocation fails
 *   [6-7] operation arguments (DMA page, report window)
 * Writes take their bytes from the input.
 *
 * Invariants after every operation: no lock is left held, the headers
 * never point outside the region, the states are valid and a session has
 * an owner; at the end every session is released and nothing leaks.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "fake_dev.h"

#include <stdint.h>

enum { OP_READ, OP_WRITE, OP_RESET, OP_MEM, OP_DMA, OP_LOG_START,
       OP_LOG_REPORT, OP_LOG_STOP, OP_COUNT };

struct input {
	const u8 *p;
	size_t left;
};

static bool take(struct input *in, void *out, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static u64 where(struct fake_dev *d, unsigned int sel, u16 off,
		 struct input *in)
{
	struct vfio_mig_core *core = d->mig.core;
	u64 pos = 0;

	switch (sel % 8) {
	case 0:
		return VFIO_MIG_REGION_OFFSET(core->mig_index) + off % 128;
	case 1:
		return VFIO_MIG_REGION_OFFSET(core->mig_index) +
		       VFIO_MIG_HDR_PAGE + off;
	case 2:
		return VFIO_MIG_REGION_OFFSET(core->v1_index) + off % 48;
	case 3:
		return VFIO_MIG_REGION_OFFSET(core->v1_index) +
		       VFIO_MIG_HDR_PAGE + off;
	case 4:
		return VFIO_MIG_REGION_OFFSET(0) + off % 16;
	case 5:
		return VFIO_MIG_REGION_OFFSET(2) + off;
	case 6:
		return VFIO_MIG_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) +
		       off % 300;
	}
	take(in, &pos, sizeof(pos));
	return pos;
}

/* The invariants that hold between any two operations. */
static void check(struct fake_dev *d)
{
	struct vfio_mig_core *core = d->mig.core;
	struct vfio_mig_info *info = &core->region.info;
	u64 size = vfio_mig_region_size(core);

	if (core->lock.held || core->access_lock.held ||
	    core->log_lock.held || core->track_lock.held)
		abort();
	if (core->region.state >= VFIO_MIG_NUM_STATES || core->v1.state > 4)
		abort();
	if (info->data.offset < VFIO_MIG_HDR_PAGE ||
	    info->data.offset > size ||
	    info->data.size > size - info->data.offset)
		abort();
	if (core->v1.data_size > core->cfg.data_size)
		abort();
	if ((core->save || core->resume || core->quiesced) &&
	    core->owner == VFIO_MIG_OWNER_NONE)
		abort();
	if (core->save && core->resume)
		abort();
	if (core->quiesced != d->quiesced)
		abort();
}

/* A reported pfn, into the window's bitmap, which checks its bounds. */
static void report_set(void *arg, u64 pfn)
{
	iova_bitmap_set(arg, pfn * PAGE_SIZE, PAGE_SIZE);
}

static void report(struct fake_dev *d, u8 a, u8 b)
{
	u64 bits[4] = { 0 };
	struct shim_iova_bitmap bm = {
		.iova = (u64)a * PAGE_SIZE,
		.length = (u64)(b % 255 + 1) * PAGE_SIZE,
		.bits = bits,
	};

	/* A window of up to 255 pages; 4 words hold 256 bits. */
	vfio_mig_dma_log_take(d->mig.core, a, a + b % 255 + 1, report_set,
			      &bm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fake_dev *d;
	u8 config, op[8];
	static u8 buf[65536 + 256];

	if (!take(&in, &config, 1))
		return 0;
	d = fake_dev_create(FAKE_SMALL + config % (FAKE_CONFIGS - FAKE_SMALL));
	while (take(&in, op, sizeof(op))) {
		u16 off = op[2] | op[3] << 8;
		size_t len = op[4];
		loff_t pos;

		shim_faults.user = op[5] & 15;
		shim_faults.alloc = op[5] >> 4;
		switch (op[0] % OP_COUNT) {
		case OP_READ:
		case OP_WRITE:
			pos = (loff_t)where(d, op[1], off, &in);
			if (op[0] % OP_COUNT == OP_WRITE &&
			    !take(&in, buf, len))
				len = 0;
			/* Longer accesses now and then: the data sections. */
			if (op[1] & 0x80)
				len *= 256;
			if (op[0] % OP_COUNT == OP_WRITE)
				vfio_mig_write(&d->mig.vdev, (char *)buf, len,
					       &pos);
			else
				vfio_mig_read(&d->mig.vdev, (char *)buf, len,
					      &pos);
			break;
		case OP_RESET:
			/* VFIO_DEVICE_RESET, or a close and open. */
			if (op[1] & 1) {
				vfio_mig_ioctl(&d->mig.vdev, VFIO_DEVICE_RESET,
					       0);
			} else {
				vfio_mig_close_device(&d->mig.vdev);
				vfio_mig_open_device(&d->mig.vdev);
			}
			break;
		case OP_MEM:
			vfio_mig_mem_dirty(&d->mig, (u64)off * 64, len);
			break;
		case OP_DMA:
			mutex_lock(&d->mig.core->lock);
			/* Under the state lock, as mtty-mig's DMA engine. */
			vfio_mig_log_dirty(&d->mig, (u64)op[6] * PAGE_SIZE + off,
					   len * op[7]);
			mutex_unlock(&d->mig.core->lock);
			break;
		case OP_LOG_START:
			vfio_mig_dma_log_start(d->mig.core);
			break;
		case OP_LOG_REPORT:
			report(d, op[6], op[7]);
			break;
		case OP_LOG_STOP:
			vfio_mig_dma_log_stop(d->mig.core);
			break;
		}
		shim_faults.user = 0;
		shim_faults.alloc = 0;
		check(d);
	}
	fake_dev_destroy(d);
	return 0;
}
