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

#define ABK_CONFIG_VALUE_MAX 4096

struct abk_config {
	char server[512];
	char ca[ABK_CONFIG_VALUE_MAX];
	char user[64];
	char password_file[ABK_CONFIG_VALUE_MAX];
	char token_file[ABK_CONFIG_VALUE_MAX];
	char path[ABK_CONFIG_VALUE_MAX];	/* file that was read, "" if none */
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

#endif
