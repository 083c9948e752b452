/*
 * crc32.h - the zip CRC-32 (zlib's crc32, same polynomial and chaining),
 * carry-less multiplication where the CPU has it.
 *
 * Every byte pushed or restored is CRC-checked at least once on each side;
 * zlib 1.2.13's table-driven crc32 ran at ~3.5 GB/s on the build VM, a
 * twentieth of a phase's CPU.  abk_crc32 folds 64 bytes a step with
 * PCLMULQDQ (Intel, "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ", 2009; the constants of the bit-reflected CRC-32) on x86-64
 * CPUs that have it, and leaves the rest and other CPUs to zlib.  Pure and
 * thread-safe.
 */
#ifndef ABK_CRC32_H
#define ABK_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc32_z(crc, buf, len): crc of the bytes before (0 to start). */
uint32_t abk_crc32(uint32_t crc, const void *buf, size_t len);

/* The same without the fast path (tests compare the two). */
uint32_t abk_crc32_portable(uint32_t crc, const void *buf, size_t len);

#endif
