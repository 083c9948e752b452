/*
 * fuzz_admin.c - libFuzzer target for the server console's command parser:
 * admin_split (words, "..." and '...' quotes, a word limit) and the lookup
 * of the command table (admin_exec on names it does not know, and help).
 * Known commands are not run: they change accounts.  The input is one
 * console line (up to its first NUL, as the line editor hands it over).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "exitcodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 48		/* as CONSOLE_ARGS_MAX in console.c */

static int
known(const char *name)
{
	const char *c;

	for (size_t i = 0; (c = admin_command_name(i)) != NULL; i++)
		if (strcmp(c, name) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	char *line, *argv[WORDS_MAX];
	int argc;

	if (null_out == NULL && (null_out = fopen("/dev/null", "w")) == NULL)
		return 0;
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	argc = admin_split(line, argv, WORDS_MAX);
	if (argc < -1 || argc > WORDS_MAX)
		abort();
	for (int i = 0; i < argc; i++) {
		size_t len;

		/* every word lies in the line and ends inside it */
		if (argv[i] < line || argv[i] > line + size)
			abort();
		len = strlen(argv[i]);
		if (argv[i] + len > line + size)
			abort();
		if (i > 0 && argv[i] <= argv[i - 1])
			abort();
	}
	if (argc > 0 && (!known(argv[0]) || strcmp(argv[0], "help") == 0)) {
		struct admin_ctx ctx;

		memset(&ctx, 0, sizeof(ctx));
		ctx.out = null_out;
		ctx.errout = null_out;
		if (admin_exec(&ctx, argc, argv) == ABK_EXIT_OK && strcmp(argv[0], "help") != 0)
			abort();	/* an unknown command must fail */
	}
	free(line);
	return 0;
}
