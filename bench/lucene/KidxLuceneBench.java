/*
 * KidxLuceneBench.java -- the Lucene side of kidx_bench's Lucene peer
 * (bench/peer_lucene.c starts it and talks to it through its standard
 * input and output; bench/README.md describes the set-up).
 *
 *   java -cp CLASSES:lucene-core.jar:lucene-analyzers-common.jar \
 *        KidxLuceneBench index DIR
 *   java ... KidxLuceneBench search DIR LIMIT any|all WARMUP_PASSES
 *
 * Protocol: binary, big-endian (Java's DataInput), requests on stdin,
 * replies on stdout; anything else goes to stderr.
 *
 *   index:  the driver opens an IndexWriter on DIR (a new directory) and
 *           replies "R".  Then, per document: 'D', u32 id length,
 *           u32 title length, u32 body length, the three byte strings
 *           (UTF-8).  'C' commits: forceMerge(1), then commit(); reply
 *           "R".  'X' closes the writer and exits.
 *   search: the driver opens DIR; the request is u32 count, then count
 *           queries as u32 length + UTF-8 bytes.  It analyses each into a
 *           BooleanQuery (SHOULD clauses for any, MUST for all), runs all
 *           of them WARMUP_PASSES times (untimed, for the JIT), and replies
 *           "R".  Then 'S' + u32 i runs query i, timed with
 *           System.nanoTime(), and replies 'H', u32 hits, u64 nanoseconds.
 *           'X' exits.
 *   Errors: reply "E" + u32 length + message, and exit 1.
 *
 * Analysis matches kidx's defaults as closely as Lucene's own parts allow:
 * StandardTokenizer (UAX #29 words), LowerCaseFilter, ASCIIFoldingFilter
 * (accents removed), SnowballFilter with the English (Porter2) stemmer, no
 * stop words.  One field, "text": the title is added twice and the body
 * once, so a title word counts as two body words, kidx's default field
 * weights.  The document id is stored (as kidx stores ids).  Similarity
 * BM25Similarity(1.2, 0.75), kidx's k1 and b.  Top 10 through
 * TopScoreDocCollector with Lucene 8's default total-hits threshold
 * (1000), so block-max WAND may skip documents that cannot make the top
 * 10.  No query cache (kidx has none).
 */

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopScoreDocCollector;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.tartarus.snowball.ext.EnglishStemmer;

public final class KidxLuceneBench {
  static final float K1 = 1.2f;
  static final float B = 0.75f;
  static final String FIELD = "text";
  /* Lucene 8's IndexSearcher default: exact hit counts up to 1000, then
   * the collector may skip non-competitive documents. */
  static final int TOTAL_HITS_THRESHOLD = 1000;
  /* kidx's default RAM budget. */
  static final double RAM_BUFFER_MB = 64.0;

  /* kidx's default analysis, as far as Lucene's parts go. */
  static final class KidxAnalyzer extends Analyzer {
    @Override
    protected TokenStreamComponents createComponents(String fieldName) {
      StandardTokenizer source = new StandardTokenizer();
      TokenStream ts = new LowerCaseFilter(source);
      ts = new ASCIIFoldingFilter(ts);
      ts = new SnowballFilter(ts, new EnglishStemmer());
      return new TokenStreamComponents(source, ts);
    }
  }

  private final DataInputStream in =
      new DataInputStream(new BufferedInputStream(System.in, 1 << 20));
  private final DataOutputStream out = new DataOutputStream(
      new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16));

  public static void main(String[] args) {
    KidxLuceneBench b = new KidxLuceneBench();
    try {
      if (args.length == 2 && args[0].equals("index")) {
        b.index(args[1]);
      } else if (args.length == 5 && args[0].equals("search")) {
        b.search(args[1], Integer.parseInt(args[2]), args[3].equals("all"),
                 Integer.parseInt(args[4]));
      } else {
        throw new IllegalArgumentException(
            "usage: KidxLuceneBench index DIR | search DIR LIMIT any|all WARMUP");
      }
    } catch (Throwable t) {
      b.error(t.toString());
      System.exit(1);
    }
  }

  private void error(String msg) {
    try {
      byte[] m = msg.getBytes(StandardCharsets.UTF_8);
      out.writeByte('E');
      out.writeInt(m.length);
      out.write(m);
      out.flush();
    } catch (IOException e) {
      System.err.println("KidxLuceneBench: " + msg);
    }
  }

  private void ready() throws IOException {
    out.writeByte('R');
    out.flush();
  }

  private String readString(int len) throws IOException {
    byte[] b = new byte[len];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private void index(String path) throws IOException {
    Analyzer analyzer = new KidxAnalyzer();
    IndexWriterConfig cfg = new IndexWriterConfig(analyzer);
    cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    cfg.setSimilarity(new BM25Similarity(K1, B));
    cfg.setRAMBufferSizeMB(RAM_BUFFER_MB);
    cfg.setCommitOnClose(false);
    try (Directory dir = FSDirectory.open(Paths.get(path));
         IndexWriter w = new IndexWriter(dir, cfg)) {
      ready();
      for (;;) {
        int op;
        try {
          op = in.readUnsignedByte();
        } catch (EOFException e) {
          throw new IOException("kidx_bench closed the pipe");
        }
        if (op == 'D') {
          int idLen = in.readInt(), titleLen = in.readInt(), bodyLen = in.readInt();
          String id = readString(idLen);
          String title = readString(titleLen);
          String body = readString(bodyLen);
          Document doc = new Document();
          doc.add(new StoredField("id", id));
          doc.add(new TextField(FIELD, title, Field.Store.NO));
          doc.add(new TextField(FIELD, title, Field.Store.NO));
          doc.add(new TextField(FIELD, body, Field.Store.NO));
          w.addDocument(doc);
        } else if (op == 'C') {
          w.forceMerge(1);
          w.commit();
          ready();
        } else if (op == 'X') {
          break;
        } else {
          throw new IOException("unknown request " + op);
        }
      }
    }
  }

  private static List<String> terms(Analyzer a, String text) throws IOException {
    Set<String> seen = new LinkedHashSet<>();
    try (TokenStream ts = a.tokenStream(FIELD, text)) {
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      while (ts.incrementToken())
        seen.add(term.toString());
      ts.end();
    }
    return new ArrayList<>(seen);
  }

  private long sink;

  private int run(IndexSearcher searcher, Query q, int limit) throws IOException {
    TopScoreDocCollector c = TopScoreDocCollector.create(limit, TOTAL_HITS_THRESHOLD);
    searcher.search(q, c);
    TopDocs td = c.topDocs();
    for (ScoreDoc sd : td.scoreDocs)
      sink += sd.doc + Float.floatToRawIntBits(sd.score);
    return td.scoreDocs.length;
  }

  private void search(String path, int limit, boolean all, int warmup)
      throws IOException {
    Analyzer analyzer = new KidxAnalyzer();
    try (Directory dir = FSDirectory.open(Paths.get(path));
         DirectoryReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      searcher.setSimilarity(new BM25Similarity(K1, B));
      searcher.setQueryCache(null);
      int n = in.readInt();
      Query[] queries = new Query[n];
      for (int i = 0; i < n; i++) {
        String q = readString(in.readInt());
        List<String> ts = terms(analyzer, q);
        if (ts.isEmpty())
          throw new IOException("query \"" + q + "\": no searchable word");
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (String t : ts)
          b.add(new TermQuery(new Term(FIELD, t)),
                all ? BooleanClause.Occur.MUST : BooleanClause.Occur.SHOULD);
        queries[i] = b.build();
      }
      for (int p = 0; p < warmup; p++)
        for (Query q : queries)
          run(searcher, q, limit);
      ready();
      for (;;) {
        int op = in.readUnsignedByte();
        if (op == 'S') {
          int i = in.readInt();
          long t0 = System.nanoTime();
          int hits = run(searcher, queries[i], limit);
          long t1 = System.nanoTime();
          out.writeByte('H');
          out.writeInt(hits);
          out.writeLong(t1 - t0);
          out.flush();
        } else if (op == 'X') {
          break;
        } else {
          throw new IOException("unknown request " + op);
        }
      }
    }
    if (sink == 42)
      System.err.print("");
  }
}
