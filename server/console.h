/*
 * console.h - the admin console on the server's terminal: a prompt
 * "autobackupd> " running the admin command table (admin.h) in its own
 * thread, so typing (or a slow password prompt) never blocks the server.
 */
#ifndef ABS_CONSOLE_H
#define ABS_CONSOLE_H

/* Thread entry; arg is the struct srv.  Returns at EOF or server stop. */
void *console_thread(void *arg);

#endif
