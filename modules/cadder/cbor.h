/* A small CBOR (RFC 8949) reader and writer: what a wasmrpc module needs
 * to read its keyword arguments and write its results and manifest. */
#ifndef CADDER_CBOR_H
#define CADDER_CBOR_H

#include <stdint.h>

#include "mem.h"

/* Major types. */
enum { CBOR_UINT, CBOR_NEGINT, CBOR_BYTES, CBOR_TEXT, CBOR_ARRAY, CBOR_MAP, CBOR_TAG, CBOR_SIMPLE };

/* MAX_NESTING is the deepest nesting the reader accepts (the ABI's). */
#define CBOR_MAX_NESTING 64

/* cbor_reader walks bytes [p, end). Every function returns 0 on success
 * and -1 on malformed or truncated input. */
typedef struct {
	const uint8_t *p, *end;
} cbor_reader;

/* cbor_item is the head of one data item. For strings, arrays and maps,
 * arg is the length (unless indef); for integers the value; for simple
 * values and floats the additional information's value (ai) tells them
 * apart. */
typedef struct {
	int major;
	int ai;       /* additional information, 0..31 */
	uint64_t arg; /* argument */
	int indef;    /* indefinite length (ai == 31) */
} cbor_item;

int cbor_head(cbor_reader *r, cbor_item *it);
/* cbor_skip moves past one complete data item, checking that it is well
 * formed, nested at most CBOR_MAX_NESTING deep, free of tags (the ABI's
 * values are JSON's), and that its text strings are valid UTF-8. */
int cbor_skip(cbor_reader *r, int depth);
/* cbor_valid_utf8 reports whether s[0:n] is valid UTF-8 (RFC 3629). */
int cbor_valid_utf8(const uint8_t *s, uint64_t n);
/* cbor_float decodes a half, single or double float's argument. */
double cbor_float(const cbor_item *it);

void cbor_put_head(buf *b, int major, uint64_t arg);
void cbor_put_text(buf *b, const char *s, uint32_t n);
void cbor_put_cstr(buf *b, const char *s);
void cbor_put_int(buf *b, int64_t v);
void cbor_put_double(buf *b, double v);

#endif
