/*
 * clientconf_save.c - write the connection keys of one profile back into the
 * client's config file (clientconf.h), for the TUI's login screen.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientconf.h"

/*
 * Every line of the file, whole however long (getline), into *lines (owned
 * by the caller, each line and the array freed with save_lines_free).  On
 * any failure nothing is kept and ABK_E_NOMEM / ABK_E_IO is returned: a save
 * must never write back a file with lines missing or cut.
 */
static int
save_read_lines(const char *path, char ***lines, size_t *n, abk_err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lcap = 0;
	int rc = ABK_OK;

	*lines = NULL;
	*n = 0;
	if (f == NULL)
		return errno == ENOENT ? ABK_OK : abk_err_set(err, ABK_E_IO, "cannot read %s: %s",
		    path, strerror(errno));
	errno = 0;
	while (getline(&line, &lcap, f) >= 0) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nl = realloc(*lines, ncap * sizeof(*nl));

			if (nl == NULL) {
				rc = abk_err_set(err, ABK_E_NOMEM, "out of memory reading %s", path);
				break;
			}
			*lines = nl;
			cap = ncap;
		}
		if (((*lines)[*n] = strdup(line)) == NULL) {
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory reading %s", path);
			break;
		}
		(*n)++;
	}
	if (rc == ABK_OK && ferror(f))
		rc = abk_err_set(err, ABK_E_IO, "cannot read %s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

static void
save_lines_free(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* mkdir -p of the folder holding path. */
static void
make_parent(const char *path)
{
	char tmp[ABK_CONFIG_VALUE_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(tmp, 0700);
		*p = '/';
	}
}

/* 1 if line (trimmed) sets key. */
static int
sets_key(const char *line, const char *key)
{
	size_t n = strlen(key);

	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, key, n) != 0)
		return 0;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == '=';
}

/* 1 if line is a section header; *mine when it is profile's (NULL: none is). */
static int
is_section(const char *line, const char *profile, int *mine)
{
	char name[512];
	const char *close;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[')
		return 0;
	*mine = 0;
	if (strncmp(line, "[profile ", 9) == 0 && (close = strchr(line, ']')) != NULL &&
	    profile != NULL) {
		const char *s = line + 9;

		while (*s == ' ')
			s++;
		snprintf(name, sizeof(name), "%.*s", (int)(close - s), s);
		for (size_t n = strlen(name); n > 0 && name[n - 1] == ' '; n--)
			name[n - 1] = '\0';
		*mine = strcmp(name, profile) == 0;
	}
	return 1;
}

int
abk_config_save(const char *path, const char *profile, const char *server,
    const char *ca, const char *user, abk_err *err)
{
	const char *keys[3] = { "server", "ca", "user" };
	const char *vals[3] = { server, ca, user };
	int written[3] = { 0, 0, 0 };
	char defpath[ABK_CONFIG_VALUE_MAX], tmp[ABK_CONFIG_VALUE_MAX + 16];
	char **lines = NULL;
	size_t n = 0;
	int in_mine = profile == NULL, found = profile == NULL, rc = ABK_OK, fd = -1;
	FILE *out = NULL;

	if (path == NULL) {
		abk_config_default_path(defpath, sizeof(defpath));
		path = defpath;
	}
	if ((rc = save_read_lines(path, &lines, &n, err)) != ABK_OK) {
		save_lines_free(lines, n);
		return rc;
	}
	make_parent(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		rc = abk_err_set(err, ABK_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	/* the profile's keys are replaced in place, missing ones added at its end */
	for (size_t i = 0; i < n && !found; i++) {
		int mine;

		if (is_section(lines[i], profile, &mine))
			found |= mine;
	}
	in_mine = profile == NULL;
	{
		size_t end_of_mine = n;	/* line index where our section ends */
		int seen_mine = profile == NULL;

		for (size_t i = 0; i < n; i++) {
			int mine;

			if (is_section(lines[i], profile, &mine)) {
				if (seen_mine && in_mine) {
					end_of_mine = i;
					break;
				}
				in_mine = mine;
				seen_mine |= mine;
			}
		}
		in_mine = profile == NULL;
		for (size_t i = 0; i <= n; i++) {
			int mine;

			if (i == end_of_mine && found)
				for (int k = 0; k < 3; k++)
					if (vals[k] != NULL && !written[k]) {
						fprintf(out, "%s = %s\n", keys[k], vals[k]);
						written[k] = 1;
					}
			if (i == n)
				break;
			if (is_section(lines[i], profile, &mine)) {
				in_mine = mine;
			} else if (in_mine) {
				int k;

				for (k = 0; k < 3; k++)
					if (vals[k] != NULL && sets_key(lines[i], keys[k]))
						break;
				if (k < 3) {
					if (!written[k])
						fprintf(out, "%s = %s\n", keys[k], vals[k]);
					written[k] = 1;
					continue;
				}
			}
			fputs(lines[i], out);
			if (lines[i][0] != '\0' && lines[i][strlen(lines[i]) - 1] != '\n')
				fputc('\n', out);
		}
	}
	if (!found) {
		fprintf(out, "%s[profile %s]\n", n ? "\n" : "", profile);
		for (int k = 0; k < 3; k++)
			if (vals[k] != NULL)
				fprintf(out, "%s = %s\n", keys[k], vals[k]);
	}
	if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(out) != 0) {
		out = NULL;
		rc = abk_err_set(err, ABK_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	out = NULL;
	if (rename(tmp, path) != 0)
		rc = abk_err_set(err, ABK_E_IO, "cannot replace %s: %s", path, strerror(errno));
out:
	if (out != NULL)
		fclose(out);
	if (rc != ABK_OK)
		(void)unlink(tmp);
	save_lines_free(lines, n);
	return rc;
}
