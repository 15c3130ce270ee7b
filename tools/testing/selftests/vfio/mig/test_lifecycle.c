// SPDX-License-Identifier: GPL-2.0
/*
 * mdev and module life cycle: sysfs attributes, honest available_instances,
 * create/remove loops, remove while open, and module unload (refused while
 * a device is open, clean once none is, also with a v2 data fd left open).
 *
 * It unloads mtty-mig and mcount-mig and loads them again from where the
 * VM runner loaded them: the directory VFIO_MIG_MODULES (vm/run --modules
 * DIR) if set, else the build tree, VFIO_MIG_TOP.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "vfio_test.h"

#define TYPES_DIR	MDEV_PARENT "/mdev_supported_types/"

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static void test_attributes(void)
{
	char buf[128];

	t_ok(read_str(TYPES_DIR MDEV_TYPE_1P "/device_api", buf,
		      sizeof(buf)) == 0 && strcmp(buf, "vfio-pci\n") == 0,
	     "type device_api is vfio-pci");
	t_ok(read_str(TYPES_DIR MDEV_TYPE_2P "/description", buf,
		      sizeof(buf)) == 0 &&
	     strcmp(buf, "ports=2 memory=1048576 migration-data=trapped\n") == 0,
	     "type description names ports and memory");
	t_ok(read_str(TYPES_DIR MDEV_TYPE_16M "/name", buf,
		      sizeof(buf)) == 0 && strstr(buf, "16 MiB"),
	     "type name is readable");
}

static void test_available(void)
{
	long a1 = mdev_available(MDEV_TYPE_1P);
	long a2 = mdev_available(MDEV_TYPE_2P);
	char uuid[40], path[256];
	int err;

	t_ok(a1 > 0 && a2 > 0 && a2 <= a1 / 2,
	     "available: %ld one-port, %ld two-port", a1, a2);
	err = mdev_create(MDEV_TYPE_2P, uuid);
	t_ok(!err && mdev_available(MDEV_TYPE_1P) == a1 - 2 &&
	     mdev_available(MDEV_TYPE_2P) == a2 - 1,
	     "a two-port mdev takes two ports from every type");
	snprintf(path, sizeof(path), TYPES_DIR MDEV_TYPE_2P "/devices/%s",
		 uuid);
	t_ok(access(path, F_OK) == 0, "the type lists its new device");
	t_errno(sysfs_write(TYPES_DIR MDEV_TYPE_1P "/create", uuid), EEXIST,
		"creating a duplicate UUID is refused");
	t_errno(sysfs_write(TYPES_DIR MDEV_TYPE_1P "/create", "not-a-uuid"),
		EINVAL, "creating with a malformed UUID is refused");
	t_ok(mdev_remove(uuid) == 0 && !mdev_exists(uuid) &&
	     mdev_available(MDEV_TYPE_1P) == a1 &&
	     mdev_available(MDEV_TYPE_2P) == a2,
	     "removing gives the ports back");
}

static void test_exhaust(void)
{
	long avail = mdev_available(MDEV_TYPE_1P), i, made = 0;
	char (*uuids)[40] = calloc(avail + 1, 40);
	char extra[40];
	bool removed = true;

	if (!uuids)
		t_bail("out of memory");
	for (i = 0; i < avail; i++) {
		if (mdev_create(MDEV_TYPE_1P, uuids[i]))
			break;
		made++;
	}
	t_ok(made == avail && mdev_available(MDEV_TYPE_1P) == 0,
	     "exactly available_instances (%ld) mdevs can be created", avail);
	t_errno(mdev_create(MDEV_TYPE_1P, extra), ENOSPC,
		"one more is refused with ENOSPC");
	t_ok(!mdev_exists(extra), "the refused mdev does not exist");
	for (i = 0; i < made; i++)
		if (mdev_remove(uuids[i]))
			removed = false;
	t_ok(removed && mdev_available(MDEV_TYPE_1P) == avail,
	     "removing them all restores available_instances");
	free(uuids);
}

static void test_loop(void)
{
	long avail = mdev_available(MDEV_TYPE_1P);
	int i, bad = 0;

	for (i = 0; i < 50; i++) {
		struct vdev v;

		vdev_create_open(&v, i % 2 ? MDEV_TYPE_1P : MDEV_TYPE_16M);
		uart_out(&v, 0, UART_SCR, i);
		if (uart_in(&v, 0, UART_SCR) != i)
			bad++;
		vdev_destroy(&v);
		if (mdev_exists(v.uuid))
			bad++;
	}
	t_ok(bad == 0 && mdev_available(MDEV_TYPE_1P) == avail,
	     "50 create/open/use/close/remove cycles");
}

struct remover {
	const char *uuid;
	volatile int done;
	int err;
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	r->err = mdev_remove(r->uuid);
	r->done = 1;
	return NULL;
}

static void test_remove_while_open(void)
{
	struct remover r = { 0 };
	pthread_t th;
	struct vdev v;

	vdev_create_open(&v, MDEV_TYPE_1P);
	r.uuid = v.uuid;
	if (pthread_create(&th, NULL, remove_thread, &r))
		t_bail("pthread_create failed");
	sleep(1);
	t_ok(!r.done && uart_in(&v, 0, UART_LSR) != 0xff,
	     "remove waits while the device is open; the device still works");
	vdev_close(&v);
	pthread_join(th, NULL);
	t_ok(r.err == 0 && !mdev_exists(v.uuid),
	     "remove completes once the device is closed");
}

static long delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static long load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static void test_unload(void)
{
	const char *top = getenv("VFIO_MIG_TOP");
	const char *dir = getenv("VFIO_MIG_MODULES");
	long avail = mdev_available(MDEV_TYPE_1P);
	char ko[512], mc_ko[512], idle[40];
	struct vdev v;
	int fd;

	if (!top) {
		t_skip("VFIO_MIG_TOP not set (run through the VM runner)",
		       "module unload and reload");
		return;
	}
	if (dir) {
		snprintf(ko, sizeof(ko), "%s/mtty-mig.ko", dir);
		snprintf(mc_ko, sizeof(mc_ko), "%s/mcount-mig.ko", dir);
	} else {
		snprintf(ko, sizeof(ko), "%s/samples/vfio-mdev/mtty-mig.ko", top);
		snprintf(mc_ko, sizeof(mc_ko),
			 "%s/samples/vfio-mdev/mcount-mig.ko", top);
	}

	vdev_create_open(&v, MDEV_TYPE_1P);
	if (mdev_create(MDEV_TYPE_2P, idle))
		t_bail("cannot create a second mdev");
	t_errno(delete_module("mtty_mig"), EWOULDBLOCK,
		"unloading mtty_mig is refused while a device is open");
	uart_out(&v, 0, UART_SCR, 0x77);
	t_ok(uart_in(&v, 0, UART_SCR) == 0x77,
	     "the open device keeps working after the refused unload");
	t_errno(delete_module("vfio_mig"), EWOULDBLOCK,
		"unloading the engine is refused while mtty_mig uses it");
	vdev_close(&v);

	t_ok(delete_module("mtty_mig") == 0,
	     "mtty_mig unloads once no device is open");
	t_ok(!mdev_exists(v.uuid) && !mdev_exists(idle) &&
	     access(MDEV_PARENT, F_OK) != 0,
	     "unloading removed the mdevs and the parent");
	t_ok(load_module(ko) == 0 && access(MDEV_PARENT, F_OK) == 0 &&
	     mdev_available(MDEV_TYPE_1P) == avail,
	     "reloading brings the parent back with every instance free");
	vdev_create_open(&v, MDEV_TYPE_1P);
	uart_out(&v, 0, UART_SCR, 0x42);
	t_ok(uart_in(&v, 0, UART_SCR) == 0x42,
	     "a device created after the reload works");

	/*
	 * A v2 data fd left open keeps only the engine loaded.  The other
	 * driver on the engine goes first, so that only the fd can hold it.
	 */
	t_ok(delete_module("mcount_mig") == 0,
	     "mcount_mig unloads: no driver but mtty_mig uses the engine");
	v2_set_state(&v, ST_STOP_COPY, &fd);
	vdev_close(&v);
	t_ok(fd >= 0 && delete_module("mtty_mig") == 0,
	     "mtty_mig unloads while a data fd of its device is still open");
	t_errno(delete_module("vfio_mig"), EWOULDBLOCK,
		"the engine stays: the open data fd uses it");
	t_ok(read(fd, idle, sizeof(idle)) == -1 && errno == ENODEV &&
	     close(fd) == 0,
	     "the data fd answers ENODEV and closes cleanly");
	t_ok(load_module(ko) == 0 && mdev_available(MDEV_TYPE_1P) == avail,
	     "mtty_mig loads again with every instance free");
	t_ok(load_module(mc_ko) == 0, "mcount_mig loads again");
}

/*
 * The tests open devices through the VFIO group and a type1 container.
 * The iommufd/cdev path is not implemented; none of the supported Debian
 * kernels builds IOMMUFD, so none offers it.
 */
static void test_cdev_path(void)
{
	if (access("/dev/iommu", F_OK) && access("/dev/vfio/devices", F_OK))
		t_skip("this kernel has no iommufd/cdev (CONFIG_IOMMUFD unset)",
		       "device access through iommufd and the VFIO cdev");
	else
		t_ok(false, "device access through iommufd and the VFIO cdev: not implemented");
}

int main(void)
{
	t_start();
	test_cdev_path();
	test_attributes();
	test_available();
	test_exhaust();
	test_loop();
	test_remove_while_open();
	test_unload();
	return t_done();
}
