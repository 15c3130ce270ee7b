// SPDX-License-Identifier: GPL-2.0
/*
 * mcount-mig, the counter device: its registers and ticks (through BAR0
 * and the host traffic source), MSI through an eventfd and never while
 * the device is stopped, config space write masks, the IRQ ioctls; then
 * its migration through each protocol (the vfio-mig region, the v1 region,
 * VFIO_DEVICE_FEATURE) into a fresh mdev of the same type, and the
 * streams a destination must refuse: another type's, and records that
 * fail the driver's checks.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "mcount-mig.h"
#include "vfio_test.h"

#define PARENT		"/sys/class/mdev_bus/mcount_mig"
#define TYPE_1		"mcount_mig-1ctr"
#define TYPE_4		"mcount_mig-4ctr"
#define BAR		MCOUNT_REG_REGION
#define MSI_FLAGS	(MCOUNT_MSI_CAP + PCI_MSI_FLAGS)
#define POWER_ON	"0 0 0 0 0 0 0"

/* --- device access --------------------------------------------------- */

static void open_new(struct vdev *v, const char *type)
{
	vdev_create_open_on(v, PARENT, type);
}

static uint64_t rd64(struct vdev *v, unsigned int off)
{
	uint64_t x = ~0ull;

	if (region_read(v, BAR, off, &x, 8) != 8)
		t_bail("BAR0 read at 0x%x failed", off);
	return x;
}

static uint32_t rd32(struct vdev *v, unsigned int off)
{
	uint32_t x = ~0u;

	if (region_read(v, BAR, off, &x, 4) != 4)
		t_bail("BAR0 read at 0x%x failed", off);
	return x;
}

static ssize_t wr64(struct vdev *v, unsigned int off, uint64_t x)
{
	return region_write(v, BAR, off, &x, 8);
}

static ssize_t wr32(struct vdev *v, unsigned int off, uint32_t x)
{
	return region_write(v, BAR, off, &x, 4);
}

static int tick(struct vdev *v, const char *n)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/tick",
		 v->uuid);
	return sysfs_write(path, n);
}

/* The traffic/state line, without its newline ("" if unreadable). */
static const char *state(struct vdev *v)
{
	static char line[4][256];
	static unsigned int k;
	char path[160], *buf = line[k++ % 4];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/state",
		 v->uuid);
	buf[0] = 0;
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, 256, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void cfg_dump(struct vdev *v, uint8_t *cfg)
{
	if (region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg, 256) != 256)
		t_bail("config space read failed");
}

static int irq_set(struct vdev *v, unsigned int index, uint32_t flags,
		   uint32_t start, uint32_t count, int32_t data)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t data;
	} __attribute__((packed)) s = {
		.hdr = { .argsz = sizeof(s), .flags = flags, .index = index,
			 .start = start, .count = count },
		.data = data,
	};

	return ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &s) ? -errno : 0;
}

/* MSI enabled in config space, CTRL asking for it, @efd as its eventfd. */
static void msi_on(struct vdev *v, int efd)
{
	cfg_write(v, MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	wr32(v, MCOUNT_CTRL, MCOUNT_CTRL_MSI);
	if (irq_set_eventfd(v, VFIO_PCI_MSI_IRQ_INDEX, efd))
		t_bail("cannot set the MSI eventfd");
	efd_drain(efd);
}

/* --- the device ------------------------------------------------------ */

static void test_config(void)
{
	static const struct { unsigned int off, len; uint32_t write, want; } w[] = {
		{ PCI_VENDOR_ID, 4, 0, MCOUNT_PCI_DEVICE << 16 | MCOUNT_PCI_VENDOR },
		{ PCI_COMMAND, 2, 0xffff, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER },
		{ PCI_STATUS, 2, 0xffff, PCI_STATUS_CAP_LIST },
		{ PCI_CLASS_REVISION, 4, 0, MCOUNT_PCI_CLASS << 8 },
		{ PCI_BASE_ADDRESS_0, 4, 0xffffffff, 0xffffffc0 },
		{ PCI_BASE_ADDRESS_0, 4, 0x12345678, 0x12345640 },
		{ PCI_BASE_ADDRESS_1, 4, 0xffffffff, 0 },
		{ PCI_CAPABILITY_LIST, 1, 0x80, MCOUNT_MSI_CAP },
		{ PCI_INTERRUPT_LINE, 1, 0x0b, 0x0b },
		{ PCI_INTERRUPT_PIN, 1, 1, 0 },
		{ MCOUNT_MSI_CAP, 2, 0xffff, PCI_CAP_ID_MSI },
		{ MSI_FLAGS, 2, 0xffff, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE },
		{ MSI_FLAGS, 2, 0, PCI_MSI_FLAGS_64BIT },
		{ MCOUNT_MSI_CAP + PCI_MSI_ADDRESS_LO, 4, 0xffffffff, 0xfffffffc },
		{ MCOUNT_MSI_CAP + PCI_MSI_ADDRESS_HI, 4, 0x12345678, 0x12345678 },
		{ MCOUNT_MSI_CAP + PCI_MSI_DATA_64, 2, 0xbeef, 0xbeef },
	};
	uint8_t before[256], after[256];
	struct vdev a, b;
	unsigned int i;
	uint32_t got;

	open_new(&a, TYPE_1);
	open_new(&b, TYPE_4);
	cfg_dump(&a, before);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		cfg_write(&a, w[i].off, w[i].write, w[i].len);
		got = cfg_read(&a, w[i].off, w[i].len);
		t_ok(got == w[i].want, "config 0x%02x: write 0x%x reads 0x%x (0x%x)",
		     w[i].off, w[i].write, w[i].want, got);
	}
	t_ok(cfg_read(&a, PCI_SUBSYSTEM_ID, 2) == 1 &&
	     cfg_read(&b, PCI_SUBSYSTEM_ID, 2) == 4,
	     "subsystem ID is the number of counters (1ctr 1, 4ctr 4)");
	wr64(&a, MCOUNT_STEP, 5);
	t_ok(ioctl(a.fd, VFIO_DEVICE_RESET) == 0, "VFIO_DEVICE_RESET");
	cfg_dump(&a, after);
	t_ok(!memcmp(before, after, 256) && !strcmp(state(&a), POWER_ON),
	     "reset: config space and registers at their power-on values");
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_regs(void)
{
	struct vdev a, b;
	uint64_t x = 0;

	open_new(&a, TYPE_1);
	open_new(&b, TYPE_4);
	t_ok(!strcmp(state(&a), POWER_ON) && rd64(&a, MCOUNT_TICKS) == 0,
	     "a new device: registers zero");
	t_ok(wr64(&a, MCOUNT_CTR(0), 0x1122334455667788ull) == 8 &&
	     rd64(&a, MCOUNT_CTR(0)) == 0x1122334455667788ull,
	     "CTR0: 8-byte write and read");
	t_ok(wr32(&a, MCOUNT_CTR(0) + 4, 0xaabbccdd) == 4 &&
	     rd64(&a, MCOUNT_CTR(0)) == 0xaabbccdd55667788ull &&
	     rd32(&a, MCOUNT_CTR(0)) == 0x55667788 &&
	     rd32(&a, MCOUNT_CTR(0) + 4) == 0xaabbccdd,
	     "CTR0: either 4-byte half alone");
	t_ok(wr64(&a, MCOUNT_CTR(1), 7) == 8 && rd64(&a, MCOUNT_CTR(1)) == 0 &&
	     wr64(&a, MCOUNT_CTR(3), 7) == 8 && rd64(&a, MCOUNT_CTR(3)) == 0,
	     "1ctr: CTR1..3 read 0 and ignore writes");
	t_ok(wr64(&b, MCOUNT_CTR(3), 7) == 8 && rd64(&b, MCOUNT_CTR(3)) == 7,
	     "4ctr: CTR3 is a counter");
	t_ok(wr32(&a, MCOUNT_CTRL, 0xffffffff) == 4 &&
	     rd32(&a, MCOUNT_CTRL) == MCOUNT_CTRL_MSI &&
	     rd32(&a, MCOUNT_CTRL + 4) == 0,
	     "CTRL: reserved bits read 0");
	wr32(&a, MCOUNT_CTRL, 0);
	t_ok(wr64(&a, MCOUNT_TICKS, 99) == 8 && rd64(&a, MCOUNT_TICKS) == 0 &&
	     rd64(&a, MCOUNT_CMD) == 0, "TICKS is read-only, CMD reads 0");

	wr64(&a, MCOUNT_CTR(0), 10);
	wr64(&a, MCOUNT_STEP, 3);
	t_ok(wr32(&a, MCOUNT_CMD, MCOUNT_CMD_TICK) == 4 &&
	     rd64(&a, MCOUNT_CTR(0)) == 13 && rd64(&a, MCOUNT_TICKS) == 1,
	     "CMD 1: a tick adds STEP, TICKS 1");
	t_ok(wr32(&a, MCOUNT_CMD, 2) == 4 && wr32(&a, MCOUNT_CMD + 4, 1) == 4 &&
	     rd64(&a, MCOUNT_TICKS) == 1, "other CMD values do nothing");
	t_ok(tick(&a, "4") == 0 && rd64(&a, MCOUNT_CTR(0)) == 25 &&
	     rd64(&a, MCOUNT_TICKS) == 5, "traffic/tick 4: four more ticks");
	t_ok(!strcmp(state(&a), "25 0 0 0 3 0 5"), "traffic/state: '%s'",
	     state(&a));
	wr64(&b, MCOUNT_STEP, 1ull << 40);
	wr64(&b, MCOUNT_CTR(0), ~0ull);
	tick(&b, "2");
	t_ok(!strcmp(state(&b), "2199023255551 2199023255552 2199023255552 2199023255559 1099511627776 0 2"),
	     "4ctr: every counter advances, wrapping at 2^64: '%s'", state(&b));
	t_ok(tick(&a, "0") == -EINVAL && tick(&a, "1000001") == -EINVAL &&
	     tick(&a, "x") == -EINVAL && tick(&a, "-1") == -EINVAL &&
	     rd64(&a, MCOUNT_TICKS) == 5,
	     "traffic/tick refuses 0, more than 1000000 and non-numbers");
	t_ok(tick(&a, "1000000") == 0 && rd64(&a, MCOUNT_TICKS) == 1000005,
	     "traffic/tick 1000000");

	t_ok(region_read(&a, BAR, 0, &x, 2) < 0 &&
	     region_read(&a, BAR, 0, &x, 1) < 0 &&
	     region_read(&a, BAR, 4, &x, 8) < 0 &&
	     region_read(&a, BAR, MCOUNT_BAR_SIZE, &x, 4) < 0 &&
	     region_write(&a, BAR, 2, &x, 4) < 0,
	     "BAR0 refuses 1- and 2-byte, unaligned and out-of-range accesses");
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_irq_info(void)
{
	struct vfio_irq_info info;
	struct vdev a;
	unsigned int i;
	bool ok = true;

	open_new(&a, TYPE_1);
	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		memset(&info, 0xff, sizeof(info));
		info.argsz = sizeof(info);
		info.index = i;
		if (ioctl(a.fd, VFIO_DEVICE_GET_IRQ_INFO, &info) ||
		    info.count != (i == VFIO_PCI_MSI_IRQ_INDEX) ||
		    (i == VFIO_PCI_MSI_IRQ_INDEX && info.flags !=
		     (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE))) {
			t_diag("index %u: count %u flags 0x%x", i, info.count,
			       info.flags);
			ok = false;
		}
	}
	t_ok(ok, "GET_IRQ_INFO: MSI 1 (eventfd, noresize), INTx and the rest 0");
	info.argsz = sizeof(info);
	info.index = VFIO_PCI_NUM_IRQS;
	t_errno(ioctl(a.fd, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL,
		"GET_IRQ_INFO index %u: EINVAL", VFIO_PCI_NUM_IRQS);
	info.argsz = 8;
	info.index = VFIO_PCI_MSI_IRQ_INDEX;
	t_errno(ioctl(a.fd, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL,
		"GET_IRQ_INFO with a short argsz: EINVAL");
	vdev_destroy(&a);
}

static void test_msi(void)
{
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	struct vdev a;
	struct mig m;
	int efd = efd_new(), other = efd_new();

	open_new(&a, TYPE_1);
	t_errno(irq_set_eventfd(&a, VFIO_PCI_INTX_IRQ_INDEX, efd), EINVAL,
		"INTx eventfd: EINVAL (no INTx)");
	t_errno(irq_set_eventfd(&a, VFIO_PCI_MSIX_IRQ_INDEX, efd), EINVAL,
		"MSI-X eventfd: EINVAL");
	t_errno(irq_set(&a, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
			trig, 1, 1, efd), EINVAL, "MSI vector 1: EINVAL");
	t_errno(irq_set_none(&a, VFIO_PCI_MSI_IRQ_INDEX,
			     VFIO_IRQ_SET_ACTION_MASK, 1), EINVAL,
		"MSI mask: EINVAL");
	t_errno(irq_set(&a, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
			trig, 0, 1, -2), EINVAL, "fd -2: EINVAL");

	msi_on(&a, efd);
	wr32(&a, MCOUNT_CMD, MCOUNT_CMD_TICK);
	t_ok(efd_drain(efd) == 1, "a CMD tick raises MSI");
	tick(&a, "5");
	t_ok(efd_drain(efd) == 5, "five traffic ticks raise it five times");
	wr32(&a, MCOUNT_CTRL, 0);
	tick(&a, "1");
	t_ok(efd_drain(efd) == 0, "CTRL bit 0 clear: no MSI");
	wr32(&a, MCOUNT_CTRL, MCOUNT_CTRL_MSI);
	cfg_write(&a, MSI_FLAGS, 0, 2);
	tick(&a, "1");
	t_ok(efd_drain(efd) == 0, "MSI disabled in config space: no MSI");
	cfg_write(&a, MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	t_ok(irq_set_none(&a, VFIO_PCI_MSI_IRQ_INDEX, trig, 1) == 0 &&
	     efd_drain(efd) == 1, "DATA_NONE trigger fires it from userspace");
	t_ok(irq_set(&a, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_BOOL | trig,
		     0, 1, 1) == 0 && efd_drain(efd) == 1 &&
	     irq_set(&a, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_BOOL | trig,
		     0, 1, 0) == 0 && efd_drain(efd) == 0,
	     "DATA_BOOL trigger: true fires, false does not");
	t_ok(irq_set_eventfd(&a, VFIO_PCI_MSI_IRQ_INDEX, other) == 0 &&
	     tick(&a, "1") == 0 && efd_drain(other) == 1 && efd_drain(efd) == 0,
	     "a new eventfd replaces the old one");

	/* Stopped through v2, then through the vfio-mig region. */
	t_ok(v2_set_state(&a, ST_STOP, NULL) == 0, "v2: STOP");
	t_errno(tick(&a, "1"), EBUSY, "stopped: traffic/tick EBUSY");
	t_errno(wr32(&a, MCOUNT_CMD, MCOUNT_CMD_TICK), EBUSY,
		"stopped: BAR0 EBUSY");
	t_ok(irq_set_none(&a, VFIO_PCI_MSI_IRQ_INDEX, trig, 1) == 0 &&
	     efd_drain(other) == 0 && !strcmp(state(&a), "0 0 0 0 0 1 9"),
	     "stopped: a userspace trigger is taken but raises nothing; state kept");
	t_ok(v2_set_state(&a, ST_RUNNING, NULL) == 0 && tick(&a, "1") == 0 &&
	     efd_drain(other) == 1, "RUNNING again: ticks raise MSI");
	mig_find(&a, &m);
	t_ok(mig_set_state(&a, &m, VFIO_MIG_STATE_STOPNCOPY) == 0 &&
	     tick(&a, "1") == -EBUSY && efd_drain(other) == 0,
	     "vfio-mig STOPNCOPY: traffic/tick EBUSY, no MSI");
	t_ok(mig_set_state(&a, &m, VFIO_MIG_STATE_RUNNING) == 0 &&
	     tick(&a, "1") == 0 && efd_drain(other) == 1,
	     "vfio-mig RUNNING: ticks again");

	t_ok(irq_set_eventfd(&a, VFIO_PCI_MSI_IRQ_INDEX, -1) == 0 &&
	     tick(&a, "1") == 0 && efd_drain(other) == 0,
	     "fd -1 clears the eventfd");
	irq_set_eventfd(&a, VFIO_PCI_MSI_IRQ_INDEX, efd);
	t_ok(irq_set_none(&a, VFIO_PCI_MSI_IRQ_INDEX, trig, 0) == 0 &&
	     tick(&a, "1") == 0 && efd_drain(efd) == 0,
	     "DATA_NONE with count 0 tears it down");
	vdev_destroy(&a);
	close(efd);
	close(other);
}

/* --- migration ------------------------------------------------------- */

enum proto { REGION, V1, V2 };
static const char *const proto_name[] = { "vfio-mig region", "v1", "v2" };

#define V1_PENDING	8
#define V1_DATA_OFFSET	16
#define V1_DATA_SIZE	24

static int v1_state(struct vdev *v, uint32_t s)
{
	return region_write(v, MCOUNT_V1_REGION, 0, &s, 4) == 4 ? 0 : -EIO;
}

/* QEMU's trapped access: naturally aligned pieces of 8, 4, 2, 1 bytes. */
static int v1_pieces(struct vdev *v, uint64_t off, uint8_t *p, uint64_t len,
		     bool write)
{
	while (len) {
		size_t n = len >= 8 && !(off % 8) ? 8 : len >= 4 && !(off % 4) ?
			   4 : len >= 2 && !(off % 2) ? 2 : 1;
		ssize_t r = write ? region_write(v, MCOUNT_V1_REGION, off, p, n) :
				    region_read(v, MCOUNT_V1_REGION, off, p, n);

		if (r != (ssize_t)n)
			return r < 0 ? (int)r : -EIO;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

static uint64_t v1_rd64(struct vdev *v, unsigned int off)
{
	uint64_t x = 0;

	v1_pieces(v, off, (uint8_t *)&x, 8, false);
	return x;
}

/* Stop-and-copy as QEMU 7.2 does it; the device runs again after. */
static int v1_save(struct vdev *v, struct stream *s)
{
	int err = v1_state(v, VFIO_DEVICE_STATE_V1_SAVING);

	while (!err && v1_rd64(v, V1_PENDING)) {
		uint64_t off = v1_rd64(v, V1_DATA_OFFSET);
		uint64_t size = v1_rd64(v, V1_DATA_SIZE);

		stream_reserve(s, size);
		err = v1_pieces(v, off, s->buf + s->len, size, false);
		s->len += size;
	}
	return err ?: v1_state(v, 0) ?: v1_state(v, VFIO_DEVICE_STATE_V1_RUNNING);
}

/* Feed @len bytes in 4 KiB chunks; RUNNING only if all were taken. */
static int v1_restore(struct vdev *v, const uint8_t *p, size_t len)
{
	int err = v1_state(v, VFIO_DEVICE_STATE_V1_RESUMING);

	while (!err && len) {
		uint64_t off = v1_rd64(v, V1_DATA_OFFSET);
		uint64_t n = len < 4096 ? len : 4096;

		err = v1_pieces(v, off, (uint8_t *)p, n, true) ?:
		      v1_pieces(v, V1_DATA_SIZE, (uint8_t *)&n, 8, true);
		p += n;
		len -= n;
	}
	return err ?: v1_state(v, VFIO_DEVICE_STATE_V1_RUNNING);
}

static int save(enum proto pr, struct vdev *v, struct stream *s)
{
	struct mig m;
	int err;

	switch (pr) {
	case REGION:
		mig_find(v, &m);
		err = mig_save(v, &m, s);
		return err ?: mig_set_state(v, &m, VFIO_MIG_STATE_RUNNING);
	case V1:
		return v1_save(v, s);
	default:
		return v2_save(v, s, 4096);
	}
}

/* A failed restore leaves its session open, for the caller to look. */
static int restore(enum proto pr, struct vdev *v, const uint8_t *p,
		   size_t len)
{
	static const size_t whole[] = { 0 };
	struct mig m;

	switch (pr) {
	case REGION:
		mig_find(v, &m);
		return mig_restore(v, &m, p, len, whole);
	case V1:
		return v1_restore(v, p, len);
	default:
		return v2_restore(v, p, len, 4096);
	}
}

/* End a refused restore's session; the device runs at power-on state. */
static int abandon(enum proto pr, struct vdev *v)
{
	struct mig m;

	switch (pr) {
	case REGION:
		mig_find(v, &m);
		return mig_set_state(v, &m, VFIO_MIG_STATE_FAILED) ?:
		       mig_set_state(v, &m, VFIO_MIG_STATE_RUNNING);
	case V1:	/* QEMU 7.2 goes on to RUNNING whatever happened */
		return v1_state(v, VFIO_DEVICE_STATE_V1_RUNNING);
	default:
		return ioctl(v->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	}
}

/* Registers, config space and MSI set from @seed on a running device. */
static void fill(struct vdev *v, unsigned int nr, uint64_t seed, int efd)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		wr64(v, MCOUNT_CTR(i), seed * 1000 + i);
	wr64(v, MCOUNT_STEP, (seed << 33) + 3);
	cfg_write(v, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_write(v, PCI_BASE_ADDRESS_0, 0xfe000000 + (seed << 8), 4);
	cfg_write(v, MCOUNT_MSI_CAP + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
	cfg_write(v, MCOUNT_MSI_CAP + PCI_MSI_DATA_64, 0x4000 + seed, 2);
	msi_on(v, efd);
	tick(v, "7");
	wr32(v, MCOUNT_CMD, MCOUNT_CMD_TICK);
}

static void test_migrate(enum proto pr, const char *type, unsigned int nr)
{
	const char *name = proto_name[pr];
	uint8_t ca[256], cb[256];
	struct stream s = { };
	int efd = efd_new();
	struct vdev a, b;
	char sa[256];

	open_new(&a, type);
	fill(&a, nr, 5 + pr, efd);
	snprintf(sa, sizeof(sa), "%s", state(&a));
	cfg_dump(&a, ca);
	t_ok(save(pr, &a, &s) == 0 && s.len > 256 + 52,
	     "%s, %s: saved, %zu bytes", name, type, s.len);
	open_new(&b, type);
	t_ok(restore(pr, &b, s.buf, s.len) == 0, "%s, %s: restored into a fresh mdev",
	     name, type);
	cfg_dump(&b, cb);
	t_ok(!strcmp(state(&b), sa) && !strcmp(state(&a), sa),
	     "%s, %s: destination state equals the source's ('%s')", name, type,
	     state(&b));
	t_ok(!memcmp(ca, cb, 256), "%s, %s: config space identical", name, type);
	efd_drain(efd);
	t_ok(irq_set_eventfd(&b, VFIO_PCI_MSI_IRQ_INDEX, efd) == 0 &&
	     wr32(&b, MCOUNT_CMD, MCOUNT_CMD_TICK) == 4 && efd_drain(efd) == 1 &&
	     wr32(&a, MCOUNT_CMD, MCOUNT_CMD_TICK) == 4 &&
	     !strcmp(state(&a), state(&b)),
	     "%s, %s: both run on alike; the destination raises MSI", name, type);
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
	close(efd);
}

/* Restoring @p into a fresh mdev of @type fails and applies nothing. */
static void refused(enum proto pr, const char *type, const uint8_t *p,
		    size_t len, const char *what)
{
	uint8_t before[256], after[256];
	struct vdev b;
	int err;

	open_new(&b, type);
	cfg_dump(&b, before);
	err = restore(pr, &b, p, len);
	cfg_dump(&b, after);
	t_ok(err < 0 && !strcmp(state(&b), POWER_ON) &&
	     !memcmp(before, after, 256),
	     "%s: %s refused (%s), the destination keeps its power-on state",
	     proto_name[pr], what, strerror(err < 0 ? -err : 0));
	t_ok(abandon(pr, &b) == 0 && tick(&b, "1") == 0 &&
	     !strcmp(state(&b), "0 0 0 0 0 0 1"),
	     "%s: after the refusal the destination runs", proto_name[pr]);
	vdev_destroy(&b);
}

/* A copy of @s with bytes at @at of its record of @type changed. */
static uint8_t *edit(const struct stream *s, uint32_t type, size_t at,
		     uint64_t val, size_t width)
{
	uint8_t *p = malloc(s->len);
	size_t offs[16], n, i, k;

	if (!p)
		t_bail("out of memory");
	memcpy(p, s->buf, s->len);
	n = stream_records(p, s->len, offs, 16);
	for (i = 0; i < n; i++) {
		uint8_t *rec = p + offs[i];

		if ((uint32_t)(rec[0] | rec[1] << 8 | rec[2] << 16 |
			       (uint32_t)rec[3] << 24) != type)
			continue;
		for (k = 0; k < width; k++)
			rec[16 + at + k] = val >> (8 * k);
		record_reseal(rec);
		return p;
	}
	t_bail("no record of type 0x%x", type);
}

/*
 * A device without device memory: PRE_COPY's first pass is the stream
 * header alone, so initial_bytes starts there and reaches 0 once it is read.
 */
static void test_precopy_counts(void)
{
	struct v2_precopy_info pi, first;
	struct stream s = { };
	struct vdev a;
	int fd = -1, err;

	open_new(&a, TYPE_1);
	if (v2_feature(&a, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		       FEATURE_MIG_DATA_SIZE, NULL, 0)) {
		t_skip("no PRE_COPY on this kernel (before 6.2)",
		       "v2: PRE_COPY's counts without device memory");
		vdev_destroy(&a);
		return;
	}
	err = v2_set_state(&a, ST_PRE_COPY, &fd) ?: v2_precopy_info(fd, &first);
	t_ok(!err && first.initial_bytes > 0 &&
	     first.initial_bytes < 4096 && !first.dirty_bytes,
	     "v2: PRE_COPY starts with the header alone as initial_bytes (%llu)",
	     (unsigned long long)first.initial_bytes);
	v2_read_all(fd, &s, 64, &err);
	t_ok(err == ENOMSG && s.len == first.initial_bytes &&
	     v2_precopy_info(fd, &pi) == 0 && !pi.initial_bytes &&
	     !pi.dirty_bytes,
	     "v2: the header read, both counts are 0");
	if (fd >= 0)
		close(fd);
	v2_set_state(&a, ST_RUNNING, NULL);
	stream_free(&s);
	vdev_destroy(&a);
}

static void test_refusals(enum proto pr)
{
	struct stream s4 = { }, s1 = { };
	struct vdev a;
	uint8_t *p;
	int efd = efd_new();

	open_new(&a, TYPE_4);
	fill(&a, 4, 9, efd);
	t_ok(save(pr, &a, &s4) == 0 && s4.len, "%s: a 4ctr saved", proto_name[pr]);
	vdev_destroy(&a);
	open_new(&a, TYPE_1);
	fill(&a, 1, 10, efd);
	t_ok(save(pr, &a, &s1) == 0 && s1.len, "%s: a 1ctr saved", proto_name[pr]);
	vdev_destroy(&a);
	close(efd);

	refused(pr, TYPE_1, s4.buf, s4.len, "a 4ctr stream into a 1ctr");
	p = edit(&s4, MCOUNT_REC_REGS, MCOUNT_REGS_CTRL, 0x3, 4);
	refused(pr, TYPE_4, p, s4.len, "REGS with a reserved CTRL bit");
	free(p);
	p = edit(&s1, MCOUNT_REC_REGS, MCOUNT_REGS_CTR(1), 1, 8);
	refused(pr, TYPE_1, p, s1.len, "REGS of a 1ctr with CTR1 not 0");
	free(p);
	p = edit(&s1, MCOUNT_REC_CONFIG, PCI_DEVICE_ID, 0x3253, 2);
	refused(pr, TYPE_1, p, s1.len, "CONFIG with another device ID");
	free(p);
	p = edit(&s1, MCOUNT_REC_CONFIG, PCI_INTERRUPT_PIN, 1, 1);
	refused(pr, TYPE_1, p, s1.len, "CONFIG with an interrupt pin");
	free(p);
	stream_free(&s4);
	stream_free(&s1);
}

int main(void)
{
	enum proto pr;

	t_start();
	t_need(PARENT, "mcount_mig");
	test_config();
	test_regs();
	test_irq_info();
	test_msi();
	for (pr = REGION; pr <= V2; pr++) {
		test_migrate(pr, TYPE_1, 1);
		test_migrate(pr, TYPE_4, 4);
		test_refusals(pr);
	}
	test_precopy_counts();
	return t_done();
}
