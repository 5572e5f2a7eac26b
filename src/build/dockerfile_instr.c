/* One Dockerfile instruction line -> AST node, as BuildKit's splitCommand,
 * extractBuilderFlags and the per-keyword line parsers (line_parsers.go): the
 * keyword, the leading --flags (quotes removed), then the arguments by keyword:
 * JSON or whitespace-split lists (ADD, COPY, VOLUME), JSON or one string (RUN,
 * CMD, ENTRYPOINT, SHELL), name/value triples (ENV, LABEL), words (ARG), one
 * string (MAINTAINER, USER, WORKDIR, STOPSIGNAL), HEALTHCHECK's type + command,
 * ONBUILD's sub-instruction, and one empty argument for unknown keywords.
 * Go's quirks are kept where they show in the tree: flags are scanned byte by
 * byte (a byte >= 0x80 is re-encoded as the code point of the same value), words
 * rune by rune (an invalid byte becomes U+FFFD). */
#include "config.h"

#include <string.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

/* A growable list of strings built while scanning. */
struct strv {
  struct mtk_df_str *v; /* owned (malloc): strings in the arena */
  size_t n, cap;
};

static void strv_push(struct df_ctx *ctx, struct strv *sv, const char *s, size_t n)
{
  if (sv->n == sv->cap) {
    sv->cap = sv->cap ? sv->cap * 2 : 8;
    sv->v = mtk_xrealloc(sv->v, sv->cap * sizeof(*sv->v));
  }
  sv->v[sv->n].s = mtk_df_arena_strndup(ctx->arena, s, n);
  sv->v[sv->n++].len = n;
}

static struct mtk_df_node *new_node(struct df_ctx *ctx, const char *s, size_t n)
{
  struct mtk_df_node *node = mtk_df_arena_alloc(ctx->arena, sizeof(*node));
  node->value = mtk_df_arena_strndup(ctx->arena, s, n);
  node->value_len = n;
  return node;
}

/* reWhitespace: [\t\v\f\r ]. */
static bool re_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* unicode.IsSpace(rune(b)) for one byte, as extractBuilderFlags and
 * parseHealthConfig test it. */
static bool byte_space(unsigned char b)
{
  return b == ' ' || (b >= '\t' && b <= '\r') || b == 0x85 || b == 0xA0;
}

/* regexp reWhitespace.Split(s, limit) (limit -1: no limit). */
static void split_ws(struct df_ctx *ctx, const char *s, size_t n, int limit, struct strv *out)
{
  size_t beg = 0, i = 0;
  if (n == 0) {
    strv_push(ctx, out, s, 0);
    return;
  }
  while (i < n) {
    if (!re_ws(s[i])) {
      i++;
      continue;
    }
    if (limit > 0 && (int) out->n == limit - 1)
      break;
    strv_push(ctx, out, s + beg, i - beg);
    while (i < n && re_ws(s[i]))
      i++;
    beg = i;
  }
  strv_push(ctx, out, s + beg, n - beg);
}

enum { IN_SPACES, IN_WORD, IN_QUOTE };

/* extractBuilderFlags: leading "--" words of rest.  Returns the offset where
 * the arguments start (n when none). */
static size_t extract_flags(struct df_ctx *ctx, const char *s, size_t n, struct strv *flags)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  int phase = IN_SPACES;
  unsigned char ch = 0, quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= n; pos++) {
    if (pos != n)
      ch = (unsigned char) s[pos];
    if (phase == IN_SPACES) {
      if (pos == n)
        break;
      if (byte_space(ch))
        continue;
      if (ch != '-' || pos + 1 == n || s[pos + 1] != '-')
        return pos;
      phase = IN_WORD;
    }
    if (pos == n) {
      if (!(sb.len == 2 && memcmp(sb.buf, "--", 2) == 0) && (blank_ok || sb.len > 0))
        strv_push(ctx, flags, mtk_strbuf_str(&sb), sb.len);
      break;
    }
    if (phase == IN_WORD) {
      if (byte_space(ch)) {
        phase = IN_SPACES;
        if (sb.len == 2 && memcmp(sb.buf, "--", 2) == 0)
          return pos;
        if (blank_ok || sb.len > 0)
          strv_push(ctx, flags, mtk_strbuf_str(&sb), sb.len);
        mtk_strbuf_reset(&sb);
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = IN_QUOTE;
        continue;
      }
    } else if (ch == quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch == (unsigned char) ctx->escape) {
      if (pos + 1 == n) {
        phase = IN_WORD;
        continue;
      }
      ch = (unsigned char) s[++pos];
    }
    mtk_utf8_append(&sb, ch);
  }
  return n;
}

/* parseWords: words split on Unicode spaces outside quotes; quotes and
 * escapes are kept in the words. */
static void parse_words(struct df_ctx *ctx, const char *s, size_t n, struct strv *out)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  int phase = IN_SPACES;
  size_t w = 0;
  uint32_t ch = 0, quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= n; pos += w) {
    if (pos != n)
      w = mtk_utf8_decode(s + pos, n - pos, &ch);
    if (phase == IN_SPACES) {
      if (pos == n)
        break;
      if (mtk_go_is_space(ch))
        continue;
      phase = IN_WORD;
    }
    if (pos == n) {
      if (blank_ok || sb.len > 0)
        strv_push(ctx, out, mtk_strbuf_str(&sb), sb.len);
      break;
    }
    if (phase == IN_WORD) {
      if (mtk_go_is_space(ch)) {
        phase = IN_SPACES;
        if (blank_ok || sb.len > 0)
          strv_push(ctx, out, mtk_strbuf_str(&sb), sb.len);
        mtk_strbuf_reset(&sb);
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = IN_QUOTE;
      }
      if (ch == (unsigned char) ctx->escape) {
        if (pos + w == n)
          continue;
        mtk_utf8_append(&sb, ch);
        pos += w;
        w = mtk_utf8_decode(s + pos, n - pos, &ch);
      }
      mtk_utf8_append(&sb, ch);
      continue;
    }
    if (ch == quote)
      phase = IN_WORD;
    if (ch == (unsigned char) ctx->escape && quote != '\'') {
      if (pos + w == n) {
        phase = IN_WORD;
        continue;
      }
      pos += w;
      mtk_utf8_append(&sb, ch);
      w = mtk_utf8_decode(s + pos, n - pos, &ch);
    }
    mtk_utf8_append(&sb, ch);
  }
}

/* A chain of argument nodes from a list of strings. */
static struct mtk_df_node *chain(struct df_ctx *ctx, const struct strv *sv)
{
  struct mtk_df_node *top = NULL, **tail = &top;
  for (size_t i = 0; i < sv->n; i++) {
    *tail = new_node(ctx, sv->v[i].s, sv->v[i].len);
    tail = &(*tail)->next;
  }
  return top;
}

static struct mtk_df_node *key_value(struct df_ctx *ctx, const char *k, size_t kn, const char *v,
                                     size_t vn, const char *sep)
{
  struct mtk_df_node *node = new_node(ctx, k, kn);
  node->next = new_node(ctx, v, vn);
  node->next->next = new_node(ctx, sep, strlen(sep));
  return node;
}

/* parseNameVal (ENV, LABEL): "KEY name value" or "KEY a=b c=d". */
static int parse_name_val(struct df_ctx *ctx, const char *s, size_t n, const char *key,
                          struct mtk_df_node **out)
{
  struct strv words = {0}, parts = {0};
  struct mtk_df_node **tail = out;
  int rc = 0;
  parse_words(ctx, s, n, &words);
  if (words.n > 0 && !memchr(words.v[0].s, '=', words.v[0].len)) {
    split_ws(ctx, s, n, 2, &parts);
    if (parts.n < 2)
      ctx->emsg = mtk_xasprintf("%s must have two arguments", key), rc = -1;
    else
      *out = key_value(ctx, parts.v[0].s, parts.v[0].len, parts.v[1].s, parts.v[1].len, "");
    words.n = 0;
  }
  for (size_t i = 0; i < words.n; i++) {
    const char *w = words.v[i].s, *eq = memchr(w, '=', words.v[i].len);
    if (!eq) {
      mtk_autostrbuf q = MTK_STRBUF_INIT;
      mtk_go_quote_append(&q, w, words.v[i].len);
      ctx->emsg = mtk_xasprintf("Syntax error - can't find = in %s. Must be of the form: "
                                "name=value",
                                mtk_strbuf_str(&q));
      rc = -1;
      break;
    }
    *tail =
        key_value(ctx, w, (size_t) (eq - w), eq + 1, words.v[i].len - (size_t) (eq - w) - 1, "=");
    tail = &(*tail)->next->next->next;
  }
  free(words.v);
  free(parts.v);
  return rc;
}

/* parseMaybeJSON (list = false) and parseMaybeJSONToList (list = true). */
static int parse_maybe_json(struct df_ctx *ctx, const char *s, size_t n, bool list,
                            struct mtk_df_node **out, bool *json)
{
  if (n == 0)
    return 0;
  int r = mtk_df_parse_json(ctx, s, n, out);
  if (r != 0) {
    *json = r > 0;
    return r > 0 ? 0 : -1;
  }
  if (!list) {
    *out = new_node(ctx, s, n);
    return 0;
  }
  struct strv parts = {0};
  split_ws(ctx, s, n, -1, &parts);
  *out = chain(ctx, &parts);
  free(parts.v);
  return 0;
}

/* parseHealthConfig: the first word (CMD, NONE...), then parseMaybeJSON. */
static int parse_health(struct df_ctx *ctx, const char *s, size_t n, struct mtk_df_node **out,
                        bool *json)
{
  size_t sep = 0, next;
  while (sep < n && !byte_space((unsigned char) s[sep]))
    sep++;
  for (next = sep; next < n && byte_space((unsigned char) s[next]); next++)
    ;
  if (sep == 0)
    return 0;
  struct mtk_df_node *cmd = NULL;
  if (parse_maybe_json(ctx, s + next, n - next, false, &cmd, json) < 0)
    return -1;
  *out = new_node(ctx, s, sep);
  (*out)->next = cmd;
  return 0;
}

/* Dispatch on the lower-cased keyword; ONBUILD is handled by the caller. */
static int dispatch(struct df_ctx *ctx, const char *kw, const char *s, size_t n,
                    struct mtk_df_node **out, bool *json)
{
  static const char *const lists[] = {"add", "copy", "volume"};
  static const char *const maybe[] = {"run", "cmd", "entrypoint", "shell"};
  static const char *const strs[] = {"maintainer", "user", "workdir", "stopsignal"};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(kw, lists[i]) == 0)
      return parse_maybe_json(ctx, s, n, true, out, json);
  for (size_t i = 0; i < 4; i++)
    if (strcmp(kw, maybe[i]) == 0)
      return parse_maybe_json(ctx, s, n, false, out, json);
  for (size_t i = 0; i < 4; i++)
    if (strcmp(kw, strs[i]) == 0) {
      *out = n ? new_node(ctx, s, n) : NULL;
      return 0;
    }
  if (strcmp(kw, "env") == 0 || strcmp(kw, "label") == 0)
    return parse_name_val(ctx, s, n, kw[0] == 'e' ? "ENV" : "LABEL", out);
  if (strcmp(kw, "healthcheck") == 0)
    return parse_health(ctx, s, n, out, json);
  struct strv words = {0};
  if (strcmp(kw, "from") == 0 || strcmp(kw, "expose") == 0) {
    if (n)
      split_ws(ctx, s, n, -1, &words);
  } else if (strcmp(kw, "arg") == 0) {
    parse_words(ctx, s, n, &words);
  } else {
    strv_push(ctx, &words, "", 0); /* parseIgnore: unknown instruction */
  }
  *out = chain(ctx, &words);
  free(words.v);
  return 0;
}

/* splitCommand: keyword, flags and the (trimmed) arguments of a line. */
static void split_command(struct df_ctx *ctx, const char *line, size_t n, struct mtk_df_node *node,
                          const char **args, size_t *args_len)
{
  size_t lead = mtk_go_space_prefix(line, n);
  const char *t = line + lead;
  size_t tn = mtk_go_trim_right_len(t, n - lead), i = 0;
  while (i < tn && !re_ws(t[i]))
    i++;
  node->value = mtk_df_arena_strndup(ctx->arena, t, i);
  node->value_len = i;
  *args = t + tn, *args_len = 0;
  if (i == tn)
    return;
  while (i < tn && re_ws(t[i]))
    i++;
  struct strv flags = {0};
  size_t start = extract_flags(ctx, t + i, tn - i, &flags);
  node->n_flags = flags.n;
  if (flags.n) {
    node->flags = mtk_df_arena_alloc(ctx->arena, flags.n * sizeof(*node->flags));
    memcpy(node->flags, flags.v, flags.n * sizeof(*node->flags));
  }
  free(flags.v);
  const char *a = t + i + start;
  size_t an = tn - i - start, skip = mtk_go_space_prefix(a, an);
  *args = a + skip;
  *args_len = mtk_go_trim_right_len(a + skip, an - skip);
}

struct mtk_df_node *mtk_df_node_from_line(struct df_ctx *ctx, const char *line, size_t n)
{
  struct mtk_df_node *top = NULL, **slot = &top;
  /* ONBUILD nests its sub-instruction: a loop, not recursion, so that a long
   * chain of ONBUILDs cannot exhaust the stack.  The text of a sub-instruction
   * is a suffix of the line without its trailing blanks: the nested nodes share
   * one copy of it (as Go's substrings do), so the chain costs linear memory. */
  char *own = mtk_df_arena_strndup(ctx->arena, line, n);
  char *trimmed = mtk_df_arena_strndup(ctx->arena, line, mtk_go_trim_right_len(line, n));
  line = own;
  for (;;) {
    struct mtk_df_node *node = mtk_df_arena_alloc(ctx->arena, sizeof(*node));
    const char *args;
    size_t args_len;
    node->original = (char *) line;
    node->original_len = n;
    split_command(ctx, line, n, node, &args, &args_len);
    *slot = node;
    mtk_autostrbuf kw = MTK_STRBUF_INIT;
    mtk_go_lower_append(&kw, node->value, node->value_len);
    if (kw.len == 7 && memcmp(kw.buf, "onbuild", 7) == 0) {
      if (args_len == 0)
        return top;
      struct mtk_df_node *sub = new_node(ctx, "", 0);
      sub->children = mtk_df_arena_alloc(ctx->arena, sizeof(*sub->children));
      sub->n_children = 1;
      node->next = sub;
      slot = &sub->children[0];
      line = trimmed + (args - (line == own ? own : trimmed)), n = args_len;
      continue;
    }
    /* A keyword with a NUL byte can match no instruction. */
    const char *k = strlen(mtk_strbuf_str(&kw)) == kw.len ? mtk_strbuf_str(&kw) : "";
    if (dispatch(ctx, k, args, args_len, &node->next, &node->json) < 0)
      return NULL;
    return top;
  }
}
