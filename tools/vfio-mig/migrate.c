// SPDX-License-Identifier: GPL-2.0
/*
 * libvfio-mig: saving a device (live, with pre-copy) into the container,
 * and loading one from it.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUEST_BATCH	256	/* pages per guest section */

double vmig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Hand the device's chunks to the container until it has nothing due or
 * @limit bytes went (a running device may dirty memory as fast as it is
 * read: one pass takes what was pending when it started).
 */
static int drain_device(struct vmig_dev *d, struct vmig_io *out,
			uint64_t *bytes, uint64_t limit)
{
	const uint8_t *buf;
	uint64_t sent = 0;
	long n = 0;
	int err;

	while (sent < limit && (n = vmig_get_chunk(d, &buf)) > 0) {
		err = vmig_write_section(out, VMIG_SEC_DEVICE, buf, n);
		if (err)
			return err;
		*bytes += n;
		sent += n;
	}
	return n < 0 ? (int)n : 0;
}

/* Send the guest pages set in @bitmap (all if NULL), clearing them. */
static int send_guest(struct vmig_dev *d, struct vmig_io *out,
		      uint64_t *bitmap, uint64_t *pages)
{
	size_t npages = d->guest_size / VMIG_PAGE, p = 0;
	uint8_t *sec = malloc(8 + GUEST_BATCH * VMIG_PAGE);
	int err = 0;

	if (!sec)
		return -ENOMEM;
	while (!err && p < npages) {
		size_t run = 0;
		uint64_t first;
		unsigned int i;

		if (bitmap && !(bitmap[p / 64] >> (p % 64) & 1)) {
			p++;
			continue;
		}
		first = p;
		while (p < npages && run < GUEST_BATCH &&
		       (!bitmap || bitmap[p / 64] >> (p % 64) & 1)) {
			if (bitmap)
				bitmap[p / 64] &= ~(1ULL << (p % 64));
			p++;
			run++;
		}
		for (i = 0; i < 8; i++)
			sec[i] = first >> (8 * i);
		memcpy(sec + 8, d->guest + first * VMIG_PAGE, run * VMIG_PAGE);
		err = vmig_write_section(out, VMIG_SEC_GUEST, sec,
					 8 + run * VMIG_PAGE);
		*pages += run;
	}
	free(sec);
	return err;
}

static void progress(const struct vmig_hooks *h, const struct vmig_stats *st,
		     uint64_t pending)
{
	if (h && h->progress)
		h->progress(h->ctx, st, pending);
}

int vmig_save(struct vmig_dev *d, struct vmig_io *out,
	      const struct vmig_policy *pol, struct vmig_stats *st,
	      const struct vmig_hooks *h)
{
	struct vmig_file_info fi = { .guest_size = d->guest_size };
	size_t words = (d->guest_size / VMIG_PAGE + 63) / 64;
	uint64_t *bitmap = calloc(words ? words : 1, sizeof(uint64_t));
	uint64_t pend[3], prev_remaining = UINT64_MAX;
	unsigned int stalls = 0;
	char meta[1024] = "";
	double t_it, t_stop;
	int err;

	memset(st, 0, sizeof(*st));
	st->t_start = vmig_now_ms();
	if (!bitmap)
		return -ENOMEM;
	snprintf(fi.type, sizeof(fi.type), "%s", d->type);
	err = vmig_write_header(out, &fi);
	if (!err)
		err = vmig_set_threshold(d, pol->threshold);
	if (!err)
		err = vmig_set_state(d, VFIO_MIG_STATE_SETUP);
	if (!err)
		err = vmig_set_state(d, VFIO_MIG_STATE_PRECOPY);
	if (err)
		goto fail;
	/* Guest memory once in full; the device's dirty log does the rest. */
	err = send_guest(d, out, NULL, &st->guest_pages_pre);
	if (err)
		goto fail;

	for (;;) {
		uint64_t remaining, it_bytes = out->bytes;
		long dirty;

		t_it = vmig_now_ms();
		st->iterations++;
		err = vmig_pending(d, pend);
		if (!err)
			err = drain_device(d, out, &st->device_pre, pend[0]);
		if (err)
			goto fail;
		dirty = vmig_dirty_sync(d, bitmap);
		if (dirty < 0) {
			err = (int)dirty;
			goto fail;
		}
		err = send_guest(d, out, bitmap, &st->guest_pages_pre);
		if (!err)
			err = vmig_pending(d, pend);
		if (err)
			goto fail;
		it_bytes = out->bytes - it_bytes;
		if (vmig_now_ms() - t_it > 0.05)
			st->bandwidth = it_bytes / ((vmig_now_ms() - t_it) / 1e3);
		remaining = pend[0] + pend[2] + (uint64_t)dirty * VMIG_PAGE;
		progress(h, st, remaining);
		/* Stop when the rest fits the downtime, or it stops shrinking. */
		if (st->bandwidth > 0 &&
		    remaining / st->bandwidth * 1e3 <= pol->max_downtime_ms &&
		    pend[0] <= pol->threshold)
			break;
		if (remaining >= prev_remaining)
			stalls++;
		else
			stalls = 0;
		prev_remaining = remaining;
		if (stalls >= 3 || st->iterations >= pol->max_iterations) {
			st->forced = true;
			break;
		}
	}

	/* Stop the guest, then the device: downtime starts. */
	t_stop = vmig_now_ms();
	st->t_stop = t_stop;
	if (h && h->stop)
		h->stop(h->ctx, meta, sizeof(meta));
	err = vmig_set_state(d, VFIO_MIG_STATE_STOPNCOPY);
	if (!err)
		err = drain_device(d, out, &st->device_stop, UINT64_MAX);
	if (!err) {
		long dirty = vmig_dirty_sync(d, bitmap);

		err = dirty < 0 ? (int)dirty :
		      send_guest(d, out, bitmap, &st->guest_pages_stop);
	}
	if (!err)
		err = vmig_set_state(d, VFIO_MIG_STATE_SAVE_COMPLETED);
	if (!err && meta[0])
		err = vmig_write_section(out, VMIG_SEC_META, meta,
					 strlen(meta));
	if (!err)
		err = vmig_write_section(out, VMIG_SEC_END, "", 0);
	if (err)
		goto fail;
	st->stop_copy_ms = vmig_now_ms() - t_stop;
	st->total_ms = vmig_now_ms() - st->t_start;
	st->bytes = out->bytes;
	free(bitmap);
	return 0;
fail:
	/* The source runs on with its state intact. */
	{
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", vmig_error());
		vmig_set_state(d, VFIO_MIG_STATE_FAILED);
		vmig_set_state(d, VFIO_MIG_STATE_RUNNING);
		vmig_set_error(msg);
	}
	free(bitmap);
	return err;
}

int vmig_load(struct vmig_dev *d, struct vmig_io *in, struct vmig_stats *st,
	      char *meta, size_t metalen, enum vmig_fault *fault)
{
	struct vmig_file_info fi;
	const uint8_t *p;
	uint32_t type;
	size_t len;
	int err;

	memset(st, 0, sizeof(*st));
	st->t_start = vmig_now_ms();
	if (meta && metalen)
		meta[0] = 0;
	*fault = VMIG_FAULT_INPUT;
	err = vmig_read_header(in, &fi);
	if (err)
		return err;
	if (fi.guest_size > d->guest_size) {
		vmig_set_error("the saved guest memory is larger than the destination's");
		return -EINVAL;
	}
	*fault = VMIG_FAULT_DEVICE;
	err = vmig_set_state(d, VFIO_MIG_STATE_RESUME);
	if (err)
		return err;
	for (;;) {
		*fault = VMIG_FAULT_INPUT;
		err = vmig_read_section(in, &type, &p, &len);
		if (err)
			goto fail;
		if (type == VMIG_SEC_END)
			break;
		if (type == VMIG_SEC_DEVICE) {
			*fault = VMIG_FAULT_REFUSED;
			err = vmig_put(d, p, len);
			if (err)
				goto fail;
			st->device_pre += len;
		} else if (type == VMIG_SEC_GUEST) {
			uint64_t first = 0, n;
			int i;

			for (i = 7; i >= 0 && len >= 8; i--)
				first = first << 8 | p[i];
			n = len >= 8 ? (len - 8) / VMIG_PAGE : 0;
			if (len < 8 + VMIG_PAGE || (len - 8) % VMIG_PAGE ||
			    first >= fi.guest_size / VMIG_PAGE ||
			    n > fi.guest_size / VMIG_PAGE - first) {
				vmig_set_error("the saved device has a bad guest memory section");
				err = -EINVAL;
				goto fail;
			}
			memcpy(d->guest + first * VMIG_PAGE, p + 8,
			       n * VMIG_PAGE);
			st->guest_pages_pre += n;
		} else if (type == VMIG_SEC_META && meta) {
			size_t n = len < metalen - 1 ? len : metalen - 1;

			memcpy(meta, p, n);
			meta[n] = 0;
		}
	}
	*fault = VMIG_FAULT_REFUSED;
	err = vmig_set_state(d, VFIO_MIG_STATE_RESUME_COMPLETED);
	if (err) {
		vmig_set_error("the destination refused the device stream as incomplete");
		goto fail;
	}
	*fault = VMIG_FAULT_DEVICE;
	err = vmig_set_state(d, VFIO_MIG_STATE_RUNNING);
	if (err)
		goto fail;
	st->t_running = vmig_now_ms();
	st->total_ms = st->t_running - st->t_start;
	st->bytes = in->bytes;
	*fault = VMIG_FAULT_NONE;
	return 0;
fail:
	{
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", vmig_error());
		/* Nothing of the stream stays: power-on state. */
		vmig_set_state(d, VFIO_MIG_STATE_CANCELLED);
		vmig_set_error(msg);
	}
	return err;
}
