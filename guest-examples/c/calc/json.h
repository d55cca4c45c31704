// The calc example's small JSON helpers: a strict reader for `{"numbers": [...]}` and a
// growable string buffer with the minimal JSON string escaping of CONFORMANCE.md.
#ifndef CALC_JSON_H
#define CALC_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    NUMBERS_OK,       // `*sum` holds the sum
    NUMBERS_INVALID,  // not JSON, not an object, or `numbers` is not an array of i64s
    NUMBERS_OVERFLOW, // a valid request whose sum does not fit in an i64
} numbers_result;

// Sums the `numbers` array of the JSON object `text` (`len` bytes of UTF-8). Accepts exactly
// what serde_json, the Rust reference's parser, accepts: strict JSON, at most 127 nested
// arrays/objects, and the last `numbers` key wins when it is repeated.
numbers_result json_sum_numbers(const char *text, size_t len, int64_t *sum);

// A growable byte string. Start from `(strbuf){0}`; the owner frees `data`.
typedef struct {
    char *data;
    size_t len, cap;
} strbuf;

void strbuf_append(strbuf *b, const char *bytes, size_t len);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_i64(strbuf *b, int64_t n);
// Appends `bytes` as a quoted JSON string, escaping only `"`, `\` and controls below U+0020.
void strbuf_json_string(strbuf *b, const char *bytes, size_t len);

#endif
