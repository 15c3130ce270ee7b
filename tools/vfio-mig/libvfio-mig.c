// SPDX-License-Identifier: GPL-2.0
/*
 * libvfio-mig: device access and the saved-device container.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "libvfio-mig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

static _Thread_local char errbuf[512];

const char *vmig_error(void)
{
	return errbuf;
}

void vmig_set_error(const char *msg)
{
	snprintf(errbuf, sizeof(errbuf), "%s", msg);
}

static int fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	if (err && n < sizeof(errbuf))
		snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", strerror(err));
	return err ? -err : -EINVAL;	/* no errno: the input was bad */
}

static const char *const state_names[VFIO_MIG_NUM_STATES] = {
	"NONE", "RUNNING", "SETUP", "PRECOPY", "STOPNCOPY", "SAVE_COMPLETED",
	"RESUME", "RESUME_COMPLETED", "FAILED", "CANCELLED",
};

const char *vmig_state_name(uint32_t state)
{
	return state < VFIO_MIG_NUM_STATES ? state_names[state] : "?";
}

int vmig_parse_id(const char *id, char uuid[37])
{
	size_t len = strlen(id);
	const char *s;
	char tmp[37];
	int i;

	/* A path may end in slashes, as a shell's completion leaves it. */
	while (len > 1 && id[len - 1] == '/')
		len--;
	for (s = id + len; s > id && s[-1] != '/'; s--)
		;
	for (i = 0; i < 36 && s + i < id + len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			break;
		tmp[i] = tolower((unsigned char)s[i]);
	}
	uuid[0] = 0;	/* on failure: no UUID, not a part of one */
	if (i < 36 || s + 36 != id + len)
		return fail(0, "'%s' is not an mdev UUID (8-4-4-4-12 hexadecimal digits) or a sysfs path ending in one",
			    id);
	tmp[36] = 0;
	memcpy(uuid, tmp, sizeof(tmp));
	return 0;
}

/* The file position of @off in region @index, or -EINVAL. */
static int region_pos(const struct vmig_dev *d, unsigned int index,
		      uint64_t off, size_t len, off_t *pos)
{
	uint64_t base;

	if (index >= d->num_regions || d->region_off[index] == VMIG_NO_REGION)
		return -EINVAL;
	base = d->region_off[index];
	if (off > (uint64_t)INT64_MAX - base ||
	    len > (uint64_t)INT64_MAX - base - off)
		return -EINVAL;
	*pos = (off_t)(base + off);
	return 0;
}

int vmig_region_read(struct vmig_dev *d, unsigned int index, uint64_t off,
		     void *buf, size_t len)
{
	off_t pos;
	ssize_t n;
	int err = region_pos(d, index, off, len, &pos);

	if (err)
		return err;
	n = pread(d->fd, buf, len, pos);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int vmig_region_write(struct vmig_dev *d, unsigned int index, uint64_t off,
		      const void *buf, size_t len)
{
	off_t pos;
	ssize_t n;
	int err = region_pos(d, index, off, len, &pos);

	if (err)
		return err;
	n = pwrite(d->fd, buf, len, pos);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

uint64_t vmig_region_size(struct vmig_dev *d, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return 0;
	return ri.size;
}

/* Every region's file offset, as the kernel reports it. */
static int read_regions(struct vmig_dev *d)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	unsigned int i;

	if (ioctl(d->fd, VFIO_DEVICE_GET_INFO, &di))
		return fail(errno, "VFIO_DEVICE_GET_INFO");
	if (di.num_regions > VMIG_MAX_REGIONS)
		return fail(E2BIG, "device %s has %u regions, more than %u",
			    d->uuid, di.num_regions, VMIG_MAX_REGIONS);
	d->num_regions = di.num_regions;
	for (i = 0; i < d->num_regions; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		d->region_off[i] = VMIG_NO_REGION;
		if (!ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) &&
		    ri.offset <= (uint64_t)INT64_MAX)
			d->region_off[i] = ri.offset;
	}
	return 0;
}

/* Find the migration region by its type capability. */
static int find_region(struct vmig_dev *d, bool *can_mmap)
{
	unsigned int i;

	for (i = VFIO_PCI_NUM_REGIONS; i < d->num_regions; i++) {
		struct vfio_region_info probe = { .argsz = sizeof(probe),
						  .index = i };
		struct vfio_region_info *ri;
		uint32_t off;
		bool mig = false, sparse = false;

		if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &probe) ||
		    !(probe.flags & VFIO_REGION_INFO_FLAG_CAPS) ||
		    probe.argsz < sizeof(probe) || probe.argsz > 65536)
			continue;
		ri = calloc(1, probe.argsz);
		if (!ri)
			return fail(ENOMEM, "region info");
		ri->argsz = probe.argsz;
		ri->index = i;
		if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
			free(ri);
			continue;
		}
		for (off = ri->cap_offset;
		     off >= sizeof(*ri) &&
		     off + sizeof(struct vfio_info_cap_header) <= ri->argsz;) {
			struct vfio_info_cap_header *h = (void *)((uint8_t *)ri + off);

			if (h->id == VFIO_REGION_INFO_CAP_TYPE &&
			    off + sizeof(struct vfio_region_info_cap_type) <= ri->argsz) {
				struct vfio_region_info_cap_type *t = (void *)h;

				mig = t->type == VFIO_MIG_REGION_TYPE &&
				      t->subtype == VFIO_MIG_REGION_SUBTYPE;
			}
			if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
				sparse = true;
			if (h->next <= off)
				break;
			off = h->next;
		}
		if (mig) {
			d->index = i;
			d->region_size = ri->size;
			*can_mmap = sparse &&
				    (ri->flags & VFIO_REGION_INFO_FLAG_MMAP);
			free(ri);
			return 0;
		}
		free(ri);
	}
	return fail(0, "device %s has no vfio-mig migration region", d->uuid);
}

static int read_type(struct vmig_dev *d)
{
	char path[128], link[512];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/mdev_type",
		 d->uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	if (strlen(name) >= sizeof(d->type))
		return -ENAMETOOLONG;
	memcpy(d->type, name, strlen(name) + 1);
	return 0;
}

int vmig_open(struct vmig_dev *d, const char *id, size_t guest_size,
	      bool use_mmap)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[300], link[256];
	bool can_mmap = false;
	const char *group;
	ssize_t n;
	int err;

	memset(d, 0, sizeof(*d));
	d->container = d->group = d->fd = -1;
	err = vmig_parse_id(id, d->uuid);
	if (err)
		return err;
	if (guest_size % VMIG_PAGE)
		return fail(0, "guest memory size must be a multiple of 4096");

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group",
		 d->uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return fail(errno, "no mdev %s", d->uuid);
	link[n] = 0;
	group = strrchr(link, '/');
	group = group ? group + 1 : link;
	read_type(d);

	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0) {
		err = fail(errno, "cannot open %s", path);
		goto out;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		err = fail(EBUSY, "VFIO group %s is not usable", group);
		goto out;
	}
	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0 ||
	    ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		err = fail(errno, "cannot set up a type1 container");
		goto out;
	}
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->uuid);
	if (d->fd < 0) {
		err = fail(errno, "cannot open device %s (is it in use?)",
			   d->uuid);
		goto out;
	}
	err = read_regions(d);
	if (!err)
		err = find_region(d, &can_mmap);
	if (err)
		goto out;
	d->can_mmap = can_mmap;
	d->data_off = 0;
	err = vmig_region_read(d, d->index, VFIO_MIG_OFF_DATA_OFFSET,
			       &d->data_off, 8);
	if (err || d->data_off < VFIO_MIG_INFO_SIZE ||
	    d->data_off >= d->region_size) {
		err = fail(err ? -err : EPROTO, "bad data section offset");
		goto out;
	}
	d->data_size = d->region_size - d->data_off;
	if (use_mmap && can_mmap) {
		void *p = mmap(NULL, d->data_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, d->fd,
			       (off_t)(d->region_off[d->index] + d->data_off));

		if (p == MAP_FAILED) {
			err = fail(errno, "cannot map the data section");
			goto out;
		}
		d->map = p;
		d->mmap = true;
	} else {
		d->bounce = malloc(d->data_size);
	}
	d->dirty_bits = malloc(d->data_size);
	if ((!d->map && !d->bounce) || !d->dirty_bits) {
		err = fail(ENOMEM, "data section buffers");
		goto out;
	}
	if (guest_size) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ |
				 VFIO_DMA_MAP_FLAG_WRITE,
			.iova = VMIG_GUEST_IOVA,
			.size = guest_size,
		};
		void *p = mmap(NULL, guest_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			err = fail(errno, "cannot allocate guest memory");
			goto out;
		}
		d->guest = p;
		d->guest_size = guest_size;
		memset(p, 0, guest_size);
		map.vaddr = (uintptr_t)p;
		if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &map)) {
			err = fail(errno, "cannot map guest memory for DMA");
			goto out;
		}
	}
	return 0;
out:
	vmig_close(d);
	return err;
}

void vmig_close(struct vmig_dev *d)
{
	if (d->map)
		munmap(d->map, d->data_size);
	free(d->bounce);
	free(d->dirty_bits);
	if (d->fd >= 0)
		close(d->fd);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	if (d->guest)
		munmap(d->guest, d->guest_size);
	memset(d, 0, sizeof(*d));
	d->fd = d->group = d->container = -1;
}

int vmig_set_state(struct vmig_dev *d, uint32_t state)
{
	int err = vmig_region_write(d, d->index, VFIO_MIG_OFF_DEVICE_STATE,
				    &state, 4);

	if (err)
		return fail(-err, "device_state %s refused",
			    vmig_state_name(state));
	return 0;
}

int vmig_get_state(struct vmig_dev *d, uint32_t *state)
{
	int err = vmig_region_read(d, d->index, VFIO_MIG_OFF_DEVICE_STATE,
				   state, 4);

	return err ? fail(-err, "device_state read") : 0;
}

int vmig_pending(struct vmig_dev *d, uint64_t pending[3])
{
	uint64_t p[4];
	int err = vmig_region_read(d, d->index, VFIO_MIG_OFF_PENDING, p, 32);

	if (err)
		return fail(-err, "pending read");
	memcpy(pending, p, 3 * sizeof(uint64_t));
	return 0;
}

int vmig_set_threshold(struct vmig_dev *d, uint64_t threshold)
{
	int err = vmig_region_write(d, d->index, VFIO_MIG_OFF_THRESHOLD_SIZE,
				    &threshold, 8);

	return err ? fail(-err, "threshold_size write") : 0;
}

long vmig_get_chunk(struct vmig_dev *d, const uint8_t **buf)
{
	uint64_t data[2];
	int err = vmig_region_read(d, d->index, VFIO_MIG_OFF_DATA, data, 16);

	if (err)
		return fail(-err, "Get buffer");
	if (!data[1])
		return 0;
	/* Follow data.offset, and trust nothing about it. */
	if (data[0] < d->data_off || data[0] > d->region_size ||
	    data[1] > d->region_size - data[0])
		return fail(EPROTO, "Get buffer returned a chunk outside the data section");
	if (d->map) {
		*buf = d->map + (data[0] - d->data_off);
		return (long)data[1];
	}
	err = vmig_region_read(d, d->index, data[0], d->bounce, data[1]);
	if (err)
		return fail(-err, "data section read");
	*buf = d->bounce;
	return (long)data[1];
}

int vmig_put(struct vmig_dev *d, const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = len < d->data_size ? len : d->data_size;
		uint64_t data[2] = { d->data_off, n };
		int err;

		if (d->map)
			memcpy(d->map, p, n);
		else if ((err = vmig_region_write(d, d->index, d->data_off,
						  p, n)))
			return fail(-err, "data section write");
		err = vmig_region_write(d, d->index, VFIO_MIG_OFF_DATA, data,
					16);
		if (err)
			return fail(-err, "the device refused the stream");
		p += n;
		len -= n;
	}
	return 0;
}

long vmig_dirty_sync(struct vmig_dev *d, uint64_t *bitmap)
{
	uint64_t q[3] = { VMIG_GUEST_IOVA, d->guest_size / VMIG_PAGE, 0 };
	uint64_t done = 0, copied, w;
	const uint64_t *words;
	long count = 0;
	int err;

	if (!d->guest_size)
		return 0;
	err = vmig_region_write(d, d->index, VFIO_MIG_OFF_DIRTY_PFNS, q, 24);
	if (err)
		return fail(-err, "dirty_pfns query");
	for (;;) {
		err = vmig_region_read(d, d->index, VFIO_MIG_OFF_DIRTY_COPIED,
				       &copied, 8);
		if (err)
			return fail(-err, "dirty_pfns read");
		if (!copied)
			break;
		if (copied > q[1] - done ||
		    (copied + 63) / 64 * 8 > d->data_size)
			return fail(EPROTO, "dirty_pfns reported too much");
		/* The bitmap sits at the start of the data section. */
		words = d->map ? (const uint64_t *)d->map : d->dirty_bits;
		if (!d->map) {
			err = vmig_region_read(d, d->index, d->data_off,
					       d->dirty_bits,
					       (copied + 63) / 64 * 8);
			if (err)
				return fail(-err, "dirty bitmap read");
		}
		for (w = 0; w < (copied + 63) / 64; w++) {
			uint64_t bits = words[w];

			while (bits) {
				uint64_t pfn = done + w * 64 +
					       __builtin_ctzll(bits);

				bits &= bits - 1;
				if (pfn >= done + copied)
					break;
				if (!(bitmap[pfn / 64] >> (pfn % 64) & 1))
					count++;
				bitmap[pfn / 64] |= 1ULL << (pfn % 64);
			}
		}
		done += copied;
	}
	return count;
}

/* --- container ---------------------------------------------------------- */

uint32_t vmig_crc32c(uint32_t crc, const void *p, size_t len)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1]) {
		uint32_t i, k, c;

		for (i = 0; i < 256; i++) {
			for (c = i, k = 0; k < 8; k++)
				c = c >> 1 ^ (0x82f63b78 & (0 - (c & 1)));
			table[i] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *b++) & 0xff] ^ crc >> 8;
	return ~crc;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int write_all(struct vmig_io *io, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(io->fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io->err = n < 0 ? errno : EIO;
			return fail(io->err, "write");
		}
		b += n;
		len -= n;
		io->bytes += n;
	}
	return 0;
}

/* 0, or -EPIPE at a clean end of input before any byte. */
static int read_all(struct vmig_io *io, void *p, size_t len)
{
	uint8_t *b = p;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(io->fd, b + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			io->err = errno;
			return fail(errno, "read");
		}
		if (n == 0) {
			fail(0, "the saved device is truncated");
			return -EPIPE;
		}
		got += n;
		io->bytes += n;
	}
	return 0;
}

/*
 * Header: magic (8), version (u32), header size (u32), guest memory size
 * (u64), mdev type (64, NUL padded), CRC32C of the preceding 88 bytes.
 */
#define HDR_SIZE	92

int vmig_write_header(struct vmig_io *io, const struct vmig_file_info *fi)
{
	uint8_t h[HDR_SIZE] = { 0 };

	memcpy(h, VMIG_FILE_MAGIC, 8);
	put_le(h + 8, VMIG_FILE_VERSION, 4);
	put_le(h + 12, HDR_SIZE, 4);
	put_le(h + 16, fi->guest_size, 8);
	memcpy(h + 24, fi->type, strnlen(fi->type, 63));
	put_le(h + 88, vmig_crc32c(0, h, 88), 4);
	return write_all(io, h, sizeof(h));
}

int vmig_read_header(struct vmig_io *io, struct vmig_file_info *fi)
{
	uint8_t h[HDR_SIZE];
	int err = read_all(io, h, sizeof(h));

	if (err)
		return err;
	if (memcmp(h, VMIG_FILE_MAGIC, 8))
		return fail(0, "not a saved vfio-mig device (bad magic)");
	if (get_le(h + 8, 4) != VMIG_FILE_VERSION ||
	    get_le(h + 12, 4) != HDR_SIZE)
		return fail(0, "saved device format version %u is not supported",
			    (unsigned int)get_le(h + 8, 4));
	if (get_le(h + 88, 4) != vmig_crc32c(0, h, 88))
		return fail(0, "the saved device's header is corrupted");
	fi->guest_size = get_le(h + 16, 8);
	memcpy(fi->type, h + 24, 63);
	fi->type[63] = 0;
	if (fi->guest_size % VMIG_PAGE || fi->guest_size > (1ULL << 40))
		return fail(0, "the saved device has a bad guest memory size");
	return 0;
}

/* Section: type (u32), CRC32C of the payload (u32), length (u64), payload. */
int vmig_write_section(struct vmig_io *io, uint32_t type, const void *p,
		       size_t len)
{
	uint8_t h[16];
	int err;

	put_le(h, type, 4);
	put_le(h + 4, vmig_crc32c(0, p, len), 4);
	put_le(h + 8, len, 8);
	err = write_all(io, h, sizeof(h));
	return err ? err : write_all(io, p, len);
}

int vmig_read_section(struct vmig_io *io, uint32_t *type, const uint8_t **p,
		      size_t *len)
{
	uint8_t h[16];
	uint64_t n;
	int err = read_all(io, h, sizeof(h));

	if (err)
		return err;
	*type = get_le(h, 4);
	n = get_le(h + 8, 8);
	if (*type < VMIG_SEC_DEVICE || *type > VMIG_SEC_END ||
	    n > VMIG_SEC_MAX)
		return fail(0, "the saved device has a bad section (type %u, %llu bytes)",
			    *type, (unsigned long long)n);
	if (n > io->cap) {
		uint8_t *b = realloc(io->buf, n);

		if (!b)
			return fail(ENOMEM, "section buffer");
		io->buf = b;
		io->cap = n;
	}
	err = read_all(io, io->buf, n);
	if (err)
		return err;
	if (get_le(h + 4, 4) != vmig_crc32c(0, io->buf, n))
		return fail(0, "the saved device is corrupted (section CRC)");
	*p = io->buf;
	*len = n;
	return 0;
}

void vmig_io_free(struct vmig_io *io)
{
	free(io->buf);
	io->buf = NULL;
	io->cap = 0;
}
