/*
 * console.c - the admin console's thread: the plain line reader (stdin not
 * a terminal: a script or a pipe) and what both readers share: running a
 * line, quit/exit, password prompts and yes/no questions.  The interactive
 * reader with line editing is console_edit.c, the only file using libedit.
 *
 * Input is read with poll() on stdin and the server's wake pipe, so the
 * thread ends promptly at shutdown instead of sitting in a blocking read.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin.h"
#include "console.h"
#include "server.h"
#include "strutil.h"

#define CONSOLE_ARGS_MAX 48

/* Read one line from stdin; 0 on success, -1 at EOF, error or server stop. */
static int
console_read_line(struct srv *srv, char *buf, size_t bufsz)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = srv->wake_pipe[0], .events = POLLIN },
		};
		char c;
		ssize_t r;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			return -1;
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < bufsz)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

static int
console_read_secret(struct admin_ctx *ctx, const char *prompt, char *buf, size_t bufsz,
    abk_err *err)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	int rc;

	fputs(prompt, ctx->out);
	fflush(ctx->out);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ICANON;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = console_read_line(ctx->srv, buf, bufsz);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', ctx->out);
	}
	if (rc != 0)
		return abk_err_set(err, ABK_E_CANCELED, "input ended");
	if (buf[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE, "empty password; nothing changed");
	return ABK_OK;
}

/* A yes/no question; only "y" or "yes" is a yes. */
static int
console_confirm(struct admin_ctx *ctx, const char *question)
{
	char answer[16];

	fputs(question, ctx->out);
	fflush(ctx->out);
	if (console_read_line(ctx->srv, answer, sizeof(answer)) != 0)
		return 0;
	return strcmp(answer, "y") == 0 || strcmp(answer, "yes") == 0 ||
	    strcmp(answer, "Y") == 0 || strcmp(answer, "YES") == 0;
}

void
console_closed_note(struct admin_ctx *ctx)
{
	fprintf(ctx->out, "\nconsole closed; the server keeps running. Stop it with "
	    "'kill -TERM %ld' (or Ctrl-C here now).\n", (long)getpid());
	fflush(ctx->out);
}

int
console_run_line(struct admin_ctx *ctx, char *line)
{
	char *argv[CONSOLE_ARGS_MAX];
	int argc = admin_split(line, argv, CONSOLE_ARGS_MAX);
	int quit = 0;

	if (argc < 0)
		fprintf(ctx->out, "error: unbalanced quotes or too many words\n");
	else if (argc > 0 && (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0))
		quit = 1;
	else if (argc > 0)
		(void)admin_exec(ctx, argc, argv);
	fflush(ctx->out);
	abk_wipe(line, strlen(line));
	return quit;
}

void *
console_thread(void *arg)
{
	struct srv *srv = arg;
	struct admin_ctx ctx;
	char line[CONSOLE_LINE_MAX];

	memset(&ctx, 0, sizeof(ctx));
	ctx.acc = srv->acc;
	ctx.data_dir = srv->cfg.data_dir;
	ctx.srv = srv;
	ctx.out = stdout;
	ctx.errout = stdout;
	ctx.read_secret = console_read_secret;
	ctx.confirm = console_confirm;
	fprintf(stdout, "autobackupd console: type 'help' for commands, 'quit' to close "
	    "the console\n");
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		console_edit_run(&ctx);
		return NULL;
	}
	for (;;) {
		fputs(CONSOLE_PROMPT, stdout);
		fflush(stdout);
		if (console_read_line(srv, line, sizeof(line)) != 0)
			break;
		if (console_run_line(&ctx, line)) {
			console_closed_note(&ctx);
			return NULL;
		}
	}
	fputc('\n', stdout);
	fflush(stdout);
	return NULL;
}
