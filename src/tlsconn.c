/*
 * tlsconn.c - wolfSSL contexts and connections with poll()-based deadlines.
 *
 * wolfSSL is used in non-blocking mode: every call that returns WANT_READ or
 * WANT_WRITE is retried after poll() says the socket is ready, under the
 * connection's timeout, so a silent or slow peer can hold a thread only as
 * long as the timeout allows.
 */
#include "config.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "tlsconn.h"

/* TLS 1.3 suites, then TLS 1.2 ECDHE+AEAD; ChaCha first (fastest here). */
static const char tls_cipher_list[] =
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:"
    "TLS13-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

struct tls_ctx {
	WOLFSSL_CTX *wctx;
	int is_server;
	char ca_file[4096];	/* client: the CA file trusted, named in errors */
};

struct tls_conn {
	WOLFSSL *ssl;
	const tls_ctx *ctx;
	int fd;
	int timeout_ms;
	long long deadline;	/* absolute (net_now_ms), 0 = none */
	int wake_fd;
	int handshake_done;
};

static void
tls_error_text(int code, char *buf, size_t bufsz)
{
	char tmp[WOLFSSL_MAX_ERROR_SZ];

	wolfSSL_ERR_error_string_n((unsigned long)code, tmp, sizeof(tmp));
	snprintf(buf, bufsz, "%s", tmp);
}

int
tls_global_init(abk_err *err)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return abk_err_set(err, ABK_E_TLS, "wolfSSL_Init failed");
	return ABK_OK;
}

void
tls_global_cleanup(void)
{
	tls_thread_cleanup();
	wolfSSL_Cleanup();
}

void
tls_thread_cleanup(void)
{
#ifdef FP_ECC
	/* wolfCrypt caches ECC points per thread; only that thread can free them. */
	wc_ecc_fp_free();
#endif
}

static int
tls_ctx_common(tls_ctx **out, int is_server, abk_err *err)
{
	tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	ctx->is_server = is_server;
	ctx->wctx = wolfSSL_CTX_new(is_server ? wolfSSLv23_server_method() :
	    wolfSSLv23_client_method());
	if (ctx->wctx == NULL) {
		free(ctx);
		return abk_err_set(err, ABK_E_TLS, "cannot create TLS context");
	}
	if (wolfSSL_CTX_SetMinVersion(ctx->wctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_cipher_list(ctx->wctx, tls_cipher_list) != WOLFSSL_SUCCESS) {
		tls_ctx_free(ctx);
		return abk_err_set(err, ABK_E_TLS, "cannot restrict TLS versions and suites");
	}
	*out = ctx;
	return ABK_OK;
}

int
tls_server_ctx_new(const char *cert_file, const char *key_file, tls_ctx **out,
    abk_err *err)
{
	tls_ctx *ctx = NULL;
	int rc = tls_ctx_common(&ctx, 1, err);

	if (rc != ABK_OK)
		return rc;
	if (wolfSSL_CTX_use_certificate_chain_file(ctx->wctx, cert_file) != WOLFSSL_SUCCESS) {
		tls_ctx_free(ctx);
		return abk_err_set(err, ABK_E_TLS, "cannot load certificate '%s'", cert_file);
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx->wctx, key_file, WOLFSSL_FILETYPE_PEM) !=
	    WOLFSSL_SUCCESS) {
		tls_ctx_free(ctx);
		return abk_err_set(err, ABK_E_TLS, "cannot load private key '%s'", key_file);
	}
	if (wolfSSL_CTX_check_private_key(ctx->wctx) != WOLFSSL_SUCCESS) {
		tls_ctx_free(ctx);
		return abk_err_set(err, ABK_E_TLS, "key '%s' does not match certificate '%s'",
		    key_file, cert_file);
	}
	wolfSSL_CTX_set_verify(ctx->wctx, WOLFSSL_VERIFY_NONE, NULL);
	*out = ctx;
	return ABK_OK;
}

int
tls_client_ctx_new(const char *ca_file, tls_ctx **out, abk_err *err)
{
	tls_ctx *ctx = NULL;
	int rc = tls_ctx_common(&ctx, 0, err);

	if (rc != ABK_OK)
		return rc;
	if (wolfSSL_CTX_load_verify_locations(ctx->wctx, ca_file, NULL) != WOLFSSL_SUCCESS) {
		tls_ctx_free(ctx);
		return abk_err_set(err, ABK_E_TLS,
		    "cannot load CA certificate '%s' (missing or not PEM)", ca_file);
	}
	wolfSSL_CTX_set_verify(ctx->wctx, WOLFSSL_VERIFY_PEER, NULL);
	snprintf(ctx->ca_file, sizeof(ctx->ca_file), "%s", ca_file);
	*out = ctx;
	return ABK_OK;
}

void
tls_ctx_free(tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->wctx != NULL)
		wolfSSL_CTX_free(ctx->wctx);
	free(ctx);
}

/*
 * Wait until fd is ready for events or the timeout passes.  Returns ABK_OK,
 * ABK_E_TIMEOUT, ABK_E_NET (poll error) or ABK_E_CANCELED (wake fd readable).
 */
static int
tls_wait(tls_conn *c, short events, long long deadline, abk_err *err)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = events },
			{ .fd = c->wake_fd, .events = POLLIN },
		};
		int nfds = c->wake_fd >= 0 ? 2 : 1;
		int timeout = -1, n;

		if (deadline > 0) {
			long long left = deadline - net_now_ms();

			if (left <= 0)
				return abk_err_set(err, ABK_E_TIMEOUT,
				    "timed out waiting for the peer");
			timeout = (int)left;
		}
		/* The connection's absolute deadline (a whole frame, a whole
		 * login) bounds every wait, whatever the per-wait timeout. */
		if (c->deadline > 0) {
			long long left = c->deadline - net_now_ms();

			if (left <= 0)
				return abk_err_set(err, ABK_E_TIMEOUT,
				    "deadline passed waiting for the peer");
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		n = poll(pfd, (nfds_t)nfds, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return abk_err_set(err, ABK_E_NET, "poll: %s", strerror(errno));
		if (n == 0)
			continue;	/* deadline check at the top */
		if (nfds == 2 && (pfd[1].revents & POLLIN))
			return abk_err_set(err, ABK_E_CANCELED, c->ctx != NULL &&
			    !c->ctx->is_server ? "canceled" : "server is shutting down");
		return ABK_OK;
	}
}

static long long
tls_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? net_now_ms() + timeout_ms : 0;
}

/*
 * The DNS and IP names (subjectAltName) the peer's certificate carries, as
 * "a, b, c" for an error message; "none" when there are none or no
 * certificate.  The names come from the peer: bytes other than printable
 * ASCII are shown as '?' (the message reaches terminals).
 */
static void
tls_peer_names(WOLFSSL *ssl, char *buf, size_t bufsz)
{
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
	WOLFSSL_STACK *sk = NULL;
	size_t len = 0;
	int n;

	buf[0] = '\0';
	if (x != NULL)
		sk = wolfSSL_X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	n = sk != NULL ? wolfSSL_sk_GENERAL_NAME_num(sk) : 0;
	for (int i = 0; i < n && len + 1 < bufsz; i++) {
		WOLFSSL_GENERAL_NAME *g = wolfSSL_sk_GENERAL_NAME_value(sk, i);
		char name[INET6_ADDRSTRLEN + 256];

		name[0] = '\0';
		if (g != NULL && g->type == GEN_DNS && g->d.dNSName != NULL) {
			const unsigned char *d = wolfSSL_ASN1_STRING_data(g->d.dNSName);
			int dl = wolfSSL_ASN1_STRING_length(g->d.dNSName);
			size_t k;

			for (k = 0; d != NULL && k < (size_t)dl && k + 1 < sizeof(name); k++)
				name[k] = d[k] >= 0x20 && d[k] < 0x7f ? (char)d[k] : '?';
			name[k] = '\0';
		} else if (g != NULL && g->type == GEN_IPADD && g->d.iPAddress != NULL) {
			const unsigned char *d = wolfSSL_ASN1_STRING_data(g->d.iPAddress);
			int dl = wolfSSL_ASN1_STRING_length(g->d.iPAddress);

			if (d != NULL && (dl == 4 || dl == 16) &&
			    inet_ntop(dl == 4 ? AF_INET : AF_INET6, d, name, sizeof(name)) == NULL)
				name[0] = '\0';
		}
		if (name[0] != '\0')
			len += (size_t)snprintf(buf + len, bufsz - len, "%s%s", len ? ", " : "",
			    name);
	}
	if (len >= bufsz && bufsz > 4)
		memcpy(buf + bufsz - 4, "...", 4);
	if (buf[0] == '\0')
		snprintf(buf, bufsz, "none");
	if (sk != NULL)
		wolfSSL_sk_GENERAL_NAME_pop_free(sk, wolfSSL_GENERAL_NAME_free);
	if (x != NULL)
		wolfSSL_X509_free(x);
}

/* The peer certificate's notAfter (after) or notBefore into buf, or "unknown". */
static void
tls_peer_date(WOLFSSL *ssl, int after, char *buf, size_t bufsz)
{
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
	WOLFSSL_ASN1_TIME *t = NULL;

	snprintf(buf, bufsz, "unknown");
	if (x != NULL)
		t = after ? wolfSSL_X509_get_notAfter(x) : wolfSSL_X509_get_notBefore(x);
	if (t != NULL && bufsz >= 32 && wolfSSL_ASN1_TIME_to_string(t, buf, (int)bufsz) == NULL)
		snprintf(buf, bufsz, "unknown");
	if (x != NULL)
		wolfSSL_X509_free(x);
}

/* Turn a failed wolfSSL call into: retry after a wait, or an error. */
static int
tls_retry_or_fail(tls_conn *c, int ret, long long deadline, const char *what, abk_err *err)
{
	int e = wolfSSL_get_error(c->ssl, ret);
	char text[128];

	if (e == WOLFSSL_ERROR_WANT_READ)
		return tls_wait(c, POLLIN, deadline, err) == ABK_OK ? 1 : -1;
	if (e == WOLFSSL_ERROR_WANT_WRITE)
		return tls_wait(c, POLLOUT, deadline, err) == ABK_OK ? 1 : -1;
	if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E ||
	    e == SOCKET_ERROR_E) {
		abk_err_set(err, ABK_E_NET, "%s: connection closed by peer", what);
		return -1;
	}
	tls_error_text(e, text, sizeof(text));
	if (e == DOMAIN_NAME_MISMATCH || e == IPADDR_MISMATCH) {
		char names[600];

		tls_peer_names(c->ssl, names, sizeof(names));
		abk_err_set(err, ABK_E_TLS, "%s: the host name is not in the server "
		    "certificate, which carries: %s (connect with one of those names)",
		    what, names);
	} else if (e == ASN_AFTER_DATE_E || e == ASN_BEFORE_DATE_E) {
		char when[64];

		tls_peer_date(c->ssl, e == ASN_AFTER_DATE_E, when, sizeof(when));
		abk_err_set(err, ABK_E_TLS, e == ASN_AFTER_DATE_E ?
		    "%s: server certificate not trusted: it expired (valid until %s; or this "
		    "machine's clock is wrong) (CA file used: %s)" :
		    "%s: server certificate not trusted: it is not valid yet (not before %s; "
		    "or this machine's clock is wrong) (CA file used: %s)", what, when,
		    c->ctx != NULL && c->ctx->ca_file[0] ? c->ctx->ca_file : "none");
	} else if (e == ASN_NO_SIGNER_E || e == ASN_SIG_CONFIRM_E) {
		abk_err_set(err, ABK_E_TLS, "%s: server certificate not trusted: it is not "
		    "signed by the CA in the CA file used: %s", what,
		    c->ctx != NULL && c->ctx->ca_file[0] ? c->ctx->ca_file : "none");
	} else
		abk_err_set(err, ABK_E_TLS, "%s: %s", what, text);
	return -1;
}

static int
tls_conn_new(tls_ctx *ctx, int fd, tls_conn **out, abk_err *err)
{
	tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return abk_err_set(err, ABK_E_NOMEM, "out of memory");
	}
	c->fd = fd;
	c->wake_fd = -1;
	c->ctx = ctx;
	c->ssl = wolfSSL_new(ctx->wctx);
	if (c->ssl == NULL || wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS) {
		tls_conn_free(c);
		return abk_err_set(err, ABK_E_TLS, "cannot create TLS session");
	}
	wolfSSL_set_using_nonblock(c->ssl, 1);
	*out = c;
	return ABK_OK;
}

static int
tls_handshake(tls_conn *c, int is_server, int timeout_ms, abk_err *err)
{
	long long deadline = tls_deadline(timeout_ms);
	int ret, r;

	for (;;) {
		ret = is_server ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);
		if (ret == WOLFSSL_SUCCESS)
			break;
		r = tls_retry_or_fail(c, ret, deadline, "TLS handshake", err);
		if (r < 0)
			return err && err->code ? err->code : ABK_E_TLS;
	}
	c->handshake_done = 1;
	return ABK_OK;
}

int
tls_accept(tls_ctx *ctx, int fd, int timeout_ms, tls_conn **out, abk_err *err)
{
	tls_conn *c = NULL;
	int rc = tls_conn_new(ctx, fd, &c, err);

	if (rc != ABK_OK)
		return rc;
	rc = tls_handshake(c, 1, timeout_ms, err);
	if (rc != ABK_OK) {
		tls_conn_free(c);
		return rc;
	}
	*out = c;
	return ABK_OK;
}

static int
tls_is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int
tls_connect(tls_ctx *ctx, int fd, const char *host, int timeout_ms, int wake_fd,
    tls_conn **out, abk_err *err)
{
	tls_conn *c = NULL;
	int rc = tls_conn_new(ctx, fd, &c, err);

	if (rc != ABK_OK)
		return rc;
	c->wake_fd = wake_fd;
	if (tls_is_ip_literal(host)) {
		/* IP SANs are matched after the handshake (see below). */
	} else {
		(void)wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, host,
		    (unsigned short)strlen(host));
		if (wolfSSL_check_domain_name(c->ssl, host) != WOLFSSL_SUCCESS) {
			tls_conn_free(c);
			return abk_err_set(err, ABK_E_TLS, "cannot set host name check");
		}
	}
	rc = tls_handshake(c, 0, timeout_ms, err);
	if (rc == ABK_OK && tls_is_ip_literal(host)) {
		WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(c->ssl);

		if (peer == NULL || wolfSSL_X509_check_ip_asc(peer, host, 0) != WOLFSSL_SUCCESS) {
			char names[600];

			tls_peer_names(c->ssl, names, sizeof(names));
			rc = abk_err_set(err, ABK_E_TLS, "the address %s is not in the server "
			    "certificate, which carries: %s (connect with one of those names)",
			    host, names);
		}
		if (peer != NULL)
			wolfSSL_X509_free(peer);
	}
	if (rc != ABK_OK) {
		tls_conn_free(c);
		return rc;
	}
	*out = c;
	return ABK_OK;
}

void
tls_conn_set_timeout(tls_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void
tls_conn_set_deadline(tls_conn *c, long long deadline_ms)
{
	c->deadline = deadline_ms;
}

void
tls_conn_set_wake_fd(tls_conn *c, int wake_fd)
{
	c->wake_fd = wake_fd;
}

int
tls_read_full(void *conn, void *buf, size_t len, abk_err *err)
{
	tls_conn *c = conn;
	unsigned char *p = buf;
	long long deadline = tls_deadline(c->timeout_ms);

	while (len > 0) {
		int want = len > (1 << 30) ? 1 << 30 : (int)len;
		int n = wolfSSL_read(c->ssl, p, want);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			deadline = tls_deadline(c->timeout_ms);
			continue;
		}
		if (tls_retry_or_fail(c, n, deadline, "read", err) < 0)
			return err && err->code ? err->code : ABK_E_NET;
	}
	return ABK_OK;
}

int
tls_write_all(void *conn, const void *buf, size_t len, abk_err *err)
{
	tls_conn *c = conn;
	const unsigned char *p = buf;
	long long deadline = tls_deadline(c->timeout_ms);

	while (len > 0) {
		int want = len > (1 << 30) ? 1 << 30 : (int)len;
		int n = wolfSSL_write(c->ssl, p, want);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			deadline = tls_deadline(c->timeout_ms);
			continue;
		}
		if (tls_retry_or_fail(c, n, deadline, "write", err) < 0)
			return err && err->code ? err->code : ABK_E_NET;
	}
	return ABK_OK;
}

int
tls_conn_readable(tls_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (wolfSSL_pending(c->ssl) > 0)
		return 1;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR));
}

void
tls_conn_io(tls_conn *c, struct proto_io *io)
{
	io->ctx = c;
	io->read_full = tls_read_full;
	io->write_all = tls_write_all;
}

const char *
tls_conn_version(tls_conn *c)
{
	return wolfSSL_get_version(c->ssl);
}

const char *
tls_conn_cipher(tls_conn *c)
{
	return wolfSSL_get_cipher_name(c->ssl);
}

int
tls_conn_fd(tls_conn *c)
{
	return c->fd;
}

void
tls_conn_free(tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		if (c->handshake_done)
			(void)wolfSSL_shutdown(c->ssl);	/* one try; never wait */
		wolfSSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
