/*
 * clientconf.h - the client's configuration file, ~/.config/autobackup/config
 * (or $XDG_CONFIG_HOME/autobackup/config): "key = value" lines, '#'
 * comments, and "[profile NAME]" sections whose keys override the ones
 * before any section.  Keys: server, ca, user, password-file, token-file.
 * "~/" at the start of a path value means the home folder.
 */
#ifndef ABK_CLIENTCONF_H
#define ABK_CLIENTCONF_H

#include "abkerr.h"
#include "engine.h"

#define ABK_CONFIG_VALUE_MAX 4096

struct abk_config {
	char server[512];
	char ca[ABK_CONFIG_VALUE_MAX];
	char user[64];
	char password_file[ABK_CONFIG_VALUE_MAX];
	char token_file[ABK_CONFIG_VALUE_MAX];
	char path[ABK_CONFIG_VALUE_MAX];	/* file that was read, "" if none */
	/* abk_config_resolve: where each came from ("--server", "the config
	 * file", "AUTOBACKUP_TOKEN", ...), static strings; for --verbose */
	const char *server_from, *user_from, *secret_from;
};

/* Default location of the config file into buf. */
void abk_config_default_path(char *buf, size_t bufsz);

/*
 * Load path (NULL = default) for profile (NULL = the default keys).  A
 * missing file is fine unless a profile was asked for; an unknown key, a
 * malformed line or a missing profile is ABK_E_USAGE naming file and line.
 */
int abk_config_load(const char *path, const char *profile, struct abk_config *out,
    abk_err *err);

/*
 * What a front end was told on its command line about the connection; any
 * field may be NULL.  Flags win over the config file's profile, which wins
 * over the defaults (ca.pem beside the config file).
 */
struct abk_conn_flags {
	const char *config, *profile;
	const char *server, *ca, *user;
	const char *password_file, *token_file;
};

enum {
	ABK_RESOLVE_PROMPT = 1,		/* no secret found: ask on the terminal */
	ABK_RESOLVE_SECRET_OPTIONAL = 2,	/* no secret found: OK, secret left "" */
};

/*
 * Fill p (server, CA, user, secret) by the one set of rules both front ends
 * use.  Credentials, first found wins: --password-file, --token-file,
 * AUTOBACKUP_TOKEN, AUTOBACKUP_PASSWORD, the profile's token-file then
 * password-file, then (ABK_RESOLVE_PROMPT and a terminal) a no-echo prompt.
 * With none of those: ABK_E_USAGE, or ABK_OK with p->secret "" under
 * ABK_RESOLVE_SECRET_OPTIONAL.  cfg (may be NULL) receives the loaded file.
 * The caller wipes p->secret after use (abk_wipe).
 */
int abk_config_resolve(const struct abk_conn_flags *f, int flags, struct abk_profile *p,
    struct abk_config *cfg, abk_err *err);

/*
 * Write server, ca and user (NULL = leave as is) into path (NULL = default)
 * under profile (NULL = the keys before any section), keeping every other
 * line; the profile section is added when missing.  The file and its folder
 * are created (0600 / 0700); replaced atomically (temporary file, fsync,
 * rename).  Secrets are never written here.
 */
int abk_config_save(const char *path, const char *profile, const char *server,
    const char *ca, const char *user, abk_err *err);

#endif
