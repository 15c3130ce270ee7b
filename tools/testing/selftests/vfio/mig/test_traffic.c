// SPDX-License-Identifier: GPL-2.0
/*
 * mtty-mig's host-side traffic source (the mdev's traffic/ directory):
 * bytes arriving at a UART, device-memory writes (a byte sequence, or the
 * pseudo-random fill), DMA engine runs into guest memory, the memory
 * digest, and the refusals of bad lines.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/serial_reg.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define MEM_SIZE	(1u << 20)
#define IOVA		(1ull << 32)

static char path[160];

static int put(struct vdev *v, const char *attr, const char *line)
{
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/%s",
		 v->uuid, attr);
	return sysfs_write(path, line);
}

static void test_rx(struct vdev *v)
{
	uint8_t got[3];
	unsigned int i;

	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO);
	t_ok(put(v, "rx", "0 3 254") == 0, "rx: three bytes arrive");
	for (i = 0; i < 3; i++)
		got[i] = uart_in(v, 0, UART_RX);
	t_ok(got[0] == 254 && got[1] == 255 && got[2] == 0,
	     "rx: the receiver holds 254, 255, 0 in order");
	put(v, "rx", "0 16 1");
	t_ok(put(v, "rx", "0 1 9") == 0 &&
	     (uart_in(v, 0, UART_LSR) & UART_LSR_OE),
	     "rx: a byte beyond the full FIFO sets LSR.OE");
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
}

/* A new device's memory is zero; the test knows what it wrote since. */
static uint8_t expect[MEM_SIZE];

static void test_mem(struct vdev *v)
{
	uint8_t mem[8];
	uint32_t crc;

	t_ok(put(v, "mem", "4094 4 200") == 0, "mem: a write across a page");
	region_read(v, MTTYM_MEM_REGION, 4094, mem, 2);	/* 2-aligned */
	region_read(v, MTTYM_MEM_REGION, 4096, mem + 2, 2);
	t_ok(mem[0] == 200 && mem[3] == 203, "mem: BAR2 shows the bytes");
	memcpy(expect + 4094, mem, 4);
	crc = vmig_crc32c(0, expect, MEM_SIZE);
	t_ok(mdev_digest(v->uuid) == crc, "digest is the CRC32C of device memory (%08x)",
	     crc);
}

static void test_fill(struct vdev *v)
{
	__u64 seed = 12345, want, got = 0;
	unsigned int i;
	uint8_t *p = expect + 8192;
	uint32_t crc;

	t_ok(put(v, "fill", "8192 12288 12345") == 0,
	     "fill: three pages of pseudo-random bytes");
	for (i = 0; i < 12288; i += 8) {
		want = mttym_fill_next(&seed);
		memcpy(p + i, &want, 8);	/* little-endian test hosts */
	}
	region_read(v, MTTYM_MEM_REGION, 8192 + 4088, &got, 8);
	memcpy(&want, p + 4088, 8);
	t_ok(got == want && want, "fill: BAR2 shows the stream's word 511 (%016llx)",
	     (unsigned long long)got);
	crc = vmig_crc32c(0, expect, MEM_SIZE);
	t_ok(mdev_digest(v->uuid) == crc,
	     "fill: the digest equals the CRC32C of the expected memory");
}

static void test_dma(struct vdev *v)
{
	uint8_t *guest = dma_map(v, IOVA, 4 * 4096);
	uint64_t count = 0, before;

	dma_reg_read(v, MTTYM_DMA_COUNT, &before, 8);
	put(v, "mem", "8192 100 50");
	t_ok(put(v, "dma", "8192 4294971392 100") == 0,
	     "dma: device memory copied to guest memory");
	t_ok(guest[4096] == 50 && guest[4096 + 99] == 149 && guest[4096 + 100] == 0,
	     "dma: guest memory holds exactly the 100 bytes");
	dma_reg_read(v, MTTYM_DMA_COUNT, &count, 8);
	t_ok(count == before + 1, "dma: the engine's count register advanced");
	t_ok(put(v, "dma", "0 8589934592 16") == -EIO,
	     "dma: an unmapped IOVA fails with EIO");
	t_ok(put(v, "dma", "0 18446744073709547520 8192") == -EIO,
	     "dma: a guest span that wraps past 2^64 fails with EIO");
}

static void test_bad(struct vdev *v)
{
	static const struct { const char *attr, *line, *why; } bad[] = {
		{ "rx", "1 1 1", "port 1 of a one-port device" },
		{ "rx", "0 0 1", "zero bytes" },
		{ "rx", "0 17 1", "more than a FIFO" },
		{ "rx", "0 1 256", "a first byte above 255" },
		{ "rx", "0 1 1 x", "trailing garbage" },
		{ "rx", "0 1", "a missing field" },
		{ "mem", "1048575 2 0", "a write past device memory" },
		{ "mem", "18446744073709551615 2 0", "an offset that wraps" },
		{ "mem", "0 0 0", "zero length" },
		{ "fill", "4 8 1", "an offset not a multiple of 8" },
		{ "fill", "0 12 1", "a length not a multiple of 8" },
		{ "fill", "1048568 16 1", "a fill past device memory" },
		{ "fill", "18446744073709551608 16 1", "an offset that wraps" },
		{ "fill", "0 0 1", "zero length" },
		{ "fill", "0 8 1 x", "trailing garbage" },
		{ "fill", "18446744073709551616 8 1", "an offset past 2^64 (not wrapped to 0)" },
		{ "mem", "0 18446744073709551617 1", "a length past 2^64" },
		{ "mem", "0 1 -1", "a negative byte" },
		{ "rx", "4294967296 1 1", "a port past 2^32 (not wrapped to 0)" },
		{ "dma", "0 4294967296 18446744073709551632", "a length past 2^64" },
		{ "dma", "0 4294967296 0", "a zero-length DMA" },
		{ "dma", "x", "not a number" },
	};
	uint8_t before[16], after[16];
	unsigned int i;

	region_read(v, MTTYM_MEM_REGION, MEM_SIZE - 16, before, 8);
	region_read(v, MTTYM_MEM_REGION, MEM_SIZE - 8, before + 8, 8);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_ok(put(v, bad[i].attr, bad[i].line) == -EINVAL,
		     "%s '%s' (%s): EINVAL", bad[i].attr, bad[i].line,
		     bad[i].why);
	region_read(v, MTTYM_MEM_REGION, MEM_SIZE - 16, after, 8);
	region_read(v, MTTYM_MEM_REGION, MEM_SIZE - 8, after + 8, 8);
	t_ok(!memcmp(before, after, 16) &&
	     !(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "refused lines changed nothing");
}

int main(void)
{
	struct vdev v;
	char uuid[40];

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P);
	test_rx(&v);
	test_mem(&v);
	test_fill(&v);
	test_dma(&v);
	test_bad(&v);
	snprintf(uuid, sizeof(uuid), "%s", v.uuid);
	vdev_close(&v);
	snprintf(v.uuid, sizeof(v.uuid), "%s", uuid);
	t_ok(put(&v, "dma", "0 4294967296 16") == -ENODEV,
	     "dma on a closed device: ENODEV");
	t_ok(put(&v, "mem", "0 16 1") == 0, "mem works on a closed device");
	mdev_remove(uuid);
	return t_done();
}
