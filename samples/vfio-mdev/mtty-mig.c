// SPDX-License-Identifier: GPL-2.0-only
/*
 * mtty-mig: a mediated PCI serial device with device memory, the sample
 * vendor driver of the vfio-mig project.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Each mdev is an emulated PCI function with
 *   BAR0, BAR1  16550A-compatible UART ports (8 I/O ports each; BAR1 only
 *               on two-port types), transmit looped back to receive;
 *   BAR2        32-bit MMIO, twice the device memory: the device memory
 *               (size set by the mdev type), then the registers of a DMA
 *               engine copying between guest memory (through
 *               vfio_dma_rw()) and device memory, or filling guest memory;
 *   config      256 bytes with an MSI capability;
 *   region 9    the vfio-mig migration region (owned by the engine).
 *   IRQs        INTx (maskable, automasked) and one MSI vector, both
 *               delivered through eventfds set with VFIO_DEVICE_SET_IRQS.
 * Region accesses are decoded and bounds-checked by the vfio-mig engine
 * (linux/vfio_mig.h); the callbacks here see only checked offsets.  For
 * migration the driver gives the engine its identity, quiesce/unquiesce,
 * its stop-time state as records (config space, UART registers and FIFOs,
 * interrupt state, DMA engine), strict checks of incoming records, and
 * device-memory access; the engine does the rest.
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 *   mttym_pool_lock  protects mttym_ports_free and mttym_mem_free, the
 *                    resources mdevs are created from; never held together
 *                    with any other lock.
 *   mttym_state.lock protects everything mutable in one device: config
 *                    space, UART registers and FIFOs, device memory, the
 *                    interrupt state, the DMA engine, the quiesced and open
 *                    flags and the eventfd pointers.  Taken by the region
 *                    callbacks, ioctl handlers, open and close, the
 *                    migration ops and the traffic source's attributes,
 *                    inside the engine's state lock when the engine
 *                    calls in (reset included); nothing here takes an
 *                    engine lock while holding it.  It is never held across
 *                    copy_{to,from}_user of the device fd's callers (the
 *                    engine and the ioctl handlers copy before taking it);
 *                    the DMA engine runs under it and reaches guest memory
 *                    through vfio_dma_rw(), as the hierarchy allows.
 */

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig.h>
#include <linux/vfio_mig_compat.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "mtty-mig.h"

#define MTTYM_NAME		"mtty_mig"
#define MTTYM_MAX_PORTS		2
#define MTTYM_TOTAL_PORTS	32	/* ports shared by all mdevs */
#define MTTYM_FIFO_SIZE		16
#define MTTYM_UART_SIZE		8
#define MTTYM_CFG_SIZE		256
#define MTTYM_MSI_CAP		0x40
#define MTTYM_IIR_FIFOS_ON	0xc0	/* IIR bits 6-7: FIFOs enabled */
#define MTTYM_DATA_SECTION	SZ_1M	/* migration data section */
#define MTTYM_FEAT_DMA		BIT(0)

static unsigned int mem_budget_mib = 1024;
module_param(mem_budget_mib, uint, 0444);
MODULE_PARM_DESC(mem_budget_mib,
		 "device memory shared by all mdevs, in MiB (default 1024)");

struct mttym_type {
	struct mdev_type type;
	unsigned int nr_ports;
	u64 mem_size;
	bool mmap;		/* the migration data section is mmappable */
};

struct mttym_uart {
	u8 fifo[MTTYM_FIFO_SIZE];	/* receive FIFO, a ring */
	u8 head;			/* index of the oldest byte */
	u8 count;			/* bytes in the FIFO */
	u8 ier, fcr, lcr, mcr, scr, dll, dlm;
	u8 lsr_err;			/* latched error bits (OE) */
	u8 msr_delta;			/* MSR bits 0-3, cleared on read */
	bool thre_pending;		/* THR-empty interrupt outstanding */
};

struct mttym_dma {
	u64 src, dst, len, pattern, count;
	u32 status;
};

/*
 * The driver's records in the migration stream: little-endian, packed,
 * their sizes fixed by the stream format (Documentation/mtty-mig.rst).
 */
struct mttym_uart_rec {
	u8 fifo[MTTYM_FIFO_SIZE];	/* oldest byte first, zero-padded */
	u8 count, ier, fcr, lcr, mcr, scr, dll, dlm;
	u8 lsr_err, msr_delta, thre_pending;
} __packed;
static_assert(sizeof(struct mttym_uart_rec) == 27);

struct mttym_irq_rec {
	u8 intx_masked;
	u8 irq_level;
} __packed;
static_assert(sizeof(struct mttym_irq_rec) == 2);

struct mttym_dma_rec {
	__le64 src, dst, len, pattern, count, status;
} __packed;
static_assert(sizeof(struct mttym_dma_rec) == 48);

struct mttym_state {
	struct vfio_mig_device mig;	/* must be first */
	const struct mttym_type *type;
	struct mutex lock;
	struct vfio_mig_pci_config cfg;
	struct mttym_uart uart[MTTYM_MAX_PORTS];
	struct mttym_dma dma;
	u8 *mem;
	bool quiesced;
	bool open;			/* a user holds the device */
	struct eventfd_ctx *intx_trigger;
	struct eventfd_ctx *msi_trigger;
	bool intx_masked;
	bool irq_level;			/* last computed interrupt line */
};

static struct mttym_type mttym_types[] = {
	{ .type.sysfs_name = "1port-1M",
	  .type.pretty_name = "one UART port, 1 MiB device memory",
	  .nr_ports = 1, .mem_size = SZ_1M },
	{ .type.sysfs_name = "2port-1M",
	  .type.pretty_name = "two UART ports, 1 MiB device memory",
	  .nr_ports = 2, .mem_size = SZ_1M },
	{ .type.sysfs_name = "1port-16M",
	  .type.pretty_name = "one UART port, 16 MiB device memory",
	  .nr_ports = 1, .mem_size = SZ_16M },
	{ .type.sysfs_name = "1port-1M-mmap",
	  .type.pretty_name = "one UART port, 1 MiB device memory, mmappable migration data",
	  .nr_ports = 1, .mem_size = SZ_1M, .mmap = true },
	{ .type.sysfs_name = "2port-1M-mmap",
	  .type.pretty_name = "two UART ports, 1 MiB device memory, mmappable migration data",
	  .nr_ports = 2, .mem_size = SZ_1M, .mmap = true },
	{ .type.sysfs_name = "1port-16M-mmap",
	  .type.pretty_name = "one UART port, 16 MiB device memory, mmappable migration data",
	  .nr_ports = 1, .mem_size = SZ_16M, .mmap = true },
	{ .type.sysfs_name = "1port-64M",
	  .type.pretty_name = "one UART port, 64 MiB device memory",
	  .nr_ports = 1, .mem_size = SZ_64M },
	{ .type.sysfs_name = "1port-64M-mmap",
	  .type.pretty_name = "one UART port, 64 MiB device memory, mmappable migration data",
	  .nr_ports = 1, .mem_size = SZ_64M, .mmap = true },
	{ .type.sysfs_name = "1port-256M",
	  .type.pretty_name = "one UART port, 256 MiB device memory",
	  .nr_ports = 1, .mem_size = SZ_256M },
	{ .type.sysfs_name = "1port-256M-mmap",
	  .type.pretty_name = "one UART port, 256 MiB device memory, mmappable migration data",
	  .nr_ports = 1, .mem_size = SZ_256M, .mmap = true },
	/* As large as the default budget: for the benchmarks' scaling row. */
	{ .type.sysfs_name = "1port-1G",
	  .type.pretty_name = "one UART port, 1 GiB device memory",
	  .nr_ports = 1, .mem_size = SZ_1G },
};

static struct mdev_type *mttym_mdev_types[ARRAY_SIZE(mttym_types)];

static const u32 mttym_state_types_1p[] = {
	MTTYM_REC_CONFIG, MTTYM_REC_UART0, MTTYM_REC_IRQ, MTTYM_REC_DMA,
};

static const u32 mttym_state_types_2p[] = {
	MTTYM_REC_CONFIG, MTTYM_REC_UART0, MTTYM_REC_UART1, MTTYM_REC_IRQ,
	MTTYM_REC_DMA,
};

static struct vfio_mig_parent mttym_parent;

static DEFINE_MUTEX(mttym_pool_lock);
static unsigned int mttym_ports_free = MTTYM_TOTAL_PORTS;
static u64 mttym_mem_free;

static inline struct mttym_state *vdev_to_state(struct vfio_device *vdev)
{
	return container_of(vdev, struct mttym_state, mig.vdev);
}

static inline const struct mttym_type *to_mttym_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct mttym_type, type);
}

static inline struct mttym_state *mig_to_state(struct vfio_mig_device *mig)
{
	return container_of(mig, struct mttym_state, mig);
}

/* ---------------------------------------------------------------------- */
/* Config space */

/* Lay out the power-on config space, once. */
static void mttym_cfg_layout(struct mttym_state *st)
{
	struct vfio_mig_pci_config *pc = &st->cfg;
	const struct mttym_type *t = st->type;
	unsigned int i;

	vfio_mig_pci_config_header(pc, MTTYM_PCI_VENDOR, MTTYM_PCI_DEVICE,
				   MTTYM_PCI_REVISION, MTTYM_PCI_CLASS,
				   PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				   PCI_COMMAND_MASTER |
				   PCI_COMMAND_INTX_DISABLE);
	/* UART BARs: I/O space, 8 ports each; bits 0-2 are not writable. */
	for (i = 0; i < t->nr_ports; i++)
		vfio_mig_pci_config_put(pc, PCI_BASE_ADDRESS_0 + 4 * i,
					PCI_BASE_ADDRESS_SPACE_IO, 4,
					~(u32)(MTTYM_UART_SIZE - 1));
	/*
	 * Device memory and the DMA engine: one 32-bit non-prefetchable
	 * memory BAR, so that a guest's 8250_pci takes the card (its guess
	 * for an unknown board wants one I/O BAR with at most one memory
	 * BAR, or consecutive I/O BARs).
	 */
	vfio_mig_pci_config_put(pc, PCI_BASE_ADDRESS_2,
				PCI_BASE_ADDRESS_MEM_TYPE_32, 4,
				~(u32)(mttym_bar2_size(t->mem_size) - 1));
	vfio_mig_pci_config_put(pc, PCI_SUBSYSTEM_ID, t->nr_ports, 2, 0);
	vfio_mig_pci_config_put(pc, PCI_INTERRUPT_PIN, 1, 1, 0);
	vfio_mig_pci_config_msi(pc, MTTYM_MSI_CAP);
	vfio_mig_pci_config_seal(pc);
}

static int mttym_cfg_read(struct vfio_mig_device *mig, unsigned int index,
			  u64 off, void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	memcpy(buf, st->cfg.val + off, count);
	mutex_unlock(&st->lock);
	return 0;
}

static void mttym_update_irq(struct mttym_state *st);

static int mttym_cfg_write(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, const void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	vfio_mig_pci_config_write(&st->cfg, off, buf, count);
	/* INTx disable may have changed. */
	mttym_update_irq(st);
	mutex_unlock(&st->lock);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Interrupts */

static u8 uart_iir(const struct mttym_uart *u);

static bool mttym_irq_pending(struct mttym_state *st)
{
	unsigned int i;

	lockdep_assert_held(&st->lock);
	for (i = 0; i < st->type->nr_ports; i++)
		if (!(uart_iir(&st->uart[i]) & UART_IIR_NO_INT))
			return true;
	return false;
}

/*
 * Recompute the device's interrupt line and deliver it.  MSI, when an
 * eventfd is set for it, fires on each rising edge of the line.  INTx is
 * level triggered with automasking, like vfio-pci: it fires while the line
 * is high and not masked, and masks itself until the user unmasks it.
 */
static void mttym_update_irq(struct mttym_state *st)
{
	bool level, rising;
	u16 cmd;

	lockdep_assert_held(&st->lock);
	/* A quiesced device raises nothing; unquiesce re-evaluates. */
	if (st->quiesced)
		return;
	level = mttym_irq_pending(st);
	rising = level && !st->irq_level;
	st->irq_level = level;

	if (st->msi_trigger) {
		if (rising)
			vfio_mig_eventfd_signal(st->msi_trigger);
		return;
	}
	cmd = vfio_mig_pci_config_word(&st->cfg, PCI_COMMAND);
	if (st->intx_trigger && level && !st->intx_masked &&
	    !(cmd & PCI_COMMAND_INTX_DISABLE)) {
		st->intx_masked = true;
		vfio_mig_eventfd_signal(st->intx_trigger);
	}
}

/* ---------------------------------------------------------------------- */
/* UART */

static bool uart_fifo_enabled(const struct mttym_uart *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

static unsigned int uart_rx_capacity(const struct mttym_uart *u)
{
	return uart_fifo_enabled(u) ? MTTYM_FIFO_SIZE : 1;
}

static unsigned int uart_rx_trigger(const struct mttym_uart *u)
{
	static const u8 levels[] = { 1, 4, 8, 14 };

	if (!uart_fifo_enabled(u))
		return 1;
	return levels[(u->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

/* Modem status lines as seen by the UART, from MCR in loopback mode. */
static u8 uart_msr_lines(u8 mcr)
{
	u8 msr = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static u8 uart_iir(const struct mttym_uart *u)
{
	u8 fifo = uart_fifo_enabled(u) ? MTTYM_IIR_FIFOS_ON : 0;
	u8 id = UART_IIR_NO_INT;

	if ((u->ier & UART_IER_RLSI) && (u->lsr_err & UART_LSR_OE))
		id = UART_IIR_RLSI;
	else if ((u->ier & UART_IER_RDI) && u->count &&
		 u->count >= uart_rx_trigger(u))
		id = UART_IIR_RDI;
	else if ((u->ier & UART_IER_RDI) && u->count && uart_fifo_enabled(u))
		id = UART_IIR_RX_TIMEOUT;
	else if ((u->ier & UART_IER_THRI) && u->thre_pending)
		id = UART_IIR_THRI;
	else if ((u->ier & UART_IER_MSI) && u->msr_delta)
		id = UART_IIR_MSI;
	return fifo | id;
}

static void uart_reset(struct mttym_uart *u)
{
	memset(u, 0, sizeof(*u));
}

static void uart_rx_push(struct mttym_uart *u, u8 c)
{
	if (u->count >= uart_rx_capacity(u)) {
		u->lsr_err |= UART_LSR_OE;
		return;
	}
	u->fifo[(u->head + u->count) % MTTYM_FIFO_SIZE] = c;
	u->count++;
}

static u8 uart_rx_pop(struct mttym_uart *u)
{
	u8 c;

	if (!u->count)
		return 0;
	c = u->fifo[u->head];
	u->head = (u->head + 1) % MTTYM_FIFO_SIZE;
	u->count--;
	return c;
}

static void uart_write(struct mttym_uart *u, unsigned int reg, u8 val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	u8 old;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			u->dll = val;
			break;
		}
		/* Transmission is instant: the byte loops back to RX. */
		uart_rx_push(u, val);
		u->thre_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = val;
			break;
		}
		old = u->ier;
		u->ier = val & 0x0f;
		/* Enabling ETBEI with an empty THR raises THRE at once. */
		if ((u->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
			u->thre_pending = true;
		break;
	case UART_FCR:
		if ((val ^ u->fcr) & UART_FCR_ENABLE_FIFO) {
			/* Switching FIFO mode empties the FIFOs. */
			u->head = 0;
			u->count = 0;
		}
		if (val & UART_FCR_CLEAR_RCVR) {
			u->head = 0;
			u->count = 0;
		}
		u->fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT |
				UART_FCR_TRIGGER_MASK);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR: {
		u8 before = uart_msr_lines(u->mcr), after;

		u->mcr = val & 0x1f;
		after = uart_msr_lines(u->mcr);
		if ((before ^ after) & UART_MSR_CTS)
			u->msr_delta |= UART_MSR_DCTS;
		if ((before ^ after) & UART_MSR_DSR)
			u->msr_delta |= UART_MSR_DDSR;
		if ((before & UART_MSR_RI) && !(after & UART_MSR_RI))
			u->msr_delta |= UART_MSR_TERI;
		if ((before ^ after) & UART_MSR_DCD)
			u->msr_delta |= UART_MSR_DDCD;
		break;
	}
	case UART_LSR:
	case UART_MSR:
		/* Read-only: writes are ignored, as on real hardware. */
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
}

static u8 uart_read(struct mttym_uart *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	u8 val = 0;

	switch (reg) {
	case UART_RX:
		val = dlab ? u->dll : uart_rx_pop(u);
		break;
	case UART_IER:
		val = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		val = uart_iir(u);
		/* Reading IIR while it reports THRE acknowledges it. */
		if ((val & UART_IIR_ID) == UART_IIR_THRI)
			u->thre_pending = false;
		break;
	case UART_LCR:
		val = u->lcr;
		break;
	case UART_MCR:
		val = u->mcr;
		break;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err;
		if (u->count)
			val |= UART_LSR_DR;
		u->lsr_err = 0;
		break;
	case UART_MSR:
		val = uart_msr_lines(u->mcr) | u->msr_delta;
		u->msr_delta = 0;
		break;
	case UART_SCR:
		val = u->scr;
		break;
	}
	return val;
}

static int mttym_uart_read(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	*(u8 *)buf = uart_read(&st->uart[index], off);
	mttym_update_irq(st);
	mutex_unlock(&st->lock);
	return 0;
}

static int mttym_uart_write(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, const void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	uart_write(&st->uart[index], off, *(const u8 *)buf);
	mttym_update_irq(st);
	mutex_unlock(&st->lock);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Device memory */

static int mttym_mem_read(struct mttym_state *st, u64 off, void *buf,
			  size_t count)
{
	mutex_lock(&st->lock);
	memcpy(buf, st->mem + off, count);
	mutex_unlock(&st->lock);
	return 0;
}

static int mttym_mem_write(struct mttym_state *st, u64 off,
			   const void *buf, size_t count)
{
	mutex_lock(&st->lock);
	memcpy(st->mem + off, buf, count);
	vfio_mig_mem_dirty(&st->mig, off, count);
	mutex_unlock(&st->lock);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* DMA engine */

#define MTTYM_DMA_CHUNK		PAGE_SIZE

/*
 * Run one DMA operation to completion.  Guest memory is reached only
 * through vfio_dma_rw(), so the container sees every write, and each write
 * into guest memory is logged for the dirty_pfns queries.
 */
static u32 mttym_dma_run(struct mttym_state *st, u32 op)
{
	struct mttym_dma *d = &st->dma;
	u64 mem = st->type->mem_size, done = 0, end;
	u8 *buf;
	int ret = 0;

	lockdep_assert_held(&st->lock);
	if (!d->len)
		return MTTYM_DMA_DONE;
	/* The guest span must not wrap; the device span must fit memory. */
	switch (op) {
	case MTTYM_DMA_OP_TO_DEV:
		if (check_add_overflow(d->src, d->len - 1, &end) ||
		    check_add_overflow(d->dst, d->len, &end) || end > mem)
			return MTTYM_DMA_ERROR;
		break;
	case MTTYM_DMA_OP_FROM_DEV:
		if (check_add_overflow(d->dst, d->len - 1, &end) ||
		    check_add_overflow(d->src, d->len, &end) || end > mem)
			return MTTYM_DMA_ERROR;
		break;
	case MTTYM_DMA_OP_FILL:
		if (check_add_overflow(d->dst, d->len - 1, &end))
			return MTTYM_DMA_ERROR;
		break;
	default:
		return MTTYM_DMA_ERROR;
	}
	buf = kmalloc(MTTYM_DMA_CHUNK, GFP_KERNEL);
	if (!buf)
		return MTTYM_DMA_ERROR;
	if (op == MTTYM_DMA_OP_FILL) {
		unsigned int i;

		for (i = 0; i < MTTYM_DMA_CHUNK; i++)
			buf[i] = d->pattern >> (8 * (i % 8));
	}
	while (done < d->len && !ret) {
		size_t n = min_t(u64, d->len - done, MTTYM_DMA_CHUNK);

		switch (op) {
		case MTTYM_DMA_OP_TO_DEV:
			ret = vfio_dma_rw(&st->mig.vdev, d->src + done, buf, n,
					  false);
			if (!ret) {
				memcpy(st->mem + d->dst + done, buf, n);
				vfio_mig_mem_dirty(&st->mig, d->dst + done, n);
			}
			break;
		case MTTYM_DMA_OP_FROM_DEV:
			memcpy(buf, st->mem + d->src + done, n);
			fallthrough;
		case MTTYM_DMA_OP_FILL:
			ret = vfio_dma_rw(&st->mig.vdev, d->dst + done, buf, n,
					  true);
			/*
			 * vfio_dma_rw() goes mapping by mapping: a write that
			 * fails part way may have changed pages before the
			 * failure, so the whole span counts as written.
			 */
			vfio_mig_log_dirty(&st->mig, d->dst + done, n);
			break;
		}
		done += n;
	}
	kfree(buf);
	return ret ? MTTYM_DMA_ERROR : MTTYM_DMA_DONE;
}

/* The 64-bit register at @base (8-aligned), or NULL. */
static u64 *mttym_dma_reg(struct mttym_dma *d, u64 base)
{
	switch (base) {
	case MTTYM_DMA_SRC:
		return &d->src;
	case MTTYM_DMA_DST:
		return &d->dst;
	case MTTYM_DMA_LEN:
		return &d->len;
	case MTTYM_DMA_PATTERN:
		return &d->pattern;
	case MTTYM_DMA_COUNT:
		return &d->count;
	}
	return NULL;
}

/* A register read at @off of the block (4 or 8 bytes, aligned). */
static void mttym_dma_read(struct mttym_state *st, u64 off, void *buf,
			   size_t count)
{
	u64 val = 0, *reg;

	mutex_lock(&st->lock);
	reg = mttym_dma_reg(&st->dma, off & ~7ULL);
	if (reg)
		val = *reg;
	else if ((off & ~7ULL) == MTTYM_DMA_CMD)
		val = (u64)st->dma.status << 32;	/* CMD reads 0 */
	mutex_unlock(&st->lock);
	val >>= 8 * (off & 7);
	memcpy(buf, &val, count);	/* little-endian host */
}

static void mttym_dma_write(struct mttym_state *st, u64 off,
			    const void *buf, size_t count)
{
	u64 base = off & ~7ULL, val = 0, *reg;
	bool high = off & 4;

	memcpy(&val, buf, count);
	mutex_lock(&st->lock);
	reg = mttym_dma_reg(&st->dma, base);
	if (base == MTTYM_DMA_CMD && !high) {
		st->dma.status = mttym_dma_run(st, (u32)val);
		st->dma.count++;
	} else if (!reg || base == MTTYM_DMA_COUNT) {
		/* read-only or unused: ignored */
	} else if (count == 8) {
		*reg = val;
	} else if (high) {	/* either 4-byte half of a 64-bit register */
		*reg = (*reg & 0xffffffffULL) | val << 32;
	} else {
		*reg = (*reg & ~0xffffffffULL) | val;
	}
	mutex_unlock(&st->lock);
}

/*
 * BAR2: device memory below mem_size, the DMA engine's registers in the
 * MTTYM_DMA_SIZE bytes from there (4- and 8-byte accesses only), and
 * above them nothing: reads of zero, writes ignored.  An access is at
 * most 8 bytes and naturally aligned (the engine checked), so it never
 * straddles two parts.
 */
static int mttym_bar2_read(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);
	u64 mem = st->type->mem_size;

	if (off < mem)
		return mttym_mem_read(st, off, buf, count);
	if (off - mem >= MTTYM_DMA_SIZE) {
		memset(buf, 0, count);
		return 0;
	}
	if (count < 4)
		return -EINVAL;
	mttym_dma_read(st, off - mem, buf, count);
	return 0;
}

static int mttym_bar2_write(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, const void *buf, size_t count)
{
	struct mttym_state *st = mig_to_state(mig);
	u64 mem = st->type->mem_size;

	if (off < mem)
		return mttym_mem_write(st, off, buf, count);
	if (off - mem >= MTTYM_DMA_SIZE)
		return 0;
	if (count < 4)
		return -EINVAL;
	mttym_dma_write(st, off - mem, buf, count);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Device reset, open, close */

static void mttym_reset_locked(struct mttym_state *st)
{
	unsigned int i;

	lockdep_assert_held(&st->lock);
	vfio_mig_pci_config_reset(&st->cfg);
	for (i = 0; i < MTTYM_MAX_PORTS; i++)
		uart_reset(&st->uart[i]);
	memset(st->mem, 0, st->type->mem_size);
	memset(&st->dma, 0, sizeof(st->dma));
	st->intx_masked = false;
	st->irq_level = false;
}

static void mttym_put_trigger(struct eventfd_ctx **ctx)
{
	if (*ctx) {
		eventfd_ctx_put(*ctx);
		*ctx = NULL;
	}
}

/*
 * The device keeps its state across close and open, like a card that stays
 * powered while no one holds it: only VFIO_DEVICE_RESET (or removal)
 * returns it to power-on state.  The engine ends migration sessions at
 * open and close before calling these.
 */
static int mttym_open(struct vfio_mig_device *mig)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	st->open = true;
	mutex_unlock(&st->lock);
	return 0;
}

static void mttym_close(struct vfio_mig_device *mig)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	st->open = false;
	mttym_put_trigger(&st->intx_trigger);
	mttym_put_trigger(&st->msi_trigger);
	mutex_unlock(&st->lock);
}

/* ---------------------------------------------------------------------- */
/* Migration */

static size_t mttym_identity(struct vfio_mig_device *mig, u8 *buf,
			     size_t len)
{
	const struct mttym_type *t = mig_to_state(mig)->type;
	struct {
		char model[16];
		__le32 version;
		__le32 ports;
		__le64 mem_size;
		__le32 features;
	} __packed id = {
		.model = "mtty-mig",
		/* 2: the DMA engine's registers moved from BAR3 into BAR2 */
		.version = cpu_to_le32(2),
		.ports = cpu_to_le32(t->nr_ports),
		.mem_size = cpu_to_le64(t->mem_size),
		.features = cpu_to_le32(MTTYM_FEAT_DMA),
	};

	if (len < sizeof(id))
		return 0;
	memcpy(buf, &id, sizeof(id));
	return sizeof(id);
}

static void mttym_quiesce(struct vfio_mig_device *mig)
{
	struct mttym_state *st = mig_to_state(mig);

	/* DMA runs synchronously under the lock: none is in flight. */
	mutex_lock(&st->lock);
	st->quiesced = true;
	mutex_unlock(&st->lock);
}

static void mttym_unquiesce(struct vfio_mig_device *mig)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	st->quiesced = false;
	mttym_update_irq(st);
	mutex_unlock(&st->lock);
}

static void uart_save(const struct mttym_uart *u, struct mttym_uart_rec *r)
{
	unsigned int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < u->count; i++)
		r->fifo[i] = u->fifo[(u->head + i) % MTTYM_FIFO_SIZE];
	r->count = u->count;
	r->ier = u->ier;
	r->fcr = u->fcr;
	r->lcr = u->lcr;
	r->mcr = u->mcr;
	r->scr = u->scr;
	r->dll = u->dll;
	r->dlm = u->dlm;
	r->lsr_err = u->lsr_err;
	r->msr_delta = u->msr_delta;
	r->thre_pending = u->thre_pending;
}

static int uart_check(const struct mttym_uart_rec *r)
{
	unsigned int i;
	unsigned int cap = (r->fcr & UART_FCR_ENABLE_FIFO) ? MTTYM_FIFO_SIZE : 1;

	if (r->count > cap || r->ier & ~0x0f ||
	    r->fcr & ~(UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT |
		       UART_FCR_TRIGGER_MASK) ||
	    r->mcr & ~0x1f || r->lsr_err & ~UART_LSR_OE ||
	    r->msr_delta & ~0x0f || r->thre_pending > 1)
		return -EINVAL;
	for (i = r->count; i < MTTYM_FIFO_SIZE; i++)
		if (r->fifo[i])
			return -EINVAL;
	return 0;
}

static void uart_load(struct mttym_uart *u, const struct mttym_uart_rec *r)
{
	uart_reset(u);
	memcpy(u->fifo, r->fifo, MTTYM_FIFO_SIZE);
	u->count = r->count;
	u->ier = r->ier;
	u->fcr = r->fcr;
	u->lcr = r->lcr;
	u->mcr = r->mcr;
	u->scr = r->scr;
	u->dll = r->dll;
	u->dlm = r->dlm;
	u->lsr_err = r->lsr_err;
	u->msr_delta = r->msr_delta;
	u->thre_pending = r->thre_pending;
}

static int mttym_save_state(struct vfio_mig_device *mig,
			    struct vfio_mig_stream *s)
{
	struct mttym_state *st = mig_to_state(mig);
	struct mttym_uart_rec uart[MTTYM_MAX_PORTS];
	u8 cfg[MTTYM_CFG_SIZE];
	struct mttym_irq_rec irq;
	struct mttym_dma_rec dma;
	unsigned int i;

	mutex_lock(&st->lock);
	memcpy(cfg, st->cfg.val, sizeof(cfg));
	for (i = 0; i < st->type->nr_ports; i++)
		uart_save(&st->uart[i], &uart[i]);
	irq.intx_masked = st->intx_masked;
	irq.irq_level = st->irq_level;
	dma.src = cpu_to_le64(st->dma.src);
	dma.dst = cpu_to_le64(st->dma.dst);
	dma.len = cpu_to_le64(st->dma.len);
	dma.pattern = cpu_to_le64(st->dma.pattern);
	dma.count = cpu_to_le64(st->dma.count);
	dma.status = cpu_to_le64(st->dma.status);
	mutex_unlock(&st->lock);

	vfio_mig_emit(s, MTTYM_REC_CONFIG, cfg, sizeof(cfg));
	for (i = 0; i < st->type->nr_ports; i++)
		vfio_mig_emit(s, MTTYM_REC_UART0 + i, &uart[i], sizeof(uart[i]));
	vfio_mig_emit(s, MTTYM_REC_IRQ, &irq, sizeof(irq));
	return vfio_mig_emit(s, MTTYM_REC_DMA, &dma, sizeof(dma));
}

/* Everything a record could carry is checked here, before any use. */
static int mttym_check_record(struct vfio_mig_device *mig, u32 type,
			      const void *p, u32 len)
{
	struct mttym_state *st = mig_to_state(mig);
	const struct mttym_irq_rec *irq = p;
	const struct mttym_dma_rec *dma = p;
	int ret;

	switch (type) {
	case MTTYM_REC_CONFIG:
		/* Bits the device does not let software write must match. */
		mutex_lock(&st->lock);
		ret = vfio_mig_pci_config_check(&st->cfg, p, len);
		mutex_unlock(&st->lock);
		return ret;
	case MTTYM_REC_UART0:
	case MTTYM_REC_UART1:
		if (len != sizeof(struct mttym_uart_rec) ||
		    type - MTTYM_REC_UART0 >= st->type->nr_ports)
			return -EINVAL;
		return uart_check(p);
	case MTTYM_REC_IRQ:
		if (len != sizeof(*irq) || irq->intx_masked > 1 ||
		    irq->irq_level > 1)
			return -EINVAL;
		return 0;
	case MTTYM_REC_DMA:
		if (len != sizeof(*dma) ||
		    le64_to_cpu(dma->status) > MTTYM_DMA_ERROR)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static void mttym_load_record(struct vfio_mig_device *mig, u32 type,
			      const void *p, u32 len)
{
	struct mttym_state *st = mig_to_state(mig);
	const struct mttym_irq_rec *irq = p;
	const struct mttym_dma_rec *dma = p;

	mutex_lock(&st->lock);
	switch (type) {
	case MTTYM_REC_CONFIG:
		memcpy(st->cfg.val, p, MTTYM_CFG_SIZE);
		break;
	case MTTYM_REC_UART0:
	case MTTYM_REC_UART1:
		uart_load(&st->uart[type - MTTYM_REC_UART0], p);
		break;
	case MTTYM_REC_IRQ:
		st->intx_masked = irq->intx_masked;
		st->irq_level = irq->irq_level;
		break;
	case MTTYM_REC_DMA:
		st->dma.src = le64_to_cpu(dma->src);
		st->dma.dst = le64_to_cpu(dma->dst);
		st->dma.len = le64_to_cpu(dma->len);
		st->dma.pattern = le64_to_cpu(dma->pattern);
		st->dma.count = le64_to_cpu(dma->count);
		st->dma.status = le64_to_cpu(dma->status);
		break;
	}
	mutex_unlock(&st->lock);
}

static void mttym_mig_reset(struct vfio_mig_device *mig)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	mttym_reset_locked(st);
	mutex_unlock(&st->lock);
}

/* Device memory for the engine's stream, copied with its copier. */
static void mttym_mem_copy_out(struct vfio_mig_device *mig, u64 off,
			       void *buf, size_t len, struct vfio_mig_copy *c)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	vfio_mig_copy(c, buf, st->mem + off, len);
	mutex_unlock(&st->lock);
}

static void mttym_mem_copy_in(struct vfio_mig_device *mig, u64 off,
			      const void *buf, size_t len,
			      struct vfio_mig_copy *c)
{
	struct mttym_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	vfio_mig_copy(c, st->mem + off, buf, len);
	mutex_unlock(&st->lock);
}

/* ---------------------------------------------------------------------- */
/* ioctls */

static int mttym_num_irqs(unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
	case VFIO_PCI_MSI_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}


/*
 * Apply one validated VFIO_DEVICE_SET_IRQS request.  @data holds @count
 * elements of the request's data type (none, u8 bools or s32 fds).
 */
static int mttym_set_irqs_locked(struct mttym_state *st,
				 const struct vfio_irq_set *hdr,
				 const void *data)
{
	u32 action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	u32 type = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	bool msi = hdr->index == VFIO_PCI_MSI_IRQ_INDEX;
	struct eventfd_ctx **trigger = msi ? &st->msi_trigger :
					     &st->intx_trigger;
	bool set = false;

	lockdep_assert_held(&st->lock);

	/* Only DATA_NONE may come with count 0 (it means "tear down"). */
	if (!hdr->count && type != VFIO_IRQ_SET_DATA_NONE)
		return -EINVAL;
	if (type == VFIO_IRQ_SET_DATA_NONE)
		set = hdr->count;
	else if (type == VFIO_IRQ_SET_DATA_BOOL)
		set = *(const u8 *)data;

	switch (action) {
	case VFIO_IRQ_SET_ACTION_TRIGGER:
		if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
			struct eventfd_ctx *ctx;
			int ret = vfio_mig_eventfd_get(*(const s32 *)data,
						       &ctx);

			if (ret)
				return ret;
			mttym_put_trigger(trigger);
			*trigger = ctx;
			st->intx_masked = false;
			st->irq_level = false;
			mttym_update_irq(st);
			return 0;
		}
		if (!hdr->count) {
			mttym_put_trigger(trigger);
			return 0;
		}
		/* Loopback: fire the interrupt from userspace. */
		if (set && *trigger && !st->quiesced)
			vfio_mig_eventfd_signal(*trigger);
		return 0;
	case VFIO_IRQ_SET_ACTION_MASK:
	case VFIO_IRQ_SET_ACTION_UNMASK:
		if (msi || type == VFIO_IRQ_SET_DATA_EVENTFD || !hdr->count)
			return -EINVAL;
		if (!set)
			return 0;
		st->intx_masked = action == VFIO_IRQ_SET_ACTION_MASK;
		if (!st->intx_masked)
			mttym_update_irq(st);
		return 0;
	}
	return -EINVAL;
}

static long mttym_set_irqs(struct mttym_state *st, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	u8 *data = NULL;
	u32 action;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr,
						 mttym_num_irqs(hdr.index),
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (hweight32(action) != 1)
		return -EINVAL;
	if (data_size) {
		data = memdup_user(arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}
	mutex_lock(&st->lock);
	ret = mttym_set_irqs_locked(st, &hdr, data);
	mutex_unlock(&st->lock);
	kfree(data);
	return ret;
}

/* The ioctls the engine leaves to the driver: the IRQ ones. */
static long mttym_ioctl(struct vfio_mig_device *mig, unsigned int cmd,
			unsigned long arg)
{
	struct mttym_state *st = mig_to_state(mig);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vfio_mig_irq_info(uarg, true);
	case VFIO_DEVICE_SET_IRQS:
		return mttym_set_irqs(st, uarg);
	}
	return -ENOTTY;
}

static const struct vfio_mig_ops mttym_mig_ops = {
	.identity = mttym_identity,
	.quiesce = mttym_quiesce,
	.unquiesce = mttym_unquiesce,
	.save_state = mttym_save_state,
	.check_record = mttym_check_record,
	.load_record = mttym_load_record,
	.reset = mttym_mig_reset,
	.mem_read = mttym_mem_copy_out,
	.mem_write = mttym_mem_copy_in,
	.open = mttym_open,
	.close = mttym_close,
	.ioctl = mttym_ioctl,
};

/* ---------------------------------------------------------------------- */
/*
 * The host-side traffic source: what the device's outside world does to
 * it, so its state changes while a VMM migrates it.  Attributes of the
 * mdev, in its "traffic" directory (Documentation/mtty-mig.rst):
 *   rx      write "PORT COUNT FIRST": COUNT bytes FIRST, FIRST+1, ... (mod
 *           256) arrive at the port's receiver, as from the line
 *   mem     write "OFFSET LENGTH FIRST": the device writes bytes FIRST,
 *           FIRST+1, ... into its memory
 *   fill    write "OFFSET LENGTH SEED": the device writes the pseudo-random
 *           stream of mttym_fill_next() into its memory (8-byte aligned)
 *   dma     write "OFFSET IOVA LENGTH": the DMA engine copies device memory
 *           to guest memory, as if programmed through its registers
 *   digest  read: CRC32C of device memory, to compare two devices
 * While the device is quiesced the writes fail with EBUSY and change
 * nothing; dma needs an open device (ENODEV otherwise).
 */

/*
 * A traffic line: exactly @n decimal numbers, one space apart (leading and
 * trailing white space, such as echo's newline, allowed).  kstrtou64()
 * refuses a number that does not fit, where sscanf() would wrap it.
 */
static int traffic_parse(const char *buf, size_t len, u64 *v, unsigned int n)
{
	char line[96], *p, *tok;
	unsigned int i;

	if (len >= sizeof(line))
		return -EINVAL;
	memcpy(line, buf, len);
	line[len] = 0;
	p = strim(line);
	for (i = 0; i < n; i++) {
		tok = strsep(&p, " ");
		if (!tok || kstrtou64(tok, 10, &v[i]))
			return -EINVAL;
	}
	return p ? -EINVAL : 0;
}

static ssize_t rx_store(struct device *dev, struct device_attribute *attr,
			const char *buf, size_t len)
{
	struct mttym_state *st = mig_to_state(dev_get_drvdata(dev));
	u64 v[3];	/* port, count, first */
	unsigned int i;
	int ret = 0;

	if (traffic_parse(buf, len, v, 3) || v[0] >= st->type->nr_ports ||
	    !v[1] || v[1] > MTTYM_FIFO_SIZE || v[2] > 0xff)
		return -EINVAL;
	mutex_lock(&st->lock);
	if (st->quiesced) {
		ret = -EBUSY;
	} else {
		for (i = 0; i < v[1]; i++)
			uart_rx_push(&st->uart[v[0]], v[2] + i);
		mttym_update_irq(st);
	}
	mutex_unlock(&st->lock);
	return ret ?: len;
}
static DEVICE_ATTR_WO(rx);

/*
 * mem "OFFSET LENGTH FIRST" and fill "OFFSET LENGTH SEED": the device
 * writes a byte sequence, or mttym_fill_next()'s stream (8-byte words).
 */
static ssize_t mem_traffic(struct device *dev, const char *buf, size_t len,
			   bool fill)
{
	struct mttym_state *st = mig_to_state(dev_get_drvdata(dev));
	u64 arg[3], off, n, end, v, i;
	int ret = 0;

	if (traffic_parse(buf, len, arg, 3))
		return -EINVAL;
	off = arg[0];
	n = arg[1];
	v = arg[2];
	if (!n || check_add_overflow(off, n, &end) ||
	    end > st->type->mem_size ||
	    (fill ? !IS_ALIGNED(off | n, 8) : v > 0xff))
		return -EINVAL;
	mutex_lock(&st->lock);
	if (st->quiesced) {
		ret = -EBUSY;
	} else if (fill) {
		for (i = 0; i < n; i += 8) {
			/* st->mem is page-aligned, off 8-aligned. */
			*(__le64 *)(st->mem + off + i) =
				cpu_to_le64(mttym_fill_next(&v));
			if (!((i + 8) & (SZ_1M - 1)))
				cond_resched();
		}
	} else {
		for (i = 0; i < n; i++) {
			st->mem[off + i] = v + i;
			if (!((i + 1) & (SZ_1M - 1)))
				cond_resched();
		}
	}
	if (!ret)
		vfio_mig_mem_dirty(&st->mig, off, n);
	mutex_unlock(&st->lock);
	return ret ?: len;
}

static ssize_t mem_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t len)
{
	return mem_traffic(dev, buf, len, false);
}
static DEVICE_ATTR_WO(mem);

static ssize_t fill_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t len)
{
	return mem_traffic(dev, buf, len, true);
}
static DEVICE_ATTR_WO(fill);

struct mttym_dma_work {
	struct work_struct work;
	struct mttym_state *st;
	u64 src, dst, len;
	int ret;
};

/*
 * vfio_dma_rw() reaches the user's memory from its own process or from a
 * kernel thread, so the dma attribute runs the engine on a workqueue.
 */
static void mttym_dma_work_fn(struct work_struct *work)
{
	struct mttym_dma_work *w = container_of(work, struct mttym_dma_work,
						work);
	struct mttym_state *st = w->st;

	mutex_lock(&st->lock);
	if (!st->open) {
		w->ret = -ENODEV;
	} else if (st->quiesced) {
		w->ret = -EBUSY;
	} else {
		st->dma.src = w->src;
		st->dma.dst = w->dst;
		st->dma.len = w->len;
		st->dma.status = mttym_dma_run(st, MTTYM_DMA_OP_FROM_DEV);
		st->dma.count++;
		w->ret = st->dma.status == MTTYM_DMA_DONE ? 0 : -EIO;
	}
	mutex_unlock(&st->lock);
}

static ssize_t dma_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t len)
{
	struct mttym_dma_work w = { .st = mig_to_state(dev_get_drvdata(dev)) };
	u64 v[3];	/* offset, IOVA, length */

	if (traffic_parse(buf, len, v, 3) || !v[2])
		return -EINVAL;
	w.src = v[0];
	w.dst = v[1];
	w.len = v[2];
	INIT_WORK_ONSTACK(&w.work, mttym_dma_work_fn);
	queue_work(system_unbound_wq, &w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	return w.ret ?: len;
}
static DEVICE_ATTR_WO(dma);

static ssize_t digest_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct mttym_state *st = mig_to_state(dev_get_drvdata(dev));
	u64 off, n;
	u32 crc;

	/*
	 * A MiB at a time: an accelerated crc32c() may run each call with
	 * preemption off (kernel_fpu_begin()), and memory may be 1 GiB.
	 */
	mutex_lock(&st->lock);
	for (crc = ~0U, off = 0; off < st->type->mem_size; off += n) {
		n = min_t(u64, SZ_1M, st->type->mem_size - off);
		crc = vfio_mig_crc32c(crc, st->mem + off, n);
		cond_resched();
	}
	crc = ~crc;
	mutex_unlock(&st->lock);
	return sysfs_emit(buf, "%08x\n", crc);
}
static DEVICE_ATTR_RO(digest);

static struct attribute *mttym_traffic_attrs[] = {
	&dev_attr_rx.attr,
	&dev_attr_mem.attr,
	&dev_attr_fill.attr,
	&dev_attr_dma.attr,
	&dev_attr_digest.attr,
	NULL,
};

static const struct attribute_group mttym_traffic_group = {
	.name = "traffic",
	.attrs = mttym_traffic_attrs,
};

/* ---------------------------------------------------------------------- */
/* Device life cycle */

static bool mttym_pool_take(const struct mttym_type *t)
{
	bool ok;

	mutex_lock(&mttym_pool_lock);
	ok = mttym_ports_free >= t->nr_ports && mttym_mem_free >= t->mem_size;
	if (ok) {
		mttym_ports_free -= t->nr_ports;
		mttym_mem_free -= t->mem_size;
	}
	mutex_unlock(&mttym_pool_lock);
	return ok;
}

static void mttym_pool_give(const struct mttym_type *t)
{
	mutex_lock(&mttym_pool_lock);
	mttym_ports_free += t->nr_ports;
	mttym_mem_free += t->mem_size;
	mutex_unlock(&mttym_pool_lock);
}

static void mttym_init_regions(struct mttym_state *st)
{
	const u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfio_mig_region *r = st->mig.regions;
	unsigned int i;

	st->mig.num_regions = VFIO_PCI_NUM_REGIONS;
	for (i = 0; i < st->type->nr_ports; i++)
		r[VFIO_PCI_BAR0_REGION_INDEX + i] = (struct vfio_mig_region) {
			.size = MTTYM_UART_SIZE, .flags = rw,
			.widths = VFIO_MIG_W1, .quiesce = true,
			.read = mttym_uart_read, .write = mttym_uart_write,
		};
	r[MTTYM_MEM_REGION] = (struct vfio_mig_region) {
		.size = mttym_bar2_size(st->type->mem_size), .flags = rw,
		.widths = VFIO_MIG_W1 | VFIO_MIG_W2 | VFIO_MIG_W4 | VFIO_MIG_W8,
		.quiesce = true,
		.read = mttym_bar2_read, .write = mttym_bar2_write,
	};
	r[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_mig_region) {
		.size = MTTYM_CFG_SIZE, .flags = rw,
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = mttym_cfg_read, .write = mttym_cfg_write,
	};
}

static int mttym_init_dev(struct vfio_device *vdev)
{
	struct mttym_state *st = vdev_to_state(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	const struct mttym_type *t = to_mttym_type(mdev->type);
	struct vfio_mig_config mig_cfg;
	int ret;

	if (!mttym_pool_take(t))
		return -ENOSPC;
	st->mem = vzalloc(t->mem_size);
	if (!st->mem) {
		ret = -ENOMEM;
		goto err_pool;
	}
	st->type = t;
	mutex_init(&st->lock);
	mttym_init_regions(st);
	mttym_cfg_layout(st);
	mig_cfg = (struct vfio_mig_config) {
		.ops = &mttym_mig_ops,
		.data_size = MTTYM_DATA_SECTION,
		.mmap = t->mmap,
		.mem_size = t->mem_size,
		.state_types = t->nr_ports == 1 ? mttym_state_types_1p :
						  mttym_state_types_2p,
		.nr_state_types = t->nr_ports == 1 ?
				  ARRAY_SIZE(mttym_state_types_1p) :
				  ARRAY_SIZE(mttym_state_types_2p),
		.max_record = MTTYM_CFG_SIZE,
	};
	ret = vfio_mig_init(&st->mig, &mig_cfg);
	if (ret)
		goto err_mem;
	mutex_lock(&st->lock);
	mttym_reset_locked(st);
	mutex_unlock(&st->lock);
	return 0;

err_mem:
	mutex_destroy(&st->lock);
	vfree(st->mem);
err_pool:
	mttym_pool_give(t);
	return ret;
}

static void mttym_release_dev(struct vfio_device *vdev)
{
	struct mttym_state *st = vdev_to_state(vdev);

	vfio_mig_uninit(&st->mig);
	vfree(st->mem);
	mutex_destroy(&st->lock);
	mttym_pool_give(st->type);
	/* Last: it frees @st on kernels where the core does not. */
	vfio_mig_free_device(vdev);
}

static const struct vfio_device_ops mttym_dev_ops = {
	.name = "vfio-mtty-mig",
	.init = mttym_init_dev,
	.release = mttym_release_dev,
	.open_device = vfio_mig_open_device,
	.close_device = vfio_mig_close_device,
	.read = vfio_mig_read,
	.write = vfio_mig_write,
	.mmap = vfio_mig_mmap,
	.ioctl = vfio_mig_ioctl,
	VFIO_MIG_REGION_INFO_OP(vfio_mig_get_region_info_caps)
	VFIO_MIG_IOMMUFD_OPS
};

static int mttym_probe(struct mdev_device *mdev)
{
	struct mttym_state *st;

	st = vfio_alloc_device(mttym_state, mig.vdev, &mdev->dev,
			       &mttym_dev_ops);
	if (IS_ERR(st))
		return PTR_ERR(st);
	return vfio_mig_register(&st->mig, &mttym_traffic_group);
}

static void mttym_remove(struct mdev_device *mdev)
{
	vfio_mig_unregister(dev_get_drvdata(&mdev->dev), &mttym_traffic_group);
}

static unsigned int mttym_get_available(struct mdev_type *mtype)
{
	const struct mttym_type *t = to_mttym_type(mtype);
	unsigned int n;

	mutex_lock(&mttym_pool_lock);
	n = min_t(u64, mttym_ports_free / t->nr_ports,
		  div64_u64(mttym_mem_free, t->mem_size));
	mutex_unlock(&mttym_pool_lock);
	return n;
}

static ssize_t mttym_show_description(struct mdev_type *mtype, char *buf)
{
	const struct mttym_type *t = to_mttym_type(mtype);

	return sysfs_emit(buf, "ports=%u memory=%llu migration-data=%s\n",
			  t->nr_ports, t->mem_size, t->mmap ? "mmap" : "trapped");
}

static struct mdev_driver mttym_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = "mtty_mig",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = mttym_probe,
	.remove = mttym_remove,
	.get_available = mttym_get_available,
	.show_description = mttym_show_description,
};

static int __init mttym_init(void)
{
	unsigned int i;

	if (!mem_budget_mib)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(mttym_types); i++)
		mttym_mdev_types[i] = &mttym_types[i].type;
	mttym_mem_free = (u64)mem_budget_mib * SZ_1M;
	mttym_ports_free = MTTYM_TOTAL_PORTS;
	return vfio_mig_parent_register(&mttym_parent, MTTYM_NAME,
					&mttym_driver, mttym_mdev_types,
					ARRAY_SIZE(mttym_mdev_types));
}

static void __exit mttym_exit(void)
{
	vfio_mig_parent_unregister(&mttym_parent, &mttym_driver);
}

module_init(mttym_init);
module_exit(mttym_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VFIO_MIG_VERSION);
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("mtty-mig: mediated serial device with device memory");
