// SPDX-License-Identifier: GPL-2.0
/*
 * mtty-demo: create an mtty-mig device, drive it the way a guest driver
 * would, and say what happened in a few lines.  Run inside the test VM by
 * `make demo` (or on any machine with the modules loaded, as root).
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

static void usage(void)
{
	printf("usage: mtty-demo [TYPE]\n"
	       "Create an mtty-mig mdev (default type %s), show its PCI\n"
	       "identity, send a line through UART 0 in loopback with MSI\n"
	       "interrupts, round-trip device memory, and remove it.\n",
	       MDEV_TYPE_1P);
}

static uint64_t region_size(struct vdev *v, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		t_bail("GET_REGION_INFO %u failed", index);
	return ri.size;
}

int main(int argc, char **argv)
{
	const char *type = MDEV_TYPE_1P;
	const char *msg = "Hello from vfio-mig!";
	char got[64] = "";
	unsigned int i, irqs = 0;
	uint64_t mem, val, bad = 0;
	struct utsname un;
	struct vdev v;
	int efd;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		return 0;
	}
	if (argc > 2) {
		usage();
		return 2;
	}
	if (argc == 2)
		type = argv[1];

	uname(&un);
	printf("mtty-mig demo on Linux %s\n", un.release);
	vdev_create_open(&v, type);
	printf("  created mdev %s (type %s, %ld more available)\n", v.uuid,
	       type, mdev_available(type));

	mem = region_size(&v, MTTYM_MEM_REGION);
	printf("  PCI %04x:%04x class %06x, %u UART port(s), %llu KiB device memory, MSI\n",
	       cfg_read(&v, PCI_VENDOR_ID, 2), cfg_read(&v, PCI_DEVICE_ID, 2),
	       cfg_read(&v, PCI_CLASS_REVISION, 4) >> 8,
	       cfg_read(&v, PCI_SUBSYSTEM_ID, 2),
	       (unsigned long long)(mem >> 10));

	efd = efd_new();
	if (irq_set_eventfd(&v, VFIO_PCI_MSI_IRQ_INDEX, efd))
		t_bail("cannot attach an MSI eventfd");
	uart_out(&v, 0, UART_FCR, UART_FCR_ENABLE_FIFO);
	uart_out(&v, 0, UART_IER, UART_IER_RDI);
	for (i = 0; msg[i]; i++) {
		uart_out(&v, 0, UART_TX, msg[i]);
		irqs += efd_drain(efd);
		got[i] = uart_in(&v, 0, UART_RX);
	}
	printf("  UART 0 loopback: sent \"%s\", received \"%s\" (%s)\n", msg,
	       got, strcmp(msg, got) ? "MISMATCH" : "identical");
	printf("  interrupts: %u MSI events for %zu received bytes\n", irqs,
	       strlen(msg));
	close(efd);

	for (i = 0; i < 512; i++) {
		val = 0x6d7474796d6967ull ^ ((uint64_t)i << 32);
		region_write(&v, MTTYM_MEM_REGION, mem / 2 + 8 * i, &val, 8);
	}
	for (i = 0; i < 512; i++) {
		val = 0;
		region_read(&v, MTTYM_MEM_REGION, mem / 2 + 8 * i, &val, 8);
		bad += val != (0x6d7474796d6967ull ^ ((uint64_t)i << 32));
	}
	printf("  device memory: wrote 4 KiB at offset %#llx, read it back %s\n",
	       (unsigned long long)(mem / 2), bad ? "WRONG" : "intact");

	vdev_destroy(&v);
	printf("  removed the mdev\n");
	return strcmp(msg, got) || bad || irqs != strlen(msg);
}
