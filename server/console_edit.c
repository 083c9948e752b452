/*
 * console_edit.c - the interactive admin console: line editing, history and
 * Tab completion with libedit (BSD-licensed; the only file that includes
 * <histedit.h>), driven one key at a time (EL_UNBUFFERED) from a poll loop
 * that also watches
 *   - the server's wake pipe (shutdown: restore the terminal, return),
 *   - a SIGINT pipe: Ctrl-C clears the line instead of stopping the server
 *     (srv_console_take_sigint),
 *   - a log pipe: log lines from other threads (log_set_display) are printed
 *     above the prompt, then the prompt and the half-typed line are drawn
 *     again, so they never land in the middle of what the admin types.
 * A finished line runs with the terminal back in its normal mode, so the
 * password prompts and questions of the commands read it as usual.
 *
 * Everything here runs on the console thread, except console_log_display,
 * which runs on the logging threads and only writes to a non-blocking pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "admin.h"
#include "console.h"
#include "log.h"
#include "server.h"
#include "strutil.h"

#define CE_HISTORY 500
#define CE_CANDIDATES 256

/* Written by logging threads, read by the console: made once, never closed
 * (a thread may still hold the display hook while the console ends). */
static int ce_log_pipe[2] = { -1, -1 };
static int ce_int_pipe[2] = { -1, -1 };

static void
console_log_display(const char *line, size_t len)
{
	/* A full pipe drops the line from the screen only: `log` still has it. */
	(void)!write(ce_log_pipe[1], line, len);
}

static char *
ce_prompt(EditLine *e)
{
	(void)e;
	return (char *)CONSOLE_PROMPT;
}

/* ---- Tab completion ------------------------------------------------------------- */

struct ce_cands {
	char *v[CE_CANDIDATES];
	size_t n;
	const char *prefix;
	size_t plen;
};

static void
ce_cand_add(struct ce_cands *c, const char *s)
{
	if (c->n < CE_CANDIDATES && strncmp(s, c->prefix, c->plen) == 0 &&
	    (c->v[c->n] = strdup(s)) != NULL)
		c->n++;
}

static int
ce_user_cand(void *ctx, const struct account_user *u)
{
	ce_cand_add(ctx, u->name);
	return 0;
}

static struct admin_ctx *ce_ctx;	/* the console thread's, for the completer */

/* Complete the word before the cursor: a command, a token verb or a user. */
static unsigned char
ce_complete(EditLine *e, int ch)
{
	const LineInfo *li = el_line(e);
	const char *start = li->cursor, *p;
	struct ce_cands c;
	char first[32];
	size_t common, flen = 0;
	int words = 0;
	abk_err err = ABK_ERR_INIT;

	(void)ch;
	while (start > li->buffer && start[-1] != ' ' && start[-1] != '\t')
		start--;
	/* The first word, and how many words come before this one. */
	for (p = li->buffer; p < start;) {
		while (p < start && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= start)
			break;
		if (words == 0) {
			while (p + flen < start && p[flen] != ' ' && p[flen] != '\t' &&
			    flen < sizeof(first) - 1)
				flen++;
			memcpy(first, p, flen);
		}
		words++;
		while (p < start && *p != ' ' && *p != '\t')
			p++;
	}
	first[flen] = '\0';
	memset(&c, 0, sizeof(c));
	c.plen = (size_t)(li->cursor - start);
	{
		char *pre = strndup(start, c.plen);

		if (pre == NULL)
			return CC_ERROR;
		c.prefix = pre;
		if (words == 0) {
			const char *name;

			for (size_t i = 0; (name = admin_command_name(i)) != NULL; i++)
				ce_cand_add(&c, name);
			ce_cand_add(&c, "quit");
			ce_cand_add(&c, "exit");
		} else if (words == 1 && strcmp(first, "token") == 0) {
			ce_cand_add(&c, "add");
			ce_cand_add(&c, "list");
			ce_cand_add(&c, "revoke");
		} else if (c.plen == 0 || pre[0] != '-') {
			(void)accounts_user_list(ce_ctx->acc, ce_user_cand, &c, &err);
		}
		free(pre);
		c.prefix = NULL;
	}
	if (c.n == 0)
		return CC_ERROR;	/* a beep */
	/* The longest common prefix of the candidates. */
	common = strlen(c.v[0]);
	for (size_t i = 1; i < c.n; i++) {
		size_t k = 0;

		while (k < common && c.v[i][k] == c.v[0][k])
			k++;
		common = k;
	}
	if (c.n == 1) {
		el_insertstr(e, c.v[0] + c.plen);
		el_insertstr(e, " ");
	} else if (common > c.plen) {
		char *add = strndup(c.v[0] + c.plen, common - c.plen);

		if (add != NULL)
			el_insertstr(e, add);
		free(add);
	} else {
		fputc('\n', stdout);
		for (size_t i = 0; i < c.n; i++)
			fprintf(stdout, "%s%s", c.v[i], i + 1 < c.n ? "  " : "\n");
		fflush(stdout);
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	return c.n > 1 && common <= c.plen ? CC_REDISPLAY : CC_REFRESH;
}

/* ---- the loop -------------------------------------------------------------------- */

/* Stop editing (terminal back to normal), keeping a copy of the line. */
static char *
ce_suspend(EditLine *e, int *cursor)
{
	const LineInfo *li = el_line(e);
	char *saved = strndup(li->buffer, (size_t)(li->lastchar - li->buffer));

	*cursor = (int)(li->cursor - li->buffer);
	el_set(e, EL_UNBUFFERED, 0);
	return saved;
}

/* Edit again: a fresh prompt, with saved (may be NULL) typed back in. */
static void
ce_resume(EditLine *e, char *saved, int cursor)
{
	el_set(e, EL_UNBUFFERED, 1);	/* prints the prompt, empties the line */
	if (saved != NULL && saved[0] != '\0') {
		el_insertstr(e, saved);
		(void)el_cursor(e, cursor - (int)strlen(saved));
		/* EL_REFRESH draws prompt and line from the start of the line
		 * (its idea of the cursor is reset): go there, wipe the bare
		 * prompt just printed. */
		fputs("\r\033[K", stdout);
		fflush(stdout);
		el_set(e, EL_REFRESH);
	}
	if (saved != NULL) {
		abk_wipe(saved, strlen(saved));
		free(saved);
	}
}

/* Print what the log pipe holds above the prompt, then redraw the line. */
static void
ce_show_logs(EditLine *e)
{
	char buf[4096];
	int cursor, first = 1;
	char *saved = NULL;

	for (;;) {
		ssize_t n = read(ce_log_pipe[0], buf, sizeof(buf));

		if (n <= 0)
			break;
		if (first) {
			saved = ce_suspend(e, &cursor);
			fputs("\r\033[K", stdout);	/* wipe the prompt line */
			first = 0;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	if (!first) {
		fflush(stdout);
		ce_resume(e, saved, cursor);
	}
}

static int
ce_pipes(void)
{
	if (ce_log_pipe[0] < 0 && pipe2(ce_log_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	if (ce_int_pipe[0] < 0 && pipe2(ce_int_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	return 0;
}

void
console_edit_run(struct admin_ctx *ctx)
{
	struct srv *srv = ctx->srv;
	EditLine *e = NULL;
	History *hist = NULL;
	HistEvent ev;
	int closed = 0;

	if (ce_pipes() != 0 || (e = el_init("autobackupd", stdin, stdout, stderr)) == NULL ||
	    (hist = history_init()) == NULL) {
		fprintf(stdout, "console: cannot start line editing: %s\n", strerror(errno));
		if (e != NULL)
			el_end(e);
		return;
	}
	ce_ctx = ctx;
	history(hist, &ev, H_SETSIZE, CE_HISTORY);
	history(hist, &ev, H_SETUNIQUE, 1);
	el_set(e, EL_EDITOR, "emacs");
	el_set(e, EL_SIGNAL, 0);	/* the server owns the signals */
	el_set(e, EL_PROMPT, ce_prompt);
	el_set(e, EL_HIST, history, hist);
	el_set(e, EL_ADDFN, "ab-complete", "complete a command or a user name", ce_complete);
	el_set(e, EL_BIND, "^I", "ab-complete", NULL);
	srv_console_take_sigint(ce_int_pipe[1]);
	/* Only log lines bound for this terminal come through the console;
	 * stderr sent to a file (or syslog) stays as it is. */
	if (isatty(STDERR_FILENO))
		log_set_display(console_log_display);
	el_set(e, EL_UNBUFFERED, 1);
	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = srv->wake_pipe[0], .events = POLLIN },
			{ .fd = ce_int_pipe[0], .events = POLLIN },
			{ .fd = ce_log_pipe[0], .events = POLLIN },
		};
		const char *s;
		int n = 0;

		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;			/* the server stops */
		if (pfd[3].revents & POLLIN)
			ce_show_logs(e);
		if (pfd[2].revents & POLLIN) {	/* Ctrl-C: clear the line */
			char junk[16];
			int cur;

			while (read(ce_int_pipe[0], junk, sizeof(junk)) > 0)
				;
			free(ce_suspend(e, &cur));
			fputs("^C\n", stdout);
			fflush(stdout);
			ce_resume(e, NULL, 0);
			continue;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		if ((pfd[0].revents & (POLLHUP | POLLIN)) == POLLHUP) {
			closed = 1;		/* the terminal is gone */
			break;
		}
		/* One key.  Unbuffered, el_gets gives the line so far, or NULL
		 * with n = -1 both for an empty line and at an error (errno set:
		 * EIO when the terminal went away).  Ctrl-D on an empty line
		 * comes as the single character ^D. */
		errno = 0;
		s = el_gets(e, &n);
		if (s == NULL && errno == 0)
			continue;
		if (s == NULL || (n == 1 && s[0] == 0x04)) {
			closed = 1;
			break;
		}
		if (n > 0 && s[n - 1] == '\n') {
			char *line = strndup(s, (size_t)n - 1);
			int cur;

			free(ce_suspend(e, &cur));
			if (line != NULL && line[strspn(line, " \t")] != '\0')
				history(hist, &ev, H_ENTER, line);
			if (line != NULL && console_run_line(ctx, line)) {
				free(line);
				closed = 2;
				break;
			}
			free(line);
			{	/* no new prompt when the command stopped the server */
				struct pollfd w = { .fd = srv->wake_pipe[0], .events = POLLIN };

				if (poll(&w, 1, 0) > 0)
					break;
			}
			ce_resume(e, NULL, 0);
		}
	}
	log_set_display(NULL);
	srv_console_take_sigint(-1);
	el_set(e, EL_UNBUFFERED, 0);	/* the terminal as it was */
	for (;;) {			/* what came in meanwhile */
		char buf[4096];
		ssize_t r = read(ce_log_pipe[0], buf, sizeof(buf));

		if (r <= 0)
			break;
		fwrite(buf, 1, (size_t)r, stdout);
	}
	if (closed == 1)
		fputc('\n', stdout);
	if (closed)
		console_closed_note(ctx);
	else
		fputc('\n', stdout);
	fflush(stdout);
	history_end(hist);
	el_end(e);
}
