/* Compose variable interpolation (see interp.h): a hand-written equivalent of compose-go's
 * template package, which is a regular expression plus replacement callbacks.  The parts of
 * its behaviour that users can observe are kept on purpose:
 *  - `${NAME<op>...}` extends to the LAST `}` of its line (the regexp's greedy `.*`), then is
 *    cut at the brace that closes the first `{` by a counter that skips the byte after each
 *    `{`; what follows the cut (the "rest") is substituted as a template of its own;
 *  - defaults, alternatives and error messages are substituted only when they are used;
 *  - the first error wins; an invalid template names the innermost (sub-)template.
 * Nested substitutions run on an explicit stack of frames, not on the C stack, so a long or
 * deeply nested input cannot overflow it. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/interp.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* What happens when a frame's text is used up. */
enum frame_kind {
  FRAME_PLAIN,    /* nothing: output already went to the target buffer */
  FRAME_REQUIRED, /* its buffer is the message of a missing required variable: fail */
};

/* One template being substituted: the whole input, a used default/alternative/message, or
 * the rest after a `${...}` cut. */
struct frame {
  size_t pos;            /* next byte to scan */
  size_t end;            /* end of this template (exclusive) */
  size_t start;          /* start of this template: the text an invalid-template error names */
  size_t out;            /* index of the frame whose buf receives the output */
  enum frame_kind kind;  /* see enum frame_kind */
  bool one_line;         /* a piece of one match: holds no newline */
  char *name;            /* owned: FRAME_REQUIRED: the variable */
  struct mtk_strbuf buf; /* output of frame 0 (the result) or of a FRAME_REQUIRED frame */
};

struct subst {
  const char *t;               /* borrowed: the whole template */
  mtk_interp_lookup_cb lookup; /* may be NULL */
  void *ud;                    /* passed to lookup */
  struct frame *fr;            /* owned: the stack */
  size_t len;                  /* frames in use */
  size_t cap;                  /* frames allocated */
  size_t nl_from, nl_at;       /* t[nl_from..nl_at) holds no newline (a cache) */
};

/* A matched `$...` expression. */
struct match {
  size_t end;      /* one past the match */
  size_t name;     /* start of the variable name */
  size_t name_len; /* 0: an invalid `${` */
  char op[3];      /* "" (plain $NAME / ${NAME}), "$" (escaped), or ":-", "-", ":?", ... */
  size_t op_end;   /* braced with op: start of the text after the operator */
};

/* Length of a name character at s (compose-go's `(?i)[_a-z0-9]`), 0 when there is none.
 * Go's case folding makes [a-z] also match U+017F (long s) and U+212A (Kelvin sign). */
static size_t name_char(const char *s, size_t n, bool first)
{
  unsigned char c = (unsigned char) s[0];
  if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  if (c >= '0' && c <= '9')
    return first ? 0 : 1;
  if (n >= 2 && memcmp(s, "\xC5\xBF", 2) == 0)
    return 2;
  if (n >= 3 && memcmp(s, "\xE2\x84\xAA", 3) == 0)
    return 3;
  return 0;
}

static size_t name_len(const char *s, size_t n)
{
  size_t i = 0, w = name_char(s, n, true);
  while (w) {
    i += w;
    w = i < n ? name_char(s + i, n - i, false) : 0;
  }
  return i;
}

/* The end of the line holding t[q] within frame f (the first newline or the frame end). */
static size_t line_end(struct subst *s, const struct frame *f, size_t q)
{
  if (f->one_line)
    return f->end;
  if (q < s->nl_from || q > s->nl_at) {
    const char *nl = memchr(s->t + q, '\n', f->end - q);
    s->nl_from = q;
    s->nl_at = nl ? (size_t) (nl - s->t) : f->end;
  }
  return s->nl_at < f->end ? s->nl_at : f->end;
}

/* Matches the expression at t[p] == '$' within frame f.  Returns false when the `$` starts
 * no match (it is then literal text). */
static bool match_at(struct subst *s, const struct frame *f, size_t p, struct match *m)
{
  const char *t = s->t;
  size_t end = f->end;
  memset(m, 0, sizeof(*m));
  if (p + 1 >= end)
    return false;
  if (t[p + 1] == '$') {
    m->end = p + 2, m->op[0] = '$';
    return true;
  }
  if (t[p + 1] != '{') {
    m->name = p + 1;
    m->name_len = name_len(t + p + 1, end - p - 1);
    m->end = p + 1 + m->name_len;
    return m->name_len > 0;
  }
  /* `${`: an invalid match unless a braced expression follows. */
  m->name = p + 2;
  m->end = p + 2;
  size_t nl = name_len(t + m->name, end - m->name), k = m->name + nl;
  if (nl == 0 || k >= end)
    return true;
  size_t opl = t[k] == ':' && k + 1 < end && strchr("-+?", t[k + 1]) ? 2 : 0;
  if (!opl && t[k] && strchr("-+?", t[k]))
    opl = 1;
  if (!opl) {
    if (t[k] == '}')
      m->name_len = nl, m->end = k + 1;
    return true;
  }
  /* The regexp's greedy `.*}`: up to the last `}` before the end of the line. */
  size_t eol = line_end(s, f, k + opl);
  const char *close = memrchr(t + k + opl, '}', eol - k - opl);
  if (close) {
    m->name_len = nl, m->end = (size_t) (close - t) + 1, m->op_end = k + opl;
    memcpy(m->op, t + k, opl);
  }
  return true;
}

/* compose-go's getFirstBraceClosingIndex on t[p..end): the brace closing the first `{`,
 * where the byte after each `{` is skipped; `end` when there is none. */
static size_t closing_brace(const char *t, size_t p, size_t end)
{
  int open = 0;
  for (size_t i = p; i < end; i++) {
    if (t[i] == '}' && --open == 0)
      return i;
    if (t[i] == '{') {
      open++;
      i++;
    }
  }
  return end;
}

/* Pushes a frame for a piece of a match (a default, a message, a rest). */
static struct frame *push(struct subst *s, size_t pos, size_t end, size_t out)
{
  if (s->len == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->fr = mtk_xrealloc(s->fr, s->cap * sizeof(*s->fr));
  }
  struct frame *f = &s->fr[s->len++];
  *f = (struct frame){.pos = pos, .end = end, .start = pos, .out = out, .one_line = true};
  return f;
}

static const char *lookup(struct subst *s, size_t name, size_t len, bool *set)
{
  mtk_autofree char *key = mtk_xstrndup(s->t + name, len);
  const char *v = s->lookup ? s->lookup(key, s->ud) : NULL;
  *set = v != NULL;
  return v ? v : "";
}

/* Applies the operator of a braced match found in frame `fi`, whose scan position is already
 * past the match: outputs the variable's value, or pushes the frames that substitute the used
 * default/alternative/message and the rest after the cut. */
static void apply_op(struct subst *s, size_t fi, const struct match *m)
{
  size_t p = m->name - 2, cut = closing_brace(s->t, p, m->end);
  size_t d_end = cut < m->end ? cut : m->end - 1, rest = cut < m->end ? cut + 1 : m->end;
  size_t out = s->fr[fi].out;
  bool set, colon = m->op[0] == ':';
  char op = m->op[colon ? 1 : 0];
  const char *v = lookup(s, m->name, m->name_len, &set);
  bool has_value = set && (!colon || *v);
  bool use_text = op == '+' ? has_value : !has_value;

  if (op == '?' && use_text) {
    /* The message is substituted, then the variable is reported missing; no rest. */
    struct frame *f = push(s, m->op_end, d_end, s->len);
    f->kind = FRAME_REQUIRED;
    f->name = mtk_xstrndup(s->t + m->name, m->name_len);
    return;
  }
  if (!use_text)
    mtk_strbuf_adds(&s->fr[out].buf, v);
  if (rest < m->end) {
    /* A frame that would end where the rest ends is reused: same output, same end. */
    struct frame *f = &s->fr[fi];
    if (f->end == m->end)
      f->pos = f->start = rest, f->one_line = true;
    else
      push(s, rest, m->end, out);
  }
  if (use_text && d_end > m->op_end)
    push(s, m->op_end, d_end, out);
}

static int invalid(struct subst *s, const struct frame *f, char **bad, struct mtk_err **err)
{
  mtk_autofree char *q = mtk_go_quote(s->t + f->start, f->end - f->start);
  if (bad)
    *bad = mtk_xstrndup(s->t + f->start, f->end - f->start);
  return mtk_err_set(err, MTK_E_INVALID, "Invalid template: %s", q);
}

static int required(const struct frame *f, struct mtk_err **err)
{
  const char *msg = mtk_strbuf_str(&f->buf);
  if (*msg)
    return mtk_err_set(err, MTK_E_INVALID, "required variable %s is missing a value: %s", f->name,
                       msg);
  return mtk_err_set(err, MTK_E_INVALID, "required variable %s is missing a value", f->name);
}

/* Scans the top frame up to its next expression and handles it.  Returns 1 when the whole
 * template is done, 0 to go on, negative on error. */
static int step(struct subst *s, char **bad, struct mtk_err **err)
{
  size_t fi = s->len - 1;
  struct frame *f = &s->fr[fi];
  struct mtk_strbuf *out = &s->fr[f->out].buf;
  struct match m;

  while (f->pos < f->end) {
    const char *d = memchr(s->t + f->pos, '$', f->end - f->pos);
    size_t p = d ? (size_t) (d - s->t) : f->end;
    mtk_strbuf_add(out, s->t + f->pos, p - f->pos);
    f->pos = p;
    if (p == f->end)
      break;
    if (!match_at(s, f, p, &m)) {
      mtk_strbuf_addc(out, '$');
      f->pos = p + 1;
      continue;
    }
    f->pos = m.end;
    if (m.op[0] == '$') {
      mtk_strbuf_addc(out, '$');
    } else if (m.name_len == 0) {
      return invalid(s, f, bad, err);
    } else if (m.op[0] == '\0') {
      bool set;
      mtk_strbuf_adds(out, lookup(s, m.name, m.name_len, &set));
    } else {
      apply_op(s, fi, &m);
      return 0;
    }
  }
  if (f->kind == FRAME_REQUIRED)
    return required(f, err);
  if (fi == 0)
    return 1;
  mtk_strbuf_free(&f->buf);
  s->len--;
  return 0;
}

char *mtk_interp_substitute_ex(const char *tmpl, mtk_interp_lookup_cb lookup_cb, void *ud,
                               char **bad, struct mtk_err **err)
{
  struct subst s = {.t = tmpl, .lookup = lookup_cb, .ud = ud, .nl_from = 1, .nl_at = 0};
  int r = 0;
  push(&s, 0, strlen(tmpl), 0)->one_line = false;
  mtk_strbuf_add(&s.fr[0].buf, "", 0);
  while (r == 0)
    r = step(&s, bad, err);
  char *res = r >= 0 ? mtk_strbuf_steal(&s.fr[0].buf) : NULL;
  for (size_t i = 0; i < s.len; i++) {
    mtk_strbuf_free(&s.fr[i].buf);
    free(s.fr[i].name);
  }
  free(s.fr);
  return res;
}

char *mtk_interp_substitute(const char *tmpl, mtk_interp_lookup_cb lookup_cb, void *ud,
                            struct mtk_err **err)
{
  return mtk_interp_substitute_ex(tmpl, lookup_cb, ud, NULL, err);
}

const char *mtk_interp_strmap_lookup(const char *name, void *ud)
{
  return mtk_strmap_get((const struct mtk_strmap *) ud, name, NULL);
}
