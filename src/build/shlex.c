/* The shell-word lexer of Dockerfile instructions (see shlex.h): BuildKit's Lex.  A word is
 * read rune by rune, as Go's text/scanner reads it (a leading U+FEFF is skipped, an invalid
 * UTF-8 byte is U+FFFD), by a recursive descent: process_until() runs over the word until a
 * stop character, handing `$`, quotes and `<<` to their own readers; ${VAR<op>WORD} reads
 * WORD with a nested process_until().  Besides the expanded string it collects the words
 * that ProcessWords returns, with BuildKit's quirk kept: all levels share one buffer for the
 * word being built, and a nested level empties it.  The pattern operators live in
 * shlex_glob.c. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "build/shlex.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

#define END (-1) /* text/scanner.EOF: no rune left */

/* ${...} nest by recursion: a 64 KiB line could nest 13000 deep and overflow the C stack
   (Go's grows).  No real Dockerfile comes close to this limit. */
#define MAX_DEPTH 256

struct mtk_shlex {
  uint32_t escape;              /* the escape token: '\\' or '`' */
  unsigned flags;               /* enum mtk_shlex_flags */
  const char *src;              /* borrowed: the word of the call in progress */
  size_t len;                   /* bytes of src */
  size_t pos;                   /* offset of the next rune */
  bool raw_escapes;             /* escape tokens are kept (flag, or inside a pattern) */
  unsigned depth;               /* ${...} being read, one inside the other */
  size_t limit;                 /* longest expansion allowed, in bytes */
  const struct mtk_strmap *env; /* borrowed: the variables, NULL = none */
  struct mtk_strmap *matched;   /* borrowed, may be NULL: names found set */
  struct mtk_strmap *unmatched; /* borrowed, may be NULL: names found unset */
  struct mtk_strbuf wbuf;       /* the word being built, shared by all levels (as BuildKit) */
};

/* The words of one level of process_until (BuildKit's wordsStruct). */
struct words {
  struct mtk_strbuf *buf; /* borrowed: the lexer's shared wbuf */
  char **v;               /* owned: words done (NULL-terminated) */
  size_t *lens;           /* owned: their lengths (a word may hold NUL bytes) */
  size_t n;               /* entries of v */
  size_t cap;             /* entries allocated */
  bool in_word;           /* a word has begun (possibly still empty: "''") */
};

static void words_free(struct words *w)
{
  for (size_t i = 0; i < w->n; i++)
    free(w->v[i]);
  free(w->v);
  free(w->lens);
  w->v = NULL;
  w->lens = NULL;
  w->n = w->cap = 0;
}

#define mtk_autowords __attribute__((cleanup(words_free))) struct words

/* Ends the current word, if it has any text. */
static void words_finish(struct words *w)
{
  if (w->buf->len == 0)
    return;
  if (w->n + 1 >= w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->v = mtk_xrealloc(w->v, w->cap * sizeof(*w->v));
    w->lens = mtk_xrealloc(w->lens, w->cap * sizeof(*w->lens));
  }
  w->lens[w->n] = w->buf->len;
  w->v[w->n++] = mtk_strbuf_steal(w->buf);
  w->v[w->n] = NULL;
  w->in_word = false;
}

static void words_add_raw_char(struct words *w, uint32_t r)
{
  mtk_utf8_append(w->buf, r);
  w->in_word = true;
}

/* An unquoted rune: white space ends the word, anything else extends it. */
static void words_add_char(struct words *w, uint32_t r)
{
  if (!mtk_go_is_space(r))
    words_add_raw_char(w, r);
  else if (w->in_word && w->buf->len > 0)
    words_finish(w);
}

/* Text from an unquoted $VAR: split like typed text (rune by rune, invalid bytes as U+FFFD). */
static void words_add_string(struct words *w, const char *s, size_t n)
{
  uint32_t r;
  for (size_t i = 0; i < n;) {
    i += mtk_utf8_decode(s + i, n - i, &r);
    words_add_char(w, r);
  }
}

static void words_add_raw_string(struct words *w, const char *s, size_t n)
{
  mtk_strbuf_add(w->buf, s, n);
  w->in_word = true;
}

/* ---- the scanner ---- */

static int32_t peek_w(const struct mtk_shlex *l, size_t *w)
{
  uint32_t r;
  if (l->pos >= l->len) {
    *w = 0;
    return END;
  }
  *w = mtk_utf8_decode(l->src + l->pos, l->len - l->pos, &r);
  return (int32_t) r;
}

static int32_t peek(const struct mtk_shlex *l)
{
  size_t w;
  return peek_w(l, &w);
}

static int32_t next(struct mtk_shlex *l)
{
  size_t w;
  int32_t r = peek_w(l, &w);
  l->pos += w;
  return r;
}

/* Appends a rune of the word (END, which BuildKit prints as string(rune(-1)), is U+FFFD). */
static void add(struct mtk_strbuf *sb, int32_t r)
{
  mtk_utf8_append(sb, r < 0 ? 0xFFFD : (uint32_t) r);
}

static int fail(struct mtk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct mtk_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_err_free(err);
  int rc = mtk_err_setv(err, MTK_E_BUILD, fmt, ap);
  va_end(ap);
  return rc;
}

/* BuildKit's getEnv: the value of name ("" when unset), recording the name as matched or
   unmatched.  Returns whether it is set. */
static bool get_env(struct mtk_shlex *l, const char *name, const char **value)
{
  const char *v = l->env ? mtk_strmap_get(l->env, name, NULL) : NULL;
  struct mtk_strmap *record = v ? l->matched : l->unmatched;
  if (record)
    mtk_strmap_set(record, name, NULL);
  *value = v ? v : "";
  return v != NULL;
}

static int process_until(struct mtk_shlex *l, int32_t stop, bool raw_escapes,
                         struct mtk_strbuf *res, struct words *w, struct mtk_err **err);

/* Refuses an expansion past the size limit ($X$X$X... with a large X, nested ${X//p/r}). */
static int check_size(const struct mtk_shlex *l, const struct mtk_strbuf *sb, struct mtk_err **err)
{
  if (sb->len <= l->limit)
    return 0;
  return fail(err, "expansion longer than %zu bytes", l->limit);
}
static int process_dollar(struct mtk_shlex *l, struct mtk_strbuf *out, struct mtk_err **err);

/* ---- names, quotes, heredoc markers ---- */

/* The special parameters of POSIX sh 2.5.2 (never set in a Dockerfile). */
static bool is_special_param(int32_t ch)
{
  return ch > 0 && ch < 0x80 && strchr("@*#?-$!0", (int) ch) != NULL;
}

/* A variable name: a run of digits (a positional parameter), one special parameter, or
   letters, digits and `_`; "" when none starts here. */
static char *process_name(struct mtk_shlex *l)
{
  mtk_autostrbuf name = MTK_STRBUF_INIT;
  int32_t ch;
  while ((ch = peek(l)) != END) {
    if (name.len == 0 && mtk_go_is_digit((uint32_t) ch)) {
      while ((ch = peek(l)) != END && mtk_go_is_digit((uint32_t) ch))
        add(&name, next(l));
      break;
    }
    if (name.len == 0 && is_special_param(ch)) {
      add(&name, next(l));
      break;
    }
    if (!mtk_go_is_letter((uint32_t) ch) && !mtk_go_is_digit((uint32_t) ch) && ch != '_')
      break;
    add(&name, next(l));
  }
  return mtk_strbuf_steal(&name);
}

/* '...': every rune as it is up to the next quote (the quotes too with RawQuotes). */
static int process_single_quote(struct mtk_shlex *l, struct mtk_strbuf *out, struct mtk_err **err)
{
  bool raw = l->flags & MTK_SHLEX_RAW_QUOTES;
  int32_t ch = next(l);
  if (raw)
    add(out, ch);
  for (;;) {
    ch = next(l);
    if (ch == END)
      return fail(err, "unexpected end of statement while looking for matching single-quote");
    if (ch == '\'') {
      if (raw)
        add(out, ch);
      return 0;
    }
    add(out, ch);
  }
}

/* "...": $ expands; the escape token escapes only `"`, `$` and itself, else it stays. */
static int process_double_quote(struct mtk_shlex *l, struct mtk_strbuf *out, struct mtk_err **err)
{
  bool raw = l->flags & MTK_SHLEX_RAW_QUOTES;
  int32_t ch = next(l);
  if (raw)
    add(out, ch);
  for (;;) {
    int32_t p = peek(l);
    if (p == END)
      return fail(err, "unexpected end of statement while looking for matching double-quote");
    if (p == '"') {
      ch = next(l);
      if (raw)
        add(out, ch);
      return 0;
    }
    if (p == '$') {
      if (process_dollar(l, out, err) < 0 || check_size(l, out, err) < 0)
        return -1;
      continue;
    }
    ch = next(l);
    if ((uint32_t) ch == l->escape) {
      if (l->raw_escapes)
        add(out, ch);
      p = peek(l);
      if (p == END)
        continue; /* BuildKit drops it, then misses the closing quote */
      if (p == '"' || p == '$' || (uint32_t) p == l->escape)
        ch = next(l);
    }
    add(out, ch);
  }
}

/* `<` as it is, or `<<` with the blanks after it (kept in the same word, for heredocs). */
static int process_heredoc_marker(struct mtk_shlex *l, struct mtk_strbuf *out)
{
  int32_t ch;
  next(l);
  if (peek(l) != '<') {
    mtk_strbuf_addc(out, '<');
    return 0;
  }
  next(l);
  mtk_strbuf_adds(out, "<<");
  while ((ch = peek(l)) == '\t' || ch == '\r' || ch == ' ')
    add(out, next(l));
  return 0;
}

/* ---- ${...} ---- */

/* ${NAME-w} ${NAME+w} ${NAME?w} ${NAME#p} ${NAME%p} and the `:` forms; `ch` is the rune read
   after the name (`:` or the operator), chs what was read so far for error texts. */
static int process_modifier(struct mtk_shlex *l, const char *name, int32_t ch,
                            struct mtk_strbuf *chs, struct mtk_strbuf *out, struct mtk_err **err)
{
  mtk_autostrbuf word = MTK_STRBUF_INIT;
  mtk_autowords w = {0};
  bool null_is_unset = false;
  const char *value;
  if (ch == ':') {
    null_is_unset = true;
    ch = next(l);
    add(chs, ch);
  }
  bool trim = ch == '#' || ch == '%';
  if (null_is_unset && trim)
    return fail(err, "unsupported modifier (%s) in substitution", mtk_strbuf_str(chs));
  if (process_until(l, '}', trim, &word, &w, err) < 0) {
    if (peek(l) == END)
      return fail(err, "syntax error: missing '}'");
    return -1;
  }
  bool set = get_env(l, name, &value);
  if ((l->flags & MTK_SHLEX_SKIP_UNSET_ENV) && !set) {
    /* As written; by length, the word may hold NUL bytes (a Dockerfile may). */
    mtk_strbuf_addf(out, "${%s", name);
    mtk_strbuf_add(out, mtk_strbuf_str(chs), chs->len);
    mtk_strbuf_add(out, mtk_strbuf_str(&word), word.len);
    mtk_strbuf_addc(out, '}');
    return 0;
  }
  bool empty = !set || (null_is_unset && !*value);
  const char *wd = mtk_strbuf_str(&word);
  switch (ch) {
    case '-':
      mtk_strbuf_adds(out, empty ? wd : value);
      return 0;
    case '+':
      mtk_strbuf_adds(out, empty ? "" : wd);
      return 0;
    case '?':
      if (empty)
        return fail(err, "%s: %s", name,
                    *wd   ? wd
                    : set ? "is not allowed to be empty"
                          : "is not allowed to be unset");
      mtk_strbuf_adds(out, value);
      return 0;
    case '#':
    case '%': {
      /* `##` / `%%`: the longest match; the second operator char is the word's first. */
      bool greedy = wd[0] == (char) ch;
      mtk_autofree char *t = mtk_shlex_trim(value, wd + greedy, ch == '%', greedy, err);
      if (!t)
        return -1;
      mtk_strbuf_adds(out, t);
      return 0;
    }
    default:
      return fail(err, "unsupported modifier (%s) in substitution", mtk_strbuf_str(chs));
  }
}

/* ${NAME/pattern/replacement} and ${NAME//pattern/replacement}; escapes stay in both parts
   (the pattern reader needs them; the replacement keeps them, as BuildKit's does). */
static int process_replace(struct mtk_shlex *l, const char *name, struct mtk_strbuf *out,
                           struct mtk_err **err)
{
  mtk_autostrbuf pat = MTK_STRBUF_INIT;
  mtk_autostrbuf repl = MTK_STRBUF_INIT;
  mtk_autowords w1 = {0};
  mtk_autowords w2 = {0};
  const char *value;
  bool all = peek(l) == '/';
  if (all)
    next(l);
  if (process_until(l, '/', true, &pat, &w1, err) < 0)
    return peek(l) == END ? fail(err, "syntax error: missing '/' in ${}") : -1;
  if (process_until(l, '}', true, &repl, &w2, err) < 0)
    return peek(l) == END ? fail(err, "syntax error: missing '}'") : -1;
  bool set = get_env(l, name, &value);
  if ((l->flags & MTK_SHLEX_SKIP_UNSET_ENV) && !set) {
    mtk_strbuf_addf(out, "${%s/", name);
    mtk_strbuf_add(out, mtk_strbuf_str(&pat), pat.len);
    mtk_strbuf_addc(out, '/');
    mtk_strbuf_add(out, mtk_strbuf_str(&repl), repl.len);
    mtk_strbuf_addc(out, '}');
    return 0;
  }
  mtk_autofree char *r =
      mtk_shlex_replace(value, mtk_strbuf_str(&pat), mtk_strbuf_str(&repl), all, l->limit, err);
  if (!r)
    return -1;
  mtk_strbuf_adds(out, r);
  return 0;
}

/* ${...}, the `${` read. */
static int process_braced(struct mtk_shlex *l, struct mtk_strbuf *out, struct mtk_err **err)
{
  const char *value;
  bool skip_unset = l->flags & MTK_SHLEX_SKIP_UNSET_ENV;
  int32_t p = peek(l);
  if (p == END)
    return fail(err, "syntax error: missing '}'");
  if (p == '{' || p == '}' || p == ':')
    return fail(err, "syntax error: bad substitution");
  mtk_autofree char *name = process_name(l);
  mtk_autostrbuf chs = MTK_STRBUF_INIT;
  int32_t ch = next(l);
  add(&chs, ch);
  switch (ch) {
    case '}':
      if (!get_env(l, name, &value) && skip_unset)
        mtk_strbuf_addf(out, "${%s}", name);
      else
        mtk_strbuf_adds(out, value);
      return 0;
    case ':':
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
      return process_modifier(l, name, ch, &chs, out, err);
    case '/':
      return process_replace(l, name, out, err);
    default:
      return fail(err, "unsupported modifier (%s) in substitution", mtk_strbuf_str(&chs));
  }
}

/* $NAME or ${...}; a `$` that starts no name is itself. */
static int process_dollar(struct mtk_shlex *l, struct mtk_strbuf *out, struct mtk_err **err)
{
  const char *value;
  next(l);
  if (peek(l) != '{') {
    mtk_autofree char *name = process_name(l);
    if (!*name)
      mtk_strbuf_addc(out, '$');
    else if (!get_env(l, name, &value) && (l->flags & MTK_SHLEX_SKIP_UNSET_ENV))
      mtk_strbuf_addf(out, "$%s", name);
    else
      mtk_strbuf_adds(out, value);
    return 0;
  }
  next(l);
  if (l->depth >= MAX_DEPTH)
    return fail(err, "syntax error: ${...} nested more than %d deep", MAX_DEPTH);
  l->depth++;
  int rc = process_braced(l, out, err);
  l->depth--;
  return rc;
}

/* ---- the word ---- */

static bool is_special(const struct mtk_shlex *l, int32_t ch)
{
  if (ch == '$' || ch == '<')
    return true;
  return !(l->flags & MTK_SHLEX_SKIP_PROCESS_QUOTES) && (ch == '\'' || ch == '"');
}

static int process_special(struct mtk_shlex *l, int32_t ch, struct mtk_strbuf *out,
                           struct mtk_err **err)
{
  switch (ch) {
    case '$':
      return process_dollar(l, out, err);
    case '<':
      return process_heredoc_marker(l, out);
    case '\'':
      return process_single_quote(l, out, err);
    default:
      return process_double_quote(l, out, err);
  }
}

static int process_loop(struct mtk_shlex *l, int32_t stop, struct mtk_strbuf *res, struct words *w,
                        struct mtk_err **err)
{
  int32_t ch;
  while ((ch = peek(l)) != END) {
    if (stop != END && ch == stop) {
      next(l);
      words_finish(w);
      return 0;
    }
    if (is_special(l, ch)) {
      mtk_autostrbuf tmp = MTK_STRBUF_INIT;
      if (process_special(l, ch, &tmp, err) < 0)
        return -1;
      mtk_strbuf_add(res, mtk_strbuf_str(&tmp), tmp.len);
      if (check_size(l, res, err) < 0)
        return -1;
      /* Expanded text splits into words; quoted text and heredoc markers do not. */
      if (ch == '$')
        words_add_string(w, mtk_strbuf_str(&tmp), tmp.len);
      else
        words_add_raw_string(w, mtk_strbuf_str(&tmp), tmp.len);
      continue;
    }
    ch = next(l);
    if ((uint32_t) ch == l->escape) {
      if (l->raw_escapes) {
        words_add_raw_char(w, (uint32_t) ch);
        add(res, ch);
      }
      ch = next(l);
      if (ch == END)
        break; /* a trailing escape token is dropped */
      words_add_raw_char(w, (uint32_t) ch);
    } else {
      words_add_char(w, (uint32_t) ch);
    }
    add(res, ch);
  }
  if (stop != END) {
    mtk_autostrbuf s = MTK_STRBUF_INIT;
    add(&s, stop);
    return fail(err, "unexpected end of statement while looking for matching %s",
                mtk_strbuf_str(&s));
  }
  words_finish(w);
  return 0;
}

/* BuildKit's processStopOn: reads up to `stop` (consumed) or the end of the word (stop END),
   appending the expansion to res and the words to w.  Every level starts by emptying the
   shared word buffer, as BuildKit's does. */
static int process_until(struct mtk_shlex *l, int32_t stop, bool raw_escapes,
                         struct mtk_strbuf *res, struct words *w, struct mtk_err **err)
{
  bool saved = l->raw_escapes;
  mtk_strbuf_reset(&l->wbuf);
  w->buf = &l->wbuf;
  l->raw_escapes = raw_escapes;
  int rc = process_loop(l, stop, res, w, err);
  l->raw_escapes = saved;
  return rc;
}

/* One call of ProcessWord / ProcessWords / ProcessWordWithMatches on word[0..len). */
static int process(struct mtk_shlex *l, const char *word, size_t len, const struct mtk_strmap *env,
                   struct mtk_strmap *matched, struct mtk_strmap *unmatched, struct mtk_strbuf *res,
                   struct words *w, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  uint32_t r;
  l->src = word;
  l->len = len;
  l->pos = 0;
  /* text/scanner skips a byte order mark at the very start. */
  if (l->len && mtk_utf8_decode(word, l->len, &r) == 3 && r == 0xFEFF)
    l->pos = 3;
  l->env = env;
  l->matched = matched;
  l->unmatched = unmatched;
  l->raw_escapes = l->flags & MTK_SHLEX_RAW_ESCAPES;
  l->depth = 0;
  int rc = process_until(l, END, l->raw_escapes, res, w, &e);
  l->src = NULL;
  l->env = NULL;
  l->matched = l->unmatched = NULL;
  mtk_strbuf_reset(&l->wbuf);
  if (rc == 0)
    return 0;
  mtk_autofree char *q = mtk_go_quote(word, l->len);
  mtk_err_wrap(&e, "failed to process %s", q);
  if (err && !*err)
    *err = e;
  else
    mtk_err_free(&e);
  return -1;
}

struct mtk_shlex *mtk_shlex_new(char escape)
{
  struct mtk_shlex *l = mtk_xcalloc(1, sizeof(*l));
  l->escape = (unsigned char) escape;
  l->limit = MTK_SHLEX_DEFAULT_LIMIT;
  return l;
}

void mtk_shlex_free(struct mtk_shlex *l)
{
  if (!l)
    return;
  mtk_strbuf_free(&l->wbuf);
  free(l);
}

void mtk_shlex_set_flags(struct mtk_shlex *l, unsigned flags)
{
  l->flags = flags;
}

void mtk_shlex_set_limit(struct mtk_shlex *l, size_t bytes)
{
  l->limit = bytes;
}

unsigned mtk_shlex_flags(const struct mtk_shlex *l)
{
  return l->flags;
}

char *mtk_shlex_word_ex(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                        struct mtk_strmap *matched, struct mtk_strmap *unmatched,
                        struct mtk_err **err)
{
  mtk_autostrbuf res = MTK_STRBUF_INIT;
  mtk_autowords w = {0};
  if (process(l, word, strlen(word), env, matched, unmatched, &res, &w, err) < 0)
    return NULL;
  return mtk_strbuf_steal(&res);
}

char *mtk_shlex_word(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                     struct mtk_err **err)
{
  return mtk_shlex_word_ex(l, word, env, NULL, NULL, err);
}

char **mtk_shlex_words_n(struct mtk_shlex *l, const char *word, size_t len,
                         const struct mtk_strmap *env, size_t *n, size_t **lens,
                         struct mtk_err **err)
{
  mtk_autostrbuf res = MTK_STRBUF_INIT;
  mtk_autowords w = {0};
  if (process(l, word, len, env, NULL, NULL, &res, &w, err) < 0)
    return NULL;
  if (!w.v) {
    w.v = mtk_xcalloc(1, sizeof(*w.v));
    w.lens = mtk_xcalloc(1, sizeof(*w.lens));
  }
  if (n)
    *n = w.n;
  if (lens)
    *lens = mtk_steal_ptr(&w.lens);
  w.n = 0; /* the strings now belong to the returned array */
  return mtk_steal_ptr(&w.v);
}

char **mtk_shlex_words(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                       size_t *n, struct mtk_err **err)
{
  return mtk_shlex_words_n(l, word, strlen(word), env, n, NULL, err);
}

void mtk_shlex_words_free(char **words)
{
  if (!words)
    return;
  for (char **p = words; *p; p++)
    free(*p);
  free(words);
}
