/*
 * json.h - just enough JSON output for --json: escaped strings (file names
 * are bytes; invalid UTF-8 becomes U+FFFD) and numbers, written to a FILE.
 */
#ifndef ABT_JSON_H
#define ABT_JSON_H

#include <stdint.h>
#include <stdio.h>

void json_string(FILE *f, const char *s);
void json_string_n(FILE *f, const char *s, size_t len);
/* "key": value pairs; first == 1 omits the leading comma. */
void json_kv_str(FILE *f, int first, const char *key, const char *value);
void json_kv_u64(FILE *f, int first, const char *key, uint64_t value);
void json_kv_i64(FILE *f, int first, const char *key, int64_t value);

#endif
