/*
 * net.c - plain TCP plumbing shared by client and server.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

long long
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
net_split_hostport(const char *spec, int default_port, char host[NET_HOST_MAX],
    int *port, abk_err *err)
{
	const char *colon, *hend;
	char *end;
	long p;

	if (spec == NULL || *spec == '\0')
		return abk_err_set(err, ABK_E_USAGE, "empty server address");
	if (spec[0] == '[') {
		hend = strchr(spec, ']');
		if (hend == NULL)
			return abk_err_set(err, ABK_E_USAGE, "'%s': missing ']'", spec);
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && colon == NULL)
			return abk_err_set(err, ABK_E_USAGE, "'%s': expected ':' after ']'", spec);
		spec++;
	} else {
		colon = strrchr(spec, ':');
		if (colon != NULL && strchr(spec, ':') != colon)
			return abk_err_set(err, ABK_E_USAGE,
			    "'%s': write IPv6 addresses as [ADDR]:PORT", spec);
		hend = colon ? colon : spec + strlen(spec);
	}
	if (hend == spec || (size_t)(hend - spec) >= NET_HOST_MAX)
		return abk_err_set(err, ABK_E_USAGE, "'%s': bad host name", spec);
	memcpy(host, spec, (size_t)(hend - spec));
	host[hend - spec] = '\0';
	if (colon == NULL) {
		*port = default_port;
		return ABK_OK;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535)
		return abk_err_set(err, ABK_E_USAGE, "'%s': bad port number", colon + 1);
	*port = (int)p;
	return ABK_OK;
}

static int
net_prepare(int fd)
{
	int one = 1;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

int
net_listen(const char *host, int port, int backlog, int *fdp, abk_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, rc, one = 1, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return abk_err_set(err, ABK_E_NET, "cannot resolve '%s': %s", host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0 &&
		    net_prepare(fd) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return abk_err_set(err, ABK_E_NET, "cannot listen on %s:%d: %s", host, port,
		    strerror(saved));
	*fdp = fd;
	return ABK_OK;
}

int
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static int
net_connect_one(const struct addrinfo *ai, long long deadline, int wake_fd, int *fdp,
    int *saved)
{
	int fd, soerr = 0;
	socklen_t slen = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 || net_prepare(fd) != 0) {
		*saved = errno;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			*saved = errno;
			close(fd);
			return -1;
		}
		for (;;) {
			struct pollfd pfd[2] = {
				{ .fd = fd, .events = POLLOUT },
				{ .fd = wake_fd, .events = POLLIN },
			};
			long long left = deadline - net_now_ms();
			int n;

			if (left <= 0) {
				*saved = ETIMEDOUT;
				close(fd);
				return -1;
			}
			n = poll(pfd, wake_fd >= 0 ? 2 : 1, (int)left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0 && wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
				*saved = ECANCELED;
				close(fd);
				return -1;
			}
			if (n <= 0) {
				*saved = n == 0 ? ETIMEDOUT : errno;
				close(fd);
				return -1;
			}
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
			*saved = soerr ? soerr : errno;
			close(fd);
			return -1;
		}
	}
	*fdp = fd;
	return 0;
}

int
net_connect(const char *host, int port, int timeout_ms, int wake_fd, int *fdp, abk_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	long long deadline = net_now_ms() + timeout_ms;
	int rc, saved = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return abk_err_set(err, ABK_E_NET, "cannot resolve '%s': %s", host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (net_connect_one(ai, deadline, wake_fd, fdp, &saved) == 0) {
			freeaddrinfo(res);
			return ABK_OK;
		}
		if (saved == ECANCELED)
			break;
	}
	freeaddrinfo(res);
	if (saved == ECANCELED)
		return abk_err_set(err, ABK_E_CANCELED, "connection canceled");
	return abk_err_set(err, ABK_E_NET, "cannot connect to %s port %d: %s", host, port,
	    strerror(saved));
}

int
net_peer_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

void
net_peer_name(int fd, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)outsz, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(out, outsz, "unknown");
}
