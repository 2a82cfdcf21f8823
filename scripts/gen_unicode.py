#!/usr/bin/env python3
"""Generates the Unicode tables of lib/unicode.c from the Unicode Character
Database (UCD), as installed by Debian's unicode-data package.

    python3 scripts/gen_unicode.py /usr/share/unicode > lib/unicode_tables.inc
    python3 scripts/gen_unicode.py --normalization-test /usr/share/unicode \\
        > tests/data/unicode/NormalizationTest.txt

Files read: UnicodeData.txt (general category, canonical combining class,
canonical decompositions), CaseFolding.txt (statuses C and F: full case
folding), DerivedNormalizationProps.txt (Full_Composition_Exclusion,
NFC_Quick_Check), CompositionExclusions.txt (cross-checked against the
derived property), Scripts.txt, ScriptExtensions.txt, PropList.txt
(Ideographic).  The second form writes the NFC and NFD columns of
NormalizationTest.txt(.bz2) for tests/check_unicode.c.

The output is deterministic: the same UCD always gives the same bytes.  Every
table is a three-stage lookup (see emit_trie), sized by trying every split
and keeping the smallest; identical blocks are stored once.
"""
import bz2
import os
import sys

NCP = 0x110000

# Hangul syllables (Unicode 15, section 3.12): decomposed and composed
# algorithmically by lib/unicode.c, so they are not in the tables.
S_BASE, S_COUNT = 0xAC00, 11172

# Word classes, scripts and flag bits; the names are those of lib/kidx_int.h
# (KIDX__UC_<name>) and lib/unicode.c (UC_F_<name>).
CLASSES = ["SEPARATOR", "LETTER", "MARK", "DIGIT", "NUMBER_OTHER", "CJK"]
SCRIPTS = {"Latin": "LATIN", "Greek": "GREEK", "Cyrillic": "CYRILLIC"}
FLAGS = ["NONSPACING", "DECOMP", "FOLD", "COMP2"]

# Common/Inherited characters that belong to CJK runs: the kana length and
# repeat marks, listed as Hiragana+Katakana (and Han) in ScriptExtensions.txt.
CJK_SCX = {"Hani", "Hira", "Kana"}
# The spacing (daku)ten are symbols (Sk) but are written inside kana words.
CJK_EXTRA = {0x309B, 0x309C}


def die(msg):
    sys.stderr.write("gen_unicode.py: %s\n" % msg)
    sys.exit(1)


def ucd_lines(path):
    """(fields, comment) for each data line: fields split on ';' and
    stripped, comment after '#'."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            data, _, comment = line.partition("#")
            data = data.strip()
            if data:
                yield [x.strip() for x in data.split(";")], comment.strip()


def cp_range(field):
    lo, _, hi = field.partition("..")
    return range(int(lo, 16), int(hi or lo, 16) + 1)


def file_version(path):
    """The version in a UCD file's first line, '# Name-15.0.0.txt'."""
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    if not first.startswith("# ") or "-" not in first:
        die("%s: no version line" % path)
    return first[2:].rsplit("-", 1)[1].rsplit(".txt", 1)[0]


class UCD:
    def __init__(self, d):
        self.dir = d
        versions = {file_version(os.path.join(d, n)) for n in (
            "CaseFolding.txt", "DerivedNormalizationProps.txt",
            "CompositionExclusions.txt", "Scripts.txt",
            "ScriptExtensions.txt", "PropList.txt")}
        if len(versions) != 1:
            die("mixed UCD versions: %s" % sorted(versions))
        self.version = versions.pop()
        self.gc = ["Cn"] * NCP
        self.ccc = [0] * NCP
        self.decomp = {}  # canonical, one level
        first = None
        for f, _ in ucd_lines(os.path.join(d, "UnicodeData.txt")):
            cp = int(f[0], 16)
            if f[1].endswith(", First>"):
                first = cp
                continue
            lo = first if f[1].endswith(", Last>") else cp
            for c in range(lo, cp + 1):
                self.gc[c] = f[2]
                self.ccc[c] = int(f[3])
            if f[5] and not f[5].startswith("<"):
                self.decomp[cp] = [int(x, 16) for x in f[5].split()]
        self.fold = {}
        for f, _ in ucd_lines(os.path.join(d, "CaseFolding.txt")):
            if f[1] in ("C", "F"):
                self.fold[int(f[0], 16)] = [int(x, 16) for x in f[2].split()]
        self.fce = set()
        self.nfc_maybe = set()
        for f, _ in ucd_lines(os.path.join(d, "DerivedNormalizationProps.txt")):
            if f[1] == "Full_Composition_Exclusion":
                self.fce.update(cp_range(f[0]))
            elif f[1] == "NFC_QC" and f[2] == "M":
                self.nfc_maybe.update(cp_range(f[0]))
        excl = set()
        for f, _ in ucd_lines(os.path.join(d, "CompositionExclusions.txt")):
            excl.update(cp_range(f[0]))
        self.script = ["Unknown"] * NCP
        for f, _ in ucd_lines(os.path.join(d, "Scripts.txt")):
            for c in cp_range(f[0]):
                self.script[c] = f[1]
        self.scx = {}
        for f, _ in ucd_lines(os.path.join(d, "ScriptExtensions.txt")):
            for c in cp_range(f[0]):
                self.scx[c] = set(f[1].split())
        self.ideographic = set()
        for f, _ in ucd_lines(os.path.join(d, "PropList.txt")):
            if f[1] == "Ideographic":
                self.ideographic.update(cp_range(f[0]))

        # Full_Composition_Exclusion must be the script-specific exclusions
        # plus singletons plus non-starter decompositions (UAX #15 sec. 5.1,
        # UAX #44 sec. 5.7.4); check, since the composition table relies on it.
        derived = set(excl)
        for cp, d1 in self.decomp.items():
            if len(d1) == 1 or self.ccc[cp] != 0 or self.ccc[d1[0]] != 0:
                derived.add(cp)
        if derived != self.fce:
            die("Full_Composition_Exclusion disagrees with its derivation")

        self.full = {}
        for cp in self.decomp:
            self.full[cp] = self.nfd_char(cp)

    def nfd_char(self, cp):
        """Full canonical decomposition of one code point (not reordered:
        the UCD's decompositions are already in canonical order)."""
        if S_BASE <= cp < S_BASE + S_COUNT:
            s = cp - S_BASE
            out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
            if s % 28:
                out.append(0x11A7 + s % 28)
            return out
        if cp in self.decomp:
            return [y for x in self.decomp[cp] for y in self.nfd_char(x)]
        return [cp]

    def reorder(self, s):
        """Canonical ordering (Unicode 15 section 3.11, D108): a stable sort
        of every run of non-starters by combining class."""
        s = list(s)
        i = 0
        while i < len(s):
            if self.ccc[s[i]] == 0:
                i += 1
                continue
            j = i
            while j < len(s) and self.ccc[s[j]] != 0:
                j += 1
            s[i:j] = sorted(s[i:j], key=lambda c: self.ccc[c])
            i = j
        return s

    def nfd(self, s):
        return self.reorder([y for c in s for y in self.nfd_char(c)])

    def word_class(self, cp):
        gc = self.gc[cp]
        if gc[0] == "M":
            return "MARK"
        if self.is_cjk(cp):
            return "CJK"
        if gc[0] == "L":
            return "LETTER"
        if gc == "Nd":
            return "DIGIT"
        if gc in ("Nl", "No"):
            return "NUMBER_OTHER"
        return "SEPARATOR"

    def is_cjk(self, cp):
        """Characters of scripts written without spaces between words that
        the analyser indexes as overlapping bigrams: letters (and letter
        numbers such as U+3007) that are Ideographic (Han, Tangut, Nushu,
        Khitan) or of script Han, Hiragana or Katakana, plus the Common
        letters used only with those scripts (U+30FC prolonged sound mark,
        U+3031..U+3035 kana repeat marks, U+303C masu mark, halfwidth forms)
        and the spacing voiced sound marks U+309B, U+309C."""
        if cp in CJK_EXTRA:
            return True
        gc = self.gc[cp]
        if gc[0] != "L" and gc != "Nl":
            return False
        if cp in self.ideographic:
            return True
        sc = self.script[cp]
        if sc in ("Han", "Hiragana", "Katakana"):
            return True
        scx = self.scx.get(cp)
        return sc in ("Common", "Inherited") and bool(scx) and scx <= CJK_SCX

    def props(self, cp):
        """(ccc, class, script, flags) of one code point."""
        flags = []
        if self.gc[cp] == "Mn":
            flags.append("NONSPACING")
        if cp in self.decomp or S_BASE <= cp < S_BASE + S_COUNT:
            flags.append("DECOMP")
        if cp in self.fold:
            flags.append("FOLD")
        if cp in self.nfc_maybe:
            flags.append("COMP2")
        return (self.ccc[cp], self.word_class(cp),
                SCRIPTS.get(self.script[cp], "OTHER"), tuple(flags))


def ctype(maxval):
    if maxval < 1 << 8:
        return "uint8_t", 1
    if maxval < 1 << 16:
        return "uint16_t", 2
    if maxval < 1 << 32:
        return "uint32_t", 4
    die("value too large for a table")


def build_trie(values, mid_bits, leaf_bits):
    """Three-stage lookup of values[cp]:
        leaf[(mid[(top[cp >> (mid_bits + leaf_bits)] << mid_bits)
                  + ((cp >> leaf_bits) & mid_mask)] << leaf_bits)
             + (cp & leaf_mask)]
    Leaf blocks (2**leaf_bits values) and mid blocks (2**mid_bits leaf
    block numbers) are each stored once however often they occur."""
    leaf_ids, leaf, mids = {}, [], []
    lsize = 1 << leaf_bits
    for base in range(0, NCP, lsize):
        block = tuple(values[base:base + lsize])
        if block not in leaf_ids:
            leaf_ids[block] = len(leaf_ids)
            leaf.extend(block)
        mids.append(leaf_ids[block])
    mid_ids, mid, top = {}, [], []
    msize = 1 << mid_bits
    for base in range(0, len(mids), msize):
        block = tuple(mids[base:base + msize])
        if block not in mid_ids:
            mid_ids[block] = len(mid_ids)
            mid.extend(block)
        top.append(mid_ids[block])
    return top, mid, leaf


def trie_bytes(top, mid, leaf):
    return sum(len(a) * ctype(max(a))[1] for a in (top, mid, leaf))


def best_trie(values):
    best = None
    for mid_bits in range(2, 9):
        for leaf_bits in range(2, 9):
            if mid_bits + leaf_bits > 14:
                continue
            t = build_trie(values, mid_bits, leaf_bits)
            size = trie_bytes(*t)
            if best is None or size < best[0]:
                best = (size, mid_bits, leaf_bits, t)
    return best


class Writer:
    def __init__(self):
        self.out = []
        self.total = 0

    def line(self, s=""):
        self.out.append(s)

    def array(self, name, values, fmt="%d", typ=None):
        if typ is None:
            typ, size = ctype(max(values) if values else 0)
        else:
            size = {"uint32_t": 4, "uint64_t": 8}[typ]
        self.total += size * len(values)
        self.line("static const %s %s[%d] = {" % (typ, name, len(values)))
        cur = " "
        for v in values:
            item = " " + (fmt % v) + ","
            if len(cur) + len(item) > 79:
                self.line(cur)
                cur = " "
            cur += item
        if cur.strip():
            self.line(cur)
        self.line("};")
        self.line()

    def trie(self, prefix, values, what):
        size, mid_bits, leaf_bits, (top, mid, leaf) = best_trie(values)
        self.line("/* %s: three-stage lookup, %d bytes. */" % (what, size))
        self.line("#define %s_MID_BITS %d" % (prefix.upper(), mid_bits))
        self.line("#define %s_LEAF_BITS %d" % (prefix.upper(), leaf_bits))
        self.array(prefix + "_top", top)
        self.array(prefix + "_mid", mid)
        self.array(prefix + "_leaf", leaf)


def pool_refs(mapping, what):
    """Packs {cp: [cp...]} into a pool; ref = offset << 3 | length, 0 for
    none (offset 0 of the pool is a dummy so that no ref is 0)."""
    pool, refs = [0], [0] * NCP
    for cp in sorted(mapping):
        seq = mapping[cp]
        if not 1 <= len(seq) <= 7 or len(pool) >= 1 << 13:
            die("%s of U+%04X does not fit a ref" % (what, cp))
        refs[cp] = len(pool) << 3 | len(seq)
        pool.extend(seq)
    return pool, refs


def gen_tables(ucd):
    w = Writer()
    # Properties, as indexes into a small array of distinct records.
    recs, rec_ids, rec_of = [], {}, [0] * NCP
    for cp in range(NCP):
        p = ucd.props(cp)
        if p not in rec_ids:
            rec_ids[p] = len(recs)
            recs.append(p)
        rec_of[cp] = rec_ids[p]

    # Canonical decompositions (full, recursive) and full case foldings.
    max_decomp = max(len(v) for v in ucd.full.values())
    max_fold = max(len(v) for v in ucd.fold.values())
    dpool, drefs = pool_refs(ucd.full, "decomposition")
    fpool, frefs = pool_refs(ucd.fold, "folding")

    # Primary composites: canonical decompositions of length 2 that are not
    # Full_Composition_Exclusion (UAX #15 sec. 1.3, Unicode 15 D114).
    comp = []
    for cp, d1 in ucd.decomp.items():
        if len(d1) == 2 and cp not in ucd.fce:
            if max(cp, d1[0], d1[1]) >= 1 << 17:
                die("U+%04X: composition pair needs more than 17 bits" % cp)
            if d1[1] not in ucd.nfc_maybe:
                die("U+%04X: second of a pair is not NFC_QC=M" % cp)
            comp.append(d1[0] << 34 | d1[1] << 17 | cp)
    comp.sort()

    # Longest result of NFD(casefold(NFD(c))) for one code point c, which
    # bounds the work space kidx__uc_normalize needs per input character.
    max_exp = 1
    for cp in range(NCP):
        if cp in ucd.full or cp in ucd.fold or cp in ucd.nfc_maybe:
            n = sum(len(ucd.nfd_char(f)) for c in ucd.nfd_char(cp)
                    for f in ucd.fold.get(c, [c]))
            max_exp = max(max_exp, n)
    for c in range(S_BASE, S_BASE + S_COUNT):
        max_exp = max(max_exp, len(ucd.nfd_char(c)))

    w.line("/*")
    w.line(" * unicode_tables.inc -- generated by scripts/gen_unicode.py from "
           "the")
    w.line(" * Unicode Character Database %s.  Do not edit; regenerate with"
           % ucd.version)
    w.line(" *")
    w.line(" *   python3 scripts/gen_unicode.py /usr/share/unicode > "
           "lib/unicode_tables.inc")
    w.line(" *")
    w.line(" * (Debian package unicode-data).  Derived from Unicode data "
           "files,")
    w.line(" * (c) Unicode, Inc., used under the Unicode terms of use "
           "(see")
    w.line(" * tests/data/unicode/COPYING and "
           "https://www.unicode.org/terms_of_use.html).")
    w.line(" * Included once, by lib/unicode.c, which defines UC_REC and "
           "UC_F_*.")
    w.line(" */")
    w.line()
    w.line('#define UC_UNICODE_VERSION "%s"' % ucd.version)
    w.line()
    w.line("/* kidx_int.h sizes its buffers with these; they must match the "
           "data. */")
    for name, val in (("MAX_DECOMP", max_decomp), ("MAX_FOLD", max_fold),
                      ("MAX_EXPANSION", max_exp)):
        w.line("#if KIDX__UC_%s != %d" % (name, val))
        w.line('#error "KIDX__UC_%s must be %d for Unicode %s"'
               % (name, val, ucd.version))
        w.line("#endif")
    w.line()

    w.line("/* Distinct property records: UC_REC(ccc, class, script, "
           "flags). */")
    w.line("static const uint32_t uc_props_rec[%d] = {" % len(recs))
    for ccc, cls, script, flags in recs:
        fl = " | ".join("UC_F_" + f for f in flags) or "0"
        w.line("    UC_REC(%d, %s, %s, %s)," % (ccc, cls, script, fl))
    w.line("};")
    w.line()
    w.total += 4 * len(recs)
    w.trie("uc_props", rec_of, "Code point -> index in uc_props_rec")

    w.line("/* Full canonical decompositions, max %d code points." % max_decomp)
    w.line(" * A ref is offset << 3 | length into uc_decomp_pool; 0 = none. */")
    w.trie("uc_decomp", drefs, "Code point -> decomposition ref")
    w.array("uc_decomp_pool", dpool, fmt="0x%X", typ="uint32_t")

    w.line("/* Full case folding (CaseFolding.txt statuses C and F), refs "
           "as above. */")
    w.trie("uc_fold", frefs, "Code point -> case folding ref")
    w.array("uc_fold_pool", fpool, fmt="0x%X", typ="uint32_t")

    w.line("/* Primary composites, sorted: first << 34 | second << 17 | "
           "composite. */")
    w.array("uc_comp", comp, fmt="0x%Xu", typ="uint64_t")

    w.line("/* Total size of the tables above: %d bytes. */" % w.total)
    w.line("#define UC_TABLE_BYTES %d" % w.total)
    sys.stdout.write("\n".join(w.out) + "\n")


def gen_normalization_test(d):
    """Copies the data lines of NormalizationTest.txt keeping columns c1
    (source), c2 (NFC) and c3 (NFD), the @Part lines, and a header that
    says where the data came from and that it was modified."""
    path = os.path.join(d, "NormalizationTest.txt")
    if os.path.exists(path):
        f = open(path, encoding="utf-8")
    else:
        f = bz2.open(path + ".bz2", "rt", encoding="utf-8")
    out = []
    with f:
        lines = f.read().split("\n")
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    out.append(header[0])
    for h in header[1:5]:
        out.append(h)
    out.append("#")
    out.append("# MODIFIED by kidx scripts/gen_unicode.py: only the columns "
               "source; NFC; NFD")
    out.append("# (c1; c2; c3) of each test line and the @Part lines are "
               "kept; comments")
    out.append("# and the NFKC/NFKD columns are removed.  License: see COPYING "
               "beside this")
    out.append("# file.  Regenerate with:")
    out.append("#   python3 scripts/gen_unicode.py --normalization-test "
               "/usr/share/unicode \\")
    out.append("#       > tests/data/unicode/NormalizationTest.txt")
    for line in lines:
        if line.startswith("@Part"):
            out.append(line.split("#")[0].strip())
        elif line and not line.startswith("#"):
            out.append(";".join(line.split(";")[:3]))
    sys.stdout.write("\n".join(out) + "\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "--normalization-test":
        gen_normalization_test(argv[2])
    elif len(argv) == 2 and not argv[1].startswith("-"):
        gen_tables(UCD(argv[1]))
    else:
        die("usage: gen_unicode.py [--normalization-test] UCD_DIR")


if __name__ == "__main__":
    main(sys.argv)
