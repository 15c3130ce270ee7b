// SPDX-License-Identifier: GPL-2.0
/*
 * qbench: the helpers of bench_qemu.sh.
 *
 * usage: qbench fill LENGTH SEED
 *          write LENGTH bytes (a multiple of 8) of mtty-mig's traffic/fill
 *          stream from SEED to stdout: the bytes "fill 0 LENGTH SEED"
 *          puts in device memory, for a file that backs guest RAM
 *        qbench dirty MDEV_DIR MEM_SIZE PAGES_PER_SECOND
 *          dirty device memory at that rate through MDEV_DIR/traffic/fill
 *          (100 pages every 10 ms at 10000, sweeping the whole memory)
 *          until the device refuses (EBUSY: a migration stopped it) or
 *          SIGTERM; then print "PAGES SECONDS" dirtied
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtty-mig.h"

#define PAGE		4096ull
#define TICK_NS		10000000ll	/* 10 ms */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: qbench fill LENGTH SEED\n"
		"       qbench dirty MDEV_DIR MEM_SIZE PAGES_PER_SECOND\n");
	return 64;
}

static int number(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

static int fill(unsigned long long len, unsigned long long seed)
{
	static unsigned char buf[1 << 16];
	__u64 state = seed, w;
	size_t i, n;

	if (len % 8)
		return usage();
	while (len) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		for (i = 0; i < n; i += 8) {
			w = mttym_fill_next(&state);
			buf[i] = w, buf[i + 1] = w >> 8, buf[i + 2] = w >> 16;
			buf[i + 3] = w >> 24, buf[i + 4] = w >> 32;
			buf[i + 5] = w >> 40, buf[i + 6] = w >> 48;
			buf[i + 7] = w >> 56;
		}
		if (fwrite(buf, 1, n, stdout) != n) {
			perror("qbench fill: write");
			return 74;
		}
		len -= n;
	}
	return fflush(stdout) ? 74 : 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int dirty(const char *dir, unsigned long long size,
		 unsigned long long rate)
{
	unsigned long long per_tick = rate / 100, pages = 0, off = 0, n;
	struct timespec next;
	char path[4096], line[96];
	double t0;
	int fd, len;

	if (!per_tick || size < PAGE || size % PAGE)
		return usage();
	if (per_tick * PAGE > size)
		per_tick = size / PAGE;
	snprintf(path, sizeof(path), "%s/traffic/fill", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		perror(path);
		return 66;
	}
	signal(SIGTERM, on_term);
	clock_gettime(CLOCK_MONOTONIC, &next);
	t0 = now();
	while (!stop) {
		n = per_tick;
		if (off + n * PAGE > size)
			n = (size - off) / PAGE;
		len = snprintf(line, sizeof(line), "%llu %llu %llu", off,
			       n * PAGE, pages);
		if (pwrite(fd, line, len, 0) != len) {
			if (errno != EBUSY)
				perror(path);
			break;
		}
		pages += n;
		off = (off + n * PAGE) % size;
		next.tv_nsec += TICK_NS;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	printf("%llu %.2f\n", pages, now() - t0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long a, b;

	if (argc == 4 && !strcmp(argv[1], "fill") && !number(argv[2], &a) &&
	    !number(argv[3], &b))
		return fill(a, b);
	if (argc == 5 && !strcmp(argv[1], "dirty") && !number(argv[3], &a) &&
	    !number(argv[4], &b))
		return dirty(argv[2], a, b);
	return usage();
}
