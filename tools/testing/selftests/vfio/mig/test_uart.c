// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A UART ports of mtty-mig: registers, loopback, FIFO, overrun,
 * LSR/IIR/MSR semantics and interrupt delivery through eventfds.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "vfio_test.h"

#define IIR_ID(v)	((v) & 0x0f)

static void fifo_on(struct vdev *v, unsigned int port, uint8_t trigger)
{
	uart_out(v, port, UART_FCR, UART_FCR_ENABLE_FIFO |
		 UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT | trigger);
}

static void test_scratch(struct vdev *v)
{
	unsigned int i;

	for (i = 0; i < 256; i++) {
		uart_out(v, 0, UART_SCR, i);
		if (uart_in(v, 0, UART_SCR) != i)
			break;
	}
	t_ok(i == 256, "scratch register holds every value");
}

static void test_dlab(struct vdev *v)
{
	uint8_t dll, dlm, ier;

	uart_out(v, 0, UART_IER, 0x05);
	uart_out(v, 0, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	uart_out(v, 0, UART_DLL, 0x0c);
	uart_out(v, 0, UART_DLM, 0x01);
	dll = uart_in(v, 0, UART_DLL);
	dlm = uart_in(v, 0, UART_DLM);
	uart_out(v, 0, UART_LCR, UART_LCR_WLEN8);
	ier = uart_in(v, 0, UART_IER);
	t_ok(dll == 0x0c && dlm == 0x01 && ier == 0x05,
	     "DLAB selects the divisor latch; IER is kept apart");
	t_ok(uart_in(v, 0, UART_LCR) == UART_LCR_WLEN8 &&
	     !(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "divisor writes do not transmit");
	uart_out(v, 0, UART_IER, 0);
}

static void test_loopback(struct vdev *v)
{
	const char *msg = "vfio-mig 16550!";	/* 15 bytes + NUL = 16 */
	uint8_t got[16];
	unsigned int i;
	uint8_t lsr;

	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	lsr = uart_in(v, 0, UART_LSR);
	t_ok(lsr == (UART_LSR_THRE | UART_LSR_TEMT),
	     "idle LSR: transmitter empty, no data (%#x)", lsr);
	for (i = 0; i < 16; i++)
		uart_out(v, 0, UART_TX, msg[i]);
	t_ok(uart_in(v, 0, UART_LSR) & UART_LSR_DR,
	     "LSR.DR set once bytes arrived");
	for (i = 0; i < 16; i++)
		got[i] = uart_in(v, 0, UART_RX);
	t_ok(memcmp(got, msg, 16) == 0, "16 bytes out equal 16 bytes in");
	t_ok(!(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "LSR.DR clear once the FIFO is drained");
}

static void test_overrun(struct vdev *v)
{
	unsigned int i;
	uint8_t lsr;
	bool same = true;

	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	for (i = 0; i < 17; i++)
		uart_out(v, 0, UART_TX, 'a' + i);
	lsr = uart_in(v, 0, UART_LSR);
	t_ok((lsr & UART_LSR_OE) && (lsr & UART_LSR_DR),
	     "17th byte into a 16-byte FIFO sets LSR.OE (%#x)", lsr);
	t_ok(!(uart_in(v, 0, UART_LSR) & UART_LSR_OE),
	     "reading LSR clears OE");
	for (i = 0; i < 16; i++)
		if (uart_in(v, 0, UART_RX) != 'a' + i)
			same = false;
	t_ok(same && !(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "overrun keeps the first 16 bytes and drops the 17th");

	/* 16450 mode: one holding register. */
	uart_out(v, 0, UART_FCR, 0);
	uart_out(v, 0, UART_TX, 'x');
	uart_out(v, 0, UART_TX, 'y');
	lsr = uart_in(v, 0, UART_LSR);
	t_ok((lsr & UART_LSR_OE) && uart_in(v, 0, UART_RX) == 'x' &&
	     !(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "without FIFO the second byte overruns");
}

static void test_fcr_clear(struct vdev *v)
{
	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	uart_out(v, 0, UART_TX, '1');
	uart_out(v, 0, UART_TX, '2');
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	t_ok(!(uart_in(v, 0, UART_LSR) & UART_LSR_DR),
	     "FCR clear-RX empties the receive FIFO");
}

static void test_iir(struct vdev *v)
{
	uint8_t iir;

	fifo_on(v, 0, UART_FCR_R_TRIG_01);	/* trigger at 4 bytes */
	uart_out(v, 0, UART_IER, UART_IER_RDI);
	iir = uart_in(v, 0, UART_IIR);
	t_ok(iir == (0xc0 | UART_IIR_NO_INT),
	     "IIR: no interrupt, FIFO bits set (%#x)", iir);
	uart_out(v, 0, UART_TX, 1);
	uart_out(v, 0, UART_TX, 2);
	uart_out(v, 0, UART_TX, 3);
	iir = uart_in(v, 0, UART_IIR);
	t_ok(IIR_ID(iir) == UART_IIR_RX_TIMEOUT,
	     "IIR: below the trigger level reports a character timeout");
	uart_out(v, 0, UART_TX, 4);
	iir = uart_in(v, 0, UART_IIR);
	t_ok(IIR_ID(iir) == UART_IIR_RDI,
	     "IIR: at the trigger level reports received data");

	uart_out(v, 0, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO);
	while (!(uart_in(v, 0, UART_LSR) & UART_LSR_OE))
		uart_out(v, 0, UART_TX, 0);
	/* That LSR read cleared OE: overrun once more. */
	uart_out(v, 0, UART_TX, 0);
	iir = uart_in(v, 0, UART_IIR);
	t_ok(IIR_ID(iir) == UART_IIR_RLSI,
	     "IIR: line status (overrun) has the highest priority");
	uart_in(v, 0, UART_LSR);
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);

	uart_out(v, 0, UART_IER, UART_IER_THRI);
	iir = uart_in(v, 0, UART_IIR);
	t_ok(IIR_ID(iir) == UART_IIR_THRI,
	     "IIR: enabling ETBEI with an empty THR raises THRE");
	iir = uart_in(v, 0, UART_IIR);
	t_ok(IIR_ID(iir) == UART_IIR_NO_INT,
	     "IIR: reading the THRE indication acknowledges it");
	uart_out(v, 0, UART_IER, 0);
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
}

static void test_msr(struct vdev *v)
{
	uint8_t msr;

	msr = uart_in(v, 0, UART_MSR);
	t_ok(msr == (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS),
	     "MSR: carrier, DSR and CTS asserted outside loopback (%#x)",
	     msr);
	uart_out(v, 0, UART_MCR, UART_MCR_LOOP);
	uart_in(v, 0, UART_MSR);
	uart_out(v, 0, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	msr = uart_in(v, 0, UART_MSR);
	t_ok(msr == (UART_MSR_CTS | UART_MSR_DCTS),
	     "MSR loopback: RTS drives CTS and sets DCTS (%#x)", msr);
	msr = uart_in(v, 0, UART_MSR);
	t_ok(msr == UART_MSR_CTS, "MSR: delta bits clear on read");
	uart_out(v, 0, UART_IER, UART_IER_MSI);
	uart_out(v, 0, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS |
		 UART_MCR_OUT2);
	t_ok(IIR_ID(uart_in(v, 0, UART_IIR)) == UART_IIR_MSI,
	     "IIR: modem status change with EDSSI");
	uart_in(v, 0, UART_MSR);
	uart_out(v, 0, UART_IER, 0);
	uart_out(v, 0, UART_MCR, 0);
	uart_in(v, 0, UART_MSR);
}

static void test_intx(struct vdev *v)
{
	int efd = efd_new();
	uint64_t n;

	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	t_ok(irq_set_eventfd(v, VFIO_PCI_INTX_IRQ_INDEX, efd) == 0,
	     "INTx: eventfd attached");
	uart_out(v, 0, UART_IER, UART_IER_RDI);
	uart_out(v, 0, UART_TX, 'i');
	n = efd_drain(efd);
	t_ok(n == 1, "INTx: received data fires the eventfd (%llu)",
	     (unsigned long long)n);
	uart_out(v, 0, UART_TX, 'j');
	t_ok(efd_drain(efd) == 0, "INTx: automasked until unmasked");
	t_ok(irq_set_none(v, VFIO_PCI_INTX_IRQ_INDEX,
			  VFIO_IRQ_SET_ACTION_UNMASK, 1) == 0 &&
	     efd_drain(efd) == 1,
	     "INTx: unmask with the line still high fires again");
	uart_in(v, 0, UART_RX);
	uart_in(v, 0, UART_RX);
	irq_set_none(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
		     1);
	t_ok(efd_drain(efd) == 0, "INTx: quiet once the FIFO is drained");

	cfg_write(v, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	uart_out(v, 0, UART_TX, 'k');
	t_ok(efd_drain(efd) == 0, "INTx: command INTX_DISABLE blocks it");
	cfg_write(v, PCI_COMMAND, 0, 2);
	t_ok(efd_drain(efd) == 1, "INTx: fires when re-enabled");
	uart_in(v, 0, UART_RX);
	irq_set_none(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
		     1);

	t_ok(irq_set_none(v, VFIO_PCI_INTX_IRQ_INDEX,
			  VFIO_IRQ_SET_ACTION_TRIGGER, 1) == 0 &&
	     efd_drain(efd) == 1,
	     "INTx: SET_IRQS trigger with DATA_NONE fires the eventfd");
	t_ok(irq_set_none(v, VFIO_PCI_INTX_IRQ_INDEX,
			  VFIO_IRQ_SET_ACTION_TRIGGER, 0) == 0,
	     "INTx: count 0 tears the trigger down");
	uart_out(v, 0, UART_TX, 'l');
	t_ok(efd_drain(efd) == 0, "INTx: no eventfd, no signal");
	uart_in(v, 0, UART_RX);
	uart_out(v, 0, UART_IER, 0);
	close(efd);
}

static void test_msi(struct vdev *v)
{
	int efd = efd_new();

	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	t_ok(irq_set_eventfd(v, VFIO_PCI_MSI_IRQ_INDEX, efd) == 0,
	     "MSI: eventfd attached");
	uart_out(v, 0, UART_IER, UART_IER_RDI);
	uart_out(v, 0, UART_TX, 'm');
	t_ok(efd_drain(efd) == 1, "MSI: received data fires the vector");
	uart_out(v, 0, UART_TX, 'n');
	t_ok(efd_drain(efd) == 0, "MSI: no new edge while still pending");
	uart_in(v, 0, UART_RX);
	uart_in(v, 0, UART_RX);
	uart_out(v, 0, UART_TX, 'o');
	t_ok(efd_drain(efd) == 1, "MSI: the next rising edge fires again");
	uart_in(v, 0, UART_RX);
	t_ok(irq_set_eventfd(v, VFIO_PCI_MSI_IRQ_INDEX, -1) == 0,
	     "MSI: fd -1 detaches the eventfd");
	uart_out(v, 0, UART_TX, 'p');
	t_ok(efd_drain(efd) == 0, "MSI: detached vector stays quiet");
	uart_in(v, 0, UART_RX);
	uart_out(v, 0, UART_IER, 0);
	close(efd);
}

static void test_two_ports(void)
{
	struct vdev v;

	vdev_create_open(&v, MDEV_TYPE_2P);
	fifo_on(&v, 0, UART_FCR_R_TRIG_00);
	fifo_on(&v, 1, UART_FCR_R_TRIG_00);
	uart_out(&v, 0, UART_SCR, 0x11);
	uart_out(&v, 1, UART_SCR, 0x22);
	uart_out(&v, 1, UART_TX, 'B');
	t_ok(uart_in(&v, 0, UART_SCR) == 0x11 &&
	     uart_in(&v, 1, UART_SCR) == 0x22 &&
	     !(uart_in(&v, 0, UART_LSR) & UART_LSR_DR) &&
	     uart_in(&v, 1, UART_RX) == 'B',
	     "two ports keep separate registers and FIFOs");
	vdev_destroy(&v);
}

static void test_reset(struct vdev *v)
{
	fifo_on(v, 0, UART_FCR_R_TRIG_00);
	uart_out(v, 0, UART_SCR, 0x5a);
	uart_out(v, 0, UART_LCR, UART_LCR_WLEN8);
	uart_out(v, 0, UART_TX, 'r');
	t_ok(ioctl(v->fd, VFIO_DEVICE_RESET) == 0 &&
	     uart_in(v, 0, UART_SCR) == 0 && uart_in(v, 0, UART_LCR) == 0 &&
	     !(uart_in(v, 0, UART_LSR) & UART_LSR_DR) &&
	     uart_in(v, 0, UART_IIR) == UART_IIR_NO_INT,
	     "reset returns the UART to power-on state");
}

int main(void)
{
	struct vdev v;

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P);
	test_scratch(&v);
	test_dlab(&v);
	test_loopback(&v);
	test_overrun(&v);
	test_fcr_clear(&v);
	test_iir(&v);
	test_msr(&v);
	test_intx(&v);
	test_msi(&v);
	test_reset(&v);
	vdev_destroy(&v);
	test_two_ports();
	return t_done();
}
