/*
 * exitcodes.h - process exit statuses shared by autobackup and autobackupd.
 * Documented in autobackup(1) and autobackupd(8); distinct failures never
 * share a code, so scripts can tell them apart.
 */
#ifndef ABK_EXITCODES_H
#define ABK_EXITCODES_H

enum abk_exit {
	ABK_EXIT_OK = 0,
	ABK_EXIT_FAILURE = 1,	/* internal or local error (I/O, out of memory) */
	ABK_EXIT_USAGE = 2,	/* bad command line or configuration */
	ABK_EXIT_AUTH = 3,	/* authentication refused */
	ABK_EXIT_NETWORK = 4,	/* cannot connect, TLS or certificate failure, peer lost */
	ABK_EXIT_PARTIAL = 5,	/* done, but some entries were skipped */
	ABK_EXIT_REFUSED = 6,	/* server refused: quota, busy, not found, limit */
	ABK_EXIT_INTEGRITY = 7,	/* verification found missing or corrupted data */
	ABK_EXIT_CANCELED = 8,	/* interrupted by the user (Ctrl-C) */
};

/* Map an abk_code (see abkerr.h) to the exit status a front end returns. */
int abk_exit_for(int code);

#endif
