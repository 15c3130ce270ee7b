// SPDX-License-Identifier: GPL-2.0
/*
 * Saving and restoring mtty-mig devices through the migration region:
 * round trips in many chunkings, pre-copy convergence, the dirty-pfn log,
 * attacks on the stream, and a source that must stay intact whenever a
 * save is abandoned.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define PAGE		4096u
#define MEM_IOVA	0x10000000ull	/* guest buffer for memory compares */
#define MAX_MEM		(16u << 20)

struct dev {
	struct vdev v;
	struct mig m;
	uint64_t mem_size;
	unsigned int ports;
	uint8_t *guest;		/* MAX_MEM bytes at MEM_IOVA */
};

/* Device-visible state that can be read without changing it. */
struct snap {
	uint8_t cfg[256];
	uint8_t uart[2][8];	/* IER, IIR, LCR, MCR, SCR, DLL, DLM */
	uint64_t dma[5];	/* SRC, DST, LEN, PATTERN, COUNT */
	uint32_t dma_status;
	uint8_t *mem;
};

static const size_t whole[] = { 0 };

static void must(int err, const char *what)
{
	if (err)
		t_bail("%s: %s", what, strerror(-err));
}

static uint64_t reg_region_size(struct vdev *v, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		t_bail("GET_REGION_INFO failed");
	return ri.size;
}

static void dev_open(struct dev *d, const char *type)
{
	vdev_create_open(&d->v, type);
	mig_find(&d->v, &d->m);
	d->mem_size = mttym_mem_size(reg_region_size(&d->v, MTTYM_MEM_REGION));
	d->ports = reg_region_size(&d->v, 1) ? 2 : 1;
	d->guest = dma_map(&d->v, MEM_IOVA, MAX_MEM);
}

static void dev_close(struct dev *d)
{
	mig_unmap(&d->m);
	vdev_destroy(&d->v);
}

static void dma_reg(struct vdev *v, unsigned int reg, uint64_t val)
{
	if (dma_reg_write(v, reg, &val, 8) != 8)
		t_bail("DMA register write failed");
}

static uint64_t dma_get(struct vdev *v, unsigned int reg)
{
	uint64_t val = 0;

	if (dma_reg_read(v, reg, &val, 8) != 8)
		t_bail("DMA register read failed");
	return val;
}

static void mem_write64(struct vdev *v, uint64_t off, uint64_t val)
{
	if (region_write(v, MTTYM_MEM_REGION, off, &val, 8) != 8)
		t_bail("memory write failed");
}

static void snapshot(struct dev *d, struct snap *s)
{
	static const unsigned int regs[] = {
		UART_IER, UART_IIR, UART_LCR, UART_MCR, UART_SCR,
	};
	unsigned int p, i;
	uint8_t lcr;

	memset(s->cfg, 0, sizeof(s->cfg));
	region_read(&d->v, VFIO_PCI_CONFIG_REGION_INDEX, 0, s->cfg, 256);
	memset(s->uart, 0, sizeof(s->uart));
	for (p = 0; p < d->ports; p++) {
		for (i = 0; i < 5; i++)
			s->uart[p][i] = uart_in(&d->v, p, regs[i]);
		lcr = s->uart[p][2];
		uart_out(&d->v, p, UART_LCR, lcr | UART_LCR_DLAB);
		s->uart[p][5] = uart_in(&d->v, p, UART_DLL);
		s->uart[p][6] = uart_in(&d->v, p, UART_DLM);
		uart_out(&d->v, p, UART_LCR, lcr);
	}
	s->dma[0] = dma_get(&d->v, MTTYM_DMA_SRC);
	s->dma[1] = dma_get(&d->v, MTTYM_DMA_DST);
	s->dma[2] = dma_get(&d->v, MTTYM_DMA_LEN);
	s->dma[3] = dma_get(&d->v, MTTYM_DMA_PATTERN);
	s->dma[4] = dma_get(&d->v, MTTYM_DMA_COUNT);
	dma_reg_read(&d->v, MTTYM_DMA_STATUS, &s->dma_status, 4);
	/* The whole device memory, through the device's own DMA engine. */
	s->mem = malloc(d->mem_size);
	if (!s->mem)
		t_bail("out of memory");
	if (dma_run(&d->v, MTTYM_DMA_OP_FROM_DEV, 0, MEM_IOVA, d->mem_size) !=
	    MTTYM_DMA_DONE)
		t_bail("DMA of device memory failed");
	memcpy(s->mem, d->guest, d->mem_size);
}

/* A snapshot's own DMA moves SRC, DST, LEN and COUNT: take them anew. */
static void snap_dma_after(struct dev *d, struct snap *s)
{
	s->dma[0] = dma_get(&d->v, MTTYM_DMA_SRC);
	s->dma[1] = dma_get(&d->v, MTTYM_DMA_DST);
	s->dma[2] = dma_get(&d->v, MTTYM_DMA_LEN);
	s->dma[4] = dma_get(&d->v, MTTYM_DMA_COUNT);
}

static bool snap_equal(const struct snap *a, const struct snap *b,
		       uint64_t mem_size)
{
	bool eq = true;

	if (memcmp(a->cfg, b->cfg, sizeof(a->cfg))) {
		t_diag("config space differs");
		eq = false;
	}
	if (memcmp(a->uart, b->uart, sizeof(a->uart))) {
		t_diag("UART registers differ");
		eq = false;
	}
	if (memcmp(a->dma, b->dma, sizeof(a->dma)) ||
	    a->dma_status != b->dma_status) {
		t_diag("DMA engine registers differ");
		eq = false;
	}
	if (memcmp(a->mem, b->mem, mem_size)) {
		t_diag("device memory differs");
		eq = false;
	}
	return eq;
}

/* Read what reading changes: LSR, MSR and the receive FIFO, per port. */
static void drain(struct dev *d, uint8_t *out, size_t *n)
{
	unsigned int p;

	*n = 0;
	for (p = 0; p < d->ports; p++) {
		uint8_t lsr = uart_in(&d->v, p, UART_LSR);

		out[(*n)++] = lsr;
		out[(*n)++] = uart_in(&d->v, p, UART_MSR);
		while (lsr & UART_LSR_DR) {
			out[(*n)++] = uart_in(&d->v, p, UART_RX);
			lsr = uart_in(&d->v, p, UART_LSR);
		}
	}
}

/* Give a device state worth migrating: every kind of register and data. */
static void make_state(struct dev *d, unsigned int seed)
{
	unsigned int p, i;
	uint64_t off;

	cfg_write(&d->v, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		  PCI_COMMAND_MASTER, 2);
	cfg_write(&d->v, PCI_BASE_ADDRESS_0, 0xc000 + 0x10 * seed, 4);
	cfg_write(&d->v, PCI_BASE_ADDRESS_2, 0xfe000000, 4);
	cfg_write(&d->v, PCI_INTERRUPT_LINE, 11, 1);
	cfg_write(&d->v, 0x40 + PCI_MSI_ADDRESS_LO, 0xfee01000, 4);
	cfg_write(&d->v, 0x40 + PCI_MSI_DATA_64, 0x4021 + seed, 2);
	cfg_write(&d->v, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);

	for (p = 0; p < d->ports; p++) {
		uart_out(&d->v, p, UART_FCR, UART_FCR_ENABLE_FIFO |
			 UART_FCR_R_TRIG_01);
		uart_out(&d->v, p, UART_LCR, UART_LCR_DLAB);
		uart_out(&d->v, p, UART_DLL, 0x0c + seed);
		uart_out(&d->v, p, UART_DLM, 0x01);
		uart_out(&d->v, p, UART_LCR, UART_LCR_WLEN8 | UART_LCR_PARITY);
		uart_out(&d->v, p, UART_IER, UART_IER_RDI | UART_IER_RLSI |
			 UART_IER_MSI);
		uart_out(&d->v, p, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS |
			 UART_MCR_OUT2);
		uart_out(&d->v, p, UART_SCR, 0x5a + p + seed);
		/* Make the ring wrap: 5 in, 2 out, then more. */
		for (i = 0; i < 5; i++)
			uart_out(&d->v, p, UART_TX, 'a' + i + seed);
		uart_in(&d->v, p, UART_RX);
		uart_in(&d->v, p, UART_RX);
		for (i = 0; i < (p ? 14 : 6); i++)
			uart_out(&d->v, p, UART_TX, 'A' + i);
	}

	/* Device memory: BAR writes on scattered pages, DMA from the guest. */
	for (off = 0; off < d->mem_size; off += 7 * PAGE + 8)
		mem_write64(&d->v, off & ~7ull, off * 0x9e3779b97f4a7c15ull ^ seed);
	for (i = 0; i < 65536; i++)
		d->guest[i] = (uint8_t)(i * 7 + seed);
	if (dma_run(&d->v, MTTYM_DMA_OP_TO_DEV, MEM_IOVA, d->mem_size / 2,
		   65536) != MTTYM_DMA_DONE)
		t_bail("DMA into device memory failed");
	dma_reg(&d->v, MTTYM_DMA_PATTERN, 0x0123456789abcdefull + seed);
}

/* Feed @s: 1-byte chunks for the first and last bytes, @mid between. */
static int feed_mixed(struct dev *d, const struct stream *s,
		      const size_t *mid)
{
	static const size_t one[] = { 1, 0 };
	size_t head = s->len < 12000 ? s->len : 12000;
	size_t tail = s->len - head < 1500 ? s->len - head : 1500;
	int err;

	err = mig_feed(&d->v, &d->m, s->buf, head, one);
	if (!err)
		err = mig_feed(&d->v, &d->m, s->buf + head,
			       s->len - head - tail, mid);
	if (!err)
		err = mig_feed(&d->v, &d->m, s->buf + s->len - tail, tail,
			       one);
	return err;
}

static void roundtrip(const char *src_type, const char *dst_type,
		      bool map_src, bool map_dst, const size_t *mid,
		      const char *how)
{
	uint8_t fs[128], fd[128];
	struct stream st = { 0 };
	struct snap a, b;
	struct dev s, d;
	size_t ns, nd;
	int err;

	dev_open(&s, src_type);
	dev_open(&d, dst_type);
	if (map_src)
		must(mig_map(&s.v, &s.m), "map source");
	if (map_dst)
		must(mig_map(&d.v, &d.m), "map destination");
	make_state(&s, 3);
	snapshot(&s, &a);
	snap_dma_after(&s, &a);
	must(mig_save(&s.v, &s.m, &st), "save");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_RUNNING), "source RUNNING");

	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_RESUME), "RESUME");
	err = feed_mixed(&d, &st, mid);
	if (!err)
		err = mig_set_state(&d.v, &d.m,
				    VFIO_MIG_STATE_RESUME_COMPLETED);
	if (!err)
		err = mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_RUNNING);
	if (!t_ok(!err, "%s: the destination accepts the stream (%zu bytes)",
		  how, st.len)) {
		t_diag("error %s", strerror(-err));
	} else {
		snapshot(&d, &b);
		t_ok(snap_equal(&a, &b, s.mem_size),
		     "%s: config, registers, DMA engine and memory identical",
		     how);
		free(b.mem);
		drain(&s, fs, &ns);
		drain(&d, fd, &nd);
		t_ok(ns == nd && !memcmp(fs, fd, ns),
		     "%s: LSR, MSR and FIFO bytes identical (%zu bytes)", how,
		     ns);
	}
	free(a.mem);
	stream_free(&st);
	dev_close(&s);
	dev_close(&d);
}

static void test_roundtrips(void)
{
	static const size_t odd[] = { 4099, 0 };
	static const size_t mix[] = { 12345, 777, 65537, 3, 0 };

	roundtrip(MDEV_TYPE_1P, MDEV_TYPE_1P, false, false, whole,
		  "trapped, whole sections");
	roundtrip(MDEV_TYPE_1P, MDEV_TYPE_1P, false, false, odd,
		  "trapped, 1-byte and 4099-byte chunks");
	roundtrip(MDEV_TYPE_1P_MMAP, MDEV_TYPE_1P_MMAP, true, true, mix,
		  "mmapped, 1-byte and mixed odd chunks");
	roundtrip(MDEV_TYPE_1P_MMAP, MDEV_TYPE_1P_MMAP, true, true, whole,
		  "mmapped, whole sections");
	roundtrip(MDEV_TYPE_1P, MDEV_TYPE_1P_MMAP, false, true, odd,
		  "trapped source, mmapped destination");
	roundtrip(MDEV_TYPE_2P_MMAP, MDEV_TYPE_2P, true, false, mix,
		  "two ports, mmapped source, trapped destination");
	roundtrip(MDEV_TYPE_16M, MDEV_TYPE_16M_MMAP, false, true, whole,
		  "16 MiB of device memory");
}

static void test_precopy(void)
{
	struct stream st = { 0 };
	struct snap a, b;
	struct dev s, d;
	uint64_t pend;
	unsigned int it, i;
	bool exact = true;

	dev_open(&s, MDEV_TYPE_1P);
	dev_open(&d, MDEV_TYPE_1P);
	make_state(&s, 5);
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_SETUP), "SETUP");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_PRECOPY), "PRECOPY");
	while (mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY))
		if (mig_get_chunk(&s.v, &s.m, &st) <= 0)
			t_bail("pre-copy stalled");

	/* The guest keeps writing: fewer pages each round. */
	for (it = 0; it < 5; it++) {
		unsigned int pages = 5 - it;

		for (i = 0; i < pages; i++)
			mem_write64(&s.v, (uint64_t)(17 * it + 3 * i) * PAGE + 8 * it,
				    0xabc0000 + it * 16 + i);
		if (it % 2)
			dma_run(&s.v, MTTYM_DMA_OP_TO_DEV, MEM_IOVA,
			       200 * PAGE + it * PAGE, 100);
		pend = mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY);
		if (pend != (pages + it % 2) * (uint64_t)PAGE_REC) {
			t_diag("round %u: precopy_only %llu", it,
			       (unsigned long long)pend);
			exact = false;
		}
		while (mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY))
			if (mig_get_chunk(&s.v, &s.m, &st) <= 0)
				t_bail("pre-copy stalled");
	}
	t_ok(exact, "pre-copy resends exactly the pages written since the last pass");
	t_ok(mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY) == 0,
	     "pre-copy converges once the writes stop");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_STOPNCOPY), "STOP");
	while (mig_get_chunk(&s.v, &s.m, &st) > 0)
		;
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_SAVE_COMPLETED), "DONE");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_RUNNING), "RUNNING");
	snapshot(&s, &a);
	t_ok(mig_restore(&d.v, &d.m, st.buf, st.len, whole) == 0,
	     "a stream with pages sent several times restores");
	snapshot(&d, &b);
	t_ok(!memcmp(a.mem, b.mem, s.mem_size),
	     "the destination's memory is the source's at the stop point");
	free(a.mem);
	free(b.mem);
	stream_free(&st);
	dev_close(&s);
	dev_close(&d);
}

/* Run a dirty_pfns query of @total pfns at @start; returns set pfns. */
static size_t query(struct dev *d, uint64_t start, uint64_t total,
		    uint64_t *out, size_t max, size_t *chunks, int *err)
{
	uint64_t q[3] = { start, total, 0 }, copied, done = 0, w, b;
	uint64_t *bits = malloc(d->m.data_size);
	size_t n = 0;

	*chunks = 0;
	*err = mig_hdr_write(&d->v, &d->m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24);
	while (!*err) {
		*err = mig_hdr_read(&d->v, &d->m, VFIO_MIG_OFF_DIRTY_COPIED,
				    &copied, 8);
		if (*err || !copied)
			break;
		(*chunks)++;
		region_read(&d->v, d->m.index, d->m.data_off, bits,
			    (copied + 63) / 64 * 8);
		for (w = 0; w < (copied + 63) / 64; w++)
			for (b = 0; bits[w] && b < 64; b++)
				if (bits[w] >> b & 1 && n < max)
					out[n++] = start / PAGE + done + w * 64 + b;
		done += copied;
	}
	free(bits);
	return n;
}

static bool same_set(const uint64_t *got, size_t n, const uint64_t *want,
		     size_t m)
{
	size_t i;

	if (n != m)
		return false;
	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

static void test_dirty(void)
{
	const uint64_t g = 0x40000000ull, gp = g / PAGE;
	const uint64_t far[3] = { 5ull << 30, 40ull << 30, 90ull << 30 };
	uint64_t got[64], want[8], q[3];
	size_t n, chunks, i;
	uint8_t *guest;
	struct dev d;
	int err;

	dev_open(&d, MDEV_TYPE_1P);
	guest = dma_map(&d.v, g, 64 * PAGE);
	dma_map_ro(&d.v, g + 64 * PAGE, PAGE);
	for (i = 0; i < 3; i++)
		dma_map(&d.v, far[i], 4 * PAGE);

	/* Writes before tracking starts are not reported. */
	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 5 * PAGE, 100);
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_SETUP), "SETUP");
	n = query(&d, g, 64, got, 64, &chunks, &err);
	t_ok(!err && n == 0, "nothing is dirty when tracking starts");

	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 3 * PAGE, PAGE);
	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 10 * PAGE + 100, 3 * PAGE);
	dma_run(&d.v, MTTYM_DMA_OP_FROM_DEV, 0, g + 40 * PAGE + 4095, 1);
	dma_run(&d.v, MTTYM_DMA_OP_TO_DEV, g + 50 * PAGE, 0, PAGE);
	n = query(&d, g, 64, got, 64, &chunks, &err);
	want[0] = gp + 3;
	want[1] = gp + 10;
	want[2] = gp + 11;
	want[3] = gp + 12;
	want[4] = gp + 13;
	want[5] = gp + 40;
	t_ok(!err && same_set(got, n, want, 6),
	     "exactly the pages the DMA engine wrote are dirty (%zu)", n);
	n = query(&d, g, 64, got, 64, &chunks, &err);
	t_ok(!err && n == 0, "a query clears what it reported");

	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 20 * PAGE, 8);
	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 30 * PAGE, 8);
	n = query(&d, g + 16 * PAGE, 8, got, 64, &chunks, &err);
	t_ok(!err && n == 1 && got[0] == gp + 20,
	     "a query of a sub-range reports only inside it");
	n = query(&d, g, 64, got, 64, &chunks, &err);
	t_ok(!err && n == 1 && got[0] == gp + 30,
	     "pages outside a query stay dirty until queried");

	/* Page 64 is mapped read-only: the DMA writes page 63, then fails. */
	dma_reg(&d.v, MTTYM_DMA_PATTERN, 0xef);
	t_ok(dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 64 * PAGE - 100, 200) ==
	     MTTYM_DMA_ERROR && guest[64 * PAGE - 100] == 0xef,
	     "a fill into a read-only mapping fails after writing page 63");
	n = query(&d, g, 65, got, 64, &chunks, &err);
	want[0] = gp + 63;
	want[1] = gp + 64;
	t_ok(!err && same_set(got, n, want, 2),
	     "the failed DMA's whole span is dirty, the written page too (%zu)",
	     n);

	for (i = 0; i < 3; i++)
		dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, far[i] + PAGE * i, 1);
	n = query(&d, 0, (100ull << 30) / PAGE, got, 64, &chunks, &err);
	for (i = 0; i < 3; i++)
		want[i] = far[i] / PAGE + i;
	t_ok(!err && chunks >= 3 && same_set(got, n, want, 3),
	     "a 100 GiB query spans %zu chunks and finds the 3 far pages",
	     chunks);

	q[0] = g + 1;
	q[1] = 1;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ==
	     -EINVAL, "an unaligned start_addr is refused");
	q[0] = g;
	q[1] = 0;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ==
	     -EINVAL, "total 0 is refused");
	q[0] = ~0ull - PAGE + 1;
	q[1] = 2;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ==
	     -EINVAL, "a range past 2^64 is refused");
	q[1] = 1;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) == 0,
	     "the last page of the address space can be queried");
	q[1] = ~0ull;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_TOTAL, &q[1], 8) ==
	     -EINVAL, "total alone is checked against the start too");
	q[0] = g;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_START_ADDR, q, 8) ==
	     0 && mig_hdr_read(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_COPIED, q, 8) ==
	     -EINVAL, "a new start_addr needs a total before reading");

	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_CANCELLED), "CANCEL");
	q[0] = g;
	q[1] = 64;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ==
	     -EINVAL, "no queries outside the save states");
	dma_run(&d.v, MTTYM_DMA_OP_FILL, 0, g + 7 * PAGE, 8);
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_SETUP), "SETUP");
	n = query(&d, g, 64, got, 64, &chunks, &err);
	t_ok(!err && n == 0, "a new session starts with an empty log");
	dev_close(&d);
}

/*
 * A header read whose result cannot be copied out (the user buffer cannot
 * be written) fails with EFAULT and changes nothing: pending data stays, the
 * next Get buffer hands out the same chunk, the stream restores, and a
 * dirty-pfn query reports the pages again.
 */
static int efault_read(struct dev *d, unsigned int off, size_t len)
{
	ssize_t n = pread(d->v.fd, fault_buffer(), len,
			  (off_t)region_pos(&d->v, d->m.index, off));

	return n < 0 ? -errno : (int)n;
}

static void test_efault(void)
{
	const uint64_t g = 0x40000000ull;
	uint64_t pre, q[3] = { g, 16, 0 }, got[4];
	static uint8_t sect[2][4096];
	struct stream st = { 0 };
	size_t n, chunks;
	struct snap a, b;
	struct dev s, d;
	long c = 1;
	int err;

	dev_open(&s, MDEV_TYPE_1P);
	dev_open(&d, MDEV_TYPE_1P);
	make_state(&s, 5);
	snapshot(&s, &a);
	snap_dma_after(&s, &a);
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_SETUP), "SETUP");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_PRECOPY), "PRECOPY");
	pre = mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY);
	t_ok(efault_read(&s, VFIO_MIG_OFF_DATA, 16) == -EFAULT &&
	     efault_read(&s, VFIO_MIG_OFF_DATA_SIZE, 8) == -EFAULT,
	     "Get buffer into an unmapped user buffer fails with EFAULT");
	t_ok(mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY) == pre,
	     "the failed Get buffers consumed nothing (%llu bytes pending)",
	     (unsigned long long)pre);
	/* A failed Get buffer after a good one: the section keeps that chunk. */
	c = mig_get_chunk(&s.v, &s.m, &st);
	if (c <= 0 || c > (long)sizeof(sect[0]))
		c = sizeof(sect[0]);
	region_read(&s.v, s.m.index, s.m.data_off, sect[0], (size_t)c);
	err = efault_read(&s, VFIO_MIG_OFF_DATA_SIZE, 8);
	region_read(&s.v, s.m.index, s.m.data_off, sect[1], (size_t)c);
	t_ok(err == -EFAULT && !memcmp(sect[0], sect[1], (size_t)c),
	     "a failed Get buffer leaves the data section as the last one did");
	/* Each Get buffer is tried into a bad buffer first. */
	while (c > 0 && mig_read64(&s.v, &s.m, VFIO_MIG_OFF_PRECOPY_ONLY))
		c = efault_read(&s, VFIO_MIG_OFF_DATA_SIZE, 8) == -EFAULT ?
		    mig_get_chunk(&s.v, &s.m, &st) : -1;
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_STOPNCOPY), "STOPNCOPY");
	while (c > 0)
		c = efault_read(&s, VFIO_MIG_OFF_DATA, 16) == -EFAULT ?
		    mig_get_chunk(&s.v, &s.m, &st) : -1;
	t_ok(c == 0 && !mig_read64(&s.v, &s.m, VFIO_MIG_OFF_POSTCOPY_ONLY),
	     "a save with a failed Get buffer before every chunk completes");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_SAVE_COMPLETED), "done");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_RUNNING), "RUNNING");
	err = mig_restore(&d.v, &d.m, st.buf, st.len, whole);
	t_ok(!err, "that stream restores (%zu bytes)", st.len);
	snapshot(&d, &b);
	t_ok(!err && snap_equal(&a, &b, s.mem_size),
	     "the destination equals the source");
	free(a.mem);
	free(b.mem);
	stream_free(&st);

	/* A dirty-pfn chunk that cannot be copied out is reported again. */
	dma_map(&s.v, g, 16 * PAGE);
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_SETUP), "SETUP");
	dma_run(&s.v, MTTYM_DMA_OP_FILL, 0, g + 9 * PAGE, 8);
	must(mig_hdr_write(&s.v, &s.m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24),
	     "set up a query");
	region_read(&s.v, s.m.index, s.m.data_off, sect[0], sizeof(sect[0]));
	t_ok(efault_read(&s, VFIO_MIG_OFF_DIRTY_COPIED, 8) == -EFAULT &&
	     efault_read(&s, VFIO_MIG_OFF_DIRTY_PFNS, 24) == -EFAULT,
	     "a query chunk into an unmapped user buffer fails with EFAULT");
	region_read(&s.v, s.m.index, s.m.data_off, sect[1], sizeof(sect[1]));
	t_ok(!memcmp(sect[0], sect[1], sizeof(sect[0])),
	     "and leaves the data section as it was");
	n = query(&s, g, 16, got, 4, &chunks, &err);
	t_ok(!err && n == 1 && got[0] == g / PAGE + 9,
	     "the page it would have reported is still dirty");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_CANCELLED), "CANCEL");
	dev_close(&s);
	dev_close(&d);
}

/* ---------------------------------------------------------------------- */
/* Attacks on the destination */

static struct stream ref;	/* a valid stream from a 1-port source */
static size_t rec_off[1024];
static size_t nrec;

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * Offer @len bytes to a destination; they must be refused (at a Set
 * buffer or at RESUME_COMPLETED) and, once the session is cancelled, the
 * destination must hold none of them.
 */
static bool refused(struct dev *d, const uint8_t *p, size_t len,
		    const size_t *sizes)
{
	uint64_t first = 1;
	uint8_t scr;
	int err;

	must(mig_set_state(&d->v, &d->m, VFIO_MIG_STATE_RESUME), "RESUME");
	err = mig_feed(&d->v, &d->m, p, len, sizes);
	if (!err)
		err = mig_set_state(&d->v, &d->m,
				    VFIO_MIG_STATE_RESUME_COMPLETED);
	if (err != -EINVAL || mig_state(&d->v, &d->m) != VFIO_MIG_STATE_RESUME)
		return false;
	must(mig_set_state(&d->v, &d->m, VFIO_MIG_STATE_CANCELLED), "CANCEL");
	scr = uart_in(&d->v, 0, UART_SCR);
	region_read(&d->v, MTTYM_MEM_REGION, 0, &first, 8);
	return scr == 0 && first == 0 &&
	       cfg_read(&d->v, PCI_BASE_ADDRESS_0, 4) == 1;
}

/* A copy of the reference stream with one record's field changed. */
static bool refused_edit(struct dev *d, size_t rec, size_t at, uint32_t val,
			 size_t width, bool reseal)
{
	uint8_t *p = malloc(ref.len);
	size_t i;
	bool ok;

	memcpy(p, ref.buf, ref.len);
	for (i = 0; i < width; i++)
		p[rec_off[rec] + at + i] = val >> (8 * i);
	if (reseal)
		record_reseal(p + rec_off[rec]);
	ok = refused(d, p, ref.len, whole);
	free(p);
	return ok;
}

static size_t find_rec(uint32_t type)
{
	size_t i;

	for (i = 0; i < nrec; i++)
		if (get32(ref.buf + rec_off[i]) == type)
			return i;
	t_bail("no record of type %#x", type);
}

static void test_attacks(void)
{
	const size_t cfg_rec = find_rec(MTTYM_REC_CONFIG);
	const size_t uart_rec = find_rec(MTTYM_REC_UART0);
	const size_t irq_rec = find_rec(MTTYM_REC_IRQ);
	const size_t dma_rec = find_rec(MTTYM_REC_DMA);
	size_t i, bad = 0, cuts = 0;
	struct stream other = { 0 };
	uint64_t data[2];
	struct dev d, o;
	uint8_t *p;

	dev_open(&d, MDEV_TYPE_1P);
	t_ok(nrec == 1 + 256 + 4 + 1,
	     "the reference stream has a header, 256 pages, 4 state records and END (%zu)",
	     nrec);

	for (i = 0; i < nrec; i++) {
		if (!refused(&d, ref.buf, rec_off[i], whole))
			bad++;
		cuts++;
	}
	t_ok(!bad, "truncated at each of %zu record boundaries: refused",
	     cuts);
	bad = 0;
	for (i = 0; i < 4; i++) {
		size_t r = i == 0 ? 0 : i == 1 ? 1 : i == 2 ? cfg_rec : nrec - 1;

		if (!refused(&d, ref.buf, rec_off[r] + 1, whole) ||
		    !refused(&d, ref.buf, rec_off[r] + 15, whole) ||
		    !refused(&d, ref.buf, rec_off[r] + 17, whole))
			bad++;
	}
	t_ok(!bad, "truncated inside record headers and payloads: refused");

	t_ok(refused_edit(&d, 0, 0, VFIO_MIG_REC_END, 4, false),
	     "header record: type changed");
	t_ok(refused_edit(&d, 0, 4, get32(ref.buf + 4) + 1, 4, false),
	     "header record: length + 1");
	t_ok(refused_edit(&d, 0, 4, 0xffffffff, 4, false),
	     "header record: length 0xffffffff");
	t_ok(refused_edit(&d, 0, 8, 1, 4, false), "header record: seq 1");
	t_ok(refused_edit(&d, 0, 12, get32(ref.buf + 12) ^ 1, 4, false),
	     "header record: CRC off by a bit");
	t_ok(refused_edit(&d, 0, 16, 0x12345678, 4, true),
	     "wrong magic (CRC recomputed)");
	t_ok(refused_edit(&d, 0, 24, 2, 2, true),
	     "newer major version (CRC recomputed)");
	t_ok(refused_edit(&d, 0, 26, 1, 2, true),
	     "newer minor version (CRC recomputed)");
	t_ok(refused_edit(&d, 0, 28, 8, 4, true),
	     "identity length changed (CRC recomputed)");
	t_ok(refused_edit(&d, 0, 32, 'x', 1, true),
	     "identity model changed (CRC recomputed)");
	t_ok(refused_edit(&d, 0, 32 + 20, 2, 1, true),
	     "identity claims two ports (CRC recomputed)");

	t_ok(refused_edit(&d, 1, 16, 100, 4, true),
	     "page offset not page aligned (CRC recomputed)");
	t_ok(refused_edit(&d, 1, 16, 1 << 20, 4, true),
	     "page offset past device memory (CRC recomputed)");
	t_ok(refused_edit(&d, 1, 16 + 8 + 100, 0xee, 1, false),
	     "a page byte flipped: CRC mismatch");
	t_ok(refused_edit(&d, 2, 8, 1, 4, true),
	     "a record repeating the previous seq");
	t_ok(refused_edit(&d, cfg_rec, 0, MTTYM_REC_UART0, 4, true),
	     "state records out of order");
	t_ok(refused_edit(&d, cfg_rec, 4, 255, 4, false),
	     "config record with a short length");
	t_ok(refused_edit(&d, cfg_rec, 16, 0x1234, 2, true),
	     "config record with another vendor ID (CRC recomputed)");
	t_ok(refused_edit(&d, uart_rec, 16 + 16, 17, 1, true),
	     "UART record with 17 FIFO bytes (CRC recomputed)");
	t_ok(refused_edit(&d, uart_rec, 16 + 17, 0xf0, 1, true),
	     "UART record with reserved IER bits (CRC recomputed)");
	t_ok(refused_edit(&d, irq_rec, 16, 2, 1, true),
	     "interrupt record with a non-boolean (CRC recomputed)");
	t_ok(refused_edit(&d, dma_rec, 16 + 40, 7, 1, true),
	     "DMA record with an unknown status (CRC recomputed)");
	t_ok(refused_edit(&d, nrec - 1, 4, 1, 4, false),
	     "END record with a payload");

	/* A page missing: drop one record, renumber the rest. */
	p = malloc(ref.len);
	memcpy(p, ref.buf, rec_off[5]);
	memcpy(p + rec_off[5], ref.buf + rec_off[6], ref.len - rec_off[6]);
	for (i = 6; i < nrec; i++) {
		uint8_t *r = p + rec_off[i] - PAGE_REC;

		put32(r + 8, get32(r + 8) - 1);
		record_reseal(r);
	}
	t_ok(refused(&d, p, ref.len - PAGE_REC, whole),
	     "a stream missing one page of device memory");
	free(p);

	p = malloc(ref.len + 1);
	memcpy(p, ref.buf, ref.len);
	p[ref.len] = 0;
	t_ok(refused(&d, p, ref.len + 1, whole), "a byte after END");
	free(p);

	p = malloc(100000);
	srand(42);
	for (i = 0; i < 100000; i++)
		p[i] = rand();
	t_ok(refused(&d, p, 100000, whole), "100000 random bytes");
	free(p);

	/* Replayed chunk: the second 64 KiB fed twice. */
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_RESUME), "RESUME");
	must(mig_put_chunk(&d.v, &d.m, ref.buf, 65536), "chunk 1");
	must(mig_put_chunk(&d.v, &d.m, ref.buf + 65536, 65536), "chunk 2");
	t_ok(mig_put_chunk(&d.v, &d.m, ref.buf + 65536, 65536) == -EINVAL,
	     "a replayed chunk is refused");
	t_ok(mig_put_chunk(&d.v, &d.m, ref.buf + 131072, 65536) == -EINVAL,
	     "after a refusal the session accepts nothing more");
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_CANCELLED), "CANCEL");

	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_RESUME), "RESUME");
	data[0] = 0;
	data[1] = 16;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DATA, data, 16) ==
	     -EINVAL, "Set buffer at the header page is refused");
	data[0] = d.m.data_off;
	data[1] = d.m.data_size + 1;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DATA, data, 16) ==
	     -EINVAL, "Set buffer longer than the section is refused");
	data[0] = ~0ull;
	data[1] = 2;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DATA, data, 16) ==
	     -EINVAL, "Set buffer whose end overflows is refused");
	data[0] = d.m.data_off + 4096;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DATA_OFFSET, data, 8) ==
	     0 && mig_read64(&d.v, &d.m, VFIO_MIG_OFF_DATA_OFFSET) ==
	     d.m.data_off + 4096, "data.offset is writable while resuming");
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_CANCELLED), "CANCEL");
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_SETUP), "SETUP");
	data[0] = d.m.data_off;
	data[1] = 16;
	t_ok(mig_hdr_write(&d.v, &d.m, VFIO_MIG_OFF_DATA, data, 16) ==
	     -EINVAL, "Set buffer while saving is refused");
	must(mig_set_state(&d.v, &d.m, VFIO_MIG_STATE_CANCELLED), "CANCEL");

	/* Foreign configurations. */
	dev_open(&o, MDEV_TYPE_2P);
	must(mig_save(&o.v, &o.m, &other), "save two-port");
	t_ok(refused(&d, other.buf, other.len, whole),
	     "a two-port stream into a one-port device");
	dev_close(&o);
	stream_free(&other);
	dev_open(&o, MDEV_TYPE_16M);
	must(mig_save(&o.v, &o.m, &other), "save 16 MiB");
	t_ok(refused(&d, other.buf, 70000, whole),
	     "a 16 MiB device's stream into a 1 MiB device");
	dev_close(&o);
	stream_free(&other);

	t_ok(mig_restore(&d.v, &d.m, ref.buf, ref.len, whole) == 0,
	     "after every refusal the destination still takes a valid stream");
	dev_close(&d);
}

/* ---------------------------------------------------------------------- */
/* The source stays intact when a save is abandoned */

static void test_source_intact(void)
{
	static const uint32_t ends[] = {
		VFIO_MIG_STATE_FAILED, VFIO_MIG_STATE_CANCELLED,
		VFIO_MIG_STATE_RUNNING,
	};
	static const char *const end_name[] = {
		"FAILED", "CANCELLED", "RUNNING",
	};
	static const char *const at_name[] = {
		"SETUP", "PRECOPY (mid-stream)", "STOPNCOPY (mid-drain)",
		"SAVE_COMPLETED",
	};
	uint8_t f0[128], f1[128];
	struct stream st = { 0 };
	unsigned int at, e;
	struct snap a, b;
	struct dev s, d;
	size_t n0, n1;

	dev_open(&s, MDEV_TYPE_1P);
	dev_open(&d, MDEV_TYPE_1P);
	make_state(&s, 9);
	snapshot(&s, &a);
	snap_dma_after(&s, &a);
	for (at = 0; at < 4; at++) {
		for (e = 0; e < 3; e++) {
			uint32_t end = ends[e];

			st.len = 0;
			if (at == 3) {
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_STOPNCOPY),
				     "STOP");
				while (mig_get_chunk(&s.v, &s.m, &st) > 0)
					;
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_SAVE_COMPLETED),
				     "DONE");
			} else {
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_SETUP),
				     "SETUP");
			}
			if (at == 1 || at == 2) {
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_PRECOPY),
				     "PRECOPY");
				mig_get_chunk(&s.v, &s.m, &st);
			}
			if (at == 2) {
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_STOPNCOPY),
				     "STOP");
				mig_get_chunk(&s.v, &s.m, &st);
			}
			t_ok(mig_set_state(&s.v, &s.m, end) == 0,
			     "source %s -> %s", at_name[at], end_name[e]);
			if (end != VFIO_MIG_STATE_RUNNING)
				must(mig_set_state(&s.v, &s.m,
						   VFIO_MIG_STATE_RUNNING),
				     "RUNNING");
			snapshot(&s, &b);
			t_ok(snap_equal(&a, &b, s.mem_size),
			     "source %s -> %s: device state intact",
			     at_name[at], end_name[e]);
			free(b.mem);
			snap_dma_after(&s, &a);
			must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_RUNNING),
			     "RUNNING");
		}
	}
	/* And a save after all that still restores. */
	st.len = 0;
	must(mig_save(&s.v, &s.m, &st), "save");
	must(mig_set_state(&s.v, &s.m, VFIO_MIG_STATE_RUNNING), "RUNNING");
	t_ok(mig_restore(&d.v, &d.m, st.buf, st.len, whole) == 0,
	     "a save after abandoned ones restores");
	drain(&s, f0, &n0);
	drain(&d, f1, &n1);
	t_ok(n0 == n1 && !memcmp(f0, f1, n0) && n0 > 2,
	     "the abandoned saves lost no FIFO byte");
	free(a.mem);
	stream_free(&st);
	dev_close(&s);
	dev_close(&d);
}

int main(void)
{
	struct dev s;

	t_start();
	dev_open(&s, MDEV_TYPE_1P);
	make_state(&s, 1);
	must(mig_save(&s.v, &s.m, &ref), "save the reference stream");
	nrec = stream_records(ref.buf, ref.len, rec_off, 1024);
	dev_close(&s);

	test_roundtrips();
	test_precopy();
	test_dirty();
	test_efault();
	test_attacks();
	test_source_intact();
	stream_free(&ref);
	return t_done();
}
