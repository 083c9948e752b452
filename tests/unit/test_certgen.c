/*
 * test_certgen.c - the CA and server certificate certgen writes, read back
 * with wolfSSL as the TLS server and a client would: modes, key/cert pairs,
 * the chain, names, validity, renewal, and refusals of bad input.
 */
#include "config.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certgen.h"

static char dir1[256], dir2[256];
static const char *const names[] = { "backup.example.org", "10.1.2.3", "2001:db8::5",
    "*.wild.example" };

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void
make_dirs(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir1, sizeof(dir1), "%s/certgen1.XXXXXX", tmp ? tmp : "/tmp");
	snprintf(dir2, sizeof(dir2), "%s/certgen2.XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir1));
	ck_assert_ptr_nonnull(mkdtemp(dir2));
	ck_assert_int_eq(wolfSSL_Init(), WOLFSSL_SUCCESS);
}

static void
remove_dirs(void)
{
	nftw(dir1, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(dir2, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	wolfSSL_Cleanup();
}

static const char *
in(const char *dir, const char *name)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
	return st.st_mode & 07777;
}

/* Whole file into a malloc'd buffer; *len gets the size. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65536);

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static int
same_file(const char *a, const char *b)
{
	size_t la, lb;
	unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
	int same = la == lb && memcmp(x, y, la) == 0;

	free(x);
	free(y);
	return same;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
verifies(const char *ca, const char *cert)
{
	WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
	int ok;

	ck_assert_ptr_nonnull(cm);
	ck_assert_int_eq(wolfSSL_CertManagerLoadCA(cm, ca, NULL), WOLFSSL_SUCCESS);
	ok = wolfSSL_CertManagerVerify(cm, cert, WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
	wolfSSL_CertManagerFree(cm);
	return ok;
}

static void
serial_of(const char *path, unsigned char *out, int *len)
{
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);

	ck_assert_ptr_nonnull(x);
	*len = 32;
	ck_assert_int_eq(wolfSSL_X509_get_serial_number(x, out, len), WOLFSSL_SUCCESS);
	wolfSSL_X509_free(x);
}

/* A key file is an ECDSA P-256 private key that passes wolfCrypt's check. */
static void
check_p256_key(const char *path)
{
	size_t len;
	unsigned char *pem = slurp(path, &len), der[512];
	int n = wc_KeyPemToDer(pem, (int)len, der, sizeof(der), NULL);
	word32 idx = 0;
	ecc_key key;

	ck_assert_msg(n > 0, "%s: not a PEM key", path);
	ck_assert_int_eq(wc_ecc_init(&key), 0);
	ck_assert_int_eq(wc_EccPrivateKeyDecode(der, &idx, &key, (word32)n), 0);
	ck_assert_int_eq(wc_ecc_get_curve_id(key.idx), ECC_SECP256R1);
	ck_assert_int_eq(wc_ecc_check_key(&key), 0);
	wc_ecc_free(&key);
	free(pem);
}

static int
validity_days(WOLFSSL_X509 *x)
{
	int days = 0, secs = 0;

	ck_assert_int_eq(wolfSSL_ASN1_TIME_diff(&days, &secs, wolfSSL_X509_get_notBefore(x),
	    wolfSSL_X509_get_notAfter(x)), WOLFSSL_SUCCESS);
	return days;
}

START_TEST(test_make_all_files)
{
	abk_err err = ABK_ERR_INIT;

	umask(077);	/* certificates must still come out 0644 */
	ck_assert_int_eq(certgen_make_all(dir1, names, 4, &err), ABK_OK);
	ck_assert_int_eq(mode_of(in(dir1, "ca.key")), 0600);
	ck_assert_int_eq(mode_of(in(dir1, "server.key")), 0600);
	ck_assert_int_eq(mode_of(in(dir1, "ca.pem")), 0644);
	ck_assert_int_eq(mode_of(in(dir1, "server.pem")), 0644);
	ck_assert_int_eq(count_entries(dir1), 4);	/* no temporary left */
	check_p256_key(in(dir1, "ca.key"));
	check_p256_key(in(dir1, "server.key"));
}
END_TEST

/*
 * The public point of the key file equals the one in the certificate.
 * (wolfSSL_CTX_check_private_key of this wolfSSL build accepts a mismatched
 * ECC pair, so it cannot be the test.)
 */
static int
key_matches_cert(const char *keyfile, const char *certfile)
{
	size_t len;
	unsigned char *pem = slurp(keyfile, &len), der[512], point[65], spki[256];
	int n = wc_KeyPemToDer(pem, (int)len, der, sizeof(der), NULL), spkilen = sizeof(spki);
	word32 idx = 0, plen = sizeof(point);
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(certfile, WOLFSSL_FILETYPE_PEM);
	ecc_key key;
	int same;

	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(wc_ecc_init(&key), 0);
	ck_assert_int_eq(wc_EccPrivateKeyDecode(der, &idx, &key, (word32)n), 0);
	ck_assert_int_eq(wc_ecc_export_x963(&key, point, &plen), 0);
	ck_assert_int_eq(plen, 65);
	ck_assert_int_eq(wolfSSL_X509_get_pubkey_buffer(x, spki, &spkilen), WOLFSSL_SUCCESS);
	ck_assert_int_ge(spkilen, 65);
	same = memcmp(spki + spkilen - 65, point, 65) == 0;
	wc_ecc_free(&key);
	wolfSSL_X509_free(x);
	free(pem);
	return same;
}

START_TEST(test_pairs_load_in_wolfssl)
{
	abk_err err = ABK_ERR_INIT;
	WOLFSSL_CTX *ctx;

	ck_assert_int_eq(certgen_make_all(dir1, names, 4, &err), ABK_OK);
	ctx = wolfSSL_CTX_new(wolfTLS_server_method());
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(wolfSSL_CTX_use_certificate_file(ctx, in(dir1, "server.pem"),
	    WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_use_PrivateKey_file(ctx, in(dir1, "server.key"),
	    WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_check_private_key(ctx), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_use_certificate_file(ctx, in(dir1, "ca.pem"),
	    WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_use_PrivateKey_file(ctx, in(dir1, "ca.key"),
	    WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_check_private_key(ctx), WOLFSSL_SUCCESS);
	ck_assert_int_eq(wolfSSL_CTX_load_verify_locations(ctx, in(dir1, "ca.pem"), NULL),
	    WOLFSSL_SUCCESS);
	wolfSSL_CTX_free(ctx);
	ck_assert(key_matches_cert(in(dir1, "server.key"), in(dir1, "server.pem")));
	ck_assert(key_matches_cert(in(dir1, "ca.key"), in(dir1, "ca.pem")));
	ck_assert(!key_matches_cert(in(dir1, "ca.key"), in(dir1, "server.pem")));
	ck_assert(!key_matches_cert(in(dir1, "server.key"), in(dir1, "ca.pem")));
}
END_TEST

START_TEST(test_chain)
{
	abk_err err = ABK_ERR_INIT;
	unsigned char s1[32], s2[32];
	int l1, l2;

	ck_assert_int_eq(certgen_make_all(dir1, names, 4, &err), ABK_OK);
	ck_assert_int_eq(certgen_make_all(dir2, names, 4, &err), ABK_OK);
	ck_assert(verifies(in(dir1, "ca.pem"), in(dir1, "server.pem")));
	ck_assert(verifies(in(dir2, "ca.pem"), in(dir2, "server.pem")));
	/* another CA, same names: must not verify */
	ck_assert(!verifies(in(dir1, "ca.pem"), in(dir2, "server.pem")));
	ck_assert(!verifies(in(dir2, "ca.pem"), in(dir1, "server.pem")));
	serial_of(in(dir1, "server.pem"), s1, &l1);
	serial_of(in(dir2, "server.pem"), s2, &l2);
	ck_assert_int_ge(l1, 16);
	ck_assert(l1 != l2 || memcmp(s1, s2, (size_t)l1) != 0);
}
END_TEST

START_TEST(test_names_and_usage)
{
	abk_err err = ABK_ERR_INIT;
	WOLFSSL_X509 *srv, *ca;
	/*
	 * wolfSSL 5.5 matches IPv6 entries only in the full form it prints
	 * them in (eight groups of four hex digits), so that is what we ask.
	 */
	static const char *const good_ip[] = { "127.0.0.1", "10.1.2.3",
	    "0000:0000:0000:0000:0000:0000:0000:0001",
	    "2001:0db8:0000:0000:0000:0000:0000:0005" };
	static const char *const bad_ip[] = { "10.1.2.4", "0.0.0.0",
	    "0000:0000:0000:0000:0000:0000:0000:0002" };

	ck_assert_int_eq(certgen_make_all(dir1, names, 4, &err), ABK_OK);
	srv = wolfSSL_X509_load_certificate_file(in(dir1, "server.pem"), WOLFSSL_FILETYPE_PEM);
	ca = wolfSSL_X509_load_certificate_file(in(dir1, "ca.pem"), WOLFSSL_FILETYPE_PEM);
	ck_assert_ptr_nonnull(srv);
	ck_assert_ptr_nonnull(ca);
	ck_assert_int_eq(wolfSSL_X509_check_host(srv, "localhost", 9, 0, NULL), 1);
	ck_assert_int_eq(wolfSSL_X509_check_host(srv, "backup.example.org", 18, 0, NULL), 1);
	ck_assert_int_ne(wolfSSL_X509_check_host(srv, "evil.example.org", 16, 0, NULL), 1);
	ck_assert_int_ne(wolfSSL_X509_check_host(srv, "example.org", 11, 0, NULL), 1);
	ck_assert_int_eq(wolfSSL_X509_check_host(srv, "a.wild.example", 14, 0, NULL), 1);
	ck_assert_int_ne(wolfSSL_X509_check_host(srv, "a.b.wild.example", 16, 0, NULL), 1);
	for (size_t i = 0; i < sizeof(good_ip) / sizeof(good_ip[0]); i++)
		ck_assert_msg(wolfSSL_X509_check_ip_asc(srv, good_ip[i], 0) == 1,
		    "%s missing", good_ip[i]);
	for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++)
		ck_assert_msg(wolfSSL_X509_check_ip_asc(srv, bad_ip[i], 0) != 1,
		    "%s present", bad_ip[i]);
	ck_assert_int_eq(wolfSSL_X509_get_isCA(srv), 0);
	ck_assert_int_eq(wolfSSL_X509_get_isCA(ca), 1);
	ck_assert_int_eq(wolfSSL_X509_get_pubkey_type(srv), ECDSAk);
	ck_assert_int_eq(wolfSSL_X509_get_pubkey_type(ca), ECDSAk);
	ck_assert_int_eq(wolfSSL_X509_get_signature_type(srv), CTC_SHA256wECDSA);
	ck_assert_int_le(validity_days(srv), 825);
	ck_assert_int_ge(validity_days(srv), CERTGEN_SERVER_DAYS);
	ck_assert_int_ge(validity_days(ca), CERTGEN_CA_DAYS);
	wolfSSL_X509_free(srv);
	wolfSSL_X509_free(ca);
}
END_TEST

START_TEST(test_renew_server)
{
	abk_err err = ABK_ERR_INIT;
	char oldcert[600], oldca[600];
	unsigned char s1[32], s2[32];
	int l1, l2;

	ck_assert_int_eq(certgen_make_all(dir1, names, 1, &err), ABK_OK);
	/* hard links keep the old contents: files are replaced by rename */
	snprintf(oldcert, sizeof(oldcert), "%s", in(dir2, "old-server.pem"));
	snprintf(oldca, sizeof(oldca), "%s", in(dir2, "old-ca.pem"));
	ck_assert_int_eq(link(in(dir1, "server.pem"), oldcert), 0);
	ck_assert_int_eq(link(in(dir1, "ca.pem"), oldca), 0);
	ck_assert_int_eq(certgen_make_server(dir1, names + 1, 1, &err), ABK_OK);
	ck_assert_msg(same_file(in(dir1, "ca.pem"), oldca), "renewal changed ca.pem");
	ck_assert_msg(!same_file(in(dir1, "server.pem"), oldcert), "server.pem kept");
	ck_assert(verifies(in(dir1, "ca.pem"), in(dir1, "server.pem")));
	ck_assert(verifies(in(dir1, "ca.pem"), oldcert));
	serial_of(in(dir1, "server.pem"), s1, &l1);
	serial_of(oldcert, s2, &l2);
	ck_assert(l1 != l2 || memcmp(s1, s2, (size_t)l1) != 0);
	ck_assert_int_eq(mode_of(in(dir1, "server.key")), 0600);
	ck_assert_int_eq(count_entries(dir1), 4);
}
END_TEST

START_TEST(test_renew_refuses_foreign_key)
{
	abk_err err = ABK_ERR_INIT;
	char before[600];

	ck_assert_int_eq(certgen_make_all(dir1, NULL, 0, &err), ABK_OK);
	ck_assert_int_eq(certgen_make_all(dir2, NULL, 0, &err), ABK_OK);
	snprintf(before, sizeof(before), "%s", in(dir2, "server.before"));
	ck_assert_int_eq(link(in(dir1, "server.pem"), before), 0);
	/* dir1 gets dir2's CA key: its ca.pem no longer matches its ca.key */
	ck_assert_int_eq(rename(in(dir2, "ca.key"), in(dir1, "ca.key")), 0);
	ck_assert_int_eq(certgen_make_server(dir1, NULL, 0, &err), ABK_E_CRYPTO);
	ck_assert_msg(strstr(err.msg, "ca.key") != NULL, "message: %s", err.msg);
	ck_assert_msg(same_file(in(dir1, "server.pem"), before), "server.pem replaced");
	ck_assert_int_eq(count_entries(dir1), 4);
}
END_TEST

START_TEST(test_renew_without_ca)
{
	abk_err err = ABK_ERR_INIT;
	FILE *f;

	ck_assert_int_eq(certgen_make_server(dir1, NULL, 0, &err), ABK_E_NOTFOUND);
	ck_assert_msg(strstr(err.msg, "ca.pem") != NULL, "message: %s", err.msg);
	ck_assert_int_eq(count_entries(dir1), 0);
	abk_err_clear(&err);
	ck_assert_int_eq(certgen_make_all(dir1, NULL, 0, &err), ABK_OK);
	ck_assert_int_eq(unlink(in(dir1, "ca.key")), 0);
	ck_assert_int_eq(certgen_make_server(dir1, NULL, 0, &err), ABK_E_NOTFOUND);
	/* a ca.pem that is not a certificate */
	abk_err_clear(&err);
	ck_assert_int_eq(certgen_make_all(dir1, NULL, 0, &err), ABK_OK);
	f = fopen(in(dir1, "ca.pem"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a certificate\n", f);
	fclose(f);
	ck_assert_int_eq(certgen_make_server(dir1, NULL, 0, &err), ABK_E_CRYPTO);
	ck_assert_msg(strstr(err.msg, "ca.pem") != NULL, "message: %s", err.msg);
}
END_TEST

struct name_case {
	const char *name;
	int ok;
};

static char long_label[70], long_name[300], max_name[CERTGEN_NAME_MAX + 1];

static const struct name_case name_cases[] = {
	{ "a", 1 }, { "backup", 1 }, { "backup.example.org", 1 }, { "a-b.c-d.example", 1 },
	{ "xn--bcher-kva.example", 1 }, { "BACKUP.Example.ORG", 1 }, { "*.example.org", 1 },
	{ "1.2.3.4", 1 }, { "::1", 1 }, { "fe80::1", 1 }, { "2001:db8::5", 1 },
	{ "host1.example", 1 }, { "1a.example", 1 },
	{ "", 0 }, { "a..b", 0 }, { ".a", 0 }, { "a.", 0 }, { "-a", 0 }, { "a-", 0 },
	{ "a.-b.c", 0 }, { "a_b", 0 }, { "a b", 0 }, { "a/b", 0 }, { "a\nb", 0 },
	{ "1.2.3", 0 }, { "300.1.1.1", 0 }, { "1.2.3.4.5", 0 }, { "*", 0 }, { "*.", 0 },
	{ "a.*.b", 0 }, { "*a.example", 0 }, { "::g", 0 }, { "1:2", 0 },
	{ "caf\xc3\xa9.example", 0 }, { "example.123", 0 },
};

START_TEST(test_check_name)
{
	const struct name_case *c = &name_cases[_i];
	abk_err err = ABK_ERR_INIT;
	int rc = certgen_check_name(c->name, &err);

	if (c->ok)
		ck_assert_msg(rc == ABK_OK, "'%s' refused: %s", c->name, err.msg);
	else {
		ck_assert_msg(rc == ABK_E_USAGE, "'%s' accepted", c->name);
		ck_assert_msg(err.msg[0] != '\0', "'%s': no message", c->name);
	}
}
END_TEST

START_TEST(test_name_lengths)
{
	abk_err err = ABK_ERR_INIT;

	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	ck_assert_int_eq(certgen_check_name(long_label, &err), ABK_E_USAGE);
	long_label[63] = '\0';
	ck_assert_int_eq(certgen_check_name(long_label, NULL), ABK_OK);
	/* 253 bytes of 63-byte labels is fine, 254 is not */
	for (size_t i = 0; i < CERTGEN_NAME_MAX; i++)
		max_name[i] = (i % 64 == 63) ? '.' : 'b';
	max_name[CERTGEN_NAME_MAX] = '\0';
	ck_assert_int_eq(certgen_check_name(max_name, NULL), ABK_OK);
	snprintf(long_name, sizeof(long_name), "%s.c", max_name);
	ck_assert_int_eq(certgen_check_name(long_name, NULL), ABK_E_USAGE);
	ck_assert_int_eq(certgen_check_name(NULL, NULL), ABK_E_USAGE);
}
END_TEST

START_TEST(test_refusals_touch_nothing)
{
	abk_err err = ABK_ERR_INIT;
	const char *bad[] = { "ok.example", "bad_name" };
	const char *many[CERTGEN_MAX_NAMES + 1];

	ck_assert_int_eq(certgen_make_all(dir1, bad, 2, &err), ABK_E_USAGE);
	ck_assert_msg(strstr(err.msg, "bad_name") != NULL, "message: %s", err.msg);
	ck_assert_int_eq(count_entries(dir1), 0);
	for (size_t i = 0; i <= CERTGEN_MAX_NAMES; i++)
		many[i] = "x.example";
	abk_err_clear(&err);
	ck_assert_int_eq(certgen_make_all(dir1, many, CERTGEN_MAX_NAMES + 1, &err),
	    ABK_E_LIMIT);
	ck_assert_int_eq(count_entries(dir1), 0);
	abk_err_clear(&err);
	ck_assert_int_eq(certgen_make_all(in(dir1, "missing"), NULL, 0, &err), ABK_E_IO);
	ck_assert_int_eq(certgen_make_all(NULL, NULL, 0, NULL), ABK_E_USAGE);
	ck_assert_int_eq(certgen_make_all(dir1, NULL, 1, NULL), ABK_E_USAGE);
	ck_assert_int_eq(count_entries(dir1), 0);
}
END_TEST

START_TEST(test_max_names)
{
	abk_err err = ABK_ERR_INIT;
	static char bufs[CERTGEN_MAX_NAMES][CERTGEN_NAME_MAX + 1];
	const char *many[CERTGEN_MAX_NAMES];
	WOLFSSL_X509 *x;

	/* the largest certificate: every name as long as it may be */
	for (size_t i = 0; i < CERTGEN_MAX_NAMES; i++) {
		for (size_t j = 0; j < CERTGEN_NAME_MAX; j++)
			bufs[i][j] = (j % 64 == 63) ? '.' : 'c';
		bufs[i][0] = (char)('a' + i % 26);
		bufs[i][1] = (char)('a' + i / 26);
		many[i] = bufs[i];
	}
	ck_assert_msg(certgen_make_all(dir1, many, CERTGEN_MAX_NAMES, &err) == ABK_OK,
	    "%s", err.msg);
	ck_assert(verifies(in(dir1, "ca.pem"), in(dir1, "server.pem")));
	x = wolfSSL_X509_load_certificate_file(in(dir1, "server.pem"), WOLFSSL_FILETYPE_PEM);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(wolfSSL_X509_check_host(x, many[CERTGEN_MAX_NAMES - 1],
	    CERTGEN_NAME_MAX, 0, NULL), 1);
	wolfSSL_X509_free(x);
}
END_TEST

START_TEST(test_unwritable_dir)
{
	abk_err err = ABK_ERR_INIT;

	if (geteuid() == 0)
		return;	/* root writes anywhere; nothing to test */
	ck_assert_int_eq(chmod(dir1, 0500), 0);
	ck_assert_int_eq(certgen_make_all(dir1, NULL, 0, &err), ABK_E_IO);
	ck_assert_int_eq(chmod(dir1, 0700), 0);
	ck_assert_int_eq(count_entries(dir1), 0);
}
END_TEST

static Suite *
certgen_suite(void)
{
	Suite *s = suite_create("certgen");
	TCase *tc = tcase_create("certgen");

	tcase_add_checked_fixture(tc, make_dirs, remove_dirs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_make_all_files);
	tcase_add_test(tc, test_pairs_load_in_wolfssl);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_names_and_usage);
	tcase_add_test(tc, test_renew_server);
	tcase_add_test(tc, test_renew_refuses_foreign_key);
	tcase_add_test(tc, test_renew_without_ca);
	tcase_add_loop_test(tc, test_check_name, 0,
	    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	tcase_add_test(tc, test_name_lengths);
	tcase_add_test(tc, test_refusals_touch_nothing);
	tcase_add_test(tc, test_max_names);
	tcase_add_test(tc, test_unwritable_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(certgen_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
