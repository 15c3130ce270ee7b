// SPDX-License-Identifier: GPL-2.0
/*
 * The device-memory BAR of mtty-mig: round trips at every width and at the
 * edges, independence of devices, reset.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <string.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

static uint64_t mem_size(struct vdev *v)
{
	struct vfio_region_info ri = {
		.argsz = sizeof(ri), .index = MTTYM_MEM_REGION,
	};

	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		t_bail("GET_REGION_INFO failed");
	return mttym_mem_size(ri.size);	/* BAR2 also holds the DMA registers */
}

static uint64_t pattern(uint64_t off, unsigned int width)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ width;

	return width == 8 ? x : x & ((1ull << (8 * width)) - 1);
}

/* Write and read back at the first, a middle and the last aligned slot. */
static void test_width(struct vdev *v, unsigned int width)
{
	uint64_t size = mem_size(v);
	uint64_t offs[] = { 0, size / 2 + width, size - width };
	bool good = true;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		uint64_t val = pattern(offs[i], width), got = 0;

		if (region_write(v, MTTYM_MEM_REGION, offs[i], &val, width) !=
		    (ssize_t)width ||
		    region_read(v, MTTYM_MEM_REGION, offs[i], &got, width) !=
		    (ssize_t)width || got != val) {
			t_diag("width %u at %#llx: wrote %#llx read %#llx",
			       width, (unsigned long long)offs[i],
			       (unsigned long long)val,
			       (unsigned long long)got);
			good = false;
		}
	}
	t_ok(good, "device memory round trip, %u-byte accesses at start, middle and end",
	     width);
}

/* Bytes written narrow read back wide, in little-endian order. */
static void test_mixed(struct vdev *v)
{
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint64_t q = 0;
	uint32_t d = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		region_write(v, MTTYM_MEM_REGION, 0x100 + i, &b[i], 1);
	region_read(v, MTTYM_MEM_REGION, 0x100, &q, 8);
	region_read(v, MTTYM_MEM_REGION, 0x104, &d, 4);
	t_ok(q == 0x0807060504030201ull && d == 0x08070605,
	     "byte writes and wide reads agree (%#llx)",
	     (unsigned long long)q);
}

/* A sweep over every page: each page keeps its own value. */
static void test_sweep(struct vdev *v)
{
	uint64_t size = mem_size(v), off, val;
	bool good = true;

	for (off = 0; off < size; off += 4096) {
		val = pattern(off, 8);
		region_write(v, MTTYM_MEM_REGION, off + 8, &val, 8);
	}
	for (off = 0; off < size && good; off += 4096) {
		val = 0;
		region_read(v, MTTYM_MEM_REGION, off + 8, &val, 8);
		good = val == pattern(off, 8);
	}
	t_ok(good, "every page of %llu bytes keeps its value",
	     (unsigned long long)size);
}

static void test_two_devices(struct vdev *a)
{
	uint64_t one = 0x1111111111111111ull, two = 0x2222222222222222ull;
	uint64_t ga = 0, gb = 0;
	struct vdev b;

	vdev_create_open(&b, MDEV_TYPE_16M);
	t_ok(mem_size(&b) == 16u << 20, "the 16M type has 16 MiB of memory");
	region_write(a, MTTYM_MEM_REGION, 0x2000, &one, 8);
	region_write(&b, MTTYM_MEM_REGION, 0x2000, &two, 8);
	region_read(a, MTTYM_MEM_REGION, 0x2000, &ga, 8);
	region_read(&b, MTTYM_MEM_REGION, 0x2000, &gb, 8);
	t_ok(ga == one && gb == two, "two devices have separate memory");
	vdev_destroy(&b);
}

static void test_reset(struct vdev *v)
{
	uint64_t val = 0xdeadbeefcafef00dull, got = 1;

	region_write(v, MTTYM_MEM_REGION, 0x3000, &val, 8);
	ioctl(v->fd, VFIO_DEVICE_RESET);
	region_read(v, MTTYM_MEM_REGION, 0x3000, &got, 8);
	t_ok(got == 0, "reset clears device memory");
}

static void test_reopen(struct vdev *v)
{
	uint64_t val = 0x0123456789abcdefull, got = 0;
	char uuid[40];
	int err;

	region_write(v, MTTYM_MEM_REGION, 0x10, &val, 8);
	memcpy(uuid, v->uuid, sizeof(uuid));
	vdev_close(v);
	err = vdev_open(v, uuid);
	if (err)
		t_bail("reopen failed");
	region_read(v, MTTYM_MEM_REGION, 0x10, &got, 8);
	t_ok(got == val, "device memory persists across close and open");
}

int main(void)
{
	struct vdev v;

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P);
	test_width(&v, 1);
	test_width(&v, 2);
	test_width(&v, 4);
	test_width(&v, 8);
	test_mixed(&v);
	test_sweep(&v);
	test_two_devices(&v);
	test_reset(&v);
	test_reopen(&v);
	vdev_destroy(&v);
	return t_done();
}
