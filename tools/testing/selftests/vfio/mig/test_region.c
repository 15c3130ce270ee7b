// SPDX-License-Identifier: GPL-2.0
/*
 * The migration region's contract, once per mdev type of both sample
 * drivers, written with kselftest_harness.h: one fixture (a source and a
 * destination device of the variant's type) and one variant per type.
 * Region offsets come from VFIO_DEVICE_GET_REGION_INFO, protocol support
 * from VFIO_DEVICE_FEATURE_PROBE.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mcount-mig.h"
#include "mtty-mig.h"
#include "vfio_test.h"

#define MCOUNT_PARENT	"/sys/class/mdev_bus/mcount_mig"

/* Set buffers of the data section's size. */
static const size_t whole[] = { 0 };

FIXTURE(mig) {
	struct vdev src, dst;
	struct mig msrc, mdst;
};

/*
 * @mark_region/@mark_off: a 64-bit location of device state that a
 * migration carries (device memory, or a counter's step register).
 */
FIXTURE_VARIANT(mig) {
	const char *parent;
	const char *type;
	bool mmap;
	unsigned int mark_region;
	uint64_t mark_off;
};

FIXTURE_VARIANT_ADD(mig, mtty_1port) {
	.parent = MDEV_PARENT, .type = MDEV_TYPE_1P,
	.mark_region = MTTYM_MEM_REGION, .mark_off = 4096,
};
FIXTURE_VARIANT_ADD(mig, mtty_1port_mmap) {
	.parent = MDEV_PARENT, .type = MDEV_TYPE_1P_MMAP, .mmap = true,
	.mark_region = MTTYM_MEM_REGION, .mark_off = 4096,
};
FIXTURE_VARIANT_ADD(mig, mtty_2port) {
	.parent = MDEV_PARENT, .type = MDEV_TYPE_2P,
	.mark_region = MTTYM_MEM_REGION, .mark_off = 8,
};
FIXTURE_VARIANT_ADD(mig, mtty_1port_16m) {
	.parent = MDEV_PARENT, .type = MDEV_TYPE_16M,
	.mark_region = MTTYM_MEM_REGION, .mark_off = (16u << 20) - 8,
};
FIXTURE_VARIANT_ADD(mig, mcount_1ctr) {
	.parent = MCOUNT_PARENT, .type = "mcount_mig-1ctr",
	.mark_region = MCOUNT_REG_REGION, .mark_off = MCOUNT_STEP,
};
FIXTURE_VARIANT_ADD(mig, mcount_4ctr) {
	.parent = MCOUNT_PARENT, .type = "mcount_mig-4ctr",
	.mark_region = MCOUNT_REG_REGION, .mark_off = MCOUNT_STEP,
};

FIXTURE_SETUP(mig)
{
	memset(self, 0, sizeof(*self));
	self->src.fd = self->dst.fd = -1;
	if (access(variant->parent, F_OK))
		SKIP(return, "%s is not loaded (no %s)",
		     strrchr(variant->parent, '/') + 1, variant->parent);
	vdev_create_open_on(&self->src, variant->parent, variant->type);
	vdev_create_open_on(&self->dst, variant->parent, variant->type);
	mig_find(&self->src, &self->msrc);
	mig_find(&self->dst, &self->mdst);
}

FIXTURE_TEARDOWN(mig)
{
	if (self->src.fd >= 0)
		vdev_destroy(&self->src);
	if (self->dst.fd >= 0)
		vdev_destroy(&self->dst);
}

static uint64_t mark_get(struct vdev *v, const FIXTURE_VARIANT(mig) *variant)
{
	uint64_t val = 0;

	if (region_read(v, variant->mark_region, variant->mark_off, &val, 8) != 8)
		return ~0ull;
	return val;
}

static int mark_set(struct vdev *v, const FIXTURE_VARIANT(mig) *variant,
		    uint64_t val)
{
	return region_write(v, variant->mark_region, variant->mark_off, &val,
			    8) == 8 ? 0 : -EIO;
}

/* The region is found by its type capability, at the offset the kernel gives. */
TEST_F(mig, discovery)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri),
				       .index = self->msrc.index };

	ASSERT_EQ(0, ioctl(self->src.fd, VFIO_DEVICE_GET_REGION_INFO, &ri));
	EXPECT_EQ(ri.offset, region_pos(&self->src, self->msrc.index, 0));
	EXPECT_EQ(ri.size, self->msrc.size);
	EXPECT_GE(self->msrc.data_off, VFIO_MIG_INFO_SIZE);
	EXPECT_LT(self->msrc.data_off, self->msrc.size);
	EXPECT_EQ(variant->mmap, self->msrc.mmap);
	/* No migration session yet. */
	EXPECT_EQ(VFIO_MIG_STATE_NONE, mig_state(&self->src, &self->msrc));
}

/* The device state a save carries arrives whole in the destination. */
TEST_F(mig, save_and_restore)
{
	struct stream s = { 0 };

	ASSERT_EQ(0, mark_set(&self->src, variant, 0x5a17c0de0badf00dull));
	ASSERT_EQ(0, mark_set(&self->dst, variant, 0x1111111111111111ull));
	ASSERT_EQ(0, mig_save(&self->src, &self->msrc, &s));
	EXPECT_EQ(VFIO_MIG_STATE_SAVE_COMPLETED,
		  mig_state(&self->src, &self->msrc));
	ASSERT_GT(s.len, 0);
	EXPECT_EQ(0, mig_restore(&self->dst, &self->mdst, s.buf, s.len, whole));
	EXPECT_EQ(VFIO_MIG_STATE_RUNNING, mig_state(&self->dst, &self->mdst));
	EXPECT_EQ(0x5a17c0de0badf00dull, mark_get(&self->dst, variant));
	stream_free(&s);
}

/*
 * A stream with one byte changed is refused, none of it is applied, and
 * the dropped resume leaves the destination in its power-on state (the
 * spec's FAILED/CANCELLED).
 */
TEST_F(mig, refused_stream_applies_nothing)
{
	struct stream s = { 0 };

	ASSERT_EQ(0, mark_set(&self->src, variant, 0x2222222222222222ull));
	ASSERT_EQ(0, mark_set(&self->dst, variant, 0x3333333333333333ull));
	ASSERT_EQ(0, mig_save(&self->src, &self->msrc, &s));
	ASSERT_GT(s.len, 16);
	s.buf[s.len / 2] ^= 0x40;
	EXPECT_NE(0, mig_restore(&self->dst, &self->mdst, s.buf, s.len, whole));
	if (mig_state(&self->dst, &self->mdst) != VFIO_MIG_STATE_NONE)
		EXPECT_EQ(0, mig_set_state(&self->dst, &self->mdst,
					   VFIO_MIG_STATE_CANCELLED));
	EXPECT_EQ(0, mark_get(&self->dst, variant));
	stream_free(&s);
}

/* An unknown state is refused with EINVAL and the state stays. */
TEST_F(mig, unknown_state_refused)
{
	EXPECT_EQ(-EINVAL, mig_set_state(&self->src, &self->msrc, 99));
	EXPECT_EQ(VFIO_MIG_STATE_NONE, mig_state(&self->src, &self->msrc));
}

/* The same device also speaks the upstream v2 protocol, as probed. */
TEST_F(mig, v2_probe)
{
	uint64_t flags = 0;

	EXPECT_EQ(0, v2_feature(&self->src, VFIO_DEVICE_FEATURE_PROBE |
				VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIGRATION, NULL, 0));
	ASSERT_EQ(0, v2_feature(&self->src, VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIGRATION,
				&flags, sizeof(flags)));
	EXPECT_TRUE((flags & VFIO_MIGRATION_STOP_COPY) != 0);
}

int main(int argc, char **argv)
{
	if (access(MDEV_PARENT, F_OK) && access(MCOUNT_PARENT, F_OK)) {
		ksft_print_header();	/* the harness prints it when it runs */
		ksft_exit_skip("neither mtty_mig nor mcount_mig is loaded: modprobe them first\n");
	}
	return test_harness_run(argc, argv);
}
