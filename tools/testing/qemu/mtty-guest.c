// SPDX-License-Identifier: GPL-2.0
/*
 * mtty-guest: a program for a Linux guest that has mtty-mig devices, run
 * while the host migrates the guest (tools/testing/qemu/test_guest.sh).
 * Built static, it runs from a busybox initramfs.
 *
 * For every mtty-mig PCI function (4348:3253) it finds in sysfs:
 *   - each of its ports, as the ttyS the guest's own 8250_pci driver made
 *     of it, is put in raw mode and loopback (TIOCM_LOOP, MCR bit 4), and
 *     a numbered byte sequence (byte i is i mod 256) streams through it;
 *     every byte that comes back is checked against the sequence and
 *     counted as received, lost (the sequence skipped ahead), duplicated
 *     (a byte already received came again) or corrupted (anything else);
 *   - its DMA engine, through the registers in BAR2 (mmapped from
 *     sysfs resource2), keeps writing guest memory: pinned pages whose
 *     guest-physical addresses come from /proc/self/pagemap (no vIOMMU:
 *     IOVA = guest-physical).  Each round fills a page with a pattern,
 *     copies a page of the CPU's into device memory and copies that back
 *     into another page; every page is checked when written and again
 *     before it is written the next time, device memory through BAR2 too,
 *     so data a migration lost shows up after it.  A check that fails, or
 *     an operation that does not end DONE, is a DMA mismatch; the
 *     engine's COUNT register must count every operation.
 * It runs until the host writes the stop word (bytes 0xf0..0xf7) at the
 * start of the last page of a device's memory (traffic/mem), or until
 * the time limit, then lets the ports drain and prints one result line:
 *
 *   mtty-guest: result devices=D ports=P/Q bytes=B lost=L duplicated=U
 *     corrupted=C dma_ops=O dma_mismatches=M seconds=S
 *
 * (on one line).  Exit status 0 when all counts of errors are 0 and every
 * port (Q: the ports the devices have) has a tty.
 *
 * usage: mtty-guest [SECONDS]   (the time limit, default 1800)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "mtty-mig.h"

#define MAX_DEVS	4
#define MAX_PORTS	8
#define PAGE		4096u
#define RING		32	/* guest pages a device's DMA cycles through */
#define WINDOW		32	/* how far a lost or duplicated byte may be */
#define IN_FLIGHT	256	/* bytes sent and not yet back, per port */
#define STOP_WORD	0xf7f6f5f4f3f2f1f0ULL
#ifndef TIOCM_LOOP
#define TIOCM_LOOP	0x8000	/* asm-generic/termios.h; glibc lacks it */
#endif

struct port {
	char tty[260];
	int fd;
	uint64_t sent, expect, received, lost, dup, corrupt;
};

struct dev {
	char bdf[260];
	unsigned int nr_ports;		/* what the card has */
	volatile uint8_t *bar2;
	uint64_t mem_size;
	volatile uint8_t *regs;
	uint8_t *guest;			/* RING pages, pinned */
	uint64_t page_seq[RING];	/* what each page should hold */
	uint64_t mem_seq[RING];		/* what each device page should hold */
	uint64_t ops, count0, count, mismatches;
};

static struct port ports[MAX_PORTS];
static unsigned int nr_ports, want_ports;
static struct dev devs[MAX_DEVS];
static unsigned int nr_devs;
static int pagemap = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_sysfs(const char *dir, const char *name, char *buf,
		      size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* --- serial --------------------------------------------------------------- */

static void port_open(struct port *p, const char *tty)
{
	struct termios t;
	char path[270];
	int loop = TIOCM_LOOP, mctrl = 0;

	snprintf(p->tty, sizeof(p->tty), "%s", tty);
	snprintf(path, sizeof(path), "/dev/%s", tty);
	p->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (p->fd < 0) {
		printf("mtty-guest: cannot open %s: %s\n", path,
		       strerror(errno));
		return;
	}
	tcgetattr(p->fd, &t);
	cfmakeraw(&t);
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~CRTSCTS;
	if (tcsetattr(p->fd, TCSANOW, &t) ||
	    ioctl(p->fd, TIOCMBIS, &loop) || ioctl(p->fd, TIOCMGET, &mctrl) ||
	    !(mctrl & TIOCM_LOOP)) {
		printf("mtty-guest: cannot set %s raw and in loopback\n", tty);
		close(p->fd);
		p->fd = -1;
		return;
	}
	tcflush(p->fd, TCIOFLUSH);
}

/* One byte back from the line: which byte of the sequence is it? */
static void port_check(struct port *p, uint8_t got)
{
	uint8_t want = p->expect, ahead = got - want, behind = want - got;

	p->received++;
	if (got == want) {
		p->expect++;
	} else if (ahead < WINDOW && p->expect + ahead < p->sent) {
		p->lost += ahead;		/* skipped bytes never came */
		p->expect += ahead + 1;
	} else if (behind <= WINDOW && behind <= p->expect) {
		p->dup++;			/* a byte that came already */
	} else {
		p->corrupt++;
		p->expect++;
	}
}

static void port_io(struct port *p, bool sending)
{
	uint8_t buf[256];
	ssize_t n, i;

	while ((n = read(p->fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			port_check(p, buf[i]);
	if (!sending || p->sent - p->expect >= IN_FLIGHT)
		return;
	n = IN_FLIGHT - (p->sent - p->expect);
	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		buf[i] = p->sent + i;
	n = write(p->fd, buf, n);
	if (n > 0)
		p->sent += n;
}

/* --- DMA ------------------------------------------------------------------ */

static uint64_t gpa(void *va)
{
	uint64_t e = 0;
	off_t off = (uintptr_t)va / PAGE * 8;

	if (pread(pagemap, &e, 8, off) != 8 || !(e & (1ULL << 63)))
		return 0;
	return (e & ((1ULL << 55) - 1)) * PAGE;
}

static void reg_write(struct dev *d, unsigned int reg, uint64_t v)
{
	*(volatile uint64_t *)(d->regs + reg) = v;
}

static uint64_t reg_read(struct dev *d, unsigned int reg)
{
	return *(volatile uint64_t *)(d->regs + reg);
}

static bool dma_op(struct dev *d, uint32_t op, uint64_t src, uint64_t dst,
		   uint64_t pattern)
{
	reg_write(d, MTTYM_DMA_SRC, src);
	reg_write(d, MTTYM_DMA_DST, dst);
	reg_write(d, MTTYM_DMA_LEN, PAGE);
	reg_write(d, MTTYM_DMA_PATTERN, pattern);
	*(volatile uint32_t *)(d->regs + MTTYM_DMA_CMD) = op;
	d->ops++;
	return *(volatile uint32_t *)(d->regs + MTTYM_DMA_STATUS) ==
	       MTTYM_DMA_DONE;
}

/* The page's 512 words for sequence number @seq. */
static uint64_t word(uint64_t seq, unsigned int i)
{
	return (seq * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)i << 48) ^ 0x5a;
}

static bool page_is(const volatile uint8_t *p, uint64_t seq, bool fill)
{
	unsigned int i;

	for (i = 0; i < PAGE / 8; i++)
		if (((const volatile uint64_t *)p)[i] !=
		    (fill ? word(seq, 0) : word(seq, i)))
			return false;
	return true;
}

static void page_set(uint8_t *p, uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < PAGE / 8; i++)
		((uint64_t *)p)[i] = word(seq, i);
}

static void mismatch(struct dev *d, const char *what, uint64_t seq)
{
	if (d->mismatches++ < 10)
		printf("mtty-guest: %s DMA mismatch: %s (round %llu)\n",
		       d->bdf, what, (unsigned long long)seq);
}

/*
 * One round: a FILL into guest page A; guest page C written by the CPU,
 * copied into device page X, cleared, and X copied back into C.  A, C
 * and X were written RING/2 (X: RING) rounds ago and are checked first.
 */
static void dma_round(struct dev *d, uint64_t seq)
{
	unsigned int a = seq % (RING / 2) * 2, c = a + 1, x = seq % RING;
	uint8_t *pa = d->guest + a * PAGE, *pc = d->guest + c * PAGE;
	uint64_t xoff = x * PAGE, ga = gpa(pa), gc = gpa(pc);

	/* What the last round on these pages left must still be there. */
	if (d->page_seq[a] && !page_is(pa, d->page_seq[a], true))
		mismatch(d, "a filled page changed", d->page_seq[a]);
	if (d->page_seq[c] && !page_is(pc, d->page_seq[c], false))
		mismatch(d, "a copied page changed", d->page_seq[c]);
	if (d->mem_seq[x] && !page_is(d->bar2 + xoff, d->mem_seq[x], false))
		mismatch(d, "device memory changed", d->mem_seq[x]);
	if (!ga || !gc) {
		mismatch(d, "no guest-physical address", seq);
		return;
	}

	if (!dma_op(d, MTTYM_DMA_OP_FILL, 0, ga, word(seq, 0)) ||
	    !page_is(pa, seq, true))
		mismatch(d, "fill", seq);
	d->page_seq[a] = seq;

	page_set(pc, seq);
	if (!dma_op(d, MTTYM_DMA_OP_TO_DEV, gc, xoff, 0) ||
	    !page_is(d->bar2 + xoff, seq, false))
		mismatch(d, "to device memory", seq);
	d->mem_seq[x] = seq;
	memset(pc, 0, PAGE);
	if (!dma_op(d, MTTYM_DMA_OP_FROM_DEV, xoff, gc, 0) ||
	    !page_is(pc, seq, false))
		mismatch(d, "from device memory", seq);
	d->page_seq[c] = seq;
}

static bool stop_seen(struct dev *d)
{
	return *(volatile uint64_t *)(d->bar2 + d->mem_size - PAGE) ==
	       STOP_WORD;
}

/* --- discovery ------------------------------------------------------------ */

static void dev_open(const char *dir, const char *bdf)
{
	struct dev *d = &devs[nr_devs];
	char buf[64], path[320];
	struct dirent *e;
	struct stat st;
	uint16_t cmd;
	DIR *tty;
	int fd;

	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	if (read_sysfs(dir, "subsystem_device", buf, sizeof(buf)) == 0)
		d->nr_ports = strtoul(buf, NULL, 0);
	want_ports += d->nr_ports;

	/* The ttys 8250_pci made of the card's ports, in name order. */
	snprintf(path, sizeof(path), "%s/tty", dir);
	tty = opendir(path);
	while (tty && (e = readdir(tty)))
		if (!strncmp(e->d_name, "ttyS", 4) && nr_ports < MAX_PORTS)
			port_open(&ports[nr_ports++], e->d_name);
	if (tty)
		closedir(tty);

	/* Bus mastering on, for the DMA engine (8250_pci does not). */
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR);
	if (fd >= 0 && pread(fd, &cmd, 2, 4) == 2) {
		cmd |= 4;
		if (pwrite(fd, &cmd, 2, 4) != 2)
			printf("mtty-guest: %s: cannot set bus master\n", bdf);
	}
	if (fd >= 0)
		close(fd);

	snprintf(path, sizeof(path), "%s/resource2", dir);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		printf("mtty-guest: %s: no BAR2\n", bdf);
		return;
	}
	d->bar2 = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	close(fd);
	if (d->bar2 == MAP_FAILED) {
		printf("mtty-guest: %s: cannot map BAR2: %s\n", bdf,
		       strerror(errno));
		return;
	}
	d->mem_size = mttym_mem_size(st.st_size);
	d->regs = d->bar2 + mttym_dma_base(st.st_size);
	d->guest = mmap(NULL, RING * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED,
			-1, 0);
	if (d->guest == MAP_FAILED) {
		printf("mtty-guest: %s: no guest pages\n", bdf);
		return;
	}
	memset(d->guest, 0, RING * PAGE);	/* each page its own frame */
	d->count0 = reg_read(d, MTTYM_DMA_COUNT);
	printf("mtty-guest: %s: %u port(s), BAR2 %lld KiB, memory %llu KiB\n",
	       bdf, d->nr_ports, (long long)st.st_size / 1024,
	       (unsigned long long)d->mem_size / 1024);
	nr_devs++;
}

static void find_devices(void)
{
	const char *top = "/sys/bus/pci/devices";
	char dir[300], v[32], p[32];
	struct dirent *e;
	DIR *d = opendir(top);

	while (d && (e = readdir(d)) && nr_devs < MAX_DEVS) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", top, e->d_name);
		if (read_sysfs(dir, "vendor", v, sizeof(v)) ||
		    read_sysfs(dir, "device", p, sizeof(p)) ||
		    strtoul(v, NULL, 0) != MTTYM_PCI_VENDOR ||
		    strtoul(p, NULL, 0) != MTTYM_PCI_DEVICE)
			continue;
		dev_open(dir, e->d_name);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 1800, t0 = now(), last;
	uint64_t seq = 0, lost = 0, dup = 0, corrupt = 0, bytes = 0;
	uint64_t ops = 0, bad = 0;
	struct pollfd pfd[MAX_PORTS];
	bool stop = false;
	unsigned int i, open_ports = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	find_devices();
	for (i = 0; i < nr_ports; i++)
		open_ports += ports[i].fd >= 0;
	printf("mtty-guest: ready: %u device(s), ports", nr_devs);
	for (i = 0; i < nr_ports; i++)
		printf(" %s%s", ports[i].tty, ports[i].fd < 0 ? "(failed)" : "");
	printf(" (%u of %u)\n", open_ports, want_ports);

	if (!nr_devs)
		limit = 0;	/* nothing to drive: report at once */
	last = t0;
	while (!stop && now() - t0 < limit) {
		for (i = 0; i < nr_ports; i++) {
			pfd[i].fd = ports[i].fd;
			pfd[i].events = POLLIN;
		}
		poll(pfd, nr_ports, 5);
		for (i = 0; i < nr_ports; i++)
			if (ports[i].fd >= 0)
				port_io(&ports[i], true);
		seq++;
		for (i = 0; i < nr_devs; i++) {
			dma_round(&devs[i], seq);
			stop |= stop_seen(&devs[i]);
		}
		if (now() - last >= 30) {
			last = now();
			for (i = 0, bytes = 0; i < nr_ports; i++)
				bytes += ports[i].expect;
			printf("mtty-guest: %.0f s: %llu bytes back, %llu DMA rounds\n",
			       last - t0, (unsigned long long)bytes,
			       (unsigned long long)seq);
		}
	}
	/* Let what is in flight come back, for up to 10 s. */
	for (last = now(); now() - last < 10;) {
		bool pending = false;

		for (i = 0; i < nr_ports; i++) {
			if (ports[i].fd < 0)
				continue;
			port_io(&ports[i], false);
			pending |= ports[i].expect < ports[i].sent;
		}
		if (!pending)
			break;
		usleep(10000);
	}
	/* The totals first: the console may be slow, they matter most. */
	bytes = 0;
	for (i = 0; i < nr_ports; i++) {
		struct port *p = &ports[i];

		if (p->fd < 0)
			continue;
		/* Bytes sent that never came back are lost too. */
		p->lost += p->sent - p->expect;
		bytes += p->sent;
		lost += p->lost;
		dup += p->dup;
		corrupt += p->corrupt;
	}
	for (i = 0; i < nr_devs; i++) {
		struct dev *d = &devs[i];

		d->count = reg_read(d, MTTYM_DMA_COUNT) - d->count0;
		if (d->count != d->ops)
			mismatch(d, "COUNT register", d->count);
		ops += d->ops;
		bad += d->mismatches;
	}
	printf("mtty-guest: result devices=%u ports=%u/%u bytes=%llu lost=%llu duplicated=%llu corrupted=%llu dma_ops=%llu dma_mismatches=%llu seconds=%.0f%s\n",
	       nr_devs, open_ports, want_ports, (unsigned long long)bytes,
	       (unsigned long long)lost, (unsigned long long)dup,
	       (unsigned long long)corrupt, (unsigned long long)ops,
	       (unsigned long long)bad, now() - t0,
	       stop ? "" : " (time limit)");
	for (i = 0; i < nr_ports; i++) {
		struct port *p = &ports[i];

		if (p->fd >= 0)
			printf("mtty-guest: %s: sent %llu received %llu lost %llu duplicated %llu corrupted %llu\n",
			       p->tty, (unsigned long long)p->sent,
			       (unsigned long long)p->received,
			       (unsigned long long)p->lost,
			       (unsigned long long)p->dup,
			       (unsigned long long)p->corrupt);
	}
	for (i = 0; i < nr_devs; i++)
		printf("mtty-guest: %s: %llu DMA operations, COUNT advanced %llu, %llu mismatches\n",
		       devs[i].bdf, (unsigned long long)devs[i].ops,
		       (unsigned long long)devs[i].count,
		       (unsigned long long)devs[i].mismatches);
	return lost || dup || corrupt || bad || !nr_devs ||
	       open_ports != want_ports;
}
