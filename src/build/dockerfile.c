/* The Dockerfile parser's main loop, as BuildKit's parser.Parse: the text is
 * read line by line (a BOM dropped, a line longer than 65535 bytes an error),
 * parser directives are honoured while only directive comments have been seen,
 * comment lines are dropped (also inside a continued instruction), an
 * instruction ends at a line not ending in the escape token (empty continuation
 * lines are skipped with a warning), heredoc bodies follow their instruction, and
 * each instruction becomes a child of the root with its first and last line.
 * The result and its whole tree live in one arena freed by mtk_df_result_free. */
#include "config.h"

#include <string.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

/* Under AddressSanitizer every allocation is its own block, so that an overflow
 * is caught at its edge; otherwise small ones are carved from 64 KiB chunks. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_CHUNKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_CHUNKS 0
#endif
#endif
#ifndef ARENA_CHUNKS
#define ARENA_CHUNKS 1
#endif
#define ARENA_CHUNK 65536
#define ARENA_BIG 4096

static void *arena_block(struct mtk_df_arena *a, size_t n)
{
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 64;
    a->ptrs = mtk_xrealloc(a->ptrs, a->cap * sizeof(*a->ptrs));
  }
  void *p = mtk_xcalloc(1, n ? n : 1);
  a->ptrs[a->n++] = p;
  return p;
}

void *mtk_df_arena_alloc(struct mtk_df_arena *a, size_t n)
{
  n = (n + 15) & ~(size_t) 15;
  if (!ARENA_CHUNKS || n > ARENA_BIG)
    return arena_block(a, n);
  if (n > a->left) {
    a->cur = arena_block(a, ARENA_CHUNK);
    a->left = ARENA_CHUNK;
  }
  void *p = a->cur;
  a->cur += n;
  a->left -= n;
  return p;
}

char *mtk_df_arena_strndup(struct mtk_df_arena *a, const char *s, size_t n)
{
  char *p = mtk_df_arena_alloc(a, n + 1);
  if (n)
    memcpy(p, s, n);
  return p;
}

void mtk_df_arena_free(struct mtk_df_arena *a)
{
  for (size_t i = 0; i < a->n; i++)
    free(a->ptrs[i]);
  free(a->ptrs);
  *a = (struct mtk_df_arena){0};
}

void mtk_df_result_free(struct mtk_df_result *r)
{
  if (!r)
    return;
  struct mtk_df_arena *a = r->arena;
  mtk_df_arena_free(a);
  free(a);
  free(r);
}

/* bufio.Scanner over the text with lines split after '\n'. */
struct lines {
  const char *text; /* borrowed */
  size_t len, pos;
  bool too_long; /* stopped at a line longer than DF_MAX_LINE */
};

static bool next_line(struct lines *l, const char **line, size_t *n)
{
  if (l->too_long || l->pos >= l->len)
    return false;
  const char *s = l->text + l->pos;
  const char *nl = memchr(s, '\n', l->len - l->pos);
  size_t content = nl ? (size_t) (nl - s) : l->len - l->pos;
  if (content > DF_MAX_LINE) {
    l->too_long = true;
    return false;
  }
  *line = s;
  *n = nl ? content + 1 : content;
  l->pos += *n;
  return true;
}

/* bytes.TrimRight(s, "\r\n"). */
static size_t trim_newline(const char *s, size_t n)
{
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  return n;
}

static bool is_comment(const char *s, size_t n)
{
  size_t i = mtk_go_space_prefix(s, n);
  return i < n && s[i] == '#';
}

/* trimContinuationCharacter: true (and *n shortened) when the line ends with
 * the escape token and blanks, the token not itself escaped. */
static bool continues(const char *s, size_t *n, char esc)
{
  size_t e = *n;
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
    e--;
  if (e == 0 || s[e - 1] != esc || (e >= 2 && s[e - 2] == esc))
    return false;
  *n = e - 1;
  return true;
}

struct state {
  struct mtk_df_result *res;
  struct df_ctx ctx;
  struct lines in;
  struct df_directives dirs;
  int line;                      /* lines read */
  struct mtk_df_node **children; /* owned (malloc), copied to the arena at the end */
  size_t n_children, cap_children;
  struct mtk_df_str *comments; /* owned (malloc): comments above the next instruction */
  size_t n_comments, cap_comments;
  struct mtk_df_directive *dir_list; /* owned (malloc) */
  size_t n_dirs;
  struct mtk_df_warning *warns; /* owned (malloc) */
  size_t n_warns;
};

/* A directive on line st->line + 1 (line already trimmed): applied, listed. */
static int directive(struct state *st, const char *s, size_t n, bool *is_directive)
{
  int kind;
  const char *v;
  size_t vn;
  int r = mtk_df_directive_line(&st->dirs, s, n, &kind, &v, &vn, &st->ctx.emsg);
  *is_directive = r > 0;
  if (r <= 0)
    return r;
  if (kind == 1) {
    if (vn != 1 || (v[0] != '`' && v[0] != '\\')) {
      st->ctx.emsg =
          mtk_xasprintf("invalid escape token '%.*s' does not match ` or \\", (int) vn, v);
      return -1;
    }
    st->ctx.escape = v[0];
  }
  st->dir_list = mtk_xrealloc(st->dir_list, (st->n_dirs + 1) * sizeof(*st->dir_list));
  st->dir_list[st->n_dirs++] =
      (struct mtk_df_directive){mtk_df_arena_strndup(st->ctx.arena, mtk_df_directive_names[kind],
                                                     strlen(mtk_df_directive_names[kind])),
                                mtk_df_arena_strndup(st->ctx.arena, v, vn), st->line + 1};
  return 0;
}

/* A comment line outside an instruction: PrevComment bookkeeping.  As BuildKit,
 * the text is the line without its first byte, trimmed. */
static void remember_comment(struct state *st, const char *s, size_t n)
{
  size_t lead = mtk_go_space_prefix(s + 1, n - 1);
  size_t keep = mtk_go_trim_right_len(s + 1 + lead, n - 1 - lead);
  if (keep == 0) {
    st->n_comments = 0;
    return;
  }
  if (st->n_comments == st->cap_comments) {
    st->cap_comments = st->cap_comments ? st->cap_comments * 2 : 8;
    st->comments = mtk_xrealloc(st->comments, st->cap_comments * sizeof(*st->comments));
  }
  st->comments[st->n_comments].s = mtk_df_arena_strndup(st->ctx.arena, s + 1 + lead, keep);
  st->comments[st->n_comments++].len = keep;
}

static void warn_empty_continuation(struct state *st, const char *line, size_t n)
{
  struct mtk_df_arena *a = st->ctx.arena;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "Empty continuation line found in: ");
  mtk_strbuf_add(&sb, line, n);
  st->warns = mtk_xrealloc(st->warns, (st->n_warns + 1) * sizeof(*st->warns));
  st->warns[st->n_warns++] = (struct mtk_df_warning){
      mtk_df_arena_strndup(a, sb.buf, sb.len),
      mtk_df_arena_strndup(a, "Empty continuation lines will become errors in a future release",
                           63),
      mtk_df_arena_strndup(a, "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                           66),
      st->line};
}

/* Reads the rest of a continued instruction into buf. */
static void read_continuation(struct state *st, struct mtk_strbuf *buf)
{
  const char *raw;
  size_t n;
  bool empty_seen = false;
  while (next_line(&st->in, &raw, &n)) {
    size_t tn = trim_newline(raw, n);
    bool dummy;
    directive(st, raw, tn, &dummy); /* counts the line; the section is over */
    st->line++;
    if (is_comment(raw, n))
      continue;
    if (mtk_go_space_prefix(raw, tn) == tn) {
      empty_seen = true;
      continue;
    }
    bool more = continues(raw, &tn, st->ctx.escape);
    mtk_strbuf_add(buf, raw, tn);
    if (!more)
      break;
  }
  if (empty_seen)
    warn_empty_continuation(st, mtk_strbuf_str(buf), buf->len);
}

/* The bodies of the heredocs of `node`, read after its line. */
static int read_heredocs(struct state *st, struct mtk_df_node *node, const char *line, size_t n)
{
  if (!mtk_df_can_contain_heredoc(node) || !memmem(line, n, "<<", 2))
    return 0;
  if (mtk_df_heredocs_from_line(&st->ctx, line, n, &node->heredocs, &node->n_heredocs) < 0)
    return -1;
  for (size_t i = 0; i < node->n_heredocs; i++) {
    struct mtk_df_heredoc *h = &node->heredocs[i];
    mtk_autostrbuf content = MTK_STRBUF_INIT;
    const char *raw;
    size_t rn;
    bool terminated = false;
    while (!terminated && next_line(&st->in, &raw, &rn)) {
      st->line++;
      size_t tn = trim_newline(raw, rn), lead = 0;
      while (h->chomp && lead < tn && raw[lead] == '\t')
        lead++;
      terminated = tn - lead == h->name_len && memcmp(raw + lead, h->name, h->name_len) == 0;
      if (!terminated)
        mtk_strbuf_add(&content, raw, rn);
    }
    if (!terminated) {
      st->ctx.emsg = mtk_xstrdup("unterminated heredoc");
      return -1;
    }
    h->content = mtk_df_arena_strndup(st->ctx.arena, mtk_strbuf_str(&content), content.len);
    h->content_len = content.len;
  }
  return 0;
}

static void add_child(struct state *st, struct mtk_df_node *child, int start, int end)
{
  child->start_line = start;
  child->end_line = end;
  if (st->n_children == st->cap_children) {
    st->cap_children = st->cap_children ? st->cap_children * 2 : 32;
    st->children = mtk_xrealloc(st->children, st->cap_children * sizeof(*st->children));
  }
  st->children[st->n_children++] = child;
  if (st->n_comments) {
    child->prev_comment = mtk_df_arena_alloc(st->ctx.arena, st->n_comments * sizeof(char *));
    for (size_t i = 0; i < st->n_comments; i++)
      child->prev_comment[i] = st->comments[i].s;
    child->n_prev_comment = st->n_comments;
  }
  st->n_comments = 0;
}

/* One instruction starting with line `raw`: *err_line receives the line an
 * error is about. */
static int instruction(struct state *st, const char *raw, size_t n, int *err_line)
{
  if (st->line == 0 && n >= 3 && memcmp(raw, "\xEF\xBB\xBF", 3) == 0)
    raw += 3, n -= 3;
  bool comment = is_comment(raw, n), is_dir = false;
  if (comment)
    remember_comment(st, raw, n);
  size_t tn = trim_newline(raw, n), lead = mtk_go_space_prefix(raw, tn);
  const char *s = raw + lead;
  tn -= lead;
  *err_line = st->line + 1;
  if (directive(st, s, tn, &is_dir) < 0)
    return -1;
  if (is_dir && st->n_comments)
    st->n_comments--;
  st->line++;
  int start = st->line;
  if (comment)
    tn = 0;
  bool more = continues(s, &tn, st->ctx.escape);
  if (!more && tn == 0)
    return 0;
  mtk_autostrbuf buf = MTK_STRBUF_INIT;
  mtk_strbuf_add(&buf, s, tn);
  if (more)
    read_continuation(st, &buf);
  *err_line = start;
  struct mtk_df_node *child = mtk_df_node_from_line(&st->ctx, buf.buf, buf.len);
  if (!child || read_heredocs(st, child, buf.buf, buf.len) < 0)
    return -1;
  add_child(st, child, start, st->line);
  return 0;
}

static struct mtk_df_result *finish(struct state *st)
{
  struct mtk_df_result *res = st->res;
  struct mtk_df_arena *a = res->arena;
  struct mtk_df_node *root = res->ast;
  root->value = mtk_df_arena_strndup(a, "", 0);
  root->n_children = st->n_children;
  root->children = mtk_df_arena_alloc(a, st->n_children * sizeof(*root->children));
  memcpy(root->children, st->children, st->n_children * sizeof(*root->children));
  root->start_line = st->children[0]->start_line;
  root->end_line = st->children[st->n_children - 1]->end_line;
  res->escape = st->ctx.escape;
  res->n_directives = st->n_dirs;
  if (st->n_dirs) {
    res->directives = mtk_df_arena_alloc(a, st->n_dirs * sizeof(*res->directives));
    memcpy(res->directives, st->dir_list, st->n_dirs * sizeof(*res->directives));
  }
  res->n_warnings = st->n_warns;
  if (st->n_warns) {
    res->warnings = mtk_df_arena_alloc(a, st->n_warns * sizeof(*res->warnings));
    memcpy(res->warnings, st->warns, st->n_warns * sizeof(*res->warnings));
  }
  st->res = NULL;
  return res;
}

struct mtk_df_result *mtk_dockerfile_parse(const char *path, const char *text, size_t len,
                                           struct mtk_err **err)
{
  struct state st = {.ctx.escape = '\\', .in = {text, len, 0, false}};
  st.res = mtk_xcalloc(1, sizeof(*st.res));
  st.res->arena = mtk_xcalloc(1, sizeof(*st.res->arena));
  st.ctx.arena = st.res->arena;
  st.res->ast = mtk_df_arena_alloc(st.ctx.arena, sizeof(*st.res->ast));
  st.res->syntax = mtk_df_detect_directive(st.ctx.arena, "syntax", text, len);
  st.res->check = mtk_df_detect_directive(st.ctx.arena, "check", text, len);
  const char *raw;
  size_t n;
  int err_line = 0;
  struct mtk_df_result *res = NULL;
  while (next_line(&st.in, &raw, &n))
    if (instruction(&st, raw, n, &err_line) < 0)
      goto out;
  if (st.n_children == 0) {
    err_line = st.line;
    st.ctx.emsg = mtk_xstrdup("file with no instructions");
  } else if (st.in.too_long) {
    err_line = st.line + 1;
    st.ctx.emsg = mtk_xasprintf("dockerfile line greater than max allowed size of %d", DF_MAX_LINE);
  } else {
    res = finish(&st);
  }
out:
  if (!res)
    mtk_err_set_at(err, MTK_E_INVALID, path, err_line, 0, "%s", st.ctx.emsg);
  mtk_df_result_free(st.res);
  free(st.ctx.emsg);
  free(st.children);
  free(st.comments);
  free(st.dir_list);
  free(st.warns);
  return res;
}
