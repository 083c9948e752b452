/*
 * certgen.h - the TLS material `autobackupd init` creates: a private CA and a
 * server certificate signed by it, made with wolfCrypt.
 *
 * Both keys are ECDSA P-256, both certificates are signed with
 * ECDSA-with-SHA256 and carry random 128-bit serial numbers.
 *
 *   ca.pem      self-signed CA, CA:TRUE pathlen:0, keyCertSign+cRLSign,
 *               valid CERTGEN_CA_DAYS; subject "autobackup CA <hostname>".
 *               The only file clients need.
 *   ca.key      its private key (mode 0600); signs server certificates.
 *   server.pem  CA:FALSE, digitalSignature, extKeyUsage serverAuth, valid
 *               CERTGEN_SERVER_DAYS; SubjectAltName = DNS:localhost,
 *               IP:127.0.0.1, IP:::1 and every extra name given (an IPv4 or
 *               IPv6 literal becomes an IP entry, anything else a DNS entry).
 *   server.key  its private key (mode 0600).
 *
 * Files are written through a temporary file in the same directory (created
 * O_EXCL with its final mode before any byte is written, fsynced, renamed,
 * then the directory fsynced), so a crash leaves either the old file or the
 * new one, never half a key.  All new files are staged before the first
 * rename, which keeps the window where old and new files are mixed to a few
 * rename calls.
 *
 * Thread-safety: the functions share no state, but they call wolfSSL_Init and
 * wolfSSL_Cleanup (reference counted); run them from the main thread, before
 * or apart from the TLS server (they are meant for `init`).
 */
#ifndef ABS_CERTGEN_H
#define ABS_CERTGEN_H

#include <stddef.h>

#include "abkerr.h"

#define CERTGEN_CA_CERT		"ca.pem"
#define CERTGEN_CA_KEY		"ca.key"
#define CERTGEN_SERVER_CERT	"server.pem"
#define CERTGEN_SERVER_KEY	"server.key"

#define CERTGEN_CA_DAYS		3650	/* about 10 years */
#define CERTGEN_SERVER_DAYS	730	/* 2 years; browsers refuse over 825 */
#define CERTGEN_MAX_NAMES	32	/* extra host names per certificate */
#define CERTGEN_NAME_MAX	253	/* longest DNS name */

/*
 * Check one extra host name as certgen would take it: an IPv4 or IPv6
 * literal, or a DNS name of letters, digits and '-' in dot-separated labels
 * of 1..63 bytes (not starting or ending with '-'), at most CERTGEN_NAME_MAX
 * bytes; a leading "*." wildcard label is allowed.  Returns ABK_OK, or
 * ABK_E_USAGE with the reason in err.
 */
int certgen_check_name(const char *name, abk_err *err);

/*
 * Create a new CA and a server certificate in the existing directory dir,
 * replacing any ca.pem, ca.key, server.pem, server.key there.  hostnames
 * (nhost entries, may be NULL when nhost is 0) are the extra names of the
 * server certificate; duplicates of each other or of the defaults are
 * dropped.
 *
 * Errors: ABK_E_USAGE (bad name, see certgen_check_name), ABK_E_LIMIT (more
 * than CERTGEN_MAX_NAMES names), ABK_E_IO (dir missing, not writable, disk
 * full; no file is replaced then), ABK_E_CRYPTO (wolfCrypt failure),
 * ABK_E_NOMEM.
 */
int certgen_make_all(const char *dir, const char *const *hostnames,
    size_t nhost, abk_err *err);

/*
 * Renew only the server key and certificate in dir, signed by the CA already
 * there (ca.pem + ca.key, the key ECDSA); clients keep their ca.pem.  The new
 * certificate is verified against ca.pem before anything is replaced.
 *
 * Errors: as certgen_make_all, plus ABK_E_NOTFOUND (ca.pem or ca.key
 * missing) and ABK_E_CRYPTO (unreadable CA files, or ca.key does not belong
 * to ca.pem).
 */
int certgen_make_server(const char *dir, const char *const *hostnames,
    size_t nhost, abk_err *err);

/*
 * The extra host names the server certificate in dir carries (its
 * SubjectAltName entries but the defaults localhost, 127.0.0.1, ::1), at
 * most max of them, into names[0..*n).  `init --renew-server` keeps them.
 * Errors: ABK_E_NOTFOUND, ABK_E_IO, ABK_E_CRYPTO (not a certificate).
 */
int certgen_server_names(const char *dir, char (*names)[CERTGEN_NAME_MAX + 1], size_t max,
    size_t *n, abk_err *err);

#endif
