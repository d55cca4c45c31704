// The calc example's small JSON helpers (see json.h).
//
// The reader mirrors serde_json's rules closely enough that this guest answers every request
// exactly as the Rust reference does, including its odd corners: `-0` and `1.0` are floats,
// numbers that overflow an f64 are errors even in ignored keys, and lone UTF-16 surrogate
// escapes are errors.
#include "json.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Reader

typedef struct {
    const char *p, *end;
    int depth_left; // serde_json's recursion limit
} reader;

// What the reader learns about the value of a `numbers` key.
typedef struct {
    bool seen;     // the key was present
    bool all_ints; // its value is an array whose elements all fit in an i64
    bool overflow; // a partial sum, left to right, overflowed
    int64_t sum;
} numbers;

static int peek(const reader *r) { return r->p < r->end ? (unsigned char)*r->p : -1; }

static bool eat(reader *r, char c) {
    if (peek(r) != (unsigned char)c) return false;
    r->p++;
    return true;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static void skip_ws(reader *r) {
    while (peek(r) == ' ' || peek(r) == '\n' || peek(r) == '\t' || peek(r) == '\r') r->p++;
}

static bool read_literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return false;
    r->p += n;
    return true;
}

// Four hex digits of a `\u` escape.
static bool read_hex4(reader *r, unsigned *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(r), digit;
        if (is_digit(c)) digit = c - '0';
        else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        else return false;
        *out = *out * 16 + (unsigned)digit;
        r->p++;
    }
    return true;
}

// Reads a string (at its opening quote). When `expect` is not NULL, `*equal` tells whether the
// decoded string equals it (`expect` must be ASCII).
static bool read_string(reader *r, const char *expect, bool *equal) {
    size_t matched = 0;
    bool same = true;
    r->p++; // the opening quote
    for (;;) {
        int c = peek(r);
        unsigned cp; // the next decoded character; only compared with ASCII
        if (c < 0) return false;
        r->p++;
        if (c == '"') break;
        if (c < 0x20) return false; // raw control characters are not allowed
        if (c != '\\') {
            cp = (unsigned)c;
        } else {
            c = peek(r);
            if (c < 0) return false;
            r->p++;
            switch (c) {
            case '"': case '\\': case '/': cp = (unsigned)c; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (!read_hex4(r, &cp)) return false;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return false; // lone trailing surrogate
                if (cp >= 0xD800 && cp <= 0xDBFF) {             // needs a trailing one
                    unsigned low;
                    if (!eat(r, '\\') || !eat(r, 'u') || !read_hex4(r, &low)) return false;
                    if (low < 0xDC00 || low > 0xDFFF) return false;
                    cp = 0x10000; // beyond ASCII; the exact value does not matter here
                }
                break;
            default: return false;
            }
        }
        if (expect) {
            if (expect[matched] != '\0' && cp == (unsigned char)expect[matched]) matched++;
            else same = false;
        }
    }
    if (expect) *equal = same && expect[matched] == '\0';
    return true;
}

// serde_json's `overflow!(a * 10 + digit, max)`.
static bool u64_mul10_add_overflows(uint64_t a, unsigned digit) {
    return a >= UINT64_MAX / 10 && (a > UINT64_MAX / 10 || digit > UINT64_MAX % 10);
}
static bool i32_mul10_add_overflows(int32_t a, int digit) {
    return a >= INT32_MAX / 10 && (a > INT32_MAX / 10 || digit > INT32_MAX % 10);
}

// Whether serde_json turns `significand * 10^exponent` into a finite f64 (it rejects infinity).
static bool f64_is_finite(uint64_t significand, int32_t exponent) {
    double f = (double)significand;
    if (exponent < 0) return true; // dividing never overflows
    if (exponent > 308) return f == 0.0;
    char pow10[8] = "1e", *digits = pow10 + 2;
    if (exponent >= 100) *digits++ = (char)('0' + exponent / 100);
    if (exponent >= 10) *digits++ = (char)('0' + exponent / 10 % 10);
    *digits = (char)('0' + exponent % 10);
    return !isinf(f * strtod(pow10, NULL)); // strtod rounds exactly, like Rust's literals
}

typedef enum { NUMBER_INT, NUMBER_FLOAT, NUMBER_ERROR } number_kind;

// Reads a number; NUMBER_INT (with `*out`) when it is an integer that fits in an i64.
// A port of serde_json's number parser (without its `float_roundtrip` feature).
static number_kind read_number(reader *r, int64_t *out) {
    bool negative = eat(r, '-');
    uint64_t significand = 0;
    int32_t exponent = 0; // the value is significand * 10^exponent
    bool too_long = false; // more integer digits than a u64 holds

    if (!is_digit(peek(r))) return NUMBER_ERROR;
    if (eat(r, '0')) {
        if (is_digit(peek(r))) return NUMBER_ERROR; // no leading zeros
    } else {
        while (is_digit(peek(r))) {
            unsigned digit = (unsigned)(*r->p - '0');
            if (u64_mul10_add_overflows(significand, digit)) {
                too_long = true;
                for (; is_digit(peek(r)); r->p++) exponent++;
                break;
            }
            significand = significand * 10 + digit;
            r->p++;
        }
    }

    bool fraction = peek(r) == '.', has_exponent = peek(r) == 'e' || peek(r) == 'E';
    if (!too_long && !fraction && !has_exponent) {
        if (!negative) {
            if (significand > INT64_MAX) return NUMBER_FLOAT;
            *out = (int64_t)significand;
            return NUMBER_INT;
        }
        // serde_json reads `-0` as a float, like anything below i64's range.
        if (significand == 0 || significand > (uint64_t)INT64_MAX + 1) return NUMBER_FLOAT;
        *out = significand == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)significand;
        return NUMBER_INT;
    }

    if (eat(r, '.')) {
        bool full = false; // once the significand is full, further digits are ignored
        if (!is_digit(peek(r))) return NUMBER_ERROR;
        for (; is_digit(peek(r)); r->p++) {
            unsigned digit = (unsigned)(*r->p - '0');
            if (!full && u64_mul10_add_overflows(significand, digit)) full = true;
            if (!full) {
                significand = significand * 10 + digit;
                exponent--;
            }
        }
    }

    if (eat(r, 'e') || eat(r, 'E')) {
        bool positive = !eat(r, '-');
        if (positive) eat(r, '+');
        if (!is_digit(peek(r))) return NUMBER_ERROR;
        int32_t e = 0;
        for (; is_digit(peek(r)); r->p++) {
            int digit = *r->p - '0';
            if (i32_mul10_add_overflows(e, digit)) {
                // A huge exponent: infinity is an error, zero is fine.
                if (significand != 0 && positive) return NUMBER_ERROR;
                while (is_digit(peek(r))) r->p++;
                return NUMBER_FLOAT;
            }
            e = e * 10 + digit;
        }
        int64_t sum = positive ? (int64_t)exponent + e : (int64_t)exponent - e;
        exponent = sum > INT32_MAX ? INT32_MAX : sum < INT32_MIN ? INT32_MIN : (int32_t)sum;
    }
    return f64_is_finite(significand, exponent) ? NUMBER_FLOAT : NUMBER_ERROR;
}

static bool read_value(reader *r, numbers *collect);

// Reads an array (at its `[`). With `collect`, records whether it is an array of i64s and sums it.
static bool read_array(reader *r, numbers *collect) {
    if (--r->depth_left == 0) return false;
    r->p++;
    skip_ws(r);
    if (!eat(r, ']')) {
        do {
            skip_ws(r);
            int c = peek(r);
            if (collect && (c == '-' || is_digit(c))) {
                int64_t n;
                number_kind kind = read_number(r, &n);
                if (kind == NUMBER_ERROR) return false;
                if (kind == NUMBER_FLOAT) collect->all_ints = false;
                else if (!collect->overflow && __builtin_add_overflow(collect->sum, n, &collect->sum))
                    collect->overflow = true;
            } else {
                if (!read_value(r, NULL)) return false;
                if (collect) collect->all_ints = false;
            }
            skip_ws(r);
        } while (eat(r, ','));
        if (!eat(r, ']')) return false;
    }
    r->depth_left++;
    return true;
}

// Reads an object (at its `{`). With `collect`, records the value of its last `numbers` key.
static bool read_object(reader *r, numbers *collect) {
    if (--r->depth_left == 0) return false;
    r->p++;
    skip_ws(r);
    if (!eat(r, '}')) {
        do {
            bool is_numbers = false;
            skip_ws(r);
            if (peek(r) != '"' || !read_string(r, collect ? "numbers" : NULL, &is_numbers))
                return false;
            skip_ws(r);
            if (!eat(r, ':')) return false;
            skip_ws(r);
            if (is_numbers) {
                *collect = (numbers){.seen = true, .all_ints = true};
                if (peek(r) != '[') collect->all_ints = false;
                if (!read_value(r, collect)) return false;
            } else if (!read_value(r, NULL)) {
                return false;
            }
            skip_ws(r);
        } while (eat(r, ','));
        if (!eat(r, '}')) return false;
    }
    r->depth_left++;
    return true;
}

// Reads any value; `collect` is passed on to an array.
static bool read_value(reader *r, numbers *collect) {
    int c = peek(r);
    int64_t ignored;
    switch (c) {
    case '{': return read_object(r, NULL);
    case '[': return read_array(r, collect);
    case '"': return read_string(r, NULL, NULL);
    case 't': return read_literal(r, "true");
    case 'f': return read_literal(r, "false");
    case 'n': return read_literal(r, "null");
    default:
        if (c == '-' || is_digit(c)) return read_number(r, &ignored) != NUMBER_ERROR;
        return false;
    }
}

numbers_result json_sum_numbers(const char *text, size_t len, int64_t *sum) {
    reader r = {.p = text, .end = text + len, .depth_left = 128};
    numbers found = {0};
    skip_ws(&r);
    if (peek(&r) != '{' || !read_object(&r, &found)) return NUMBERS_INVALID;
    skip_ws(&r);
    if (r.p != r.end || !found.seen || !found.all_ints) return NUMBERS_INVALID;
    if (found.overflow) return NUMBERS_OVERFLOW;
    *sum = found.sum;
    return NUMBERS_OK;
}

// ---------------------------------------------------------------------------------------------
// Writer

void strbuf_append(strbuf *b, const char *bytes, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len) cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) abort();
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
}

void strbuf_puts(strbuf *b, const char *s) { strbuf_append(b, s, strlen(s)); }

void strbuf_i64(strbuf *b, int64_t n) {
    char digits[20], *start = digits + sizeof digits; // written right to left
    uint64_t magnitude = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    do *--start = (char)('0' + magnitude % 10);
    while ((magnitude /= 10) != 0);
    if (n < 0) strbuf_puts(b, "-");
    strbuf_append(b, start, (size_t)(digits + sizeof digits - start));
}

void strbuf_json_string(strbuf *b, const char *bytes, size_t len) {
    static const char hex[] = "0123456789abcdef";
    strbuf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bytes[i];
        switch (c) {
        case '"': strbuf_puts(b, "\\\""); break;
        case '\\': strbuf_puts(b, "\\\\"); break;
        case '\n': strbuf_puts(b, "\\n"); break;
        case '\r': strbuf_puts(b, "\\r"); break;
        case '\t': strbuf_puts(b, "\\t"); break;
        case '\b': strbuf_puts(b, "\\b"); break;
        case '\f': strbuf_puts(b, "\\f"); break;
        default:
            if (c < 0x20) {
                char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                strbuf_append(b, escape, sizeof escape);
            } else {
                strbuf_append(b, (const char *)&bytes[i], 1);
            }
        }
    }
    strbuf_puts(b, "\"");
}
