/*
 * clientconf.c - parse the client's INI-like configuration file.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientconf.h"
#include "strutil.h"

void
abk_config_default_path(char *buf, size_t bufsz)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, bufsz, "%s/autobackup/config", xdg);
	else
		snprintf(buf, bufsz, "%s/.config/autobackup/config", home ? home : ".");
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
	    end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static int
set_value(char *dst, size_t dstsz, const char *value, int is_path)
{
	const char *home = getenv("HOME");
	int n;

	if (is_path && value[0] == '~' && value[1] == '/' && home != NULL)
		n = snprintf(dst, dstsz, "%s/%s", home, value + 2);
	else
		n = snprintf(dst, dstsz, "%s", value);
	return n < 0 || (size_t)n >= dstsz ? -1 : 0;
}

int
abk_config_load(const char *path, const char *profile, struct abk_config *out,
    abk_err *err)
{
	char defpath[ABK_CONFIG_VALUE_MAX], *line = NULL;
	size_t linecap = 0;
	ssize_t linelen;
	FILE *f;
	int lineno = 0, in_wanted = 1, found = profile == NULL, rc = ABK_OK;

	memset(out, 0, sizeof(*out));
	if (path == NULL) {
		abk_config_default_path(defpath, sizeof(defpath));
		path = defpath;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		/* only the default file may be missing: a named one is a typo */
		if (errno == ENOENT && profile == NULL && path == defpath)
			return ABK_OK;
		return abk_err_set(err, ABK_E_USAGE, "cannot read %s: %s", path, strerror(errno));
	}
	snprintf(out->path, sizeof(out->path), "%s", path);
	/*
	 * getline, not fgets into a fixed buffer: fgets splits a long line,
	 * and its rest was then read as a line of its own (a long comment
	 * ending in "server = x" set the server; seen while writing the
	 * fuzz_clientconf target).
	 */
	while ((linelen = getline(&line, &linecap, f)) >= 0) {
		char *s, *eq, *key, *value;
		struct {
			const char *key;
			char *dst;
			size_t size;
			int is_path;
		} keys[] = {
			{ "server", out->server, sizeof(out->server), 0 },
			{ "ca", out->ca, sizeof(out->ca), 1 },
			{ "user", out->user, sizeof(out->user), 0 },
			{ "password-file", out->password_file, sizeof(out->password_file), 1 },
			{ "token-file", out->token_file, sizeof(out->token_file), 1 },
		};
		size_t k;

		lineno++;
		if (memchr(line, '\0', (size_t)linelen) != NULL) {
			rc = abk_err_set(err, ABK_E_USAGE, "%s:%d: NUL byte in the line", path,
			    lineno);
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL || strncmp(s, "[profile ", 9) != 0) {
				rc = abk_err_set(err, ABK_E_USAGE,
				    "%s:%d: expected [profile NAME]", path, lineno);
				break;
			}
			*close = '\0';
			in_wanted = profile != NULL && strcmp(trim(s + 9), profile) == 0;
			found |= in_wanted;
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			rc = abk_err_set(err, ABK_E_USAGE, "%s:%d: expected 'key = value'", path,
			    lineno);
			break;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(key, keys[k].key) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			rc = abk_err_set(err, ABK_E_USAGE, "%s:%d: unknown key '%s' (known: server, "
			    "ca, user, password-file, token-file)", path, lineno, key);
			break;
		}
		if (!in_wanted)
			continue;
		if (set_value(keys[k].dst, keys[k].size, value, keys[k].is_path) != 0) {
			rc = abk_err_set(err, ABK_E_USAGE, "%s:%d: value too long", path, lineno);
			break;
		}
	}
	free(line);
	fclose(f);
	if (rc == ABK_OK && !found)
		rc = abk_err_set(err, ABK_E_USAGE, "%s has no [profile %s]", path, profile);
	return rc;
}

int
abk_config_resolve(const struct abk_conn_flags *o, int flags, struct abk_profile *p,
    struct abk_config *cfg_out, abk_err *err)
{
	struct abk_config cfg;
	const char *env;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = abk_config_load(o->config, o->profile, &cfg, err);
	if (cfg_out != NULL)
		*cfg_out = cfg;
	if (rc != ABK_OK)
		return rc;
#define PICK(dst, flag, conf) \
	snprintf(dst, sizeof(dst), "%s", (flag) ? (flag) : (conf))
	PICK(p->server, o->server, cfg.server);
	PICK(p->ca_file, o->ca, cfg.ca);
	PICK(p->user, o->user, cfg.user);
#undef PICK
#define FROM(field, s) do { if (cfg_out != NULL) cfg_out->field = (s); } while (0)
	FROM(server_from, o->server ? "--server" : cfg.server[0] ? "the config file" : "none");
	FROM(user_from, o->user ? "--user" : cfg.user[0] ? "the config file" : "none");
	if (p->ca_file[0] == '\0') {
		char def[4200];

		abk_config_default_path(def, sizeof(def));
		/* default: ca.pem beside the config file */
		if (strlen(def) > 6) {
			def[strlen(def) - 6] = '\0';
			snprintf(p->ca_file, sizeof(p->ca_file), "%sca.pem", def);
			if (access(p->ca_file, R_OK) != 0)
				p->ca_file[0] = '\0';
		}
	}
	if (o->token_file != NULL) {
		FROM(secret_from, "--token-file");
		p->secret_is_token = 1;
		return abk_read_secret_file(o->token_file, p->secret, sizeof(p->secret), err);
	}
	if (o->password_file != NULL) {
		FROM(secret_from, "--password-file");
		return abk_read_secret_file(o->password_file, p->secret, sizeof(p->secret), err);
	}
	if ((env = getenv("AUTOBACKUP_TOKEN")) != NULL && env[0] != '\0') {
		FROM(secret_from, "AUTOBACKUP_TOKEN");
		p->secret_is_token = 1;
		snprintf(p->secret, sizeof(p->secret), "%s", env);
		return ABK_OK;
	}
	if ((env = getenv("AUTOBACKUP_PASSWORD")) != NULL && env[0] != '\0') {
		FROM(secret_from, "AUTOBACKUP_PASSWORD");
		snprintf(p->secret, sizeof(p->secret), "%s", env);
		return ABK_OK;
	}
	if (cfg.token_file[0] != '\0') {
		FROM(secret_from, "the config file's token-file");
		p->secret_is_token = 1;
		return abk_read_secret_file(cfg.token_file, p->secret, sizeof(p->secret), err);
	}
	if (cfg.password_file[0] != '\0') {
		FROM(secret_from, "the config file's password-file");
		return abk_read_secret_file(cfg.password_file, p->secret, sizeof(p->secret), err);
	}
	if (flags & ABK_RESOLVE_SECRET_OPTIONAL)
		return ABK_OK;
	if ((flags & ABK_RESOLVE_PROMPT) && isatty(STDIN_FILENO)) {
		char prompt[700];

		FROM(secret_from, "the terminal");
		snprintf(prompt, sizeof(prompt), "Password for %.64s@%.512s: ", p->user, p->server);
		return abk_read_secret_tty(prompt, p->secret, sizeof(p->secret), err);
	}
#undef FROM
	return abk_err_set(err, ABK_E_USAGE, "no credentials: use --password-file, "
	    "--token-file, AUTOBACKUP_PASSWORD or AUTOBACKUP_TOKEN");
}
