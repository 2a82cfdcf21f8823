/*
 * kidx_utf8.h -- interface to code in utf8.c: decoding that accepts any
 * bytes, and encoding.
 *
 * The one part of the library's internals that the kidx tool compiles in
 * as well (it checks and escapes the UTF-8 of JSON input and output and of
 * text written to a terminal): the shared library exports only kidx_*
 * symbols, so the tool links utf8.c's object rather than keep its own
 * decoder.  Hence its own header, which needs nothing but <stdint.h>;
 * kidx_int.h includes it for the library's files.
 */
#ifndef KIDX_UTF8_H
#define KIDX_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Returned in *cp for a byte that does not start a valid, shortest-form
 * UTF-8 sequence of a Unicode scalar value (overlong forms, surrogates,
 * values above U+10FFFF, truncated sequences, stray continuation bytes). */
#define KIDX__UTF8_INVALID 0xFFFFFFFFu

/* Decodes the character at p (n >= 1 bytes available).  Returns the number
 * of bytes consumed: the sequence length when valid, otherwise 1 with *cp
 * set to KIDX__UTF8_INVALID, so that decoding resumes at the next byte and
 * never swallows valid text after a bad byte. */
size_t kidx__utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* Encodes a scalar value (<= 0x10FFFF, not a surrogate) into out[4];
 * returns the length, 1..4. */
size_t kidx__utf8_encode(uint32_t cp, uint8_t *out);

#endif /* KIDX_UTF8_H */
