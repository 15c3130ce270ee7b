// SPDX-License-Identifier: GPL-2.0
/*
 * Save real device streams as seeds for the stream fuzzer (run in the
 * test VM by `make fuzz-seeds`): mtty-mig devices of the two types the
 * fuzzer's fake device mimics, with state set, saved through the vfio-mig
 * region with pre-copy (so pages repeat) and through the v2 protocol.
 *
 * usage: save-seeds DIR
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtty-mig.h"
#include "vfio_test.h"

static void put(const char *dir, const char *name, const struct stream *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f))
		t_bail("cannot write %s", path);
	printf("%s: %zu bytes\n", path, s->len);
}

int main(int argc, char **argv)
{
	struct stream s = { 0 };
	struct vdev v;
	struct mig m;
	uint8_t page[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: save-seeds DIR\n");
		return 2;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	mig_find(&v, &m);
	dev_fill(&v, 0x2a);
	memset(page, 0xa5, sizeof(page));
	region_write(&v, MTTYM_MEM_REGION, 5 * 4096, page, sizeof(page));
	if (mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP) ||
	    mig_set_state(&v, &m, VFIO_MIG_STATE_PRECOPY) ||
	    mig_get_chunk(&v, &m, &s) <= 0)
		t_bail("pre-copy failed");
	/* Dirty two pages again: the stream then carries them twice. */
	region_write(&v, MTTYM_MEM_REGION, 3 * 4096, page, 64);
	region_write(&v, MTTYM_MEM_REGION, 5 * 4096, "seed", 4);
	while (mig_read64(&v, &m, VFIO_MIG_OFF_PRECOPY_ONLY))
		if (mig_get_chunk(&v, &m, &s) <= 0)
			t_bail("pre-copy failed");
	if (mig_set_state(&v, &m, VFIO_MIG_STATE_STOPNCOPY))
		t_bail("STOPNCOPY failed");
	while (mig_get_chunk(&v, &m, &s) > 0)
		;
	mig_set_state(&v, &m, VFIO_MIG_STATE_SAVE_COMPLETED);
	put(argv[1], "1port-1M-precopy.vmig", &s);
	stream_free(&s);
	vdev_destroy(&v);

	vdev_create_open(&v, MDEV_TYPE_2P);
	dev_fill(&v, 0x5d);
	uart_out(&v, 1, 7, 0x99);
	if (v2_save(&v, &s, 65536))
		t_bail("v2 save failed");
	put(argv[1], "2port-1M-v2.vmig", &s);
	stream_free(&s);
	vdev_destroy(&v);
	return 0;
}
