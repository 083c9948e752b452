/*
 * main.c - autobackup entry point: the ncurses UI by default, or --batch
 * COMMAND for scripts.  Option parsing lives here; the work is the engine's.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: autobackup [OPTIONS]                      (interactive UI)\n"
	    "       autobackup --batch push PATH... [OPTIONS]\n"
	    "       autobackup --batch list [SOURCE [--snapshot ID [--path SUB]]]\n"
	    "       autobackup --batch restore SOURCE [--snapshot ID] [--to DIR] [--zip FILE]\n"
	    "       autobackup --batch verify SOURCE [--snapshot ID]\n"
	    "See autobackup(1).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return ABK_EXIT_OK;
		case 'V':
			printf("autobackup %s\n", PACKAGE_VERSION);
			return ABK_EXIT_OK;
		default:
			fprintf(stderr, "Try 'autobackup --help'.\n");
			return ABK_EXIT_USAGE;
		}
	}
	fprintf(stderr, "autobackup: not available in this build yet\n");
	return ABK_EXIT_FAILURE;
}
