/*
 * bench_zipio.c - in-memory batch build throughput, the way the push engine
 * uses zipio: a 50 MB file added in 8 MiB chunks (zipio_add_file, pread
 * from the page cache) into 16 MiB batches, each finished and reset.
 * Compressible text at level 1, random data stored and (to show why we
 * store) at level 1, plus the reader's inflate speed and the cost of
 * zipio_should_store, each beside zlib alone on the same data (the ceiling),
 * since this shared 2-core VM is noisy.  Not part of `make check`; build with
 * `make tests/bench/bench_zipio` (preferably in a build without sanitizers)
 * and run it: ./tests/bench/bench_zipio [MB [CASE]] (CASE: only that row).
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "zipio.h"

#define CHUNK (8u << 20)
#define BATCH (16u << 20)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

/* Words drawn from a small vocabulary: compresses about like source code. */
static void
fill_text(uint8_t *p, size_t n)
{
	static const char *const words[] = { "static", "int", "return", "if",
		"err", "struct", "zipio", "buffer", "len", "for", "while", "the",
		"size_t", "const", "char", "NULL", "0", "1", "data", "entry",
		"reader", "writer", "/*", "*/", "{", "}", "(", ")", ";", "->" };
	uint64_t x = 88172645463325252ULL;
	size_t off = 0;

	while (off < n) {
		uint64_t v = rnd(&x);
		const char *w = words[v % (sizeof(words) / sizeof(words[0]))];
		size_t k = strlen(w);

		for (size_t i = 0; i < k && off < n; i++)
			p[off++] = (uint8_t)w[i];
		if (off < n)
			p[off++] = (v >> 32) % 9 == 0 ? '\n' : ' ';
		if (off < n && (v >> 40) % 97 == 0) {	/* some digits */
			int d = snprintf((char *)p + off, n - off, "%u",
			    (unsigned)(v >> 48));

			off += (size_t)d < n - off ? (size_t)d : n - off;
		}
	}
}

static void
fill_random(uint8_t *p, size_t n)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rnd(&x);

		memcpy(p + i, &v, 8);
	}
}

/* Build batches from fd; returns seconds, *zipped = bytes produced. */
static double
run(zipio_writer *w, int fd, size_t n, int level, uint64_t *zipped)
{
	abk_err err = ABK_ERR_INIT;
	const uint8_t *data;
	size_t len;
	double t0;

	if (zipio_writer_reset(w, &err) != ABK_OK)
		goto fail;
	*zipped = 0;
	t0 = now();
	for (size_t off = 0; off < n; off += CHUNK) {
		size_t c = n - off < CHUNK ? n - off : CHUNK;

		if (zipio_writer_entries(w) > 0 && zipio_writer_size(w) + c > BATCH) {
			if (zipio_writer_finish(w, &data, &len, &err) != ABK_OK ||
			    zipio_writer_reset(w, &err) != ABK_OK)
				goto fail;
			*zipped += len;
		}
		if (zipio_add_file(w, "bench/file.dat", fd, off, c, 0644, 0, level,
		    NULL, &err) != ABK_OK)
			goto fail;
	}
	if (zipio_writer_finish(w, &data, &len, &err) != ABK_OK)
		goto fail;
	*zipped += len;
	return now() - t0;
fail:
	fprintf(stderr, "bench_zipio: %s\n", err.msg);
	exit(1);
}

/* The ceiling: zlib alone over the same 8 MiB chunks (raw deflate or, at
 * level 0, CRC-32 plus a copy), no zip structure, no file reads. */
static double
zlib_alone(const uint8_t *buf, size_t n, int level)
{
	static uint8_t out[CHUNK + CHUNK / 100 + 1024];
	uLong crc = crc32(0, Z_NULL, 0);
	double t0 = now();

	for (size_t off = 0; off < n; off += CHUNK) {
		size_t c = n - off < CHUNK ? n - off : CHUNK;
		z_stream zs;

		crc = crc32(crc, buf + off, (uInt)c);
		if (level == 0) {
			memcpy(out, buf + off, c);
			continue;
		}
		memset(&zs, 0, sizeof(zs));
		if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			exit(1);
		zs.next_in = (Bytef *)(uintptr_t)(buf + off);
		zs.avail_in = (uInt)c;
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			exit(1);
		deflateEnd(&zs);
	}
	if (crc == 0x12345678)	/* keep the compiler honest */
		puts("");
	return now() - t0;
}

/* One archive of the whole buffer, then time reading it back. */
static double
read_back(const uint8_t *buf, size_t n, int level)
{
	abk_err err = ABK_ERR_INIT;
	zipio_writer *w;
	zipio_reader *r;
	struct zipio_entry e;
	const uint8_t *data;
	static uint8_t out[1 << 18];
	size_t len;
	double t0;

	if (zipio_writer_new(&w, &err) != ABK_OK ||
	    zipio_add_buffer(w, "f", buf, n, 0644, 0, level, NULL, &err) != ABK_OK ||
	    zipio_writer_finish(w, &data, &len, &err) != ABK_OK)
		goto fail;
	t0 = now();
	if (zipio_reader_open(data, len, NULL, &r, &err) != ABK_OK ||
	    zipio_next(r, &e, &err) != 1)
		goto fail;
	for (ssize_t k; (k = zipio_read(r, out, sizeof(out), &err)) != 0;)
		if (k < 0)
			goto fail;
	t0 = now() - t0;
	zipio_reader_free(r);
	zipio_writer_free(w);
	return t0;
fail:
	fprintf(stderr, "bench_zipio: %s\n", err.msg);
	exit(1);
}

static int
temp_file(const uint8_t *buf, size_t n)
{
	char path[] = "/tmp/bench_zipio.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, buf, n) != (ssize_t)n) {
		perror("bench_zipio: temp file");
		exit(1);
	}
	unlink(path);
	return fd;
}

static void
report(const char *what, size_t n, double best, uint64_t zipped)
{
	printf("%-34s %8.1f MB/s  (%.3f s, %zu -> %llu bytes, %.1f%%)\n", what,
	    (double)n / 1e6 / best, best, n, (unsigned long long)zipped,
	    100.0 * (double)zipped / (double)n);
}

int
main(int argc, char **argv)
{
	size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 50, n = mb * 1000 * 1000;
	int only = argc > 2 ? atoi(argv[2]) : -1;
	uint8_t *text = malloc(n), *random = malloc(n);
	int tfd, rfd;
	uint64_t zipped = 0;
	double best, t0;
	int rounds = 3, calls = 0;

	abk_err err = ABK_ERR_INIT;
	zipio_writer *w;

	/* One writer for the whole run, reset per batch, as the engine does. */
	if (text == NULL || random == NULL || mb == 0 || zipio_writer_new(&w, &err) != ABK_OK)
		return 1;
	fill_text(text, n);
	fill_random(random, n);
	tfd = temp_file(text, n);
	rfd = temp_file(random, n);
	printf("zipio batch build, %zu MB, 8 MiB chunks, 16 MiB batches, best of %d\n",
	    mb, rounds);

	static const struct { const char *what; int text; int level; } cases[] = {
		{ "compressible, level 1", 1, 1 },
		{ "compressible, level 6", 1, 6 },
		{ "random, store (level 0)", 0, 0 },
		{ "random, level 1 (what store avoids)", 0, 1 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		if (only >= 0 && (size_t)only != c)
			continue;
		best = 1e9;
		for (int i = 0; i < rounds; i++) {
			double t = run(w, cases[c].text ? tfd : rfd, n, cases[c].level, &zipped);

			best = t < best ? t : best;
		}
		report(cases[c].what, n, best, zipped);
		best = 1e9;
		for (int i = 0; i < rounds; i++) {
			double t = zlib_alone(cases[c].text ? text : random, n, cases[c].level);

			best = t < best ? t : best;
		}
		printf("%-34s %8.1f MB/s\n", "  zlib alone, same data and level", (double)n / 1e6 / best);
	}
	if (only >= 0)
		goto out;
	printf("read back (inflate, CRC): level 1 text %.1f MB/s, stored random %.1f MB/s\n",
	    (double)n / 1e6 / read_back(text, n, 1),
	    (double)n / 1e6 / read_back(random, n, 0));
	for (int k = 0; k < 2; k++) {
		const uint8_t *src = k ? random : text;

		calls = 0;
		t0 = now();
		for (size_t off = 0; off + ZIPIO_SAMPLE_MAX <= n && calls < 300;
		    off += ZIPIO_SAMPLE_MAX, calls++)
			(void)zipio_should_store("f.dat", src + off, ZIPIO_SAMPLE_MAX);
		printf("zipio_should_store, 64 KiB of %s: %.1f us per call\n",
		    k ? "random" : "text", (now() - t0) / calls * 1e6);
	}
out:
	zipio_writer_free(w);
	close(tfd);
	close(rfd);
	free(text);
	free(random);
	return 0;
}
