/*
 * console.h - the admin console on the server's terminal: a prompt
 * "autobackupd> " running the admin command table (admin.h) in its own
 * thread, so typing (or a slow password prompt) never blocks the server.
 *
 * On a terminal (stdin and stdout both ttys) the line is edited with
 * libedit (console_edit.c: history, Tab completion of commands and user
 * names, Ctrl-C clears the line, log lines printed above the prompt);
 * otherwise plain lines are read from stdin (console.c), as from a script.
 */
#ifndef ABS_CONSOLE_H
#define ABS_CONSOLE_H

#include <stddef.h>

#include "admin.h"

struct srv;

/* Thread entry; arg is the struct srv.  Returns at EOF, quit or server stop. */
void *console_thread(void *arg);

/* ---- shared by console.c and console_edit.c ---- */

#define CONSOLE_LINE_MAX 4096
#define CONSOLE_PROMPT "autobackupd> "

/*
 * Run one typed line (wiped afterwards).  Returns 1 when the console is to
 * close (quit, exit), else 0.
 */
int console_run_line(struct admin_ctx *ctx, char *line);

/* What the console says when it closes and the server keeps running. */
void console_closed_note(struct admin_ctx *ctx);

/* The interactive console (console_edit.c); returns when it closes. */
void console_edit_run(struct admin_ctx *ctx);

#endif
