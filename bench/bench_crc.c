/*
 * bench_crc.c -- throughput of libkidx's CRC-32C (lib/crc32c.c): the
 * portable table code (kidx__crc32c_sw) against the CPU's instruction
 * (kidx__crc32c_hw), at several input sizes.
 *
 *   kidx_bench_crc [--runs N] [--ms MS]
 *
 * It calls the library's hidden internals, so it links the library's
 * objects (as the unit tests do), not the shared library.
 *
 * What is measured: for each size, one buffer of random bytes, 64-byte
 * aligned, is checksummed over and over, the whole buffer per call, for at
 * least MS milliseconds (default 100) per run; GB/s (10^9 bytes per
 * second) is the bytes checksummed over the time taken, on one core, with
 * CLOCK_MONOTONIC.  The two implementations take turns, run by run, so a
 * change in the machine's load hits both alike; each figure is the median
 * over N runs (default 5), with min and max.  Small sizes measure the cost
 * per call as well as the loop; the sizes up to 1 MiB stay in the caches,
 * 64 MiB does not.
 */
#include "kidx_int.h"

#include "benchutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GB           1e9
#define DEFAULT_RUNS 5u
#define DEFAULT_MS   100u
#define MAX_RUNS     1000u
#define ALIGN        64u

typedef uint32_t (*crc_fn)(uint32_t crc, const void *data, size_t len);

static const size_t sizes[] = {
    64, 256, 4096, 65536, (size_t)1 << 20, (size_t)64 << 20};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping the checksums nobody reads. */
static volatile uint32_t sink;

/* One run: GB/s of f over p[0..n) for at least `secs` seconds.  The clock
 * is read once per batch of calls covering at least 1 MiB, so that reading
 * it costs nothing next to the small sizes' calls. */
static double run_once(crc_fn f, const uint8_t *p, size_t n, double secs) {
  size_t batch = n >= ((size_t)1 << 20) ? 1 : ((size_t)1 << 20) / n;
  uint32_t c = 0;
  double bytes = 0, t0 = now(), t;
  do {
    for (size_t i = 0; i < batch; i++)
      c = f(c, p, n);
    bytes += (double)batch * (double)n;
    t = now();
  } while (t - t0 < secs);
  sink = c;
  return bytes / (t - t0) / GB;
}

static unsigned parse_uint(const char *opt, const char *s, unsigned max) {
  char *end;
  unsigned long v = strtoul(s ? s : "", &end, 10);
  if (!s || !*s || *end || v == 0 || v > max)
    fail("%s needs a number from 1 to %u", opt, max);
  return (unsigned)v;
}

int main(int argc, char **argv) {
  unsigned runs = DEFAULT_RUNS, ms = DEFAULT_MS;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs"))
      runs = parse_uint("--runs", argv[++i], MAX_RUNS);
    else if (!strcmp(argv[i], "--ms"))
      ms = parse_uint("--ms", argv[++i], 60000);
    else
      fail("usage: kidx_bench_crc [--runs N] [--ms MS]");
  }
  size_t max = sizes[sizeof sizes / sizeof sizes[0] - 1];
  uint8_t *mem = xmalloc(max + ALIGN);
  uint8_t *p = mem + (ALIGN - (uintptr_t)mem % ALIGN) % ALIGN;
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < max; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (uint8_t)(s >> 56);
  }
  int hw = kidx__crc32c_hw_available();
  printf("CRC-32C throughput, GB/s (10^9 bytes/s), one core: median "
         "[min-max] of %u runs of >= %u ms\n",
         runs, ms);
  printf("instruction (SSE 4.2 / ARMv8 CRC): %s\n",
         hw ? "available" : "NOT available: the hw column is the table code");
  printf("%10s  %24s  %24s  %7s\n", "bytes", "table (sw)", "instruction (hw)",
         "hw/sw");
  double *sw_r = xmalloc(runs * sizeof *sw_r);
  double *hw_r = xmalloc(runs * sizeof *hw_r);
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    (void)run_once(kidx__crc32c_sw, p, n, 0.01); /* warm-up */
    (void)run_once(kidx__crc32c_hw, p, n, 0.01);
    for (unsigned r = 0; r < runs; r++) {
      sw_r[r] = run_once(kidx__crc32c_sw, p, n, ms / 1000.0);
      hw_r[r] = run_once(kidx__crc32c_hw, p, n, ms / 1000.0);
    }
    double sw_med = median_sorted(sw_r, runs);
    double hw_med = median_sorted(hw_r, runs);
    char a[64], b[64];
    snprintf(a, sizeof a, "%.2f [%.2f-%.2f]", sw_med, sw_r[0], sw_r[runs - 1]);
    snprintf(b, sizeof b, "%.2f [%.2f-%.2f]", hw_med, hw_r[0], hw_r[runs - 1]);
    printf("%10zu  %24s  %24s  %6.1fx\n", n, a, b, hw_med / sw_med);
  }
  free(sw_r);
  free(hw_r);
  free(mem);
  return 0;
}
