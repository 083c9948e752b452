/*
 * zipio_bytes.h - the little-endian fields of zip headers, read and written
 * in place.  One set for the whole zip module: the reader's extra fields and
 * end record (zipio_read.c), the local-header check (zipio_local.c) and the
 * writer's patches of sizes minizip cannot count (zipio.c).  No zip library
 * here, so the pure zipio_local.c can use it too.
 */
#ifndef ABK_ZIPIO_BYTES_H
#define ABK_ZIPIO_BYTES_H

#include <stdint.h>

static inline uint32_t
zipio_get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t
zipio_get32(const uint8_t *p)
{
	return zipio_get16(p) | zipio_get16(p + 2) << 16;
}

static inline uint64_t
zipio_get64(const uint8_t *p)
{
	return (uint64_t)zipio_get32(p) | (uint64_t)zipio_get32(p + 4) << 32;
}

static inline void
zipio_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
