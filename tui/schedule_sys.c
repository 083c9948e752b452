/*
 * schedule_sys.c - what the schedule commands need from the system: XDG
 * folders, files written whole, valid names, and running systemctl and
 * crontab (posix_spawnp through PATH, no shell: tests put fakes first).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schedule_int.h"

extern char **environ;

/* $XDG_<kind>_HOME or ~/<fallback>, plus sub; 0 or -1 (message printed). */
int
sched_xdg_path(const char *env, const char *fallback, const char *sub, char *out, size_t outsz)
{
	const char *base = getenv(env), *home = getenv("HOME");
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(out, outsz, "%s/%s", base, sub);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outsz, "%s/%s/%s", home, fallback, sub);
	else {
		fprintf(stderr, "autobackup: neither %s nor HOME is set\n", env);
		return -1;
	}
	if (n < 0 || (size_t)n >= outsz) {
		fprintf(stderr, "autobackup: path too long under %s\n", env);
		return -1;
	}
	return 0;
}

/* mkdir -p of path's folders (not of path itself when file). */
int
sched_mkdirs(const char *path, int file)
{
	char tmp[4200];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (file && (p = strrchr(tmp, '/')) != NULL)
		*p = '\0';
	for (p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

/* Write text to path through a temporary file and a rename. */
int
sched_write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[4300];
	FILE *f;
	int ok;

	if (sched_mkdirs(path, 1) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	ok = fputs(text, f) >= 0;
	ok = fflush(f) == 0 && ok;
	ok = fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (ok && chmod(tmp, mode) == 0 && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

/*
 * Run argv (PATH lookup), stdin from in (may be NULL), stdout into out (may
 * be NULL, up to outsz - 1 bytes); the exit status, or -1.
 */
int
sched_run(const char *const words[], const char *in, char *out, size_t outsz)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, st = -1;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	size_t got = 0, nw = 0;
	char *argv[8] = { NULL };

	/* posix_spawnp takes char *const[]: private copies of the words */
	for (; nw < 7 && words[nw] != NULL; nw++)
		if ((argv[nw] = strdup(words[nw])) == NULL)
			goto out;

	if (pipe(pin) != 0 || pipe(pout) != 0)
		goto out;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_addclose(&fa, pin[1]);
	posix_spawn_file_actions_addclose(&fa, pout[0]);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	pin[0] = -1;
	close(pout[1]);
	pout[1] = -1;
	if (in != NULL && write(pin[1], in, strlen(in)) < 0)
		(void)0;	/* the child's status tells */
	close(pin[1]);
	pin[1] = -1;
	for (;;) {
		char buf[4096];
		ssize_t r = read(pout[0], buf, sizeof(buf));

		if (r <= 0)
			break;
		if (out != NULL && got + 1 < outsz) {
			size_t k = (size_t)r < outsz - 1 - got ? (size_t)r : outsz - 1 - got;

			memcpy(out + got, buf, k);
			got += k;
		}
	}
	if (out != NULL && outsz > 0)
		out[got] = '\0';
	if (waitpid(pid, &st, 0) < 0)
		st = -1;
	else
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
out:
	for (size_t i = 0; i < nw; i++)
		free(argv[i]);
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	return st;
}


int
sched_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	return 1;
}

/* The schedule's name: --name, else the first PATH's base name made safe. */
int
sched_user_systemd_works(void)
{
	const char *argv[] = { "systemctl", "--user", "show-environment", NULL };

	return sched_run(argv, NULL, NULL, 0) == 0;
}

int
sched_crontab_read(char *buf, size_t bufsz)
{
	const char *argv[] = { "crontab", "-l", NULL };

	buf[0] = '\0';
	/* "no crontab for USER" is a non-zero exit: an empty table */
	return sched_run(argv, NULL, buf, bufsz) < 0 ? -1 : 0;
}

int
sched_crontab_write(const char *text)
{
	const char *argv[] = { "crontab", "-", NULL };

	return sched_run(argv, text, NULL, 0) == 0 ? 0 : -1;
}

/* Remove the lines that end with marker from tab (in place). */
void
sched_crontab_drop(char *tab, const char *marker)
{
	char *r = tab, *w = tab;

	while (*r) {
		char *nl = strchr(r, '\n');
		size_t len = nl ? (size_t)(nl - r) : strlen(r);
		size_t ml = strlen(marker);
		int drop = len >= ml && memcmp(r + len - ml, marker, ml) == 0;

		if (!drop) {
			memmove(w, r, len);
			w += len;
			*w++ = '\n';
		}
		r += len + (nl ? 1 : 0);
	}
	*w = '\0';
}

