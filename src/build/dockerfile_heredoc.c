/* Heredocs of RUN, COPY and ADD (also under ONBUILD), as BuildKit finds them:
 * the instruction line is split into words by its shell lexer (quotes and
 * escapes kept, unset variables left as written), each word matching
 * ^(\d*)<<(-?)\s*([^<]*)$ names a heredoc whose delimiter is the word lexed once
 * more (quotes removed); the body is expanded unless the delimiter had quotes.
 *
 * The lexer is build/shlex.h's (BuildKit's shell.Lex) with an empty environment,
 * SkipUnsetEnv and the escape token '\\' (BuildKit uses it here whatever the
 * escape directive says), given the line by length (it may hold NUL bytes).  As
 * everywhere shlex.h is used, ${...} nested more than 256 deep is a lexing error
 * (BuildKit has no limit): on the instruction line that means no heredocs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/dockerfile_int.h"
#include "build/shlex.h"
#include "util/cleanup.h"
#include "util/gostr.h"

/* The words of one ProcessWords call. */
struct words {
  char **v;     /* owned (mtk_shlex_words_free): NULL-terminated */
  size_t *lens; /* owned: their lengths (a word may hold NUL bytes) */
  size_t n;     /* entries of v */
};

static void words_free(struct words *w)
{
  mtk_shlex_words_free(w->v);
  free(w->lens);
  *w = (struct words){0};
}

/* ProcessWords(s) with an empty environment and SkipUnsetEnv.  Returns 0, or -1 with *emsg
 * (owned: BuildKit's "failed to process ..." text). */
static int process_words(const char *s, size_t n, bool raw_quotes, bool raw_escapes,
                         struct words *w, char **emsg)
{
  struct mtk_err *err = NULL;
  struct mtk_shlex *l = mtk_shlex_new('\\');
  mtk_shlex_set_flags(l, MTK_SHLEX_SKIP_UNSET_ENV | (raw_quotes ? MTK_SHLEX_RAW_QUOTES : 0) |
                             (raw_escapes ? MTK_SHLEX_RAW_ESCAPES : 0));
  *w = (struct words){0};
  w->v = mtk_shlex_words_n(l, s, n, NULL, &w->n, &w->lens, &err);
  mtk_shlex_free(l);
  if (w->v)
    return 0;
  *emsg = mtk_steal_ptr(&err->msg);
  mtk_err_free(&err);
  return -1;
}

static size_t count_quotes(const char *s, size_t n)
{
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += s[i] == '\'' || s[i] == '"';
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
    out->name_len = w.lens[0];
    out->name = mtk_xmalloc(w.lens[0] + 1); /* the name may hold a NUL byte */
    memcpy(out->name, w.v[0], w.lens[0] + 1);
    out->fd = fd_overflow ? ~0ULL : fd;
    out->chomp = chomp;
    out->expand = count_quotes(w.v[0], w.lens[0]) == count_quotes(raw.v[0], raw.lens[0]);
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
    int r = heredoc_word(w.v[i], w.lens[i], &h, &ctx->emsg);
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
