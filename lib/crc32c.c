/*
 * crc32c.c -- CRC-32C (Castagnoli), the checksum of every section of an
 * index file (doc/FORMAT.md).  CRC-32C rather than zlib's CRC-32 because
 * it detects more error patterns at the same cost (Castagnoli et al. 1993)
 * and has an instruction of its own on x86-64 and ARMv8.
 *
 * Two implementations, chosen at each call (the test is one load):
 *
 *   - the CPU's instruction where there is one: SSE 4.2 `crc32` on x86-64,
 *     the CRC extension's `crc32c` on AArch64 (optional in ARMv8.0,
 *     required from ARMv8.1).  The functions that use it carry a target
 *     attribute, so the file builds without -msse4.2 or -march=...+crc and
 *     the binary still runs on a CPU without them.  It runs three CRC
 *     streams over three consecutive blocks at once -- the instruction's
 *     latency is three times its issue interval -- and joins them with the
 *     zero-append ("shift") tables of crc32c_table.inc, as in Gopal et al.,
 *     "Fast CRC Computation for iSCSI Polynomial Using CRC32 Instruction"
 *     (Intel, 2011).
 *   - the portable slice-by-8 (Kounavis & Berry, "A Systematic Approach to
 *     Building High Performance Software-based CRC Generators", 2005):
 *     eight table lookups per 8 input bytes, about 1-2 GB/s.
 *
 * The choice needs no state: __builtin_cpu_supports reads what the
 * compiler's runtime found before main, getauxval what the kernel told the
 * process; neither writes anything, so there is nothing to race on.
 */
#include "kidx_int.h"

#include "crc32c_table.inc"

uint32_t kidx__crc32c_sw(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  crc = ~crc;
  while (len >= 8) {
    uint32_t lo = crc ^ kidx__get_u32(p);
    uint32_t hi = kidx__get_u32(p + 4);
    crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
          crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
          crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
          crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len--)
    crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- the CPU's instruction ---- */

/* HW_TARGET marks the functions that may use the instruction; HW_U64 and
 * HW_U8 feed 8 bytes (little-endian) or one byte to a register;
 * hw_available() says whether this CPU has the instruction.  The
 * instruction's register is the one of the table code (reflected, without
 * the pre- and post-inversion), so both give the same results. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define KIDX__CRC32C_HW 1
#include <nmmintrin.h>
#define HW_TARGET    __attribute__((target("sse4.2")))
#define HW_U64(c, v) ((uint32_t)_mm_crc32_u64((c), (v)))
#define HW_U8(c, b)  _mm_crc32_u8((c), (b))
static int hw_available(void) {
  return __builtin_cpu_supports("sse4.2") != 0;
}

#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__) &&     \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&    \
    (defined(__ARM_FEATURE_CRC32) || defined(__linux__))
#define KIDX__CRC32C_HW 1
#if defined(__clang__)
/* Clang's arm_acle.h declares the CRC intrinsics only when the whole file
 * is built for the CRC extension; its builtins work under the attribute. */
#define HW_TARGET    __attribute__((target("crc")))
#define HW_U64(c, v) __builtin_arm_crc32cd((c), (v))
#define HW_U8(c, b)  __builtin_arm_crc32cb((c), (b))
#else
#include <arm_acle.h>
#define HW_TARGET    __attribute__((target("+crc")))
#define HW_U64(c, v) __crc32cd((c), (v))
#define HW_U8(c, b)  __crc32cb((c), (b))
#endif
#if defined(__ARM_FEATURE_CRC32)
static int hw_available(void) {
  return 1; /* built for a CPU that has it */
}
#else
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1ul << 7) /* Linux arch/arm64 uapi/asm/hwcap.h */
#endif
static int hw_available(void) {
  return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}
#endif

#else
#define KIDX__CRC32C_HW 0
#endif

#if KIDX__CRC32C_HW

/* Appends the zero bytes of table t (CRC32C_SHORT or CRC32C_LONG) to
 * register c: c * x^(8n) mod P, four lookups. */
static inline uint32_t shift(const uint32_t t[4][256], uint32_t c) {
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^
         t[3][c >> 24];
}

static inline uint64_t load_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v); /* little-endian hosts only, see above */
  return v;
}

/* Register c continued over the three blocks of `block` bytes at p.  The
 * second and third streams start from 0 and are joined by shifting what
 * precedes them over their length (the register update is linear). */
HW_TARGET static inline uint32_t
hw_three(uint32_t c, const uint8_t *p, size_t block, const uint32_t t[4][256]) {
  uint32_t c1 = 0, c2 = 0;
  for (const uint8_t *end = p + block; p < end; p += 8) {
    c = HW_U64(c, load_u64(p));
    c1 = HW_U64(c1, load_u64(p + block));
    c2 = HW_U64(c2, load_u64(p + 2 * block));
  }
  return shift(t, shift(t, c) ^ c1) ^ c2;
}

HW_TARGET static uint32_t hw_crc32c(uint32_t crc, const void *data,
                                    size_t len) {
  const uint8_t *p = data;
  uint32_t c = ~crc;
  /* Byte by byte to an 8-byte boundary, so the wide loads are aligned. */
  while (len > 0 && ((uintptr_t)p & 7) != 0) {
    c = HW_U8(c, *p++);
    len--;
  }
  while (len >= 3 * (size_t)CRC32C_LONG) {
    c = hw_three(c, p, CRC32C_LONG, crc32c_shift_long);
    p += 3 * (size_t)CRC32C_LONG;
    len -= 3 * (size_t)CRC32C_LONG;
  }
  while (len >= 3 * (size_t)CRC32C_SHORT) {
    c = hw_three(c, p, CRC32C_SHORT, crc32c_shift_short);
    p += 3 * (size_t)CRC32C_SHORT;
    len -= 3 * (size_t)CRC32C_SHORT;
  }
  for (; len >= 8; p += 8, len -= 8)
    c = HW_U64(c, load_u64(p));
  while (len--)
    c = HW_U8(c, *p++);
  return ~c;
}

#endif /* KIDX__CRC32C_HW */

int kidx__crc32c_hw_available(void) {
#if KIDX__CRC32C_HW
  return hw_available();
#else
  return 0;
#endif
}

uint32_t kidx__crc32c_hw(uint32_t crc, const void *data, size_t len) {
#if KIDX__CRC32C_HW
  if (hw_available())
    return hw_crc32c(crc, data, len);
#endif
  return kidx__crc32c_sw(crc, data, len);
}

uint32_t kidx__crc32c(uint32_t crc, const void *data, size_t len) {
  return kidx__crc32c_hw(crc, data, len);
}
