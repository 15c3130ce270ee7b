// SPDX-License-Identifier: GPL-2.0
/*
 * The migration region's ABI: discovery, the state arcs, the access rules
 * of the header, the actions, quiescing, reset and close in a session, and
 * the data section's mmap.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define NSTATES		VFIO_MIG_NUM_STATES
#define BIT(n)		(1u << (n))

static const char *const state_name[NSTATES] = {
	"NONE", "RUNNING", "SETUP", "PRECOPY", "STOPNCOPY", "SAVE_COMPLETED",
	"RESUME", "RESUME_COMPLETED", "FAILED", "CANCELLED",
};

/* The arc table of the specification, written out independently. */
static bool arc_allowed(uint32_t from, uint32_t to)
{
	static const uint32_t allowed[NSTATES] = {
		[0] = BIT(1) | BIT(2) | BIT(4) | BIT(6),
		[1] = BIT(1) | BIT(2) | BIT(4) | BIT(6),
		[2] = BIT(3) | BIT(4) | BIT(1) | BIT(8) | BIT(9),
		[3] = BIT(4) | BIT(1) | BIT(8) | BIT(9),
		[4] = BIT(5) | BIT(1) | BIT(8) | BIT(9),
		[5] = BIT(1) | BIT(0) | BIT(2) | BIT(8) | BIT(9),
		[6] = BIT(7) | BIT(8) | BIT(9),
		[7] = BIT(1) | BIT(8),
		[8] = BIT(1) | BIT(0) | BIT(2) | BIT(6),
		[9] = BIT(1) | BIT(0) | BIT(2) | BIT(6),
	};

	if (to >= NSTATES)
		return false;
	return to == from || (allowed[from] & BIT(to));
}

static void must(int err, const char *what)
{
	if (err)
		t_bail("%s: %s", what, strerror(-err));
}

static void reset_dev(struct vdev *v)
{
	if (ioctl(v->fd, VFIO_DEVICE_RESET))
		t_bail("VFIO_DEVICE_RESET: %s", strerror(errno));
}

/* A valid stream from a device of the same type, for RESUME_COMPLETED. */
static struct stream good;

/* Bring a reset device into @state along a legal path. */
static void reach(struct vdev *v, struct mig *m, uint32_t state)
{
	static const size_t whole[] = { 0 };

	reset_dev(v);
	switch (state) {
	case VFIO_MIG_STATE_NONE:
		return;
	case VFIO_MIG_STATE_RUNNING:
	case VFIO_MIG_STATE_SETUP:
	case VFIO_MIG_STATE_STOPNCOPY:
	case VFIO_MIG_STATE_RESUME:
		must(mig_set_state(v, m, state), state_name[state]);
		return;
	case VFIO_MIG_STATE_PRECOPY:
	case VFIO_MIG_STATE_FAILED:
	case VFIO_MIG_STATE_CANCELLED:
		must(mig_set_state(v, m, VFIO_MIG_STATE_SETUP), "SETUP");
		must(mig_set_state(v, m, state), state_name[state]);
		return;
	case VFIO_MIG_STATE_SAVE_COMPLETED:
		must(mig_set_state(v, m, VFIO_MIG_STATE_STOPNCOPY), "STOP");
		must(mig_set_state(v, m, state), state_name[state]);
		return;
	case VFIO_MIG_STATE_RESUME_COMPLETED:
		must(mig_set_state(v, m, VFIO_MIG_STATE_RESUME), "RESUME");
		must(mig_feed(v, m, good.buf, good.len, whole), "feed");
		must(mig_set_state(v, m, state), state_name[state]);
		return;
	}
}

static void test_discovery(void)
{
	struct vdev t, p;
	struct mig mt, mp;
	uint8_t buf[512];
	struct vfio_region_info *ri = (void *)buf;
	struct vfio_region_info small = { .argsz = sizeof(small) };
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_info_cap_header *h;
	bool found_sparse = false;

	vdev_create_open(&t, MDEV_TYPE_1P);
	vdev_create_open(&p, MDEV_TYPE_1P_MMAP);
	mig_find(&t, &mt);
	mig_find(&p, &mp);
	t_ok(mt.index == MTTYM_MIG_REGION && mp.index == MTTYM_MIG_REGION,
	     "the migration region is found by its type capability (index %u)",
	     mt.index);
	t_ok(mt.data_off == 4096 && mt.data_size >= 65536 &&
	     mt.data_size % 4096 == 0,
	     "data section starts at the first page boundary (%llu bytes)",
	     (unsigned long long)mt.data_size);
	t_ok(!mt.mmap, "the trapped type offers no mmap");
	t_ok(mp.mmap, "the mmap type offers mmap");

	small.index = mp.index;
	t_ok(ioctl(p.fd, VFIO_DEVICE_GET_REGION_INFO, &small) == 0 &&
	     small.argsz > sizeof(small) && small.cap_offset == 0 &&
	     (small.flags & VFIO_REGION_INFO_FLAG_CAPS),
	     "argsz too small: the size needed comes back, no capabilities");

	memset(buf, 0, sizeof(buf));
	ri->argsz = sizeof(buf);
	ri->index = mp.index;
	if (ioctl(p.fd, VFIO_DEVICE_GET_REGION_INFO, ri))
		t_bail("GET_REGION_INFO failed");
	for (h = (void *)(buf + ri->cap_offset); ri->cap_offset;
	     h = (void *)(buf + h->next)) {
		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			sp = (void *)h;
			found_sparse = sp->nr_areas == 1 &&
				       sp->areas[0].offset == 4096 &&
				       sp->areas[0].size == mp.size - 4096;
		}
		if (!h->next)
			break;
	}
	t_ok(found_sparse && (ri->flags & VFIO_REGION_INFO_FLAG_MMAP),
	     "sparse mmap lists exactly the data section, never the header");

	memset(buf, 0, sizeof(buf));
	ri->argsz = sizeof(buf);
	ri->index = mt.index;
	ioctl(t.fd, VFIO_DEVICE_GET_REGION_INFO, ri);
	t_ok(!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP),
	     "the trapped type's region has no MMAP flag");

	t_ok(mig_state(&t, &mt) == VFIO_MIG_STATE_NONE,
	     "device_state is NONE after open");
	vdev_destroy(&t);
	vdev_destroy(&p);
}

static void test_arcs(struct vdev *v, struct mig *m)
{
	static const uint32_t extra[] = { 10, 11, 0x80000000u, 0xffffffffu };
	uint32_t from, to;
	unsigned int i;

	for (from = 0; from < NSTATES; from++) {
		for (i = 0; i < NSTATES + 4; i++) {
			bool allow;
			int err;

			to = i < NSTATES ? i : extra[i - NSTATES];
			reach(v, m, from);
			allow = arc_allowed(from, to);
			/* RESUME -> RESUME_COMPLETED needs a stream. */
			if (from == VFIO_MIG_STATE_RESUME &&
			    to == VFIO_MIG_STATE_RESUME_COMPLETED)
				allow = false;
			err = mig_set_state(v, m, to);
			if (allow)
				t_ok(!err && mig_state(v, m) == to,
				     "arc %s -> %s allowed", state_name[from],
				     to < NSTATES ? state_name[to] : "?");
			else
				t_ok(err == -EINVAL && mig_state(v, m) == from,
				     "arc %s -> %#x refused, state kept",
				     state_name[from], to);
		}
	}
	reach(v, m, VFIO_MIG_STATE_RESUME);
	t_ok(mig_set_state(v, m, VFIO_MIG_STATE_RESUME_COMPLETED) == -EINVAL,
	     "RESUME -> RESUME_COMPLETED without a stream is refused");
	reset_dev(v);
}

/* Is (off, len) a legal header access of the specification? */
static bool legal_shape(unsigned int off, unsigned int len)
{
	static const unsigned int shapes[][2] = {
		{ 0, 4 }, { 4, 8 }, { 12, 8 }, { 20, 8 }, { 28, 8 },
		{ 36, 8 }, { 44, 8 }, { 52, 8 }, { 60, 8 }, { 68, 8 },
		{ 4, 32 }, { 36, 16 }, { 52, 24 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (shapes[i][0] == off && shapes[i][1] == len)
			return true;
	return false;
}

static void test_widths(struct vdev *v, struct mig *m)
{
	static const unsigned int lens[] = { 1, 2, 3, 4, 8, 16, 24, 32 };
	uint8_t buf[64], zero[64] = { 0 };
	unsigned int off, i;
	bool good;
	ssize_t n;

	reach(v, m, VFIO_MIG_STATE_SETUP);
	for (off = 0; off < 80; off++) {
		good = true;
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			unsigned int len = lens[i];
			bool legal = legal_shape(off, len);
			bool gap = off >= 76;

			/* Reads: no query set up, so dirty_pfns reads fail. */
			bool rd_ok = (legal && !(off == 52 && len == 24) &&
				      !(off == 68 && len == 8)) || gap;

			n = region_read(v, m->index, off, buf, len);
			if (rd_ok != (n == (ssize_t)len) ||
			    (!rd_ok && n != -EINVAL) ||
			    (gap && rd_ok && memcmp(buf, zero, len))) {
				t_diag("read off %u len %u: %zd", off, len, n);
				good = false;
			}
			if (legal)
				continue;	/* legal writes act; see below */
			memset(buf, 0xff, sizeof(buf));
			n = region_write(v, m->index, off, buf, len);
			if (n != -EINVAL) {
				t_diag("write off %u len %u: %zd", off, len, n);
				good = false;
			}
		}
		t_ok(good && mig_state(v, m) == VFIO_MIG_STATE_SETUP,
		     "header offset %u: only whole fields and sub-structs", off);
	}
	n = region_read(v, m->index, 1000, buf, 64);
	t_ok(n == 64 && !memcmp(buf, zero, 64),
	     "the gap before the data section reads as zeros");
	t_ok(region_write(v, m->index, 1000, buf, 4) == -EINVAL,
	     "the gap refuses writes");
	t_ok(region_read(v, m->index, 4096 - 8, buf, 16) == -EINVAL,
	     "an access from the gap into the data section is refused");
	t_ok(region_read(v, m->index, 4096, buf, 1) == 1 &&
	     region_read(v, m->index, 4096 + 4095, buf, 3) == 3 &&
	     region_read(v, m->index, m->size - 1, buf, 1) == 1,
	     "data section reads at any offset and width");
	t_ok(region_read(v, m->index, m->size - 4, buf, 8) == -EINVAL &&
	     region_read(v, m->index, m->size, buf, 1) == -EINVAL,
	     "reads past the region end are refused");
	t_ok(region_write(v, m->index, 4096, buf, 8) == -EINVAL,
	     "data section writes while saving are refused");
	t_ok(region_write(v, m->index, 4096, buf, 0) == 0 &&
	     region_read(v, m->index, m->size, buf, 0) == 0 &&
	     region_write(v, m->index, 0, buf, 0) == 0,
	     "zero-length accesses at valid positions return 0 in any state");
	reset_dev(v);
}

static void test_actions(struct vdev *v, struct mig *m)
{
	uint64_t pend[4], pend2[4], data[2], thr = 123456789, mem = 1 << 20;
	uint64_t state_sz, hdr_sz, first;
	struct stream s = { 0 };
	long n;

	reset_dev(v);
	mig_hdr_read(v, m, VFIO_MIG_OFF_PENDING, pend, sizeof(pend));
	t_ok(!pend[0] && !pend[1] && !pend[2],
	     "pending reads zeros outside a save session");
	t_ok(mig_hdr_write(v, m, VFIO_MIG_OFF_THRESHOLD_SIZE, &thr, 8) == 0 &&
	     mig_read64(v, m, VFIO_MIG_OFF_THRESHOLD_SIZE) == thr,
	     "threshold_size is stored in any state");
	t_ok(mig_hdr_read(v, m, VFIO_MIG_OFF_DATA_SIZE, data, 8) == -EINVAL,
	     "Get buffer outside the save states is refused");
	t_ok(mig_hdr_write(v, m, VFIO_MIG_OFF_PRECOPY_ONLY, &thr, 8) ==
	     -EINVAL && mig_hdr_write(v, m, VFIO_MIG_OFF_PENDING, pend, 32) ==
	     -EINVAL, "pending counters are read-only");

	must(mig_set_state(v, m, VFIO_MIG_STATE_SETUP), "SETUP");
	t_ok(mig_read64(v, m, VFIO_MIG_OFF_THRESHOLD_SIZE) == thr,
	     "threshold_size survives the start of a session");
	mig_hdr_read(v, m, VFIO_MIG_OFF_PENDING, pend, sizeof(pend));
	mig_hdr_read(v, m, VFIO_MIG_OFF_PENDING, pend2, sizeof(pend2));
	t_ok(!memcmp(pend, pend2, sizeof(pend)),
	     "reading pending twice has no side effect");
	hdr_sz = pend[0] - mem / 4096 * PAGE_REC;
	state_sz = pend[2];
	t_ok(pend[0] > mem / 4096 * PAGE_REC && hdr_sz < 512 &&
	     pend[1] == 0 && state_sz > 256,
	     "SETUP: precopy_only = header + every page, compatible 0, postcopy_only = state (%llu, %llu)",
	     (unsigned long long)pend[0], (unsigned long long)pend[2]);
	t_ok(mig_read64(v, m, VFIO_MIG_OFF_DATA_OFFSET) == m->data_off,
	     "data.offset reads the data section start");
	t_ok(mig_get_chunk(v, m, &s) == 0, "SETUP: nothing due, size 0");
	t_ok(mig_hdr_write(v, m, VFIO_MIG_OFF_DATA_OFFSET, &mem, 8) ==
	     -EINVAL, "data.offset is read-only while saving");

	must(mig_set_state(v, m, VFIO_MIG_STATE_PRECOPY), "PRECOPY");
	first = mig_read64(v, m, VFIO_MIG_OFF_PRECOPY_ONLY);
	n = mig_get_chunk(v, m, &s);
	t_ok(n > 0 && mig_read64(v, m, VFIO_MIG_OFF_PRECOPY_ONLY) ==
	     first - (uint64_t)n,
	     "a chunk lowers precopy_only by exactly its size (%ld)", n);
	while ((n = mig_get_chunk(v, m, &s)) > 0)
		;
	t_ok(n == 0 && s.len == first &&
	     mig_read64(v, m, VFIO_MIG_OFF_PRECOPY_ONLY) == 0,
	     "pre-copy hands out exactly what precopy_only announced");
	must(mig_set_state(v, m, VFIO_MIG_STATE_STOPNCOPY), "STOPNCOPY");
	mig_hdr_read(v, m, VFIO_MIG_OFF_PENDING, pend, sizeof(pend));
	t_ok(pend[0] == 0 && pend[1] == 0 && pend[2] == state_sz,
	     "STOPNCOPY: everything left is postcopy_only (%llu)",
	     (unsigned long long)pend[2]);
	s.len = 0;
	while ((n = mig_get_chunk(v, m, &s)) > 0)
		;
	t_ok(n == 0 && s.len == state_sz &&
	     mig_read64(v, m, VFIO_MIG_OFF_POSTCOPY_ONLY) == 0,
	     "stop-and-copy hands out exactly postcopy_only");
	t_ok(mig_set_state(v, m, VFIO_MIG_STATE_SAVE_COMPLETED) == 0 &&
	     mig_read64(v, m, VFIO_MIG_OFF_POSTCOPY_ONLY) == 0,
	     "SAVE_COMPLETED: pending is zero");
	stream_free(&s);
	reset_dev(v);
	t_ok(mig_read64(v, m, VFIO_MIG_OFF_THRESHOLD_SIZE) == 0,
	     "reset clears threshold_size");
}

static bool saving(uint32_t st)
{
	return st == VFIO_MIG_STATE_SETUP || st == VFIO_MIG_STATE_PRECOPY ||
	       st == VFIO_MIG_STATE_STOPNCOPY;
}

/* Every action of the specification in every state. */
static void test_action_matrix(struct vdev *v, struct mig *m)
{
	enum { A_STATE, A_THRESH, A_PENDING, A_DOFF_RD, A_GET, A_SET,
	       A_DOFF_WR, A_QUERY, A_COPIED, A_DWRITE, A_DREAD, A_N };
	static const char *const name[A_N] = {
		"read device_state", "write threshold_size", "read pending",
		"read data.offset", "Get buffer", "Set buffer",
		"write data.offset", "set up a dirty_pfns query",
		"read dirty_pfns.copied after a query",
		"write the data section", "read the data section",
	};
	uint64_t buf[4], val;
	uint32_t st, a;

	for (st = 0; st < NSTATES; st++) {
		for (a = 0; a < A_N; a++) {
			bool want;
			int err = 0;

			reach(v, m, st);
			switch (a) {
			case A_STATE:
				want = true;
				err = mig_hdr_read(v, m, 0, buf, 4);
				break;
			case A_THRESH:
				want = true;
				val = 4096;
				err = mig_hdr_write(v, m, 28, &val, 8);
				break;
			case A_PENDING:
				want = true;
				err = mig_hdr_read(v, m, 4, buf, 32);
				break;
			case A_DOFF_RD:
				want = true;
				err = mig_hdr_read(v, m, 36, buf, 8);
				break;
			case A_GET:
				want = saving(st);
				err = mig_hdr_read(v, m, 36, buf, 16);
				break;
			case A_SET:
				want = st == VFIO_MIG_STATE_RESUME;
				buf[0] = m->data_off;
				buf[1] = 0;
				err = mig_hdr_write(v, m, 36, buf, 16);
				break;
			case A_DOFF_WR:
				want = st == VFIO_MIG_STATE_RESUME;
				val = m->data_off + 64;
				err = mig_hdr_write(v, m, 36, &val, 8);
				break;
			case A_QUERY:
			case A_COPIED:
				want = saving(st);
				buf[0] = 0;
				buf[1] = 16;
				buf[2] = 0;
				err = mig_hdr_write(v, m, 52, buf, 24);
				if (a == A_COPIED && !err)
					err = mig_hdr_read(v, m, 68, buf, 8);
				break;
			case A_DWRITE:
				want = st == VFIO_MIG_STATE_RESUME;
				err = region_write(v, m->index, m->data_off, buf,
						   8) == 8 ? 0 : -EINVAL;
				break;
			default:
				want = true;
				err = region_read(v, m->index, m->data_off + 8,
						  buf, 8) == 8 ? 0 : -EINVAL;
				break;
			}
			t_ok((want ? !err : err == -EINVAL) &&
			     mig_state(v, m) == st, "%s: %s %s",
			     state_name[st], name[a],
			     want ? "works" : "is refused");
		}
	}
	reset_dev(v);
}

static void test_quiesce(struct vdev *v, struct mig *m)
{
	int efd = efd_new();
	uint8_t b;
	uint64_t q = 0;

	reset_dev(v);
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO);
	uart_out(v, 0, UART_IER, UART_IER_RDI);
	uart_out(v, 0, UART_TX, 'q');
	must(mig_set_state(v, m, VFIO_MIG_STATE_STOPNCOPY), "STOPNCOPY");
	t_ok(region_read(v, 0, UART_LSR, &b, 1) == -EBUSY &&
	     region_write(v, 0, UART_SCR, &b, 1) == -EBUSY,
	     "STOPNCOPY: UART accesses get EBUSY");
	t_ok(region_read(v, MTTYM_MEM_REGION, 0, &q, 8) == -EBUSY &&
	     dma_reg_read(v, MTTYM_DMA_STATUS, &q, 4) == -EBUSY, "STOPNCOPY: memory and DMA accesses get EBUSY");
	t_ok(cfg_read(v, PCI_VENDOR_ID, 2) == MTTYM_PCI_VENDOR,
	     "STOPNCOPY: config space stays accessible");
	t_ok(irq_set_eventfd(v, VFIO_PCI_MSI_IRQ_INDEX, efd) == 0 &&
	     efd_drain(efd) == 0,
	     "STOPNCOPY: SET_IRQS works and raises nothing");
	must(mig_set_state(v, m, VFIO_MIG_STATE_SAVE_COMPLETED), "DONE");
	t_ok(region_read(v, 0, UART_LSR, &b, 1) == -EBUSY,
	     "SAVE_COMPLETED: still quiesced");
	must(mig_set_state(v, m, VFIO_MIG_STATE_RUNNING), "RUNNING");
	t_ok(efd_drain(efd) == 1 && uart_in(v, 0, UART_RX) == 'q',
	     "RUNNING again: the pending interrupt arrives, data intact");
	irq_set_eventfd(v, VFIO_PCI_MSI_IRQ_INDEX, -1);
	close(efd);
	must(mig_set_state(v, m, VFIO_MIG_STATE_RESUME), "RESUME");
	t_ok(region_read(v, 0, UART_LSR, &b, 1) == -EBUSY,
	     "RESUME: quiesced");
	reset_dev(v);
	t_ok(region_read(v, 0, UART_LSR, &b, 1) == 1,
	     "reset lets the device run again");
}

static void test_reset_close(void)
{
	uint64_t pend[4];
	struct vdev v;
	struct mig m;
	char uuid[40];
	uint8_t b;

	vdev_create_open(&v, MDEV_TYPE_1P);
	mig_find(&v, &m);
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_STOPNCOPY), "STOPNCOPY");
	reset_dev(&v);
	mig_hdr_read(&v, &m, VFIO_MIG_OFF_PENDING, pend, sizeof(pend));
	t_ok(mig_state(&v, &m) == VFIO_MIG_STATE_NONE && !pend[0] &&
	     !pend[2] && region_read(&v, 0, UART_LSR, &b, 1) == 1,
	     "reset during stop-and-copy: NONE, no pending, device runs");

	must(mig_set_state(&v, &m, VFIO_MIG_STATE_RESUME), "RESUME");
	memcpy(uuid, v.uuid, sizeof(uuid));
	vdev_close(&v);
	must(vdev_open(&v, uuid), "reopen");
	t_ok(mig_state(&v, &m) == VFIO_MIG_STATE_NONE &&
	     region_read(&v, 0, UART_LSR, &b, 1) == 1,
	     "close during resume: the next open starts in NONE");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP), "SETUP");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_PRECOPY), "PRECOPY");
	vdev_close(&v);
	must(vdev_open(&v, uuid), "reopen");
	t_ok(mig_state(&v, &m) == VFIO_MIG_STATE_NONE,
	     "close during pre-copy: the next open starts in NONE");
	vdev_destroy(&v);
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

static void test_mmap(void)
{
	struct vdev v, t;
	struct mig m, mt;
	struct stream s = { 0 };
	uint8_t buf[64];
	void *p;
	long n;

	vdev_create_open(&v, MDEV_TYPE_1P_MMAP);
	vdev_create_open(&t, MDEV_TYPE_1P);
	mig_find(&v, &m);
	mig_find(&t, &mt);

	p = mmap(NULL, mt.data_size, PROT_READ, MAP_SHARED, t.fd,
		 region_pos(&t, mt.index, 4096));
	t_ok(p == MAP_FAILED && errno == EINVAL,
	     "mmap of a trapped-only data section is refused");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, v.fd,
		 region_pos(&v, m.index, 0));
	t_ok(p == MAP_FAILED && errno == EINVAL,
	     "mmap of the header page is refused");
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, v.fd,
		 region_pos(&v, m.index, 0));
	t_ok(p == MAP_FAILED && errno == EINVAL,
	     "mmap covering header and data is refused");
	p = mmap(NULL, m.data_size + 4096, PROT_READ, MAP_SHARED, v.fd,
		 region_pos(&v, m.index, 4096));
	t_ok(p == MAP_FAILED && errno == EINVAL,
	     "mmap past the region end is refused");
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, v.fd,
		 region_pos(&v, m.index, 4096));
	t_ok(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE is refused");
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, v.fd,
		 region_pos(&v, m.index, 4096));
	t_ok(p == MAP_FAILED, "PROT_EXEC is refused");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, v.fd,
		 region_pos(&v, MTTYM_MEM_REGION, 0));
	t_ok(p == MAP_FAILED && errno == EINVAL,
	     "mmap of another region is refused");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, v.fd,
		 region_pos(&v, m.index, m.size - 4096));
	t_ok(p != MAP_FAILED, "the last page of the data section maps");
	if (p != MAP_FAILED)
		munmap(p, 4096);

	must(mig_map(&v, &m), "map data section");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP), "SETUP");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_PRECOPY), "PRECOPY");
	n = mig_get_chunk(&v, &m, &s);
	t_ok(n > 0 && region_read(&v, m.index, m.data_off, buf, 64) == 64 &&
	     !memcmp(buf, m.map, 64) &&
	     region_read(&v, m.index, m.data_off + n - 64, buf, 64) == 64 &&
	     !memcmp(buf, m.map + n - 64, 64),
	     "the mapping and pread show the same chunk");
	/* The user buffer is the device's own mapped data section. */
	t_ok(pread(v.fd, m.map + 4096, 8192,
		   region_pos(&v, m.index, m.data_off)) == 8192 &&
	     !memcmp(m.map, m.map + 4096, 4096),
	     "pread into the device's own mapping completes");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_CANCELLED), "CANCELLED");
	must(mig_set_state(&v, &m, VFIO_MIG_STATE_RESUME), "RESUME");
	t_ok(pwrite(v.fd, m.map, 8192,
		    region_pos(&v, m.index, m.data_off + 8192)) == 8192,
	     "pwrite from the device's own mapping completes");
	reset_dev(&v);
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	if (!sigsetjmp(fault_jmp, 1)) {
		volatile uint8_t x = m.map[0];

		m.map[m.data_size - 1] = x;
		t_ok(true, "the mapping stays valid across state changes and reset");
	} else {
		t_ok(false, "the mapping stays valid across state changes and reset");
	}
	vdev_close(&v);
	if (!sigsetjmp(fault_jmp, 1)) {
		volatile uint8_t x = m.map[100];

		(void)x;
		t_ok(true, "a mapping outliving close is still safe to touch");
	} else {
		t_ok(false, "a mapping outliving close is still safe to touch");
	}
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
	mig_unmap(&m);
	t_ok(mdev_remove(v.uuid) == 0, "the mdev is removed after munmap");
	vdev_destroy(&t);
	stream_free(&s);
}

int main(void)
{
	struct vdev v, src;
	struct mig m, ms;

	t_start();
	test_discovery();

	vdev_create_open(&src, MDEV_TYPE_1P);
	mig_find(&src, &ms);
	must(mig_save(&src, &ms, &good), "save a reference stream");
	vdev_destroy(&src);

	vdev_create_open(&v, MDEV_TYPE_1P);
	mig_find(&v, &m);
	test_arcs(&v, &m);
	test_widths(&v, &m);
	test_actions(&v, &m);
	test_action_matrix(&v, &m);
	test_quiesce(&v, &m);
	vdev_destroy(&v);
	test_reset_close();
	test_mmap();
	stream_free(&good);
	return t_done();
}
