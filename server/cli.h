/*
 * cli.h - autobackupd's command line: subcommand table (init, serve, user,
 * token, prune), option parsing and the mapping of errors to exit codes.
 */
#ifndef ABS_CLI_H
#define ABS_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Run autobackupd with argv; returns the process exit status. */
int autobackupd_main(int argc, char **argv);

/* Subcommand handlers (argv[0] is the subcommand name). */
int cli_serve(int argc, char **argv);
int cli_admin(int argc, char **argv);

/*
 * Shared by the subcommand files.  cli_bad_option prints
 * "autobackupd CMD: MESSAGE" and the --help hint and returns exit status 2;
 * cli_getopt_fail does so for getopt_long's ':' (missing argument) or '?'
 * (unknown option) when opterr is 0.
 */
int cli_bad_option(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_getopt_fail(const char *cmd, int ch, char **argv);
/* Copy a path option into dst; -1 (and a message) if too long. */
int cli_set_path(char *dst, size_t dstsz, const char *src, const char *what);
/* Parse a number option within [min, max]; -1 (and a message) if not. */
int cli_uint_opt(const char *name, const char *val, uint64_t min, uint64_t max, uint64_t *out);

#endif
