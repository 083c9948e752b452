/*
 * main.c - autobackupd entry point.  Everything else lives in libabserver so
 * unit tests can reach it; only this file may not be linked into tests.
 */
#include "config.h"

#include "cli.h"

int
main(int argc, char **argv)
{
	return autobackupd_main(argc, argv);
}
