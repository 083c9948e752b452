/*
 * fdio.h - a proto_io over a plain file descriptor, for unit tests that play
 * one peer of the protocol over a socketpair (no TLS).
 */
#ifndef ABK_TEST_FDIO_H
#define ABK_TEST_FDIO_H

#include <unistd.h>

#include "abkerr.h"

static int
fd_read_full(void *ctx, void *buf, size_t len, abk_err *err)
{
	int fd = *(int *)ctx;
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return abk_err_set(err, ABK_E_NET, "connection closed by peer");
		p += n;
		len -= (size_t)n;
	}
	return ABK_OK;
}

static int
fd_write_all(void *ctx, const void *buf, size_t len, abk_err *err)
{
	int fd = *(int *)ctx;
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return abk_err_set(err, ABK_E_NET, "write failed");
		p += n;
		len -= (size_t)n;
	}
	return ABK_OK;
}

#endif
