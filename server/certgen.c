/*
 * certgen.c - make the private CA and the server certificate with wolfCrypt.
 *
 * One work record holds the RNG, the keys and every buffer of a run, so the
 * cleanup is one place (keys freed, the whole record wiped, then freed).  A
 * run validates the host names first, then makes keys and certificates in
 * memory, checks the server certificate against the CA with a wolfSSL
 * certificate manager, and only then touches the disk: all files are staged
 * as temporaries and renamed into place at the end.
 *
 * The SubjectAltName extension is encoded here: wolfCrypt takes it as the DER
 * of the GeneralNames SEQUENCE (cert->altNames), each entry either a [2]
 * dNSName (IA5String) or a [7] iPAddress (4 or 16 octets).
 */
#include "config.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certgen.h"
#include "crypto.h"

#define CG_SERIAL_LEN	16		/* 126 random bits, always positive */
#define CG_NAMES_MAX	(3 + CERTGEN_MAX_NAMES)
#define CG_SAN_MAX	(4 + CG_NAMES_MAX * (CERTGEN_NAME_MAX + 3))
#define CG_DER_MAX	(CG_SAN_MAX + 4096)
#define CG_PEM_MAX	(CG_DER_MAX * 4 / 3 + 1024)
#define CG_KEY_DER_MAX	4096		/* room to decode (and refuse) an RSA ca.key */
#define CG_FILE_MAX	(64 * 1024)	/* largest ca.pem / ca.key we read */
#define CG_P256_BYTES	32

#define CG_TAG_DNS	0x82		/* [2] IMPLICIT IA5String */
#define CG_TAG_IP	0x87		/* [7] IMPLICIT OCTET STRING */

_Static_assert(CG_SAN_MAX <= CTC_MAX_ALT_SIZE, "SAN buffer larger than wolfCrypt's");
_Static_assert(CG_SAN_MAX < 0x10000, "SAN length must fit two length octets");

struct cg_name {
	uint8_t tag;
	size_t len;
	uint8_t val[CERTGEN_NAME_MAX];
};

struct cg_out {			/* one file to publish */
	const char *name;
	mode_t mode;
	size_t len;
	int staged;
	char tmp[64];
	unsigned char pem[CG_PEM_MAX];
};

struct cg_work {
	WC_RNG rng;
	ecc_key ca_key;
	ecc_key srv_key;
	int rng_ok, ca_key_ok, srv_key_ok;
	int ca_der_len, srv_der_len;
	size_t nnames, san_len, nout;
	struct cg_name names[CG_NAMES_MAX];
	unsigned char san[CG_SAN_MAX];
	unsigned char ca_der[CG_DER_MAX];
	unsigned char srv_der[CG_DER_MAX];
	unsigned char keyder[CG_KEY_DER_MAX];
	unsigned char file[CG_FILE_MAX];
	struct cg_out out[4];
};

static int
cg_wc_err(abk_err *err, int ret, const char *what)
{
	return abk_err_set(err, ret == MEMORY_E ? ABK_E_NOMEM : ABK_E_CRYPTO,
	    "%s: %s (wolfCrypt %d)", what, wc_GetErrorString(ret), ret);
}

static int
cg_is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* Parse one host name into a GeneralName value (see certgen_check_name). */
static int
cg_parse_name(const char *name, struct cg_name *out, abk_err *err)
{
	size_t len, label = 0, start = 0;
	int all_digits = 1;

	if (name == NULL || name[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE, "empty host name");
	len = strlen(name);
	if (len > CERTGEN_NAME_MAX)
		return abk_err_set(err, ABK_E_USAGE,
		    "host name '%.40s...' is longer than %d bytes", name, CERTGEN_NAME_MAX);
	if (inet_pton(AF_INET, name, out->val) == 1) {
		out->tag = CG_TAG_IP;
		out->len = 4;
		return ABK_OK;
	}
	if (strchr(name, ':') != NULL) {
		if (inet_pton(AF_INET6, name, out->val) != 1)
			return abk_err_set(err, ABK_E_USAGE,
			    "'%s' is not a valid IPv6 address", name);
		out->tag = CG_TAG_IP;
		out->len = 16;
		return ABK_OK;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];

		if (c == '.' || c == '\0') {
			label = i - start;
			if (label == 0)
				return abk_err_set(err, ABK_E_USAGE, "host name '%s' has an "
				    "empty label (leading, trailing or double '.')", name);
			if (label > 63)
				return abk_err_set(err, ABK_E_USAGE, "host name '%s' has a "
				    "label longer than 63 bytes", name);
			if (name[start] == '-' || name[i - 1] == '-')
				return abk_err_set(err, ABK_E_USAGE, "host name '%s': a label "
				    "may not start or end with '-'", name);
			if (c == '.') {
				all_digits = 1;
				out->val[i] = '.';
			}
			start = i + 1;
			continue;
		}
		if (c == '*' && i == 0 && name[1] == '.' && name[2] != '\0') {
			out->val[i] = '*';	/* "*.example.org": wildcard label */
			continue;
		}
		if (!cg_is_ldh(c))
			return abk_err_set(err, ABK_E_USAGE, "host name '%s' contains "
			    "'%c'; only letters, digits, '-' and '.' are allowed",
			    name, (c >= 0x20 && c < 0x7f) ? c : '?');
		if (c < '0' || c > '9')
			all_digits = 0;
		out->val[i] = (uint8_t)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
	}
	if (all_digits)
		return abk_err_set(err, ABK_E_USAGE, "'%s' is neither an IP address "
		    "nor a host name (its last label is all digits)", name);
	out->tag = CG_TAG_DNS;
	out->len = len;
	return ABK_OK;
}

int
certgen_check_name(const char *name, abk_err *err)
{
	struct cg_name tmp;

	return cg_parse_name(name, &tmp, err);
}

/* Defaults first, then the extra names; exact duplicates dropped. */
static int
cg_build_names(struct cg_work *w, const char *const *hostnames, size_t nhost,
    abk_err *err)
{
	static const char *const defaults[] = { "localhost", "127.0.0.1", "::1" };
	const size_t ndef = sizeof(defaults) / sizeof(defaults[0]);
	size_t total = ndef + nhost;

	for (size_t i = 0; i < total; i++) {
		const char *s = i < ndef ? defaults[i] : hostnames[i - ndef];
		struct cg_name *n = &w->names[w->nnames];
		size_t j;
		int rc = cg_parse_name(s, n, err);

		if (rc != ABK_OK)
			return rc;
		for (j = 0; j < w->nnames; j++)
			if (w->names[j].tag == n->tag && w->names[j].len == n->len &&
			    memcmp(w->names[j].val, n->val, n->len) == 0)
				break;
		if (j == w->nnames)
			w->nnames++;
	}
	return ABK_OK;
}

/* DER length octets for n (< 0x10000) at p; returns how many were written. */
static size_t
cg_der_len(uint8_t *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (uint8_t)n;
		return 1;
	}
	if (n <= 0xff) {
		p[0] = 0x81;
		p[1] = (uint8_t)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	return 3;
}

/* GeneralNames ::= SEQUENCE OF GeneralName, into w->san. */
static void
cg_encode_san(struct cg_work *w)
{
	uint8_t lenbuf[3];
	size_t body = 0, pos;

	for (size_t i = 0; i < w->nnames; i++)
		body += 1 + cg_der_len(lenbuf, w->names[i].len) + w->names[i].len;
	w->san[0] = 0x30;
	pos = 1 + cg_der_len(w->san + 1, body);
	for (size_t i = 0; i < w->nnames; i++) {
		w->san[pos++] = w->names[i].tag;
		pos += cg_der_len(w->san + pos, w->names[i].len);
		memcpy(w->san + pos, w->names[i].val, w->names[i].len);
		pos += w->names[i].len;
	}
	w->san_len = pos;
}

static int
cg_make_key(struct cg_work *w, ecc_key *key, int *ok, abk_err *err)
{
	int ret = wc_ecc_init(key);

	if (ret != 0)
		return cg_wc_err(err, ret, "ECC key init");
	*ok = 1;
	ret = wc_ecc_make_key_ex(&w->rng, CG_P256_BYTES, key, ECC_SECP256R1);
	if (ret != 0)
		return cg_wc_err(err, ret, "ECDSA P-256 key generation");
	return ABK_OK;
}

/* Fields every certificate shares: version 3, serial, validity, subject. */
static int
cg_cert_common(struct cg_work *w, Cert *c, int days, const char *cn, abk_err *err)
{
	int ret = wc_InitCert(c);

	if (ret != 0)
		return cg_wc_err(err, ret, "certificate init");
	c->sigType = CTC_SHA256wECDSA;
	c->daysValid = days;
	ret = wc_RNG_GenerateBlock(&w->rng, c->serial, CG_SERIAL_LEN);
	if (ret != 0)
		return cg_wc_err(err, ret, "random serial number");
	c->serial[0] = (byte)((c->serial[0] & 0x7f) | 0x40);
	c->serialSz = CG_SERIAL_LEN;
	snprintf(c->subject.org, CTC_NAME_SIZE, "autobackup");
	snprintf(c->subject.commonName, CTC_NAME_SIZE, "%s", cn);
	return ABK_OK;
}

/* Build the TBS for subject key sk, then sign it with issuer key ik. */
static int
cg_sign(struct cg_work *w, Cert *c, ecc_key *sk, ecc_key *ik,
    unsigned char *der, int *derlen, const char *what, abk_err *err)
{
	int ret = wc_MakeCert_ex(c, der, CG_DER_MAX, ECC_TYPE, sk, &w->rng);

	if (ret < 0)
		return cg_wc_err(err, ret, what);
	ret = wc_SignCert_ex(c->bodySz, c->sigType, der, CG_DER_MAX, ECC_TYPE, ik, &w->rng);
	if (ret < 0)
		return cg_wc_err(err, ret, what);
	*derlen = ret;
	return ABK_OK;
}

static int
cg_make_ca(struct cg_work *w, Cert *c, abk_err *err)
{
	char host[256], cn[CTC_NAME_SIZE];
	int ret, rc;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(cn, sizeof(cn), "autobackup CA %.48s", host);
	if ((rc = cg_cert_common(w, c, CERTGEN_CA_DAYS, cn, err)) != ABK_OK)
		return rc;
	c->selfSigned = 1;
	c->isCA = 1;
	c->basicConstSet = 1;
	c->pathLen = 0;
	c->pathLenSet = 1;
	if ((ret = wc_SetKeyUsage(c, "keyCertSign,cRLSign")) != 0 ||
	    (ret = wc_SetSubjectKeyIdFromPublicKey_ex(c, ECC_TYPE, &w->ca_key)) != 0 ||
	    (ret = wc_SetAuthKeyIdFromPublicKey_ex(c, ECC_TYPE, &w->ca_key)) != 0)
		return cg_wc_err(err, ret, "CA certificate extensions");
	return cg_sign(w, c, &w->ca_key, &w->ca_key, w->ca_der, &w->ca_der_len,
	    "CA certificate", err);
}

static int
cg_make_server_cert(struct cg_work *w, Cert *c, const char *cn, abk_err *err)
{
	int ret, rc;

	if ((rc = cg_cert_common(w, c, CERTGEN_SERVER_DAYS, cn, err)) != ABK_OK)
		return rc;
	if ((ret = wc_SetIssuerBuffer(c, w->ca_der, w->ca_der_len)) != 0)
		return cg_wc_err(err, ret, "issuer name from ca.pem");
	c->selfSigned = 0;
	c->isCA = 0;
	c->basicConstSet = 1;	/* say CA:FALSE explicitly */
	memcpy(c->altNames, w->san, w->san_len);
	c->altNamesSz = (int)w->san_len;
	if ((ret = wc_SetKeyUsage(c, "digitalSignature")) != 0 ||
	    (ret = wc_SetExtKeyUsage(c, "serverAuth")) != 0 ||
	    (ret = wc_SetSubjectKeyIdFromPublicKey_ex(c, ECC_TYPE, &w->srv_key)) != 0)
		return cg_wc_err(err, ret, "server certificate extensions");
	/* The CA's own key identifier when it has one, else derive it. */
	if (wc_SetAuthKeyIdFromCert(c, w->ca_der, w->ca_der_len) != 0 &&
	    (ret = wc_SetAuthKeyIdFromPublicKey_ex(c, ECC_TYPE, &w->ca_key)) != 0)
		return cg_wc_err(err, ret, "authority key identifier");
	return cg_sign(w, c, &w->srv_key, &w->ca_key, w->srv_der, &w->srv_der_len,
	    "server certificate", err);
}

/* The new server certificate must chain to the CA, as a client will check. */
static int
cg_verify(struct cg_work *w, abk_err *err)
{
	WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
	char why[WOLFSSL_MAX_ERROR_SZ];
	int ret, rc = ABK_OK;

	if (cm == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "wolfSSL certificate manager");
	ret = wolfSSL_CertManagerLoadCABuffer(cm, w->ca_der, w->ca_der_len,
	    WOLFSSL_FILETYPE_ASN1);
	if (ret != WOLFSSL_SUCCESS) {
		wolfSSL_ERR_error_string_n((unsigned long)ret, why, sizeof(why));
		rc = abk_err_set(err, ABK_E_CRYPTO, "ca.pem is not usable as a CA: %s", why);
		goto out;
	}
	ret = wolfSSL_CertManagerVerifyBuffer(cm, w->srv_der, w->srv_der_len,
	    WOLFSSL_FILETYPE_ASN1);
	if (ret != WOLFSSL_SUCCESS) {
		wolfSSL_ERR_error_string_n((unsigned long)ret, why, sizeof(why));
		rc = abk_err_set(err, ABK_E_CRYPTO, "the new server certificate does "
		    "not verify against ca.pem (does ca.key belong to ca.pem?): %s", why);
	}
out:
	wolfSSL_CertManagerFree(cm);
	return rc;
}

static int
cg_add_out(struct cg_work *w, const char *name, mode_t mode, const byte *der,
    int derlen, int type, abk_err *err)
{
	struct cg_out *o = &w->out[w->nout];
	int n = wc_DerToPem(der, (word32)derlen, o->pem, sizeof(o->pem), type);

	if (n <= 0)
		return cg_wc_err(err, n, name);
	o->name = name;
	o->mode = mode;
	o->len = (size_t)n;
	w->nout++;
	return ABK_OK;
}

static int
cg_add_key(struct cg_work *w, const char *name, ecc_key *key, abk_err *err)
{
	int n = wc_EccKeyToDer(key, w->keyder, sizeof(w->keyder));
	int rc;

	if (n <= 0)
		return cg_wc_err(err, n, name);
	rc = cg_add_out(w, name, 0600, w->keyder, n, ECC_PRIVATEKEY_TYPE, err);
	explicit_bzero(w->keyder, sizeof(w->keyder));
	return rc;
}

/* Read a whole small file of dir into w->file. */
static int
cg_read(struct cg_work *w, int dirfd, const char *dir, const char *name,
    size_t *len, abk_err *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t got = 0;
	int rc = ABK_OK;

	if (fd < 0)
		return abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "open %s/%s: %s", dir, name, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, w->file + got, sizeof(w->file) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read %s/%s: %s", dir, name,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof(w->file)) {
			rc = abk_err_set(err, ABK_E_CRYPTO, "%s/%s is larger than %d "
			    "bytes; not a certificate or key", dir, name, CG_FILE_MAX);
			break;
		}
	}
	close(fd);
	*len = got;
	return rc;
}

/* The existing CA of dir: certificate into ca_der, private key into ca_key. */
static int
cg_load_ca(struct cg_work *w, int dirfd, const char *dir, abk_err *err)
{
	word32 idx = 0;
	size_t len;
	int n, ret, rc;

	if ((rc = cg_read(w, dirfd, dir, CERTGEN_CA_CERT, &len, err)) != ABK_OK)
		return rc;
	n = wc_CertPemToDer(w->file, (int)len, w->ca_der, CG_DER_MAX, CERT_TYPE);
	if (n <= 0)
		return abk_err_set(err, ABK_E_CRYPTO, "%s/%s is not a PEM certificate: %s",
		    dir, CERTGEN_CA_CERT, wc_GetErrorString(n));
	w->ca_der_len = n;
	if ((rc = cg_read(w, dirfd, dir, CERTGEN_CA_KEY, &len, err)) != ABK_OK)
		goto out;
	n = wc_KeyPemToDer(w->file, (int)len, w->keyder, sizeof(w->keyder), NULL);
	if (n <= 0) {
		rc = abk_err_set(err, ABK_E_CRYPTO, "%s/%s is not an unencrypted PEM "
		    "private key: %s", dir, CERTGEN_CA_KEY, wc_GetErrorString(n));
		goto out;
	}
	if ((ret = wc_ecc_init(&w->ca_key)) != 0) {
		rc = cg_wc_err(err, ret, "ECC key init");
		goto out;
	}
	w->ca_key_ok = 1;
	ret = wc_EccPrivateKeyDecode(w->keyder, &idx, &w->ca_key, (word32)n);
	if (ret != 0)
		rc = abk_err_set(err, ABK_E_CRYPTO, "%s/%s is not an ECDSA private key "
		    "(only ECDSA CAs are supported): %s", dir, CERTGEN_CA_KEY,
		    wc_GetErrorString(ret));
out:
	explicit_bzero(w->file, sizeof(w->file));
	explicit_bzero(w->keyder, sizeof(w->keyder));
	return rc;
}

/* Write o to a new temporary file of dirfd with its final mode, fsynced. */
static int
cg_stage(struct cg_work *w, int dirfd, const char *dir, struct cg_out *o,
    abk_err *err)
{
	unsigned char rnd[6];
	char hex[2 * sizeof(rnd) + 1];
	const unsigned char *p = o->pem;
	size_t left = o->len;
	int fd, ret, rc = ABK_OK;

	if ((ret = wc_RNG_GenerateBlock(&w->rng, rnd, sizeof(rnd))) != 0)
		return cg_wc_err(err, ret, "temporary file name");
	abk_hex(rnd, sizeof(rnd), hex);
	snprintf(o->tmp, sizeof(o->tmp), ".%s.%s.tmp", o->name, hex);
	fd = openat(dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    o->mode);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "create %s/%s: %s", dir, o->tmp,
		    strerror(errno));
	o->staged = 1;
	/* The umask may have taken bits from a certificate's 0644. */
	if (fchmod(fd, o->mode) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "chmod %s/%s: %s", dir, o->tmp,
		    strerror(errno));
		goto out;
	}
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "write %s/%s: %s", dir, o->tmp,
			    strerror(errno));
			goto out;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "fsync %s/%s: %s", dir, o->tmp,
		    strerror(errno));
out:
	if (close(fd) != 0 && rc == ABK_OK)
		rc = abk_err_set(err, ABK_E_IO, "close %s/%s: %s", dir, o->tmp,
		    strerror(errno));
	return rc;
}

/* Stage every output, then rename them all into place and fsync dir. */
static int
cg_publish(struct cg_work *w, int dirfd, const char *dir, abk_err *err)
{
	int rc = ABK_OK;
	size_t i;

	for (i = 0; i < w->nout && rc == ABK_OK; i++)
		rc = cg_stage(w, dirfd, dir, &w->out[i], err);
	for (i = 0; i < w->nout && rc == ABK_OK; i++) {
		if (renameat(dirfd, w->out[i].tmp, dirfd, w->out[i].name) != 0)
			rc = abk_err_set(err, ABK_E_IO, "rename %s/%s to %s: %s", dir,
			    w->out[i].tmp, w->out[i].name, strerror(errno));
		else
			w->out[i].staged = 0;
	}
	if (rc == ABK_OK && fsync(dirfd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "fsync %s: %s", dir, strerror(errno));
	for (i = 0; i < w->nout; i++)
		if (w->out[i].staged)
			(void)unlinkat(dirfd, w->out[i].tmp, 0);
	return rc;
}

static int
cg_run(const char *dir, const char *const *hostnames, size_t nhost, int new_ca,
    abk_err *err)
{
	struct cg_work *w = NULL;
	Cert *cert = NULL;
	const char *cn = "localhost";
	int dirfd = -1, wolf = 0, ret, rc;

	if (dir == NULL || dir[0] == '\0' || (nhost > 0 && hostnames == NULL))
		return abk_err_set(err, ABK_E_USAGE, "certgen: no directory or names");
	if (nhost > CERTGEN_MAX_NAMES)
		return abk_err_set(err, ABK_E_LIMIT, "%zu host names given; a "
		    "certificate takes at most %d", nhost, CERTGEN_MAX_NAMES);
	if ((w = calloc(1, sizeof(*w))) == NULL || (cert = wc_CertNew(NULL)) == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "certgen: out of memory");
		goto out;
	}
	if ((rc = cg_build_names(w, hostnames, nhost, err)) != ABK_OK)
		goto out;
	cg_encode_san(w);
	if (nhost > 0 && strlen(hostnames[0]) < CTC_NAME_SIZE)
		cn = hostnames[0];
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = abk_err_set(err, ABK_E_IO, "certificate directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((ret = wolfSSL_Init()) != WOLFSSL_SUCCESS) {
		rc = abk_err_set(err, ABK_E_CRYPTO, "wolfSSL_Init failed (%d)", ret);
		goto out;
	}
	wolf = 1;
	if ((ret = wc_InitRng(&w->rng)) != 0) {
		rc = cg_wc_err(err, ret, "random number generator");
		goto out;
	}
	w->rng_ok = 1;
	if (new_ca) {
		if ((rc = cg_make_key(w, &w->ca_key, &w->ca_key_ok, err)) != ABK_OK ||
		    (rc = cg_make_ca(w, cert, err)) != ABK_OK)
			goto out;
	} else if ((rc = cg_load_ca(w, dirfd, dir, err)) != ABK_OK)
		goto out;
	if ((rc = cg_make_key(w, &w->srv_key, &w->srv_key_ok, err)) != ABK_OK ||
	    (rc = cg_make_server_cert(w, cert, cn, err)) != ABK_OK ||
	    (rc = cg_verify(w, err)) != ABK_OK)
		goto out;
	if (new_ca &&
	    ((rc = cg_add_key(w, CERTGEN_CA_KEY, &w->ca_key, err)) != ABK_OK ||
	    (rc = cg_add_out(w, CERTGEN_CA_CERT, 0644, w->ca_der, w->ca_der_len,
	    CERT_TYPE, err)) != ABK_OK))
		goto out;
	if ((rc = cg_add_key(w, CERTGEN_SERVER_KEY, &w->srv_key, err)) != ABK_OK ||
	    (rc = cg_add_out(w, CERTGEN_SERVER_CERT, 0644, w->srv_der, w->srv_der_len,
	    CERT_TYPE, err)) != ABK_OK)
		goto out;
	rc = cg_publish(w, dirfd, dir, err);
out:
	if (cert != NULL)
		wc_CertFree(cert);
	if (w != NULL) {
		if (w->srv_key_ok)
			wc_ecc_free(&w->srv_key);
		if (w->ca_key_ok)
			wc_ecc_free(&w->ca_key);
		if (w->rng_ok)
			wc_FreeRng(&w->rng);
		explicit_bzero(w, sizeof(*w));
		free(w);
	}
	if (wolf)
		wolfSSL_Cleanup();
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int
certgen_make_all(const char *dir, const char *const *hostnames, size_t nhost,
    abk_err *err)
{
	return cg_run(dir, hostnames, nhost, 1, err);
}

int
certgen_make_server(const char *dir, const char *const *hostnames, size_t nhost,
    abk_err *err)
{
	return cg_run(dir, hostnames, nhost, 0, err);
}

/* One DER header at *p (< end): tag and length; advances *p past it. */
static int
cg_der_hdr(const uint8_t **p, const uint8_t *end, uint8_t *tag, size_t *len)
{
	const uint8_t *q = *p;
	size_t n;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	n = *q++;
	if (n & 0x80) {
		size_t k = n & 0x7f;

		if (k == 0 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k > 0; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*p = q;
	*len = n;
	return 0;
}

/*
 * The SubjectAltName entries of a certificate in DER: the extension is
 * found by its OID (2.5.29.17) and walked here, because wolfCrypt's decoded
 * certificate does not expose iPAddress entries in every build.
 */
static int
cg_san_names(const uint8_t *der, size_t len, char (*out)[CERTGEN_NAME_MAX + 1], size_t max,
    size_t *n)
{
	static const uint8_t oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
	const uint8_t *p = NULL, *end = der + len;
	uint8_t tag;
	size_t l;

	*n = 0;
	for (size_t i = 0; i + sizeof(oid) <= len; i++)
		if (memcmp(der + i, oid, sizeof(oid)) == 0) {
			p = der + i + sizeof(oid);
			break;
		}
	if (p == NULL)
		return 0;	/* no SAN: no names */
	if (cg_der_hdr(&p, end, &tag, &l) != 0)
		return -1;
	if (tag == 0x01) {	/* critical BOOLEAN */
		p += l;
		if (cg_der_hdr(&p, end, &tag, &l) != 0)
			return -1;
	}
	if (tag != 0x04 || cg_der_hdr(&p, p + l, &tag, &l) != 0 || tag != 0x30)
		return -1;
	end = p + l;
	while (p < end) {
		char buf[CERTGEN_NAME_MAX + 1];

		if (cg_der_hdr(&p, end, &tag, &l) != 0)
			return -1;
		buf[0] = '\0';
		if (tag == 0x82 && l <= CERTGEN_NAME_MAX) {
			memcpy(buf, p, l);
			buf[l] = '\0';
		} else if (tag == 0x87 && (l == 4 || l == 16)) {
			if (inet_ntop(l == 4 ? AF_INET : AF_INET6, p, buf, sizeof(buf)) == NULL)
				buf[0] = '\0';
		}
		p += l;
		/* The defaults come back by themselves (cg_build_names). */
		if (buf[0] == '\0' || strcmp(buf, "localhost") == 0 ||
		    strcmp(buf, "127.0.0.1") == 0 || strcmp(buf, "::1") == 0 ||
		    certgen_check_name(buf, NULL) != ABK_OK)
			continue;
		if (*n < max)
			memcpy(out[(*n)++], buf, sizeof(buf));
	}
	return 0;
}

int
certgen_server_names(const char *dir, char (*names)[CERTGEN_NAME_MAX + 1], size_t max,
    size_t *n, abk_err *err)
{
	struct cg_work *w;
	size_t len;
	int dirfd, rc;

	*n = 0;
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return abk_err_set(err, ABK_E_IO, "certificate directory %s: %s", dir,
		    strerror(errno));
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		close(dirfd);
		return abk_err_set(err, ABK_E_NOMEM, "certgen: out of memory");
	}
	rc = cg_read(w, dirfd, dir, CERTGEN_SERVER_CERT, &len, err);
	if (rc == ABK_OK) {
		int der_len = wc_CertPemToDer(w->file, (int)len, w->srv_der, CG_DER_MAX, CERT_TYPE);
		if (der_len <= 0)
			rc = abk_err_set(err, ABK_E_CRYPTO, "%s/%s is not a PEM certificate: %s",
			    dir, CERTGEN_SERVER_CERT, wc_GetErrorString(der_len));
		else if (cg_san_names(w->srv_der, (size_t)der_len, names, max, n) != 0)
			rc = abk_err_set(err, ABK_E_CRYPTO, "%s/%s: malformed host names",
			    dir, CERTGEN_SERVER_CERT);
	}
	free(w);
	close(dirfd);
	return rc;
}
