/*
 * fuzz_clientconf.c - libFuzzer target for the client's config file parser
 * (abk_config_load).  The input is the file's text, written to one temporary
 * file per process (the parser reads a path); its first byte picks which
 * profile is asked for (none, "work", or one that is not there).  The parser
 * must never crash or overrun a field; a refusal says why, an accepted
 * file leaves every field NUL-terminated.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp_path[64];

static void
remove_tmp(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
}

static int
write_tmp(const uint8_t *data, size_t size)
{
	FILE *f;

	if (tmp_path[0] == '\0') {
		int fd;

		snprintf(tmp_path, sizeof(tmp_path), "/tmp/fuzz_clientconf.XXXXXX");
		if ((fd = mkstemp(tmp_path)) < 0) {
			tmp_path[0] = '\0';
			return -1;
		}
		close(fd);
		atexit(remove_tmp);
	}
	if ((f = fopen(tmp_path, "w")) == NULL)
		return -1;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static void
check_field(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { NULL, "work", "absent" };
	struct abk_config cfg;
	abk_err err = ABK_ERR_INIT;
	const char *profile;
	int rc;

	if (size < 1)
		return 0;
	profile = profiles[data[0] % 3];
	if (write_tmp(data + 1, size - 1) != 0)
		return 0;
	rc = abk_config_load(tmp_path, profile, &cfg, &err);
	if (rc != ABK_OK) {
		if (rc != err.code || err.msg[0] == '\0')
			abort();
		return 0;
	}
	check_field(cfg.server, sizeof(cfg.server));
	check_field(cfg.ca, sizeof(cfg.ca));
	check_field(cfg.user, sizeof(cfg.user));
	check_field(cfg.password_file, sizeof(cfg.password_file));
	check_field(cfg.token_file, sizeof(cfg.token_file));
	if (strcmp(cfg.path, tmp_path) != 0)
		abort();
	return 0;
}
