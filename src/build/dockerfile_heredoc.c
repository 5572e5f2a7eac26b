/* Heredocs of RUN, COPY and ADD (also under ONBUILD), as BuildKit finds them:
 * the instruction line is split into words by its shell lexer (quotes and
 * escapes kept, unset variables left as written), each word matching
 * ^(\d*)<<(-?)\s*([^<]*)$ names a heredoc whose delimiter is the word lexed once
 * more (quotes removed); the body is expanded unless the delimiter had quotes.
 *
 * The lexer here is the subset of BuildKit's shell.Lex that this needs: an empty
 * environment with SkipUnsetEnv, the escape token '\\' (BuildKit uses it here
 * whatever the escape directive says), and its quirks that change the words:
 * the word buffer shared with nested ${...} words, "<<" plus following blanks
 * kept as one piece, doubled backslashes inside "..." in raw-escape mode. */
#include "config.h"

#include <string.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"
#include "util/gostr.h"

#define LEX_EOF (-1)
#define LEX_ESCAPE '\\'

struct lex {
  int32_t *runes;         /* owned: the input, decoded (invalid bytes are U+FFFD) */
  size_t n, i;            /* rune count, position */
  bool raw_quotes;        /* keep quote characters */
  bool raw_escapes;       /* keep escape characters (current processStopOn) */
  struct mtk_strbuf wbuf; /* the words buffer, shared by nested calls (as in Go) */
  char *emsg;             /* owned: error */
};

/* The words of one processStopOn call. */
struct words {
  struct mtk_strbuf *list; /* owned (malloc) */
  size_t n, cap;
  bool in_word;
};

static int32_t peek(struct lex *l)
{
  return l->i < l->n ? l->runes[l->i] : LEX_EOF;
}

static int32_t next(struct lex *l)
{
  return l->i < l->n ? l->runes[l->i++] : LEX_EOF;
}

static int fail(struct lex *l, char *msg)
{
  if (!l->emsg)
    l->emsg = msg;
  else
    free(msg);
  return -1;
}

static void words_push(struct lex *l, struct words *w)
{
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 4;
    w->list = mtk_xrealloc(w->list, w->cap * sizeof(*w->list));
  }
  w->list[w->n] = (struct mtk_strbuf) MTK_STRBUF_INIT;
  mtk_strbuf_add(&w->list[w->n++], mtk_strbuf_str(&l->wbuf), l->wbuf.len);
  mtk_strbuf_reset(&l->wbuf);
  w->in_word = false;
}

static void words_free(struct words *w)
{
  for (size_t i = 0; i < w->n; i++)
    mtk_strbuf_free(&w->list[i]);
  free(w->list);
  *w = (struct words){0};
}

static void add_raw_char(struct lex *l, struct words *w, int32_t ch)
{
  mtk_utf8_append(&l->wbuf, ch);
  w->in_word = true;
}

static void add_char(struct lex *l, struct words *w, int32_t ch)
{
  if (mtk_go_is_space((uint32_t) ch)) {
    if (w->in_word && l->wbuf.len != 0)
      words_push(l, w);
  } else {
    add_raw_char(l, w, ch);
  }
}

static void add_string(struct lex *l, struct words *w, const struct mtk_strbuf *s)
{
  for (size_t i = 0; i < s->len;) {
    uint32_t r;
    i += mtk_utf8_decode(s->buf + i, s->len - i, &r);
    add_char(l, w, (int32_t) r);
  }
}

static int stop_on(struct lex *l, int32_t stop, bool raw_escapes, struct mtk_strbuf *result,
                   struct words *w);

static int single_quote(struct lex *l, struct mtk_strbuf *out)
{
  int32_t ch = next(l);
  if (l->raw_quotes)
    mtk_utf8_append(out, ch);
  for (;;) {
    ch = next(l);
    if (ch == LEX_EOF)
      return fail(l, mtk_xstrdup("unexpected end of statement while looking for matching "
                                 "single-quote"));
    if (ch != '\'' || l->raw_quotes)
      mtk_utf8_append(out, ch);
    if (ch == '\'')
      return 0;
  }
}

static int dollar(struct lex *l, struct mtk_strbuf *out);

static int double_quote(struct lex *l, struct mtk_strbuf *out)
{
  int32_t ch = next(l);
  if (l->raw_quotes)
    mtk_utf8_append(out, ch);
  for (;;) {
    switch (peek(l)) {
      case LEX_EOF:
        return fail(l, mtk_xstrdup("unexpected end of statement while looking for matching "
                                   "double-quote"));
      case '"':
        ch = next(l);
        if (l->raw_quotes)
          mtk_utf8_append(out, ch);
        return 0;
      case '$':
        if (dollar(l, out) < 0)
          return -1;
        break;
      default:
        ch = next(l);
        if (ch == LEX_ESCAPE) {
          if (l->raw_escapes)
            mtk_utf8_append(out, ch);
          int32_t p = peek(l);
          if (p == LEX_EOF)
            continue;
          if (p == '"' || p == '$' || p == LEX_ESCAPE)
            ch = next(l);
        }
        mtk_utf8_append(out, ch);
    }
  }
}

static bool special_param(int32_t ch)
{
  return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' || ch == '!' ||
         ch == '0';
}

static void name(struct lex *l, struct mtk_strbuf *out)
{
  while (peek(l) != LEX_EOF) {
    int32_t ch = peek(l);
    if (out->len == 0 && mtk_go_is_digit((uint32_t) ch)) {
      while (peek(l) != LEX_EOF && mtk_go_is_digit((uint32_t) peek(l)))
        mtk_utf8_append(out, next(l));
      return;
    }
    if (out->len == 0 && special_param(ch)) {
      mtk_utf8_append(out, next(l));
      return;
    }
    if (!mtk_go_is_letter((uint32_t) ch) && !mtk_go_is_digit((uint32_t) ch) && ch != '_')
      return;
    mtk_utf8_append(out, next(l));
  }
}

/* The nested word of ${name<op>word}, up to `stop`. */
static int nested(struct lex *l, int32_t stop, bool raw, struct mtk_strbuf *out,
                  const char *eof_msg)
{
  struct words w = {0};
  int r = stop_on(l, stop, raw, out, &w);
  words_free(&w);
  if (r < 0 && peek(l) == LEX_EOF) {
    free(l->emsg);
    l->emsg = mtk_xstrdup(eof_msg);
  }
  return r;
}

/* ${...} with every variable unset: the text as written, the nested words
 * processed (BuildKit's SkipUnsetEnv). */
static int braces(struct lex *l, struct mtk_strbuf *out)
{
  mtk_autostrbuf nm = MTK_STRBUF_INIT;
  mtk_autostrbuf chs = MTK_STRBUF_INIT;
  mtk_autostrbuf word = MTK_STRBUF_INIT;
  int32_t p = peek(l);
  if (p == LEX_EOF)
    return fail(l, mtk_xstrdup("syntax error: missing '}'"));
  if (p == '{' || p == '}' || p == ':')
    return fail(l, mtk_xstrdup("syntax error: bad substitution"));
  name(l, &nm);
  int32_t ch = next(l);
  mtk_utf8_append(&chs, ch);
  if (ch == '}') {
    mtk_strbuf_addf(out, "${%s}", mtk_strbuf_str(&nm));
    return 0;
  }
  if (ch == '/') {
    mtk_autostrbuf pat = MTK_STRBUF_INIT;
    if (peek(l) == '/')
      next(l);
    if (nested(l, '/', true, &pat, "syntax error: missing '/' in ${}") < 0 ||
        nested(l, '}', true, &word, "syntax error: missing '}'") < 0)
      return -1;
    mtk_strbuf_addf(out, "${%s/", mtk_strbuf_str(&nm));
    mtk_strbuf_add(out, mtk_strbuf_str(&pat), pat.len);
    mtk_strbuf_addc(out, '/');
  } else {
    bool null_unset = ch == ':';
    if (null_unset) {
      ch = next(l);
      mtk_utf8_append(&chs, ch);
    } else if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
      return fail(l,
                  mtk_xasprintf("unsupported modifier (%s) in substitution", mtk_strbuf_str(&chs)));
    }
    bool raw = ch == '#' || ch == '%';
    if (null_unset && raw)
      return fail(l,
                  mtk_xasprintf("unsupported modifier (%s) in substitution", mtk_strbuf_str(&chs)));
    if (nested(l, '}', raw, &word, "syntax error: missing '}'") < 0)
      return -1;
    mtk_strbuf_addf(out, "${%s", mtk_strbuf_str(&nm));
    mtk_strbuf_add(out, mtk_strbuf_str(&chs), chs.len);
  }
  mtk_strbuf_add(out, mtk_strbuf_str(&word), word.len);
  mtk_strbuf_addc(out, '}');
  return 0;
}

static int dollar(struct lex *l, struct mtk_strbuf *out)
{
  next(l);
  if (peek(l) != '{') {
    mtk_autostrbuf nm = MTK_STRBUF_INIT;
    name(l, &nm);
    mtk_strbuf_addc(out, '$');
    mtk_strbuf_add(out, mtk_strbuf_str(&nm), nm.len);
    return 0;
  }
  next(l);
  return braces(l, out);
}

static void possible_heredoc(struct lex *l, struct mtk_strbuf *out)
{
  next(l);
  mtk_strbuf_addc(out, '<');
  if (peek(l) != '<')
    return;
  mtk_strbuf_addc(out, (char) next(l));
  while (peek(l) == '\t' || peek(l) == '\r' || peek(l) == ' ')
    mtk_strbuf_addc(out, (char) next(l));
}

/* processStopOn: the text up to `stop` (LEX_EOF: the end), its words in *w. */
static int stop_on(struct lex *l, int32_t stop, bool raw_escapes, struct mtk_strbuf *result,
                   struct words *w)
{
  bool saved = l->raw_escapes;
  int rc = 0;
  mtk_strbuf_reset(&l->wbuf);
  l->raw_escapes = raw_escapes;
  while (rc == 0 && peek(l) != LEX_EOF) {
    int32_t ch = peek(l);
    if (stop != LEX_EOF && ch == stop) {
      next(l);
      goto done;
    }
    if (ch == '$' || ch == '<' || ch == '\'' || ch == '"') {
      mtk_autostrbuf tmp = MTK_STRBUF_INIT;
      if (ch == '$')
        rc = dollar(l, &tmp);
      else if (ch == '<')
        possible_heredoc(l, &tmp);
      else
        rc = ch == '\'' ? single_quote(l, &tmp) : double_quote(l, &tmp);
      mtk_strbuf_add(result, mtk_strbuf_str(&tmp), tmp.len);
      if (ch == '$')
        add_string(l, w, &tmp);
      else
        mtk_strbuf_add(&l->wbuf, mtk_strbuf_str(&tmp), tmp.len), w->in_word = true;
      continue;
    }
    ch = next(l);
    if (ch == LEX_ESCAPE) {
      if (l->raw_escapes) {
        add_raw_char(l, w, ch);
        mtk_utf8_append(result, ch);
      }
      ch = next(l);
      if (ch == LEX_EOF)
        break;
      add_raw_char(l, w, ch);
    } else {
      add_char(l, w, ch);
    }
    mtk_utf8_append(result, ch);
  }
  if (rc == 0 && stop != LEX_EOF)
    rc = fail(
        l, mtk_xasprintf("unexpected end of statement while looking for matching %c", (char) stop));
done:
  l->raw_escapes = saved;
  if (rc == 0 && l->wbuf.len > 0)
    words_push(l, w);
  return rc;
}

/* ProcessWords(s) with an empty environment and SkipUnsetEnv. */
static int process_words(const char *s, size_t n, bool raw_quotes, bool raw_escapes,
                         struct words *w, char **emsg)
{
  struct lex l = {.raw_quotes = raw_quotes, .raw_escapes = raw_escapes};
  mtk_autostrbuf result = MTK_STRBUF_INIT;
  l.runes = mtk_xmalloc((n + 1) * sizeof(*l.runes));
  for (size_t i = 0; i < n;) {
    uint32_t r;
    size_t width = mtk_utf8_decode(s + i, n - i, &r);
    i += width;
    /* text/scanner skips a byte order mark at the very start. */
    if (!(l.n == 0 && i == width && r == 0xFEFF))
      l.runes[l.n++] = (int32_t) r;
  }
  int rc = stop_on(&l, LEX_EOF, raw_escapes, &result, w);
  if (rc < 0) {
    words_free(w);
    mtk_autostrbuf q = MTK_STRBUF_INIT;
    mtk_go_quote_append(&q, s, n);
    *emsg = mtk_xasprintf("failed to process %s: %s", mtk_strbuf_str(&q), l.emsg);
  }
  free(l.emsg);
  free(l.runes);
  mtk_strbuf_free(&l.wbuf);
  return rc;
}

static size_t count_quotes(const struct mtk_strbuf *s)
{
  size_t c = 0;
  for (size_t i = 0; i < s->len; i++)
    c += s->buf[i] == '\'' || s->buf[i] == '"';
  return c;
}

/* ParseHeredoc on (word, n): 1 = a heredoc (out->name malloc'd), 0 = not one,
 * -1 = lexing error (*emsg). */
static int heredoc_word(const char *word, size_t n, struct mtk_df_heredoc *out, char **emsg)
{
  size_t i = 0;
  unsigned long long fd = 0;
  bool fd_overflow = false;
  for (; i < n && word[i] >= '0' && word[i] <= '9'; i++) {
    unsigned d = (unsigned) (word[i] - '0');
    if (fd > (~0ULL - d) / 10)
      fd_overflow = true;
    fd = fd * 10 + d;
  }
  if (n - i < 2 || word[i] != '<' || word[i + 1] != '<')
    return 0;
  i += 2;
  bool chomp = i < n && word[i] == '-';
  i += chomp;
  while (i < n && strchr("\t\n\f\r ", word[i]) && word[i])
    i++;
  const char *rest = word + i;
  size_t rn = n - i;
  if (rn == 0 || memchr(rest, '<', rn))
    return 0;
  struct words w = {0}, raw = {0};
  int rc = 0;
  if (process_words(rest, rn, false, false, &w, emsg) < 0)
    return -1;
  if (w.n == 1 && process_words(rest, rn, true, false, &raw, emsg) < 0)
    rc = -1;
  else if (w.n == 1 && raw.n != 1)
    *emsg = mtk_xasprintf("internal lexing of heredoc produced inconsistent results: %.*s",
                          (int) rn, rest),
    rc = -1;
  else if (w.n == 1) {
    *out = (struct mtk_df_heredoc){0};
    out->name_len = w.list[0].len;
    out->name = mtk_xmalloc(w.list[0].len + 1); /* the name may hold a NUL byte */
    memcpy(out->name, mtk_strbuf_str(&w.list[0]), w.list[0].len + 1);
    out->fd = fd_overflow ? ~0ULL : fd;
    out->chomp = chomp;
    out->expand = count_quotes(&w.list[0]) == count_quotes(&raw.list[0]);
    rc = 1;
  }
  words_free(&w);
  words_free(&raw);
  return rc;
}

int mtk_df_parse_heredoc_word(const char *word, struct mtk_df_heredoc *out, struct mtk_err **err)
{
  mtk_autofree char *emsg = NULL;
  int r = heredoc_word(word, strlen(word), out, &emsg);
  if (r < 0)
    return mtk_err_set(err, MTK_E_INVALID, "%s", emsg);
  return r;
}

bool mtk_df_can_contain_heredoc(const struct mtk_df_node *node)
{
  static const char *const kws[] = {"add", "copy", "run"};
  mtk_autostrbuf kw = MTK_STRBUF_INIT;
  mtk_go_lower_append(&kw, node->value, node->value_len);
  if (strcmp(mtk_strbuf_str(&kw), "onbuild") == 0 && kw.len == 7 && node->next &&
      node->next->n_children > 0) {
    node = node->next->children[0];
    mtk_strbuf_reset(&kw);
    mtk_go_lower_append(&kw, node->value, node->value_len);
  }
  for (size_t i = 0; i < 3; i++)
    if (kw.len == strlen(kws[i]) && memcmp(kw.buf, kws[i], kw.len) == 0)
      return !node->json;
  return false;
}

int mtk_df_heredocs_from_line(struct df_ctx *ctx, const char *line, size_t n,
                              struct mtk_df_heredoc **out, size_t *count)
{
  struct words w = {0};
  mtk_autofree char *ignored = NULL;
  *out = NULL;
  *count = 0;
  /* BuildKit ignores a lexing error of the whole line: no heredocs then. */
  if (process_words(line, n, true, true, &w, &ignored) < 0)
    return 0;
  int rc = 0;
  if (w.n)
    *out = mtk_df_arena_alloc(ctx->arena, w.n * sizeof(**out));
  for (size_t i = 0; i < w.n && rc == 0; i++) {
    struct mtk_df_heredoc h;
    int r = heredoc_word(mtk_strbuf_str(&w.list[i]), w.list[i].len, &h, &ctx->emsg);
    if (r < 0)
      rc = -1;
    if (r > 0) {
      h.content = mtk_df_arena_strndup(ctx->arena, "", 0);
      char *name = h.name;
      h.name = mtk_df_arena_strndup(ctx->arena, name, h.name_len);
      free(name);
      (*out)[(*count)++] = h;
    }
  }
  words_free(&w);
  return rc;
}

char *mtk_df_heredoc_chomp(const char *content, size_t len, size_t *out_len)
{
  char *out = mtk_xmalloc(len + 1);
  size_t o = 0;
  bool line_start = true;
  for (size_t i = 0; i < len; i++) {
    if (line_start && content[i] == '\t')
      continue;
    line_start = content[i] == '\n';
    out[o++] = content[i];
  }
  out[o] = '\0';
  if (out_len)
    *out_len = o;
  return out;
}
