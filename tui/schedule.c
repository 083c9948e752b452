/*
 * schedule.c - scheduled pushes (schedule.h).
 *
 * Files (XDG base directories, falling back to ~/.config and ~/.local/state):
 *   $XDG_CONFIG_HOME/autobackup/schedules/NAME      what `add` installed
 *       (every=, kind=systemd|cron, paths, one per line as "path=")
 *   $XDG_CONFIG_HOME/systemd/user/autobackup-NAME.{service,timer}  (systemd)
 *   a crontab line ending in "# autobackup-schedule NAME"           (cron)
 *   $XDG_STATE_HOME/autobackup/schedule/NAME.status   the last run
 *   $XDG_STATE_HOME/autobackup/schedule/NAME.log      cron runs' output
 * systemctl and crontab are run through the shell-free posix_spawnp (PATH),
 * so tests can put fakes first on PATH.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch_int.h"
#include "clientconf.h"
#include "exitcodes.h"
#include "json.h"
#include "schedule.h"
#include "schedule_int.h"
#include "text.h"

/* ---- what --every means --------------------------------------------------- */

struct every {
	char oncalendar[64];	/* systemd */
	char cron[32];		/* the five time fields */
};

static int
parse_every(const char *s, struct every *e)
{
	char *end;
	unsigned long n;

	if (strcmp(s, "hourly") == 0)
		s = "1h";
	if (strcmp(s, "daily") == 0 || strcmp(s, "1d") == 0) {
		snprintf(e->oncalendar, sizeof(e->oncalendar), "daily");
		snprintf(e->cron, sizeof(e->cron), "0 0 * * *");
		return 0;
	}
	if (strcmp(s, "weekly") == 0 || strcmp(s, "1w") == 0) {
		snprintf(e->oncalendar, sizeof(e->oncalendar), "weekly");
		snprintf(e->cron, sizeof(e->cron), "0 0 * * 1");
		return 0;
	}
	if (strcmp(s, "monthly") == 0) {
		snprintf(e->oncalendar, sizeof(e->oncalendar), "monthly");
		snprintf(e->cron, sizeof(e->cron), "0 0 1 * *");
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	n = strtoul(s, &end, 10);
	if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
		if (n < 5 || n > 59 || 60 % n != 0)	/* cron steps restart each hour */
			return -1;
		snprintf(e->oncalendar, sizeof(e->oncalendar), "*:0/%lu", n);
		snprintf(e->cron, sizeof(e->cron), "*/%lu * * * *", n);
		return 0;
	}
	if (strcmp(end, "h") == 0) {
		if (n < 1 || n > 12 || 24 % n != 0)
			return -1;
		snprintf(e->oncalendar, sizeof(e->oncalendar), "0/%lu:00", n);
		snprintf(e->cron, sizeof(e->cron), n == 1 ? "0 * * * *" : "0 */%lu * * *", n);
		return 0;
	}
	return -1;
}

/* ---- command lines -------------------------------------------------------- */

/* Append s to buf quoted for systemd's ExecStart ("...", \ " escaped, % and $ doubled). */
static void
q_systemd(char *buf, size_t bufsz, const char *s)
{
	size_t n = strlen(buf);

	if (n + 2 >= bufsz)
		return;
	buf[n++] = ' ';
	buf[n++] = '"';
	for (; *s && n + 4 < bufsz; s++) {
		if (*s == '\\' || *s == '"')
			buf[n++] = '\\';
		else if (*s == '%' || *s == '$')
			buf[n++] = *s;
		buf[n++] = *s;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

/* Append s for a crontab line: single-quoted for sh, % escaped for cron. */
static void
q_cron(char *buf, size_t bufsz, const char *s)
{
	size_t n = strlen(buf);

	if (n + 2 >= bufsz)
		return;
	buf[n++] = ' ';
	buf[n++] = '\'';
	for (; *s && n + 6 < bufsz; s++) {
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
			continue;
		}
		if (*s == '%')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}

/* A path made absolute (the unit runs elsewhere); "" when it cannot be. */
static void
absolute(const char *p, char *out, size_t outsz)
{
	if (realpath(p, out) == NULL)
		snprintf(out, outsz, "%s", p);
	(void)outsz;
}

/*
 * The push a schedule runs, as words: the binary, connection options made
 * absolute (--token-file only when given as a flag: a profile's own
 * token-file is read by the run), --record-status NAME, push, the paths.
 */
static void
command_line(struct batch_opts *o, const char *name, const char *token_file,
    void (*q)(char *, size_t, const char *), char *buf, size_t bufsz)
{
	char self[4096], a[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	buf[0] = '\0';
	q(buf, bufsz, n > 0 ? self : "autobackup");
	q(buf, bufsz, "--batch");
	q(buf, bufsz, "--quiet");
	if (o->config != NULL) {
		absolute(o->config, a, sizeof(a));
		q(buf, bufsz, "--config");
		q(buf, bufsz, a);
	}
	if (o->profile != NULL) {
		q(buf, bufsz, "--profile");
		q(buf, bufsz, o->profile);
	}
	if (o->server != NULL) {
		q(buf, bufsz, "--server");
		q(buf, bufsz, o->server);
	}
	if (o->ca != NULL) {
		absolute(o->ca, a, sizeof(a));
		q(buf, bufsz, "--ca");
		q(buf, bufsz, a);
	}
	if (o->user != NULL) {
		q(buf, bufsz, "--user");
		q(buf, bufsz, o->user);
	}
	if (token_file != NULL) {
		absolute(token_file, a, sizeof(a));
		q(buf, bufsz, "--token-file");
		q(buf, bufsz, a);
	}
	for (size_t i = 0; i < o->n_excludes; i++) {
		q(buf, bufsz, "--exclude");
		q(buf, bufsz, o->excludes[i]);
	}
	if (o->one_file_system)
		q(buf, bufsz, "--one-file-system");
	q(buf, bufsz, "--record-status");
	q(buf, bufsz, name);
	q(buf, bufsz, "push");
	for (int i = 2; i < o->n_args; i++) {
		absolute(o->args[i], a, sizeof(a));
		q(buf, bufsz, a);
	}
}

/* ---- add / list / remove -------------------------------------------------- */

static void
schedule_name(struct batch_opts *o, char *out, size_t outsz)
{
	char real[4096], base[256];
	size_t k = 0;

	if (o->name != NULL) {
		snprintf(out, outsz, "%s", o->name);
		return;
	}
	absolute(o->args[2], real, sizeof(real));
	text_base(real, base, sizeof(base));
	if (strcmp(base, "/") == 0 || base[0] == '\0')
		snprintf(base, sizeof(base), "root");
	for (const char *s = base; *s && k + 1 < outsz && k < NAME_MAX_LEN; s++)
		out[k++] = isalnum((unsigned char)*s) || *s == '-' || *s == '_' ? *s : '_';
	out[k] = '\0';
}

static int
sched_add(struct batch_opts *o)
{
	struct abk_config cfg;
	abk_err err = ABK_ERR_INIT;
	struct every ev;
	char name[NAME_MAX_LEN + 1], reg[4200], unitdir[4200], path[4400], statedir[4200];
	char cmd[16384], text[20000], tab[65536], env[4500], qenv[4400] = "";
	const char *token;
	int systemd;

	if (o->n_args < 3 || o->every == NULL) {
		fprintf(stderr, "autobackup: schedule add needs PATH... and --every "
		    "(5m..59m, 1h..12h, hourly, daily, weekly, monthly)\n");
		return ABK_EXIT_USAGE;
	}
	if (parse_every(o->every, &ev) != 0) {
		fprintf(stderr, "autobackup: --every %s: give 5m to 30m or 1h to 12h dividing the "
		    "hour or day evenly, hourly, daily, weekly or monthly\n", o->every);
		return ABK_EXIT_USAGE;
	}
	if (o->password_file != NULL) {
		fprintf(stderr, "autobackup: a schedule never uses a password: make a token "
		    "(autobackupd token add USER NAME > FILE) and give --token-file FILE or "
		    "put token-file in the profile\n");
		return ABK_EXIT_USAGE;
	}
	if (abk_config_load(o->config, o->profile, &cfg, &err) != ABK_OK) {
		fprintf(stderr, "autobackup: %s\n", err.msg);
		return ABK_EXIT_USAGE;
	}
	token = o->token_file ? o->token_file : cfg.token_file[0] ? cfg.token_file : NULL;
	if (token == NULL) {
		fprintf(stderr, "autobackup: %s has no token-file: a schedule never uses a "
		    "password; make a token (autobackupd token add USER NAME > FILE) and set "
		    "token-file = FILE there, or give --token-file FILE\n",
		    o->profile ? "the profile" : "the configuration");
		return ABK_EXIT_USAGE;
	}
	if (access(token, R_OK) != 0) {
		fprintf(stderr, "autobackup: token file %s: %s\n", token, strerror(errno));
		return ABK_EXIT_USAGE;
	}
	for (int i = 2; i < o->n_args; i++) {
		struct stat st;

		if (stat(o->args[i], &st) != 0) {
			fprintf(stderr, "autobackup: %s: %s\n", o->args[i], strerror(errno));
			return ABK_EXIT_USAGE;
		}
	}
	schedule_name(o, name, sizeof(name));
	if (!sched_valid_name(name)) {
		fprintf(stderr, "autobackup: schedule name '%s': use letters, digits, - _ . "
		    "(--name)\n", name);
		return ABK_EXIT_USAGE;
	}
	if (sched_xdg_path("XDG_CONFIG_HOME", ".config", "autobackup/schedules", reg, sizeof(reg)) ||
	    sched_xdg_path("XDG_CONFIG_HOME", ".config", "systemd/user", unitdir, sizeof(unitdir)) ||
	    sched_xdg_path("XDG_STATE_HOME", ".local/state", "autobackup/schedule", statedir,
	    sizeof(statedir)))
		return ABK_EXIT_FAILURE;
	snprintf(path, sizeof(path), "%s/%s", reg, name);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "autobackup: a schedule '%s' exists: remove it first "
		    "(schedule remove %s) or choose --name\n", name, name);
		return ABK_EXIT_USAGE;
	}
	sched_mkdirs(statedir, 0);
	/* a custom state folder must be the runs' too: list reads it there */
	env[0] = '\0';
	if (getenv("XDG_STATE_HOME") != NULL && getenv("XDG_STATE_HOME")[0] == '/')
		snprintf(env, sizeof(env), "%s", getenv("XDG_STATE_HOME"));
	systemd = sched_user_systemd_works();
	if (systemd) {
		command_line(o, name, o->token_file, q_systemd, cmd, sizeof(cmd));
		if (env[0]) {
			char v[4300];

			snprintf(v, sizeof(v), "XDG_STATE_HOME=%s", env);
			q_systemd(qenv, sizeof(qenv), v);
			snprintf(env, sizeof(env), "%s", qenv + 1);
		}
		snprintf(text, sizeof(text),
		    "# Installed by 'autobackup --batch schedule add'; remove with\n"
		    "# 'autobackup --batch schedule remove %s'.\n"
		    "[Unit]\nDescription=autobackup: scheduled push '%s'\n"
		    "Wants=network-online.target\nAfter=network-online.target\n\n"
		    "[Service]\nType=oneshot\n%s%s%sExecStart=%s\nNice=10\nIOSchedulingClass=idle\n",
		    name, name, env[0] ? "Environment=" : "", env, env[0] ? "\n" : "", cmd + 1);
		snprintf(path, sizeof(path), "%s/autobackup-%s.service", unitdir, name);
		if (sched_write_file(path, text, 0644) != 0)
			goto io_fail;
		snprintf(text, sizeof(text),
		    "# Installed by 'autobackup --batch schedule add'.\n"
		    "[Unit]\nDescription=autobackup: push '%s' %s\n\n"
		    "[Timer]\nOnCalendar=%s\nPersistent=true\nRandomizedDelaySec=60\n\n"
		    "[Install]\nWantedBy=timers.target\n", name, o->every, ev.oncalendar);
		snprintf(path, sizeof(path), "%s/autobackup-%s.timer", unitdir, name);
		if (sched_write_file(path, text, 0644) != 0)
			goto io_fail;
		{
			char unit[NAME_MAX_LEN + 32];
			const char *reload[] = { "systemctl", "--user", "daemon-reload", NULL };
			const char *enable[] = { "systemctl", "--user", "enable", "--now", unit, NULL };

			snprintf(unit, sizeof(unit), "autobackup-%s.timer", name);
			if (sched_run(reload, NULL, NULL, 0) != 0 || sched_run(enable, NULL, NULL, 0) != 0) {
				fprintf(stderr, "autobackup: systemctl --user enable --now %s failed; "
				    "the unit files are in %s\n", unit, unitdir);
				return ABK_EXIT_FAILURE;
			}
		}
	} else {
		size_t len;

		command_line(o, name, o->token_file, q_cron, cmd, sizeof(cmd));
		if (sched_crontab_read(tab, sizeof(tab) - sizeof(cmd) - 600) != 0) {
			fprintf(stderr, "autobackup: no user systemd and no crontab command: "
			    "nothing was installed\n");
			return ABK_EXIT_FAILURE;
		}
		{
			char marker[NAME_MAX_LEN + 32];

			snprintf(marker, sizeof(marker), "# autobackup-schedule %s", name);
			sched_crontab_drop(tab, marker);
		}
		len = strlen(tab);
		if (len > 0 && tab[len - 1] != '\n')
			tab[len++] = '\n';
		snprintf(path, sizeof(path), "%s/%s.log", statedir, name);
		snprintf(tab + len, sizeof(tab) - len, "%s", ev.cron);
		if (env[0]) {
			char qv[4400] = "";

			q_cron(qv, sizeof(qv), env);
			len = strlen(tab);
			snprintf(tab + len, sizeof(tab) - len, " XDG_STATE_HOME=%s", qv + 1);
		}
		len = strlen(tab);
		snprintf(tab + len, sizeof(tab) - len, "%s >>", cmd);
		q_cron(tab, sizeof(tab), path);
		len = strlen(tab);
		snprintf(tab + len, sizeof(tab) - len, " 2>&1 # autobackup-schedule %s\n", name);
		if (sched_crontab_write(tab) != 0) {
			fprintf(stderr, "autobackup: crontab - failed: nothing was installed\n");
			return ABK_EXIT_FAILURE;
		}
	}
	{
		size_t len = (size_t)snprintf(text, sizeof(text), "every=%s\nkind=%s\n", o->every,
		    systemd ? "systemd" : "cron");

		for (int i = 2; i < o->n_args && len < sizeof(text); i++) {
			char a[4096];

			absolute(o->args[i], a, sizeof(a));
			len += (size_t)snprintf(text + len, sizeof(text) - len, "path=%s\n", a);
		}
		snprintf(path, sizeof(path), "%s/%s", reg, name);
		if (sched_write_file(path, text, 0600) != 0)
			goto io_fail;
	}
	if (!o->quiet)
		printf("schedule %s: push every %s through %s; runs log to %s%s%s; see "
		    "them with 'autobackup --batch schedule list'\n", name, o->every,
		    systemd ? "a systemd user timer" : "crontab",
		    systemd ? "the journal (journalctl --user -u autobackup-" : statedir,
		    systemd ? name : "/", systemd ? ".service)" : ".log");
	return ABK_EXIT_OK;
io_fail:
	fprintf(stderr, "autobackup: cannot write %s: %s\n", path, strerror(errno));
	return ABK_EXIT_FAILURE;
}

/* "ok", "failed (exit 4)", or "never run" and the time, from NAME.status. */
static void
last_run(const char *statedir, const char *name, char *when, size_t whensz, char *result,
    size_t resultsz)
{
	char path[4400], line[512];
	long long t = 0;
	int ex = -1;
	FILE *f;

	snprintf(when, whensz, "never");
	snprintf(result, resultsz, "-");
	snprintf(path, sizeof(path), "%s/%s.status", statedir, name);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "time=", 5) == 0)
			t = strtoll(line + 5, NULL, 10);
		else if (strncmp(line, "exit=", 5) == 0)
			ex = atoi(line + 5);
	}
	fclose(f);
	if (t > 0)
		text_date(t, when, whensz);
	if (ex == ABK_EXIT_OK)
		snprintf(result, resultsz, "ok");
	else if (ex == ABK_EXIT_PARTIAL)
		snprintf(result, resultsz, "partial (exit 5: entries skipped)");
	else if (ex >= 0)
		snprintf(result, resultsz, "FAILED (exit %d)", ex);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
sched_list(struct batch_opts *o)
{
	char reg[4200], statedir[4200];
	char *names[512];
	size_t n = 0;
	DIR *d;

	if (sched_xdg_path("XDG_CONFIG_HOME", ".config", "autobackup/schedules", reg, sizeof(reg)) ||
	    sched_xdg_path("XDG_STATE_HOME", ".local/state", "autobackup/schedule", statedir,
	    sizeof(statedir)))
		return ABK_EXIT_FAILURE;
	if ((d = opendir(reg)) != NULL) {
		struct dirent *de;

		while ((de = readdir(d)) != NULL && n < 512)
			if (sched_valid_name(de->d_name) && de->d_name[0] != '.' &&
			    strstr(de->d_name, ".tmp") == NULL &&
			    (names[n] = strdup(de->d_name)) != NULL)
				n++;
		closedir(d);
	}
	if (n > 1)
		qsort(names, n, sizeof(names[0]), name_cmp);
	if (n == 0 && !o->quiet)
		fprintf(stderr, "autobackup: no schedules (add one with 'schedule add PATH... "
		    "--every daily')\n");
	for (size_t i = 0; i < n; i++) {
		char path[4400], every[64] = "?", kind[16] = "?", paths[8192] = "";
		char when[40], result[64];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", reg, names[i]);
		if ((f = fopen(path, "r")) != NULL) {
			char line[4200];

			while (fgets(line, sizeof(line), f) != NULL) {
				line[strcspn(line, "\n")] = '\0';
				if (strncmp(line, "every=", 6) == 0)
					snprintf(every, sizeof(every), "%.63s", line + 6);
				else if (strncmp(line, "kind=", 5) == 0)
					snprintf(kind, sizeof(kind), "%.15s", line + 5);
				else if (strncmp(line, "path=", 5) == 0) {
					size_t len = strlen(paths);

					snprintf(paths + len, sizeof(paths) - len, "%s%s",
					    len ? " " : "", line + 5);
				}
			}
			fclose(f);
		}
		last_run(statedir, names[i], when, sizeof(when), result, sizeof(result));
		if (o->json) {
			printf("%s{\"name\":", i ? "," : "[");
			json_string(stdout, names[i]);
			printf(",\"every\":");
			json_string(stdout, every);
			printf(",\"kind\":\"%s\",\"last_run\":", kind);
			json_string(stdout, when);
			printf(",\"result\":");
			json_string(stdout, result);
			printf("}");
		} else {
			printf("%s\tevery %s\t%s\tlast run %s\t%s\t", names[i], every, kind, when,
			    result);
			print_name(stdout, paths, strlen(paths));
			putchar('\n');
		}
		free(names[i]);
	}
	if (o->json)
		printf(n ? "]\n" : "[]\n");
	return ABK_EXIT_OK;
}

static int
sched_remove(struct batch_opts *o)
{
	char reg[4200], unitdir[4200], path[4400], kind[16] = "", line[256];
	const char *name;
	FILE *f;

	if (o->n_args != 3 || !sched_valid_name(o->args[2])) {
		fprintf(stderr, "autobackup: schedule remove needs one NAME (see schedule list)\n");
		return ABK_EXIT_USAGE;
	}
	name = o->args[2];
	if (sched_xdg_path("XDG_CONFIG_HOME", ".config", "autobackup/schedules", reg, sizeof(reg)) ||
	    sched_xdg_path("XDG_CONFIG_HOME", ".config", "systemd/user", unitdir, sizeof(unitdir)))
		return ABK_EXIT_FAILURE;
	snprintf(path, sizeof(path), "%s/%s", reg, name);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "autobackup: no schedule '%s' (see schedule list)\n", name);
		return ABK_EXIT_REFUSED;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "kind=", 5) == 0)
			snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(line + 5, "\n"), line + 5);
	fclose(f);
	if (strcmp(kind, "systemd") == 0) {
		char unit[NAME_MAX_LEN + 32];
		const char *disable[] = { "systemctl", "--user", "disable", "--now", unit, NULL };
		const char *reload[] = { "systemctl", "--user", "daemon-reload", NULL };

		snprintf(unit, sizeof(unit), "autobackup-%s.timer", name);
		(void)sched_run(disable, NULL, NULL, 0);	/* gone already is fine */
		snprintf(path, sizeof(path), "%s/autobackup-%s.timer", unitdir, name);
		unlink(path);
		snprintf(path, sizeof(path), "%s/autobackup-%s.service", unitdir, name);
		unlink(path);
		(void)sched_run(reload, NULL, NULL, 0);
	} else {
		static char tab[65536];
		char marker[NAME_MAX_LEN + 32];

		if (sched_crontab_read(tab, sizeof(tab)) != 0) {
			fprintf(stderr, "autobackup: crontab -l failed: nothing was removed\n");
			return ABK_EXIT_FAILURE;
		}
		snprintf(marker, sizeof(marker), "# autobackup-schedule %s", name);
		sched_crontab_drop(tab, marker);
		if (sched_crontab_write(tab) != 0) {
			fprintf(stderr, "autobackup: crontab - failed: nothing was removed\n");
			return ABK_EXIT_FAILURE;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", reg, name);
	unlink(path);
	if (!o->quiet)
		printf("schedule %s removed\n", name);
	return ABK_EXIT_OK;
}

int
schedule_run(struct batch_opts *o)
{
	const char *sub = o->n_args > 1 ? o->args[1] : "";

	if (strcmp(sub, "add") == 0)
		return sched_add(o);
	if (strcmp(sub, "list") == 0)
		return sched_list(o);
	if (strcmp(sub, "remove") == 0)
		return sched_remove(o);
	fprintf(stderr, "autobackup: schedule add PATH... --every WHEN | schedule list | "
	    "schedule remove NAME\n");
	return ABK_EXIT_USAGE;
}

void
schedule_record_status(const char *name, int ex)
{
	char dir[4200], path[4400], text[128];

	if (!sched_valid_name(name) ||
	    sched_xdg_path("XDG_STATE_HOME", ".local/state", "autobackup/schedule", dir, sizeof(dir)))
		return;
	snprintf(path, sizeof(path), "%s/%s.status", dir, name);
	snprintf(text, sizeof(text), "time=%lld\nexit=%d\n", (long long)time(NULL), ex);
	if (sched_write_file(path, text, 0600) != 0)
		fprintf(stderr, "autobackup: cannot record the run in %s: %s\n", path,
		    strerror(errno));
}
