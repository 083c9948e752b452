/*
 * console.c - line input on stdin for the admin console.
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

#define CONSOLE_LINE_MAX 4096
#define CONSOLE_ARGS_MAX 16

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
	fprintf(stdout, "autobackupd console: type 'help' for commands\n");
	for (;;) {
		char *argv[CONSOLE_ARGS_MAX];
		int argc;

		fputs("autobackupd> ", stdout);
		fflush(stdout);
		if (console_read_line(srv, line, sizeof(line)) != 0)
			break;
		argc = admin_split(line, argv, CONSOLE_ARGS_MAX);
		if (argc < 0) {
			fprintf(stdout, "error: unbalanced quotes or too many words\n");
			continue;
		}
		if (argc == 0)
			continue;
		(void)admin_exec(&ctx, argc, argv);
		fflush(stdout);
		abk_wipe(line, sizeof(line));
	}
	fputc('\n', stdout);
	fflush(stdout);
	return NULL;
}
