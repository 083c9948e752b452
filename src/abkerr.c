/*
 * abkerr.c - the error record of libabk: a code plus one human sentence,
 * written once where the failure happened.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "abkerr.h"
#include "exitcodes.h"

static const struct {
	int code;
	const char *text;
} abk_code_names[] = {
	{ ABK_OK, "success" },
	{ ABK_E_USAGE, "invalid usage" },
	{ ABK_E_IO, "I/O error" },
	{ ABK_E_NOMEM, "out of memory" },
	{ ABK_E_PROTO, "protocol error" },
	{ ABK_E_TLS, "TLS error" },
	{ ABK_E_NET, "network error" },
	{ ABK_E_AUTH, "authentication failed" },
	{ ABK_E_REFUSED, "refused by server" },
	{ ABK_E_BUSY, "busy" },
	{ ABK_E_QUOTA, "quota exceeded" },
	{ ABK_E_NOTFOUND, "not found" },
	{ ABK_E_EXISTS, "already exists" },
	{ ABK_E_LIMIT, "limit exceeded" },
	{ ABK_E_PATH, "invalid path" },
	{ ABK_E_DB, "database error" },
	{ ABK_E_CRYPTO, "cryptography error" },
	{ ABK_E_ZIP, "zip archive error" },
	{ ABK_E_CANCELED, "canceled" },
	{ ABK_E_INTEGRITY, "integrity check failed" },
	{ ABK_E_PARTIAL, "partially completed" },
	{ ABK_E_INTERNAL, "internal error" },
	{ ABK_E_TIMEOUT, "timed out" },
};

const char *
abk_strerror(int code)
{
	for (size_t i = 0; i < sizeof(abk_code_names) / sizeof(abk_code_names[0]); i++)
		if (abk_code_names[i].code == code)
			return abk_code_names[i].text;
	return "unknown error";
}

int
abk_err_set(abk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != ABK_OK)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
abk_code_is_disconnect(int code)
{
	return code == ABK_E_NET || code == ABK_E_TIMEOUT;
}

void
abk_err_clear(abk_err *err)
{
	if (err == NULL)
		return;
	err->code = ABK_OK;
	err->msg[0] = '\0';
}

int
abk_exit_for(int code)
{
	switch (code) {
	case ABK_OK:
		return ABK_EXIT_OK;
	case ABK_E_USAGE:
		return ABK_EXIT_USAGE;
	case ABK_E_AUTH:
		return ABK_EXIT_AUTH;
	case ABK_E_TLS:
	case ABK_E_NET:
	case ABK_E_TIMEOUT:
	case ABK_E_PROTO:
		return ABK_EXIT_NETWORK;
	case ABK_E_PARTIAL:
		return ABK_EXIT_PARTIAL;
	case ABK_E_REFUSED:
	case ABK_E_BUSY:
	case ABK_E_QUOTA:
	case ABK_E_NOTFOUND:
	case ABK_E_EXISTS:
	case ABK_E_LIMIT:
		return ABK_EXIT_REFUSED;
	case ABK_E_INTEGRITY:
		return ABK_EXIT_INTEGRITY;
	case ABK_E_CANCELED:
		return ABK_EXIT_CANCELED;
	default:
		return ABK_EXIT_FAILURE;
	}
}
