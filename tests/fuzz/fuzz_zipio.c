/*
 * fuzz_zipio.c - libFuzzer target: the zip reader over arbitrary bytes.
 * It must never crash, never hand out more bytes than an entry declares,
 * and never let an entry past the bounds it was given.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zipio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[16384];
	const struct zipio_limits lim = {
		.max_entries = 4096,
		.max_entry_size = 1u << 20,
		.max_ratio = 200,
		.ratio_min_size = 4096,
	};
	zipio_reader *r;
	struct zipio_entry e;
	abk_err err = ABK_ERR_INIT;
	int rc;

	if (zipio_reader_open(data, size, &lim, &r, &err) != ABK_OK) {
		if (err.code == ABK_OK || err.msg[0] == '\0')
			abort();	/* a failure always says why */
		return 0;
	}
	while ((rc = zipio_next(r, &e, &err)) == 1) {
		uint64_t total = 0;
		ssize_t n;

		if (e.size > lim.max_entry_size || e.name == NULL ||
		    strlen(e.name) > e.name_len ||
		    (e.name_has_nul != 0) != (strlen(e.name) != e.name_len))
			abort();
		if (e.size > lim.ratio_min_size &&
		    (e.csize == 0 || e.size / e.csize > lim.max_ratio + 1))
			abort();
		/* every other entry through the in-place view, which must stay
		 * inside the input and agree with the declared size */
		if ((e.index & 1) != 0) {
			const uint8_t *view;
			size_t vlen;
			int v = zipio_view(r, &view, &vlen, &err);

			if (v < 0) {
				if (err.msg[0] == '\0')
					abort();
				break;
			}
			if (v > 0) {
				if (view < data || vlen != e.size || vlen > size ||
				    (size_t)(view - data) > size - vlen)
					abort();
				total = vlen;
			}
		}
		while ((n = zipio_read(r, buf, sizeof(buf), &err)) > 0) {
			total += (uint64_t)n;
			if (total > e.size)
				abort();
		}
		if (n == 0 && total != e.size)
			abort();	/* "verified" must mean complete */
		if (n < 0) {
			if (err.msg[0] == '\0')
				abort();
			break;
		}
	}
	if (rc < 0 && err.msg[0] == '\0')
		abort();
	zipio_reader_free(r);
	return 0;
}
