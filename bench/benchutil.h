/*
 * benchutil.h -- small helpers shared by the benchmark programs
 * (kidx_bench, kidx_bench_analyze): fatal errors, allocation that cannot
 * fail, and medians.  Each program compiles benchutil.c with its own
 * BENCH_PROG (its name, for messages).
 */
#ifndef KIDX_BENCHUTIL_H
#define KIDX_BENCHUTIL_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Prints "BENCH_PROG: <message>" on one line and exits 1 (atexit handlers,
 * such as removing a temporary index, still run). */
void fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* malloc/realloc/strdup that fail() when out of memory; 0 bytes is 1. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* qsort comparator for an array of char *, by strcmp. */
int cmp_str(const void *a, const void *b);

/* Sorts v[0..n) (n >= 1) and returns its median. */
double median_sorted(double *v, size_t n);

#endif
