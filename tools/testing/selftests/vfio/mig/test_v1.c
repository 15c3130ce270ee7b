// SPDX-License-Identifier: GPL-2.0
/*
 * The upstream v1 migration region (QEMU 5.2 to 7.2): discovery the way
 * QEMU probes it, every transition QEMU 7.2 issues, QEMU's exact save and
 * load access sequences (8-byte pieces on the trapped path, the mapping
 * otherwise), a bad stream refused on the data_size write, the transitions
 * that must never fail, and one front-end owning the session at a time.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define OFF_STATE	0
#define OFF_RESERVED	4
#define OFF_PENDING	8
#define OFF_DATA_OFFSET	16
#define OFF_DATA_SIZE	24
#define RUN		VFIO_DEVICE_STATE_V1_RUNNING
#define SAV		VFIO_DEVICE_STATE_V1_SAVING
#define RES		VFIO_DEVICE_STATE_V1_RESUMING
#define MEM_SIZE	(1u << 20)

struct v1 {
	unsigned int index;
	uint64_t size;
	uint32_t flags;
	bool sparse;
	uint64_t area_off, area_size;
	uint8_t *map;
};

/* Find type 3 / subtype 1 as QEMU 7.2 does: argsz 32 first, then grow. */
static bool v1_find(struct vdev *v, struct v1 *r)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	unsigned int i;

	memset(r, 0, sizeof(*r));
	if (ioctl(v->fd, VFIO_DEVICE_GET_INFO, &di))
		return false;
	for (i = 0; i < di.num_regions; i++) {
		struct vfio_region_info *ri = calloc(1, sizeof(*ri));
		uint32_t off;
		bool found = false;

		ri->argsz = sizeof(*ri);
		ri->index = i;
		if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
			free(ri);
			continue;
		}
		if (ri->argsz > sizeof(*ri)) {
			uint32_t argsz = ri->argsz;

			ri = realloc(ri, argsz);
			memset(ri, 0, argsz);
			ri->argsz = argsz;
			ri->index = i;
			if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
				free(ri);
				continue;
			}
		}
		for (off = ri->cap_offset; (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) &&
		     off >= sizeof(*ri) && off + 8 <= ri->argsz;) {
			struct vfio_info_cap_header *h = (void *)((uint8_t *)ri + off);

			if (h->id == VFIO_REGION_INFO_CAP_TYPE) {
				struct vfio_region_info_cap_type *t = (void *)h;

				found = t->type == VFIO_REGION_TYPE_MIGRATION_DEPRECATED &&
					t->subtype == VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED;
			}
			if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
				struct vfio_region_info_cap_sparse_mmap *s = (void *)h;

				r->sparse = s->nr_areas == 1;
				r->area_off = s->areas[0].offset;
				r->area_size = s->areas[0].size;
			}
			if (h->next <= off)
				break;
			off = h->next;
		}
		if (found) {
			r->index = i;
			r->size = ri->size;
			r->flags = ri->flags;
			free(ri);
			return true;
		}
		free(ri);
		r->sparse = false;
	}
	return false;
}

static int rd(struct vdev *v, struct v1 *r, unsigned int off, void *p,
	      size_t n)
{
	ssize_t ret = region_read(v, r->index, off, p, n);

	return ret < 0 ? (int)ret : ret == (ssize_t)n ? 0 : -EIO;
}

static int wr(struct vdev *v, struct v1 *r, unsigned int off,
	      const void *p, size_t n)
{
	ssize_t ret = region_write(v, r->index, off, p, n);

	return ret < 0 ? (int)ret : ret == (ssize_t)n ? 0 : -EIO;
}

static uint32_t state(struct vdev *v, struct v1 *r)
{
	uint32_t s = ~0u;

	rd(v, r, OFF_STATE, &s, 4);
	return s;
}

static int set_state(struct vdev *v, struct v1 *r, uint32_t s)
{
	return wr(v, r, OFF_STATE, &s, 4);
}

static uint64_t rd64(struct vdev *v, struct v1 *r, unsigned int off)
{
	uint64_t x = ~0ull;

	rd(v, r, off, &x, 8);
	return x;
}

/* QEMU's slow path: naturally aligned pieces of 8, 4, 2, 1 bytes. */
static int pieces(struct vdev *v, struct v1 *r, uint64_t off, uint8_t *p,
		  uint64_t len, bool write)
{
	while (len) {
		size_t n = len >= 8 && !(off % 8) ? 8 :
			   len >= 4 && !(off % 4) ? 4 :
			   len >= 2 && !(off % 2) ? 2 : 1;
		int ret = write ? wr(v, r, off, p, n) : rd(v, r, off, p, n);

		if (ret)
			return ret;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* One chunk as vfio_save_buffer() reads it; appends to @s. */
static long save_buffer(struct vdev *v, struct v1 *r, struct stream *s)
{
	uint64_t off = rd64(v, r, OFF_DATA_OFFSET);
	uint64_t size = rd64(v, r, OFF_DATA_SIZE);

	if (off < 32 || off + size > r->size)
		return -ERANGE;
	if (s->len + size > s->cap) {
		s->cap = (s->len + size) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	if (r->map)
		memcpy(s->buf + s->len, r->map + (off - r->area_off), size);
	else if (pieces(v, r, off, s->buf + s->len, size, false))
		return -EIO;
	s->len += size;
	return (long)size;
}

/* vfio_save_complete_precopy(): iterate until pending_bytes is 0. */
static int save_complete(struct vdev *v, struct v1 *r, struct stream *s)
{
	uint64_t pending = rd64(v, r, OFF_PENDING);

	while (pending) {
		long n = save_buffer(v, r, s);

		if (n < 0)
			return (int)n;
		if (!n)
			break;
		pending = rd64(v, r, OFF_PENDING);
	}
	return 0;
}

/* vfio_load_buffer(): chunks no larger than the destination's section. */
static int load(struct vdev *v, struct v1 *r, const uint8_t *p, size_t len,
		size_t chunk)
{
	while (len) {
		uint64_t off = rd64(v, r, OFF_DATA_OFFSET);
		uint64_t n = len < chunk ? len : chunk;
		int ret;

		if (n > r->size - off)
			n = r->size - off;
		if (r->map)
			memcpy(r->map + (off - r->area_off), p, n);
		else if ((ret = pieces(v, r, off, (uint8_t *)p, n, true)))
			return ret;
		ret = wr(v, r, OFF_DATA_SIZE, &n, 8);
		if (ret)
			return ret;
		p += n;
		len -= n;
	}
	return 0;
}

static void v1_map(struct vdev *v, struct v1 *r)
{
	void *p;

	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || !r->sparse)
		return;
	p = mmap(NULL, r->area_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->fd, (off_t)region_pos(v, r->index, r->area_off));
	r->map = p == MAP_FAILED ? NULL : p;
}

static void v1_unmap(struct v1 *r)
{
	if (r->map)
		munmap(r->map, r->area_size);
	r->map = NULL;
}

static void test_discovery(struct vdev *v, bool mmap_type)
{
	struct v1 r;
	bool ok = v1_find(v, &r);

	t_ok(ok && r.index == MTTYM_V1_REGION,
	     "%s: type 3 / subtype 1 found at region %u after QEMU's argsz retry",
	     mmap_type ? "mmap" : "trapped", r.index);
	t_ok(r.size == 4096 + MEM_SIZE &&
	     (r.flags & VFIO_REGION_INFO_FLAG_READ) &&
	     (r.flags & VFIO_REGION_INFO_FLAG_WRITE) &&
	     (r.flags & VFIO_REGION_INFO_FLAG_CAPS),
	     "%s: size %llu, read/write with capabilities",
	     mmap_type ? "mmap" : "trapped", (unsigned long long)r.size);
	if (mmap_type)
		t_ok((r.flags & VFIO_REGION_INFO_FLAG_MMAP) && r.sparse &&
		     r.area_off == 4096 && r.area_size == MEM_SIZE,
		     "mmap: sparse area covers exactly the data section");
	else
		t_ok(!(r.flags & VFIO_REGION_INFO_FLAG_MMAP),
		     "trapped: no mmap offered");
	t_ok(state(v, &r) == RUN && rd64(v, &r, OFF_PENDING) == 0,
	     "default state is RUNNING with nothing pending");
}

static void test_transitions(struct vdev *v)
{
	/* Every transition QEMU 7.2 issues, in an order that reaches each. */
	static const uint32_t walk[] = {
		RUN, RUN | SAV, SAV, SAV, 0, RUN, RUN | SAV, RUN, SAV, RUN,
		RUN, 0, SAV, 0, RUN, RES, RUN, 0, RES, RUN, SAV, RUN,
	};
	static const uint32_t bad[] = { 5, 6, 7, 8, 0x10 | RUN, 0x80000000u };
	struct v1 r;
	unsigned int i;
	int ret;

	v1_find(v, &r);
	for (i = 1; i < sizeof(walk) / sizeof(walk[0]); i++) {
		ret = set_state(v, &r, walk[i]);
		t_ok(!ret && state(v, &r) == walk[i], "%u -> %u succeeds",
		     walk[i - 1], walk[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_ok(set_state(v, &r, bad[i]) == -EINVAL && state(v, &r) == RUN,
		     "write of 0x%x refused, state stays RUNNING", bad[i]);
	set_state(v, &r, RUN | SAV);
	t_ok(set_state(v, &r, RES) == -EINVAL && state(v, &r) == (RUN | SAV),
	     "pre-copy -> RESUMING refused");
	set_state(v, &r, SAV);
	t_ok(set_state(v, &r, RUN | SAV) == -EINVAL && state(v, &r) == SAV,
	     "stop-and-copy -> pre-copy refused");
	set_state(v, &r, RUN);
}

static void test_access_rules(struct vdev *v)
{
	uint64_t x = 0;
	uint32_t y = 0;
	struct v1 r;

	v1_find(v, &r);
	t_ok(rd(v, &r, OFF_STATE, &x, 8) == -EINVAL, "8-byte device_state read refused");
	t_ok(rd(v, &r, OFF_PENDING, &y, 4) == -EINVAL, "4-byte pending_bytes read refused");
	t_ok(rd(v, &r, OFF_DATA_OFFSET + 4, &y, 4) == -EINVAL,
	     "unaligned data_offset read refused");
	t_ok(rd(v, &r, 32, &x, 8) == -EINVAL, "read past the header refused");
	y = 0xffffffff;
	t_ok(rd(v, &r, OFF_RESERVED, &y, 4) == 0 && y == 0,
	     "reserved reads 0");
	t_ok(wr(v, &r, OFF_PENDING, &x, 8) == -EINVAL &&
	     wr(v, &r, OFF_DATA_OFFSET, &x, 8) == -EINVAL,
	     "pending_bytes and data_offset are read-only");
	x = 16;
	t_ok(wr(v, &r, OFF_DATA_SIZE, &x, 8) == -EINVAL,
	     "data_size write outside RESUMING refused");
	t_ok(wr(v, &r, 4096, &x, 8) == -EINVAL,
	     "data section write outside RESUMING refused");
	set_state(v, &r, RUN | SAV);
	x = rd64(v, &r, OFF_DATA_SIZE);
	t_ok(set_state(v, &r, 5) == -EINVAL && rd64(v, &r, OFF_DATA_SIZE) == x,
	     "a refused device_state write keeps the staged chunk (%llu bytes)",
	     (unsigned long long)x);
	rd64(v, &r, OFF_PENDING);
	t_ok(rd64(v, &r, OFF_DATA_SIZE) < x,
	     "reading pending_bytes consumed it: the next chunk is the rest");
	set_state(v, &r, RUN);
	set_state(v, &r, RES);
	x = MEM_SIZE + 1;
	t_ok(wr(v, &r, OFF_DATA_SIZE, &x, 8) == -EINVAL,
	     "data_size larger than the data section refused");
	set_state(v, &r, RUN);
}

/*
 * A live migration in QEMU 7.2's order: pre-copy with device memory
 * changing between iterations, stop-and-copy, then load on @dst.
 */
static void test_migrate(const char *type, bool trapped_pieces)
{
	struct vdev a, b;
	struct v1 ra, rb;
	struct stream s = { };
	struct dev_snap sa, sb;
	uint64_t pending;
	unsigned int iter;
	int ret;

	vdev_create_open(&a, type);
	vdev_create_open(&b, type);
	v1_find(&a, &ra);
	v1_find(&b, &rb);
	if (!trapped_pieces) {
		v1_map(&a, &ra);
		v1_map(&b, &rb);
	}
	dev_fill(&a, 0x40);
	dev_fill(&b, 0x99);

	ret = set_state(&a, &ra, RUN | SAV);
	pending = rd64(&a, &ra, OFF_PENDING);
	t_ok(!ret && pending > MEM_SIZE, "%s: pre-copy, %llu bytes pending",
	     type, (unsigned long long)pending);
	for (iter = 0; iter < 3 && pending; iter++) {
		long n = save_buffer(&a, &ra, &s);
		uint8_t b8 = iter;

		/* The device keeps running: its memory changes. */
		region_write(&a, MTTYM_MEM_REGION, 4096 * 7, &b8, 1);
		if (n <= 0)
			break;
		pending = rd64(&a, &ra, OFF_PENDING);
	}
	t_ok(pending == 4096 + 16 + 8,
	     "%s: after the memory is sent only the re-dirtied page is pending",
	     type);
	dev_fill(&a, 0x41);
	ret = set_state(&a, &ra, SAV);
	ret = ret ?: set_state(&a, &ra, SAV);	/* QEMU writes 2 again */
	ret = ret ?: save_complete(&a, &ra, &s);
	t_ok(!ret && rd64(&a, &ra, OFF_PENDING) == 0,
	     "%s: stop-and-copy drained, stream of %zu bytes", type, s.len);
	t_ok(set_state(&a, &ra, 0) == 0 && state(&a, &ra) == 0,
	     "%s: source stopped after the save", type);

	ret = set_state(&b, &rb, RES);
	ret = ret ?: load(&b, &rb, s.buf, s.len, 65536);
	t_ok(!ret, "%s: destination accepted the stream in 64 KiB chunks", type);
	t_ok(set_state(&b, &rb, RUN) == 0 && state(&b, &rb) == RUN,
	     "%s: destination RESUMING -> RUNNING", type);

	t_ok(set_state(&a, &ra, RUN) == 0, "%s: source resumed", type);
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	if (memcmp(&sa, &sb, sizeof(sa)))
		t_diag("source scr %02x rx %02x digest %08x, destination scr %02x rx %02x digest %08x",
		       sa.scr, sa.rx[0], sa.digest, sb.scr, sb.rx[0], sb.digest);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x41 &&
	     sa.rx[0] == 0x40 && sa.rx[3] == 0x43 && sa.digest,
	     "%s: destination equals source (UART, FIFO, memory, digest %08x)",
	     type, sb.digest);
	v1_unmap(&ra);
	v1_unmap(&rb);
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

/* Save @v completely (stop-and-copy only) into @s and resume it. */
static void save_all(struct vdev *v, struct v1 *r, struct stream *s)
{
	set_state(v, r, SAV);
	save_complete(v, r, s);
	set_state(v, r, 0);
	set_state(v, r, RUN);
}

static void test_bad_stream(void)
{
	struct vdev a, b;
	struct v1 ra, rb;
	struct stream s = { };
	struct dev_snap before, after, fresh;
	uint64_t n = 64;
	int ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	v1_find(&a, &ra);
	v1_find(&b, &rb);
	dev_fill(&a, 0x10);
	save_all(&a, &ra, &s);

	/* Corrupt a byte of the first record's payload. */
	s.buf[40] ^= 1;
	dev_fill(&b, 0x77);
	set_state(&b, &rb, RES);
	ret = load(&b, &rb, s.buf, s.len, 65536);
	t_ok(ret == -EINVAL, "corrupted stream refused on the data_size write");
	t_ok(wr(&b, &rb, OFF_DATA_SIZE, &n, 8) == -EINVAL,
	     "after a refusal nothing more is accepted");
	n = 0;
	t_ok(wr(&b, &rb, OFF_DATA_SIZE, &n, 8) == -EINVAL,
	     "not even a data_size of 0");
	t_ok(set_state(&b, &rb, RUN) == 0 && state(&b, &rb) == RUN,
	     "RESUMING -> RUNNING still succeeds (QEMU 7.2 cannot take a failure)");
	dev_snap(&b, &after);
	t_ok(after.scr == 0 && after.rx[0] == 0,
	     "nothing of the bad stream was applied: device at power-on state");

	/* The same with no data at all. */
	dev_fill(&b, 0x78);
	set_state(&b, &rb, RES);
	t_ok(set_state(&b, &rb, RUN) == 0, "RESUMING -> RUNNING with no data succeeds");
	dev_snap(&b, &fresh);
	t_ok(fresh.scr == 0, "and leaves the device at power-on state");

	/* A truncated stream: all but the last byte. */
	s.buf[40] ^= 1;
	set_state(&b, &rb, RES);
	ret = load(&b, &rb, s.buf, s.len - 1, 65536);
	t_ok(!ret, "a truncated stream's bytes are accepted as they come");
	set_state(&b, &rb, RUN);
	dev_snap(&b, &after);
	t_ok(after.scr == 0, "an incomplete stream is not applied");

	/* Source intact all along. */
	dev_snap(&a, &before);
	t_ok(before.scr == 0x10 && before.rx[0] == 0x10,
	     "the source kept its state");
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

/*
 * A header read whose result cannot be copied out fails with EFAULT and
 * changes nothing: a chunk it would have staged, or a staged chunk that
 * reading pending_bytes would have consumed, is the same afterwards.
 */
static void test_efault(void)
{
	struct vdev a, b;
	struct v1 ra, rb;
	struct stream s = { };
	struct dev_snap sa, sb;
	uint8_t area[2][256];
	uint64_t pend, size, doff;
	int bad = 0, bad_area = 0;
	long n = 1;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	v1_find(&a, &ra);
	v1_find(&b, &rb);
	dev_fill(&a, 0x3c);
	doff = rd64(&a, &ra, OFF_DATA_OFFSET);	/* running: stages nothing */
	set_state(&a, &ra, SAV | RUN);
	pend = rd64(&a, &ra, OFF_PENDING);
	t_ok(region_read(&a, ra.index, OFF_DATA_OFFSET, fault_buffer(), 8) ==
	     -EFAULT && region_read(&a, ra.index, OFF_DATA_SIZE,
				    fault_buffer(), 8) == -EFAULT,
	     "data_offset and data_size into an unmapped buffer: EFAULT");
	t_ok(rd64(&a, &ra, OFF_PENDING) == pend,
	     "nothing was staged or consumed (%llu bytes pending)",
	     (unsigned long long)pend);
	set_state(&a, &ra, SAV);
	while (n > 0) {
		/* Stage a chunk, fail the consuming read, then take it. */
		size = rd64(&a, &ra, OFF_DATA_SIZE);
		if (region_read(&a, ra.index, OFF_PENDING, fault_buffer(), 8) !=
		    -EFAULT || rd64(&a, &ra, OFF_DATA_SIZE) != size)
			bad++;
		n = save_buffer(&a, &ra, &s);
		rd64(&a, &ra, OFF_PENDING);
		/* A failed read that would stage the next one: area untouched. */
		region_read(&a, ra.index, doff, area[0], sizeof(area[0]));
		if (region_read(&a, ra.index, OFF_DATA_OFFSET, fault_buffer(),
				8) != -EFAULT)
			bad++;
		region_read(&a, ra.index, doff, area[1], sizeof(area[1]));
		if (memcmp(area[0], area[1], sizeof(area[0])))
			bad_area++;
	}
	t_ok(!bad && !n, "stop-and-copy with failed pending_bytes reads: %zu bytes",
	     s.len);
	t_ok(!bad_area, "a failed read that stages a chunk leaves the data area as it was");
	set_state(&a, &ra, 0);
	set_state(&a, &ra, RUN);
	set_state(&b, &rb, RES);
	t_ok(load(&b, &rb, s.buf, s.len, 65536) == 0 &&
	     set_state(&b, &rb, RUN) == 0, "that stream restores");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x3c,
	     "the destination equals the source");
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_quiesce_and_owner(void)
{
	struct vdev a;
	struct v1 r;
	struct mig m;
	uint8_t c = 1;
	char path[160], uuid[40];

	vdev_create_open(&a, MDEV_TYPE_1P);
	snprintf(uuid, sizeof(uuid), "%s", a.uuid);
	v1_find(&a, &r);
	mig_find(&a, &m);
	set_state(&a, &r, 0);
	t_ok(region_write(&a, MTTYM_UART0_REGION, UART_SCR, &c, 1) == -EBUSY,
	     "stopped (0): BAR accesses refused with EBUSY");
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/rx",
		 a.uuid);
	t_ok(sysfs_write(path, "0 1 5") == -EBUSY,
	     "stopped (0): the traffic source is refused with EBUSY");
	t_ok(mig_set_state(&a, &m, VFIO_MIG_STATE_SETUP) == -EBUSY,
	     "while v1 owns the session the vfio-mig region is busy");
	set_state(&a, &r, RUN);
	t_ok(region_write(&a, MTTYM_UART0_REGION, UART_SCR, &c, 1) == 1,
	     "running again: BAR accesses work");
	t_ok(mig_set_state(&a, &m, VFIO_MIG_STATE_SETUP) == 0,
	     "v1 idle: the vfio-mig region can start a session");
	t_ok(set_state(&a, &r, RUN | SAV) == -EBUSY && state(&a, &r) == RUN,
	     "while the vfio-mig region owns it, v1 is busy");
	mig_set_state(&a, &m, VFIO_MIG_STATE_RUNNING);
	t_ok(set_state(&a, &r, RUN | SAV) == 0,
	     "session ended: v1 can start one");
	set_state(&a, &r, RUN);
	set_state(&a, &r, RES);
	t_ok(region_write(&a, m.index, m.data_off, path, 16) == -EINVAL,
	     "v1 resuming: the vfio-mig region's data section takes no writes");
	ioctl(a.fd, VFIO_DEVICE_RESET);

	/* Close mid-session: reopen finds the default state. */
	vdev_close(&a);
	t_ok(vdev_open(&a, uuid) == 0, "reopened after close in pre-copy");
	v1_find(&a, &r);
	t_ok(state(&a, &r) == RUN && rd64(&a, &r, OFF_PENDING) == 0,
	     "close ended the v1 session: RUNNING, nothing pending");
	set_state(&a, &r, RUN | SAV);
	t_ok(ioctl(a.fd, VFIO_DEVICE_RESET) == 0 && state(&a, &r) == RUN,
	     "VFIO_DEVICE_RESET returns v1 to RUNNING");
	vdev_destroy(&a);
}

/*
 * The engine's faults on the v1 region (Documentation/mtty-mig.rst,
 * "Fault injection"): only where QEMU 7.2 can fail cleanly.
 */
static void test_faults(void)
{
	struct stream s = { }, s2 = { };
	struct dev_snap sa, sb;
	uint32_t digest, fresh;
	struct vdev a, b;
	struct v1 ra, rb;
	size_t i, diff = 0, where = 0;
	char val[32];
	uint64_t x;
	int ret;

	if (access(FAULT_DIR, F_OK)) {
		t_skip("no " FAULT_DIR " (debugfs)", "v1: the injected faults");
		return;
	}
	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	v1_find(&a, &ra);
	v1_find(&b, &rb);
	fresh = mdev_digest(b.uuid);
	dev_fill(&a, 0x5b);
	digest = mdev_digest(a.uuid);

	/* fail_state */
	t_ok(fault_set(&a, "fail_state", "STOP_COPY") == 0 &&
	     set_state(&a, &ra, RUN | SAV) == 0 &&
	     set_state(&a, &ra, SAV) == -EIO && state(&a, &ra) == (RUN | SAV) &&
	     !strcmp(fault_get(&a, "fail_state"), "none"),
	     "v1 fail_state STOP_COPY: _SAVING|_RUNNING -> _SAVING fails with EIO, the state kept, the fault spent");
	t_ok(set_state(&a, &ra, RUN) == 0 && mdev_digest(a.uuid) == digest,
	     "... _RUNNING again, the device intact");
	/* The file takes only the v2 states the device offers. */
	if (fault_set(&a, "fail_state", "PRE_COPY") == -EINVAL)
		t_skip("no v2 PRE_COPY on this kernel (before 6.2): fail_state refuses the name",
		       "v1 fail_state PRE_COPY");
	else
		t_ok(set_state(&a, &ra, RUN | SAV) == -EIO && state(&a, &ra) == RUN,
		     "v1 fail_state PRE_COPY: _RUNNING -> _SAVING|_RUNNING fails with EIO");
	t_ok(fault_set(&a, "fail_state", "STOP") == 0 &&
	     set_state(&a, &ra, 0) == 0 && set_state(&a, &ra, RUN) == 0 &&
	     !strcmp(fault_get(&a, "fail_state"), "STOP"),
	     "v1 fail_state STOP: plain stop and run writes never fail, the fault stays armed");
	t_ok(fault_set(&a, "fail_state", "STOP_COPY") == 0 &&
	     set_state(&a, &ra, SAV) == 0 &&
	     !strcmp(fault_get(&a, "fail_state"), "STOP_COPY") &&
	     set_state(&a, &ra, 0) == 0 && set_state(&a, &ra, RUN) == 0,
	     "v1 fail_state STOP_COPY: _RUNNING -> _SAVING (QEMU 7.2's savevm) never fails, the fault stays armed");
	fault_set(&a, "fail_state", "none");
	t_ok(fault_set(&b, "fail_state", "RESUMING") == 0 &&
	     set_state(&b, &rb, RES) == -EIO && state(&b, &rb) == RUN,
	     "v1 fail_state RESUMING: the write fails with EIO, _RUNNING kept");

	/* stall_ms */
	t_ok(fault_set(&a, "stall_ms", "300") == 0 &&
	     set_state(&a, &ra, RUN) == 0 &&
	     !strcmp(fault_get(&a, "stall_ms"), "300"),
	     "v1 stall_ms: a write that changes nothing leaves it armed");
	t_ok(fault_set(&a, "stall_ms", "0") == 0 && set_state(&a, &ra, SAV) == 0 &&
	     fault_set(&a, "stall_ms", "300") == 0 &&
	     set_state(&a, &ra, RUN | SAV) == -EINVAL &&
	     !strcmp(fault_get(&a, "stall_ms"), "300"),
	     "v1 stall_ms: a refused arc (_SAVING -> _SAVING|_RUNNING) leaves it armed");
	t_ok(set_state(&a, &ra, 0) == 0 && !strcmp(fault_get(&a, "stall_ms"), "0") &&
	     set_state(&a, &ra, RUN) == 0,
	     "v1 stall_ms: the next allowed change spends it");

	/*
	 * fail_save_after one byte short of the whole stream: the chunks
	 * before the last go out (a 1 MiB data section: the stream of a
	 * 1 MiB device is two chunks), the last one fails.
	 */
	save_all(&a, &ra, &s2);
	snprintf(val, sizeof(val), "%zu", s2.len - 1);
	t_ok(fault_set(&a, "fail_save_after", val) == 0 &&
	     set_state(&a, &ra, SAV) == 0,
	     "v1 fail_save_after %s (the stream is %zu bytes): stop-and-copy",
	     val, s2.len);
	ret = save_complete(&a, &ra, &s);
	t_ok(ret < 0 && s.len > 0 && s.len < s2.len &&
	     !memcmp(s.buf, s2.buf, s.len),
	     "v1 fail_save_after: %zu bytes in whole chunks, as a clean save's, then a failure",
	     s.len);
	t_ok(rd(&a, &ra, OFF_DATA_OFFSET, &x, 8) == -EIO &&
	     rd(&a, &ra, OFF_DATA_SIZE, &x, 8) == -EIO,
	     "v1 fail_save_after: the data_offset and data_size reads fail with EIO, again and again");
	t_ok(set_state(&a, &ra, 0) == 0 && set_state(&a, &ra, RUN) == 0 &&
	     mdev_digest(a.uuid) == digest,
	     "v1 fail_save_after: leaving the save keeps the device's state");
	stream_free(&s);
	save_all(&a, &ra, &s);
	t_ok(s.len == s2.len && !memcmp(s.buf, s2.buf, s.len),
	     "v1 fail_save_after: one shot, the next save is whole");

	/* flip_byte, then the stream into b: refused on data_size */
	stream_free(&s);
	t_ok(fault_set(&a, "flip_byte", "5000") == 0, "v1 flip_byte 5000 armed");
	save_all(&a, &ra, &s);
	for (i = 0; i < s.len && i < s2.len; i++) {
		if (s.buf[i] != s2.buf[i]) {
			diff++;
			where = i;
		}
	}
	t_ok(s.len == s2.len && diff == 1 && where == 5000 &&
	     (s.buf[where] ^ s2.buf[where]) == 0xff,
	     "v1 flip_byte: the stream differs from a clean one in byte %zu only, by 0xff",
	     where);
	ret = set_state(&b, &rb, RES);
	ret = ret ?: load(&b, &rb, s.buf, s.len, 65536);
	t_ok(ret == -EINVAL, "v1 flip_byte: the destination refuses it on a data_size write");
	set_state(&b, &rb, RUN);
	t_ok(mdev_digest(b.uuid) == fresh, "... and is at power-on state");

	/* fail_resume: a clean stream refused at its first data_size write */
	t_ok(fault_set(&b, "fail_resume", "1") == 0 &&
	     set_state(&b, &rb, RES) == 0 &&
	     !strcmp(fault_get(&b, "fail_resume"), "0"),
	     "v1 fail_resume: armed, taken by the resume session");
	t_ok(load(&b, &rb, s2.buf, s2.len, 65536) == -EINVAL,
	     "v1 fail_resume: a clean stream's first data_size write refused with EINVAL");
	t_ok(set_state(&b, &rb, RUN) == 0 && mdev_digest(b.uuid) == fresh,
	     "v1 fail_resume: _RUNNING, the device at power-on state");
	ret = set_state(&b, &rb, RES);
	ret = ret ?: load(&b, &rb, s2.buf, s2.len, 65536);
	ret = ret ?: set_state(&b, &rb, RUN);
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!ret && !memcmp(&sa, &sb, sizeof(sa)),
	     "v1 fail_resume: one shot, the same stream restores next time");
	stream_free(&s);
	stream_free(&s2);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

int main(void)
{
	struct vdev v;

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P);
	test_discovery(&v, false);
	test_transitions(&v);
	test_access_rules(&v);
	vdev_destroy(&v);
	vdev_create_open(&v, MDEV_TYPE_1P_MMAP);
	test_discovery(&v, true);
	vdev_destroy(&v);
	test_migrate(MDEV_TYPE_1P, true);
	test_migrate(MDEV_TYPE_1P_MMAP, false);
	test_bad_stream();
	test_efault();
	test_quiesce_and_owner();
	test_faults();
	return t_done();
}
