/* .dockerignore reading and matching with Docker's exact semantics, after
 * moby/patternmatcher at 5a6d842 (ignorefile.ReadAll, New, Pattern.compile,
 * MatchesOrParentMatches) and the Go 1.19 library it stands on
 * (strings.TrimSpace, path/filepath.Clean and Match, text/scanner, and the
 * RE2 syntax of package regexp).
 *
 * patternmatcher turns a pattern into one of four matchers: an exact string,
 * a prefix (`abc/` then `**`), a suffix (`**` first) or a Go regexp.  The regexp is
 * built from the pattern text with only `.+()|{}$` escaped, so whatever else
 * RE2 gives a meaning to keeps it: `\d`, `\b`, `\Q`, `[[:alpha:]]`, a `^`
 * outside brackets, ranges checked only when the regexp is compiled (the
 * first time the pattern is evaluated).  To mean the same thing we build the
 * same regexp text and run it through a small RE2-compatible parser and a
 * Thompson NFA (linear time, no backtracking): ignore_regexp.c.  The one
 * divergence: of the Unicode classes (`\pL`, `\p{Greek}`) only the one-letter
 * categories and Any are known; the others are refused, not matched.
 * Patterns and paths are byte strings: invalid UTF-8 decodes as U+FFFD of
 * width 1, as in Go. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/ignore.h"
#include "build/ignore_int.h"
#include "util/gostr.h"
#include "util/path.h"
#include "util/strbuf.h"

/* bufio.Scanner's MaxScanTokenSize: ReadAll fails on a longer line. */
#define MAX_LINE 65536

/* ---- Go strings: TrimSpace, Clean ---- */

/* strings.TrimSpace on s[*start, *end). */
static void trim_space(const char *s, size_t *start, size_t *end)
{
  *start += mtk_go_space_prefix(s + *start, *end - *start);
  *end = *start + mtk_go_trim_right_len(s + *start, *end - *start);
}

/* filepath.Clean of path[0, n) (which holds no NUL byte). */
static char *clean_n(const char *path, size_t n)
{
  mtk_autofree char *p = mtk_xstrndup(path, n);
  return mtk_path_clean(p);
}

/* ---- path/filepath.Match (Go 1.19) ---- */

struct span {
  const char *p; /* borrowed */
  size_t n;      /* bytes */
};

static void span_skip(struct span *s, size_t k)
{
  s->p += k;
  s->n -= k;
}

static void scan_chunk(struct span *pat, bool *star, struct span *chunk)
{
  *star = false;
  while (pat->n > 0 && pat->p[0] == '*')
    span_skip(pat, 1), *star = true;
  bool inrange = false;
  size_t i;
  for (i = 0; i < pat->n; i++) {
    char c = pat->p[i];
    if (c == '\\') {
      if (i + 1 < pat->n)
        i++;
    } else if (c == '[') {
      inrange = true;
    } else if (c == ']') {
      inrange = false;
    } else if (c == '*' && !inrange) {
      break;
    }
  }
  *chunk = (struct span){pat->p, i};
  span_skip(pat, i);
}

/* getEsc: one possibly escaped character of a class; -1 when malformed. */
static int get_esc(struct span *chunk, int32_t *r)
{
  if (chunk->n == 0 || chunk->p[0] == '-' || chunk->p[0] == ']')
    return -1;
  if (chunk->p[0] == '\\') {
    span_skip(chunk, 1);
    if (chunk->n == 0)
      return -1;
  }
  int w = mtk_ignore_utf8_decode(chunk->p, chunk->n, r);
  bool bad = *r == MTK_IGNORE_RUNE_ERROR && w == 1;
  span_skip(chunk, (size_t) w);
  return bad || chunk->n == 0 ? -1 : 0;
}

/* matchChunk: 1 and *rest when chunk matches the start of s, 0 when not,
 * -1 when the chunk is malformed (checked to its end even after a miss). */
static int match_chunk(struct span chunk, struct span s, struct span *rest)
{
  bool failed = false;
  while (chunk.n > 0) {
    if (!failed && s.n == 0)
      failed = true;
    char c = chunk.p[0];
    if (c == '[') {
      int32_t r = 0, lo, hi;
      if (!failed)
        span_skip(&s, (size_t) mtk_ignore_utf8_decode(s.p, s.n, &r));
      span_skip(&chunk, 1);
      bool negated = chunk.n > 0 && chunk.p[0] == '^';
      if (negated)
        span_skip(&chunk, 1);
      bool match = false;
      for (int nrange = 0;; nrange++) {
        if (chunk.n > 0 && chunk.p[0] == ']' && nrange > 0) {
          span_skip(&chunk, 1);
          break;
        }
        if (get_esc(&chunk, &lo) < 0)
          return -1;
        hi = lo;
        if (chunk.p[0] == '-') {
          span_skip(&chunk, 1);
          if (get_esc(&chunk, &hi) < 0)
            return -1;
        }
        if (lo <= r && r <= hi)
          match = true;
      }
      if (match == negated)
        failed = true;
      continue;
    }
    if (c == '?') {
      if (!failed) {
        int32_t r;
        if (s.p[0] == '/')
          failed = true;
        span_skip(&s, (size_t) mtk_ignore_utf8_decode(s.p, s.n, &r));
      }
      span_skip(&chunk, 1);
      continue;
    }
    if (c == '\\') {
      span_skip(&chunk, 1);
      if (chunk.n == 0)
        return -1;
    }
    if (!failed) {
      if (chunk.p[0] != s.p[0])
        failed = true;
      span_skip(&s, 1);
    }
    span_skip(&chunk, 1);
  }
  if (failed)
    return 0;
  *rest = s;
  return 1;
}

/* filepath.Match: 1 match, 0 no match, -1 ErrBadPattern. */
static int go_match(struct span pat, struct span name)
{
  while (pat.n > 0) {
    bool star;
    struct span chunk, t;
    scan_chunk(&pat, &star, &chunk);
    if (star && chunk.n == 0)
      return memchr(name.p, '/', name.n) == NULL;
    int m = match_chunk(chunk, name, &t);
    if (m == 1 && (t.n == 0 || pat.n > 0)) {
      name = t;
      continue;
    }
    if (m < 0)
      return -1;
    bool advanced = false;
    for (size_t i = 0; star && !advanced && i < name.n && name.p[i] != '/'; i++) {
      m = match_chunk(chunk, (struct span){name.p + i + 1, name.n - i - 1}, &t);
      if (m == 1 && pat.n == 0 && t.n > 0)
        continue;
      if (m == 1)
        name = t, advanced = true;
      else if (m < 0)
        return -1;
    }
    if (!advanced)
      return 0;
  }
  return name.n == 0;
}

int mtk_ignore_glob_match(const char *pattern, const char *name, bool *matched,
                          struct mtk_err **err)
{
  int m = go_match((struct span){pattern, strlen(pattern)}, (struct span){name, strlen(name)});
  if (m < 0)
    return mtk_err_set(err, MTK_E_INVALID, "pattern \"%s\": syntax error in pattern", pattern);
  *matched = m == 1;
  return 0;
}

/* ---- ignorefile.ReadAll ---- */

struct plist {
  char **pats; /* owned, NULL-terminated */
  int *lines;  /* owned: 1-based source line of each pattern */
  size_t n, cap;
};

static void plist_add(struct plist *l, char *pat, int line)
{
  if (l->n + 2 > l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->pats = mtk_xrealloc(l->pats, l->cap * sizeof(*l->pats));
    l->lines = mtk_xrealloc(l->lines, l->cap * sizeof(*l->lines));
  }
  l->lines[l->n] = line;
  l->pats[l->n++] = pat;
  l->pats[l->n] = NULL;
}

static void plist_free(struct plist *l)
{
  mtk_ignore_patterns_free(l->pats, l->n);
  free(l->lines);
  *l = (struct plist){0};
}

/* One non-comment line (BOM and "\n" removed) to its pattern, or NULL when blank. */
static char *read_line(const char *s, size_t n)
{
  size_t a = 0, b = n;
  trim_space(s, &a, &b);
  if (a == b)
    return NULL;
  bool invert = s[a] == '!';
  if (invert) {
    a++;
    trim_space(s, &a, &b);
  }
  mtk_autofree char *p = NULL;
  if (a < b) {
    p = clean_n(s + a, b - a);
    if (p[0] == '/' && p[1] != '\0')
      memmove(p, p + 1, strlen(p));
  }
  return mtk_xasprintf("%s%s", invert ? "!" : "", p ? p : "");
}

static int read_all(const char *text, size_t len, const char *file, struct plist *out,
                    struct mtk_err **err)
{
  size_t pos = 0;
  for (int line = 1; pos < len; line++) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos, next = pos + n + (nl != NULL);
    if (n >= MAX_LINE) {
      plist_free(out);
      return mtk_err_set_at(err, MTK_E_INVALID, file, line, 0,
                            "line too long (%zu bytes; Docker reads at most %d)", n, MAX_LINE - 1);
    }
    if (line == 1 && n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
      pos += 3, n -= 3;
    if (n > 0 && text[pos] == '#') {
      pos = next;
      continue;
    }
    /* Go strings may hold NUL bytes, ours do not: refuse rather than truncate. */
    if (memchr(text + pos, '\0', n)) {
      plist_free(out);
      return mtk_err_set_at(err, MTK_E_INVALID, file, line, 0, "NUL byte in a pattern");
    }
    char *p = read_line(text + pos, n);
    if (p)
      plist_add(out, p, line);
    pos = next;
  }
  return 0;
}

int mtk_ignore_read(const char *text, size_t len, char ***patterns, size_t *n, struct mtk_err **err)
{
  struct plist l = {0};
  if (read_all(text, len, NULL, &l, err) < 0)
    return -1;
  if (!l.pats)
    l.pats = mtk_xcalloc(1, sizeof(*l.pats));
  free(l.lines);
  *patterns = l.pats;
  *n = l.n;
  return 0;
}

void mtk_ignore_patterns_free(char **patterns, size_t n)
{
  for (size_t i = 0; patterns && i < n; i++)
    free(patterns[i]);
  free(patterns);
}

/* ---- patternmatcher ---- */

enum ptype { PT_EXACT, PT_PREFIX, PT_SUFFIX, PT_REGEXP };

struct pattern {
  char *text;               /* owned: cleaned, without its '!' */
  size_t len;               /* strlen(text) */
  bool exclusion;           /* it had a '!' */
  int line;                 /* source line, 0 when unknown */
  enum ptype type;          /* how it matches */
  struct mtk_ignore_re *re; /* owned: the program of a PT_REGEXP */
  char *re_error;           /* owned: why Go cannot compile its regexp, else NULL */
};

struct mtk_ignore {
  struct pattern *pats; /* owned */
  size_t n;
  bool exceptions; /* some pattern has a '!' */
  char *file;      /* owned: the ignore file, for messages (may be NULL) */
};

/* text/scanner over a pattern: Next/Peek of runes, a leading BOM skipped. */
struct rscan {
  const char *s; /* borrowed */
  size_t n, pos;
  int32_t ch; /* the peeked rune, -1 at the end */
};

static int32_t rscan_raw(struct rscan *sc)
{
  int32_t r;
  if (sc->pos >= sc->n)
    return -1;
  sc->pos += (size_t) mtk_ignore_utf8_decode(sc->s + sc->pos, sc->n - sc->pos, &r);
  return r;
}

static int32_t rscan_next(struct rscan *sc)
{
  int32_t c = sc->ch;
  if (c != -1)
    sc->ch = rscan_raw(sc);
  return c;
}

/* Pattern.compile: picks the matcher and writes the regexp Go would build. */
static void pattern_compile(struct pattern *pt)
{
  mtk_autostrbuf re = MTK_STRBUF_INIT;
  struct rscan sc = {pt->text, pt->len, 0, 0};
  enum ptype type = PT_EXACT;
  sc.ch = rscan_raw(&sc);
  if (sc.ch == 0xFEFF)
    sc.ch = rscan_raw(&sc);
  mtk_strbuf_addc(&re, '^');
  for (int i = 0; sc.ch != -1; i++) {
    int32_t ch = rscan_next(&sc);
    if (ch == '*' && sc.ch == '*') {
      rscan_next(&sc);
      if (sc.ch == '/')
        rscan_next(&sc);
      if (sc.ch == -1 && type == PT_EXACT) {
        type = PT_PREFIX;
      } else {
        mtk_strbuf_adds(&re, sc.ch == -1 ? ".*" : "(.*/)?");
        type = PT_REGEXP;
      }
      if (i == 0)
        type = PT_SUFFIX;
    } else if (ch == '*' || ch == '?') {
      mtk_strbuf_adds(&re, ch == '*' ? "[^/]*" : "[^/]");
      type = PT_REGEXP;
    } else if (ch == '.' || ch == '+' || ch == '(' || ch == ')' || ch == '$') {
      /* patternmatcher also means to escape `|{}`, but its byte-wide bitmap
       * drops them: they reach the regexp as alternation and repetition. */
      mtk_strbuf_addc(&re, '\\');
      mtk_strbuf_addc(&re, (char) ch);
    } else if (ch == '\\') {
      mtk_strbuf_addc(&re, '\\');
      if (sc.ch != -1) {
        mtk_utf8_append(&re, (uint32_t) rscan_next(&sc));
        type = PT_REGEXP;
      }
    } else if (ch == '[' || ch == ']') {
      mtk_strbuf_addc(&re, (char) ch);
      type = PT_REGEXP;
    } else {
      mtk_utf8_append(&re, (uint32_t) ch);
    }
  }
  pt->type = type;
  if (type != PT_REGEXP)
    return;
  mtk_strbuf_addc(&re, '$');
  pt->re = mtk_ignore_re_compile(re.buf, re.len, &pt->re_error);
}

static bool has_prefix(const char *s, size_t n, const char *p, size_t pn)
{
  return pn <= n && memcmp(s, p, pn) == 0;
}

/* Pattern.match of one path (s, n); the caller has checked re_error. */
static bool pattern_match(const struct pattern *pt, const char *s, size_t n)
{
  switch (pt->type) {
    case PT_EXACT:
      return n == pt->len && memcmp(s, pt->text, n) == 0;
    case PT_PREFIX:
      return has_prefix(s, n, pt->text, pt->len - 2);
    case PT_SUFFIX: {
      const char *suf = pt->text + 2;
      size_t sn = pt->len - 2;
      if (sn <= n && memcmp(s + n - sn, suf, sn) == 0)
        return true;
      return suf[0] == '/' && n == sn - 1 && memcmp(s, suf + 1, n) == 0;
    }
    case PT_REGEXP:
      return mtk_ignore_re_match(pt->re, s, n);
  }
  return false;
}

static int pattern_error(const struct mtk_ignore *m, const struct pattern *pt, struct mtk_err **err)
{
  return mtk_err_set_at(err, MTK_E_INVALID, m->file, pt->line, 0,
                        "invalid pattern \"%s%s\": Docker's matcher rejects its regexp (%s)",
                        pt->exclusion ? "!" : "", pt->text, pt->re_error);
}

int mtk_ignore_matches(const struct mtk_ignore *m, const char *path, bool *excluded,
                       struct mtk_err **err)
{
  size_t n = strlen(path);
  mtk_autofree char *clean = mtk_path_clean(path);
  *excluded = false;
  if (strcmp(clean, ".") == 0)
    return 0; /* the context root cannot be excluded */
  /* filepath.Dir: the cleaned text before the last '/'. */
  const char *slash = memrchr(path, '/', n);
  mtk_autofree char *parent = clean_n(path, slash ? (size_t) (slash - path) + 1 : 0);
  size_t pn = strlen(parent);
  bool matched = false;
  for (size_t i = 0; i < m->n; i++) {
    const struct pattern *pt = &m->pats[i];
    if (pt->exclusion != matched)
      continue;
    if (pt->re_error)
      return pattern_error(m, pt, err);
    bool hit = pattern_match(pt, path, n);
    /* Or one of the parents: "a", "a/b", ... of filepath.Dir(path). */
    for (size_t k = 0; !hit && strcmp(parent, ".") != 0 && k <= pn; k++)
      if (k == pn || parent[k] == '/')
        hit = pattern_match(pt, parent, k);
    if (hit)
      matched = !pt->exclusion;
  }
  *excluded = matched;
  return 0;
}

static struct mtk_ignore *compile_all(const char *const *patterns, const int *lines, size_t n,
                                      const char *file, struct mtk_err **err)
{
  mtk_autoptr(mtk_ignore) m = mtk_xcalloc(1, sizeof(*m));
  m->pats = mtk_xcalloc(n ? n : 1, sizeof(*m->pats));
  m->file = file ? mtk_xstrdup(file) : NULL;
  for (size_t i = 0; i < n; i++) {
    size_t a = 0, b = strlen(patterns[i]);
    int line = lines ? lines[i] : 0;
    trim_space(patterns[i], &a, &b);
    if (a == b)
      continue;
    mtk_autofree char *p = clean_n(patterns[i] + a, b - a);
    struct pattern *pt = &m->pats[m->n];
    bool exclusion = p[0] == '!';
    const char *text = p + exclusion;
    if (exclusion && text[0] == '\0') {
      mtk_err_set_at(err, MTK_E_INVALID, file, line, 0, "illegal exclusion pattern: \"!\"");
      return NULL;
    }
    if (go_match((struct span){text, strlen(text)}, (struct span){".", 1}) < 0) {
      mtk_err_set_at(err, MTK_E_INVALID, file, line, 0,
                     "invalid pattern \"%s\": syntax error in pattern", p);
      return NULL;
    }
    *pt = (struct pattern){
        .text = mtk_xstrdup(text), .len = strlen(text), .exclusion = exclusion, .line = line};
    m->n++;
    m->exceptions |= exclusion;
    pattern_compile(pt);
  }
  return mtk_steal_ptr(&m);
}

struct mtk_ignore *mtk_ignore_new(const char *const *patterns, size_t n, struct mtk_err **err)
{
  return compile_all(patterns, NULL, n, NULL, err);
}

struct mtk_ignore *mtk_ignore_load(const char *text, size_t len, const char *file,
                                   struct mtk_err **err)
{
  struct plist l = {0};
  if (read_all(text, len, file, &l, err) < 0)
    return NULL;
  struct mtk_ignore *m = compile_all((const char *const *) l.pats, l.lines, l.n, file, err);
  plist_free(&l);
  return m;
}

bool mtk_ignore_has_exceptions(const struct mtk_ignore *m)
{
  return m->exceptions;
}

size_t mtk_ignore_len(const struct mtk_ignore *m)
{
  return m->n;
}

const char *mtk_ignore_pattern(const struct mtk_ignore *m, size_t i, bool *exception)
{
  if (exception)
    *exception = m->pats[i].exclusion;
  return m->pats[i].text;
}

void mtk_ignore_free(struct mtk_ignore *m)
{
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++) {
    free(m->pats[i].text);
    mtk_ignore_re_free(m->pats[i].re);
    free(m->pats[i].re_error);
  }
  free(m->pats);
  free(m->file);
  free(m);
}
