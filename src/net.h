/*
 * net.h - TCP sockets: listen on HOST:PORT, connect with a deadline,
 * and parse HOST:PORT / [V6]:PORT.  Sockets are non-blocking, close-on-exec,
 * with TCP_NODELAY (small frames must not wait for Nagle: doc/ARCHITECTURE.md).
 */
#ifndef ABK_NET_H
#define ABK_NET_H

#include <stddef.h>

#include "abkerr.h"

#define NET_HOST_MAX 256

/* The port both programs use when HOST:PORT has no port (README, man pages). */
#define ABK_DEFAULT_PORT 7443

/*
 * Split "host:port", "[v6]:port" or "host" (default_port) into host and
 * port.  Returns ABK_OK or ABK_E_USAGE with a sentence in err.
 */
int net_split_hostport(const char *spec, int default_port, char host[NET_HOST_MAX],
    int *port, abk_err *err);

/* Listening socket on host:port (port 0 = any free one). *fd owned by caller. */
int net_listen(const char *host, int port, int backlog, int *fd, abk_err *err);

/* Port a bound socket listens on. */
int net_local_port(int fd);

/*
 * Connect within timeout_ms, trying every address of host in turn.  While
 * wake_fd (-1: none) is readable the wait ends with ABK_E_CANCELED (name
 * resolution itself is not interrupted).
 */
int net_connect(const char *host, int port, int timeout_ms, int wake_fd, int *fd,
    abk_err *err);

/* "addr" text of the peer of a connected socket (IPv6 without brackets). */
void net_peer_name(int fd, char *out, size_t outsz);
/* 1 if fd is connected to this machine's loopback (127.0.0.0/8, ::1, or
 * ::ffff:127.x.y.z), else 0. */
int net_peer_is_loopback(int fd);

/* Milliseconds on the monotonic clock. */
long long net_now_ms(void);

#endif
