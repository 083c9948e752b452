/*
 * cli.h - autobackupd's command line: subcommand table (init, serve, user,
 * token, prune), option parsing and the mapping of errors to exit codes.
 */
#ifndef ABS_CLI_H
#define ABS_CLI_H

/* Run autobackupd with argv; returns the process exit status. */
int autobackupd_main(int argc, char **argv);

/* Subcommand handlers (argv[0] is the subcommand name). */
int cli_serve(int argc, char **argv);
int cli_admin(int argc, char **argv);

#endif
