/*
 * origins.c - the client's record of where each source was pushed from
 * (see origins.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "origins.h"
#include "pathsafe.h"
#include "proto.h"

#define ORIGINS_HEADER "# autobackup origins 1: server, user, source, origin (%XX escapes)\n"
#define ORIGINS_FILE_MAX (64u << 20)

int
origins_default_path(char *out, size_t outsz, abk_err *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (state != NULL && state[0] == '/')
		n = snprintf(out, outsz, "%s/autobackup/origins", state);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outsz, "%s/.local/state/autobackup/origins", home);
	else
		return abk_err_set(err, ABK_E_USAGE, "neither XDG_STATE_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= outsz)
		return abk_err_set(err, ABK_E_USAGE, "the state folder's path is too long");
	return ABK_OK;
}

void
origins_server_key(const char *server, char *out, size_t outsz)
{
	const char *colon = strrchr(server, ':');
	const char *bracket = strrchr(server, ']');
	int has_port;

	if (server[0] == '[')
		has_port = bracket != NULL && colon != NULL && colon > bracket;
	else	/* a bare IPv6 address has several colons and no port */
		has_port = colon != NULL && strchr(server, ':') == colon;
	if (has_port)
		snprintf(out, outsz, "%s", server);
	else
		snprintf(out, outsz, "%s:%d", server, ABK_DEFAULT_PORT);
}

int
origins_valid(const char *origin)
{
	size_t len = strlen(origin);

	if (len == 0 || origin[0] != '/' || len > PROTO_ORIGIN_MAX)
		return 0;
	if (len == 1)
		return 1;
	return pathsafe_check(origin + 1, len - 1) == PATHSAFE_OK;
}

static int
needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '%';
}

static void
put_field(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (needs_escape(c))
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode field s[0..len) into out[outsz]; 0, or -1 if malformed or too long. */
static int
get_field(const char *s, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Does line[0..len) hold the record of (server, user, source)?  If so, and
 * origin is not NULL, its origin goes there.  Malformed lines never match.
 */
static int
line_matches(const char *line, size_t len, const char *const key[3], char *origin,
    size_t osz)
{
	char field[PROTO_ORIGIN_MAX + 1];
	const char *p = line, *end = line + len;

	for (int k = 0; k < 4; k++) {
		const char *tab = k < 3 ? memchr(p, '\t', (size_t)(end - p)) : end;

		if (tab == NULL || get_field(p, (size_t)(tab - p), field, sizeof(field)) != 0)
			return 0;
		if (k < 3 && strcmp(field, key[k]) != 0)
			return 0;
		if (k == 3 && origin != NULL)
			snprintf(origin, osz, "%s", field);
		p = tab + 1;
	}
	return 1;
}

/* The whole file (NULL, 0 if it does not exist). */
static int
read_all(const char *file, char **data, size_t *len, abk_err *err)
{
	struct stat st;
	size_t got = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int rc = ABK_OK;

	*data = NULL;
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return ABK_OK;
		return abk_err_set(err, ABK_E_IO, "cannot open %s: %s", file, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > ORIGINS_FILE_MAX) {
		rc = abk_err_set(err, ABK_E_IO, "%s is not a regular file of at most %u bytes",
		    file, ORIGINS_FILE_MAX);
		goto out;
	}
	*data = malloc((size_t)st.st_size + 1);
	if (*data == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "reading %s: %s", file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	(*data)[got] = '\0';
	*len = got;
out:
	if (rc != ABK_OK) {
		free(*data);
		*data = NULL;
	}
	close(fd);
	return rc;
}

int
origins_lookup(const char *file, const char *server, const char *user, const char *source,
    char *out, size_t outsz, abk_err *err)
{
	const char *const key[3] = { server, user, source };
	char *data;
	size_t len;
	int rc = read_all(file, &data, &len, err), found = 0;

	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < len && !found;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (data + i)) : len - i;

		if (data[i] != '#' && line_matches(data + i, l, key, out, outsz) &&
		    origins_valid(out))
			found = 1;
		i += l + 1;
	}
	free(data);
	if (!found)
		return abk_err_set(err, ABK_E_NOTFOUND, "no record of where %s was pushed from",
		    source);
	return ABK_OK;
}

/* mkdir -p of the folder that holds file (0700: it says what is where). */
static int
make_parent(const char *file, abk_err *err)
{
	char buf[4096];
	size_t len = strlen(file);

	if (len >= sizeof(buf))
		return abk_err_set(err, ABK_E_USAGE, "path too long: %s", file);
	memcpy(buf, file, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	return ABK_OK;
}

static int
write_records(const char *file, const char *data, size_t len, const char *const key[3],
    const char *origin, abk_err *err)
{
	char tmp[4200];
	FILE *f;
	int fd, rc = ABK_OK;

	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", file);
	fd = mkstemp(tmp);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "cannot create %s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (f == NULL) {
		rc = abk_err_set(err, ABK_E_IO, "fdopen: %s", strerror(errno));
		close(fd);
		(void)unlink(tmp);
		return rc;
	}
	fputs(ORIGINS_HEADER, f);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (data + i)) : len - i;

		/* keep every other record; drop comments and this key's old line */
		if (l > 0 && data[i] != '#' && !line_matches(data + i, l, key, NULL, 0)) {
			fwrite(data + i, 1, l, f);
			fputc('\n', f);
		}
		i += l + 1;
	}
	for (int k = 0; k < 3; k++) {
		put_field(f, key[k]);
		fputc('\t', f);
	}
	put_field(f, origin);
	fputc('\n', f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = abk_err_set(err, ABK_E_IO, "writing %s: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && rc == ABK_OK)
		rc = abk_err_set(err, ABK_E_IO, "writing %s: %s", tmp, strerror(errno));
	if (rc == ABK_OK && rename(tmp, file) != 0)
		rc = abk_err_set(err, ABK_E_IO, "cannot replace %s: %s", file, strerror(errno));
	if (rc != ABK_OK)
		(void)unlink(tmp);
	return rc;
}

int
origins_record(const char *file, const char *server, const char *user, const char *source,
    const char *origin, abk_err *err)
{
	const char *const key[3] = { server, user, source };
	char lock[4200];
	char *data = NULL;
	size_t len = 0;
	int lfd, rc;

	if (!origins_valid(origin))
		return abk_err_set(err, ABK_E_USAGE, "not an absolute, normalised path: %s",
		    origin);
	if ((rc = make_parent(file, err)) != ABK_OK)
		return rc;
	snprintf(lock, sizeof(lock), "%s.lock", file);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return abk_err_set(err, ABK_E_IO, "cannot open %s: %s", lock, strerror(errno));
	while (flock(lfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = abk_err_set(err, ABK_E_IO, "cannot lock %s: %s", lock, strerror(errno));
			goto out;
		}
	}
	rc = read_all(file, &data, &len, err);
	if (rc == ABK_OK)
		rc = write_records(file, data, len, key, origin, err);
out:
	free(data);
	close(lfd);	/* releases the lock */
	return rc;
}
