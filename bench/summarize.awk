# Prints the comparison tables of bench/run.sh from the lines that
# kidx_bench --summary wrote, each prefixed by run.sh with the corpus set:
#   set, corpus, input MiB, documents, engine, mode, queries, with hits,
#   median us, p99 us          (tab-separated)
# For each set and size: every engine's union and AND median and p99 and
# kidx's speed-up against it (peer time / kidx time, above 1: kidx
# faster); then, per set, each engine's growth from the smallest to the
# largest size (median large / median small, and the same for p99).
BEGIN { FS = "\t" }
{
  set = $1; mib = $3 + 0; eng = $5; mode = $6
  key = set SUBSEP mib
  if (!(key in seen)) { seen[key] = 1; sizes[set] = sizes[set] " " mib; docs[key] = $4 }
  if (!(set in setseen)) { setseen[set] = 1; sets[++nsets] = set }
  if (!((set, eng) in engseen)) { engseen[set, eng] = 1; engs[set] = engs[set] " " eng }
  p50[set, mib, eng, mode] = $9; p99[set, mib, eng, mode] = $10
  hits[set, mib, eng, mode] = $8; nq[set, mib] = $7
}
function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2fx", a / b) : "n/a" }
function show(v) { return v == "" ? "-" : sprintf("%.1f", v) }
END {
  for (s = 1; s <= nsets; s++) {
    set = sets[s]
    n = split(sizes[set], sz, " ")
    # sort sizes numerically (few of them)
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (sz[j] + 0 < sz[i] + 0) { t = sz[i]; sz[i] = sz[j]; sz[j] = t }
    ne = split(engs[set], en, " ")
    printf "\n%s corpus: query latency in us (top 10, BM25); x: kidx's speed-up, engine time / kidx time\n", set
    printf "%-9s %9s %-7s %10s %10s %10s %10s %9s %9s %9s %9s  %s\n", "MiB", "docs", "engine", "union p50", "union p99", "AND p50", "AND p99", "x u-p50", "x u-p99", "x a-p50", "x a-p99", "with hits union/AND"
    for (i = 1; i <= n; i++) {
      m = sz[i]
      for (e = 1; e <= ne; e++) {
        g = en[e]
        if (!((set, m, g, "union") in p50) && !((set, m, g, "and") in p50)) continue
        printf "%-9s %9s %-7s %10s %10s %10s %10s %9s %9s %9s %9s  %s/%s of %s\n", m, docs[set SUBSEP m], g, \
          show(p50[set, m, g, "union"]), show(p99[set, m, g, "union"]), \
          show(p50[set, m, g, "and"]), show(p99[set, m, g, "and"]), \
          g == "kidx" ? "" : ratio(p50[set, m, g, "union"], p50[set, m, "kidx", "union"]), \
          g == "kidx" ? "" : ratio(p99[set, m, g, "union"], p99[set, m, "kidx", "union"]), \
          g == "kidx" ? "" : ratio(p50[set, m, g, "and"], p50[set, m, "kidx", "and"]), \
          g == "kidx" ? "" : ratio(p99[set, m, g, "and"], p99[set, m, "kidx", "and"]), \
          hits[set, m, g, "union"], hits[set, m, g, "and"], nq[set, m]
      }
    }
    if (n >= 2) {
      lo = sz[1]; hi = sz[n]
      printf "growth %s MiB -> %s MiB (%.1fx the input; latency large / small):\n", lo, hi, hi / lo
      printf "  %-7s %12s %12s %12s %12s\n", "engine", "union p50", "union p99", "AND p50", "AND p99"
      for (e = 1; e <= ne; e++) {
        g = en[e]
        printf "  %-7s %12s %12s %12s %12s\n", g, \
          ratio(p50[set, hi, g, "union"], p50[set, lo, g, "union"]), \
          ratio(p99[set, hi, g, "union"], p99[set, lo, g, "union"]), \
          ratio(p50[set, hi, g, "and"], p50[set, lo, g, "and"]), \
          ratio(p99[set, hi, g, "and"], p99[set, lo, g, "and"])
      }
    }
  }
}
