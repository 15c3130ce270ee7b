// SPDX-License-Identifier: GPL-2.0
/*
 * hmp: run HMP commands on a QEMU monitor socket and print their output.
 *
 * usage: hmp SOCKET COMMAND...
 *
 * Connects to a monitor started with -monitor unix:SOCKET,server=on,
 * wait=off, waits for the "(qemu) " prompt, then sends each COMMAND in
 * turn and prints what QEMU answers up to the next prompt, with the echoed
 * command line, carriage returns and terminal escape sequences removed.
 * Waiting for the prompt (not for a timeout) makes the output complete.
 * Exits 0, or 1 if the socket cannot be used or QEMU goes away.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROMPT		"(qemu) "
#define TIMEOUT_MS	120000

static char buf[1 << 20];
static size_t have;

/* Read until the buffer ends with the prompt.  0, or -1 on EOF/error. */
static int read_prompt(int fd)
{
	size_t plen = strlen(PROMPT);

	while (have < plen || memcmp(buf + have - plen, PROMPT, plen)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, TIMEOUT_MS) != 1)
			return -1;
		if (have == sizeof(buf) - 1)
			have = 0;	/* keep only the tail of huge output */
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	have -= plen;
	buf[have] = 0;
	return 0;
}

/* Print @s without CRs and ESC [ ... letter sequences. */
static void print_clean(const char *s)
{
	for (; *s; s++) {
		if (*s == '\r')
			continue;
		if (*s == 0x1b) {
			if (s[1] == '[')
				s++;
			while (s[1] && !((s[1] >= 'A' && s[1] <= 'Z') ||
					 (s[1] >= 'a' && s[1] <= 'z')))
				s++;
			if (s[1])
				s++;
			continue;
		}
		putchar(*s);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, i;

	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: hmp SOCKET COMMAND...\n");
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hmp: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "hmp: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (read_prompt(fd)) {
		fprintf(stderr, "hmp: no monitor prompt on %s\n", argv[1]);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		char *out;

		have = 0;
		if (dprintf(fd, "%s\n", argv[i]) < 0 || read_prompt(fd)) {
			fprintf(stderr, "hmp: QEMU went away during '%s'\n",
				argv[i]);
			return 1;
		}
		/* Drop the echoed command line. */
		out = strchr(buf, '\n');
		print_clean(out ? out + 1 : "");
	}
	close(fd);
	return 0;
}
