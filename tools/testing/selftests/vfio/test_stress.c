// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: several threads hammer one device at once with random
 * migration-region actions, state writes, data-section I/O through pread,
 * pwrite and the mapping, BAR and DMA accesses, dirty queries and resets.
 * Nothing may hang, crash or splat (the VM runner watches the kernel log),
 * every call must return success or an errno the specification allows, and
 * the device must work normally afterwards.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define THREADS		4
#define SECONDS		3

static struct vdev v;
static struct mig m;
static atomic_bool stop;
static atomic_long calls, bad;
static uint64_t guest_iova = 0x20000000;

/* Results the specification allows for a racing action. */
static bool allowed(long ret)
{
	return ret >= 0 || ret == -EINVAL || ret == -EBUSY;
}

static void *hammer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	uint8_t buf[4096];
	uint64_t q[3];

	while (!atomic_load(&stop)) {
		unsigned int op = rand_r(&seed) % 12;
		uint32_t st = rand_r(&seed) % (VFIO_MIG_NUM_STATES + 1);
		long ret = 0;

		switch (op) {
		case 0:
		case 1:
			ret = mig_set_state(&v, &m, st);
			break;
		case 2:
			ret = mig_hdr_read(&v, &m, VFIO_MIG_OFF_PENDING, buf, 32);
			break;
		case 3:
			ret = mig_hdr_read(&v, &m, VFIO_MIG_OFF_DATA, buf, 16);
			break;
		case 4:
			ret = region_read(&v, m.index, m.data_off +
					  rand_r(&seed) % (m.data_size - 4096),
					  buf, 1 + rand_r(&seed) % 4096);
			break;
		case 5:
			memset(buf, rand_r(&seed), sizeof(buf));
			ret = region_write(&v, m.index, m.data_off, buf, 64);
			if (ret >= 0) {
				q[0] = m.data_off;
				q[1] = 64;
				ret = mig_hdr_write(&v, &m, VFIO_MIG_OFF_DATA,
						    q, 16);
			}
			break;
		case 6:
			m.map[rand_r(&seed) % m.data_size] ^= 1;
			break;
		case 7:
			ret = region_read(&v, 0, UART_LSR, buf, 1);
			if (ret >= 0)
				ret = region_write(&v, 0, UART_TX, buf, 1);
			break;
		case 8:
			q[0] = (uint64_t)rand_r(&seed) << 3 & 0xffff8;
			ret = region_write(&v, MTTYM_MEM_REGION, q[0], q, 8);
			break;
		case 9:
			q[0] = guest_iova;
			q[1] = 4096;
			ret = region_write(&v, MTTYM_DMA_REGION, MTTYM_DMA_DST,
					   &q[0], 8);
			if (ret >= 0)
				ret = region_write(&v, MTTYM_DMA_REGION,
						   MTTYM_DMA_LEN, &q[1], 8);
			if (ret >= 0) {
				uint32_t cmd = MTTYM_DMA_OP_FILL;

				ret = region_write(&v, MTTYM_DMA_REGION,
						   MTTYM_DMA_CMD, &cmd, 4);
			}
			break;
		case 10:
			q[0] = guest_iova;
			q[1] = 64;
			q[2] = 0;
			ret = mig_hdr_write(&v, &m, VFIO_MIG_OFF_DIRTY_PFNS, q,
					    24);
			if (!ret)
				ret = mig_hdr_read(&v, &m,
						   VFIO_MIG_OFF_DIRTY_COPIED,
						   q, 8);
			break;
		default:
			if (rand_r(&seed) % 8 == 0)
				ret = ioctl(v.fd, VFIO_DEVICE_RESET) ? -errno : 0;
			break;
		}
		atomic_fetch_add(&calls, 1);
		if (!allowed(ret)) {
			atomic_fetch_add(&bad, 1);
			t_diag("op %u returned %ld", op, ret);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	unsigned int i;

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P_MMAP);
	mig_find(&v, &m);
	if (mig_map(&v, &m))
		t_bail("cannot map the data section");
	dma_map(&v, guest_iova, 64 * 4096);

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, hammer,
				   (void *)(uintptr_t)(i + 1)))
			t_bail("pthread_create failed");
	sleep(SECONDS);
	atomic_store(&stop, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	t_ok(atomic_load(&calls) > 1000,
	     "%d threads made %ld racing calls without a hang", THREADS,
	     atomic_load(&calls));
	t_ok(atomic_load(&bad) == 0,
	     "every racing call returned success, EINVAL or EBUSY");
	t_ok(ioctl(v.fd, VFIO_DEVICE_RESET) == 0 &&
	     mig_state(&v, &m) == VFIO_MIG_STATE_NONE,
	     "a reset afterwards returns the region to NONE");
	uart_out(&v, 0, UART_SCR, 0x6b);
	t_ok(uart_in(&v, 0, UART_SCR) == 0x6b,
	     "the device works normally afterwards");
	mig_unmap(&m);
	vdev_destroy(&v);
	return t_done();
}
