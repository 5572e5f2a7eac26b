/* The pattern half of the shell-word lexer (see shlex.h): the shell patterns of
 * ${VAR#p} ${VAR%p} ${VAR/p/r}.  BuildKit turns such a pattern into a Go regexp (`*` -> `.*`
 * or `.*?`, `?` -> `.`, everything else literal) and matches it leftmost-first; here the
 * pattern is compiled to a token list and run by a small Pike VM with thread priorities, which
 * gives the same match in time linear in the value (no backtracking blow-up).  As in Go's
 * regexp, a wildcard never matches a newline and an invalid UTF-8 byte is one U+FFFD rune. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/shlex.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"

/* Decodes the rune at s[i..n) (Go's utf8.DecodeRune); returns its width, 0 at the end. */
static size_t decode_at(const char *s, size_t n, size_t i, uint32_t *r)
{
  if (i >= n) {
    *r = 0xFFFD;
    return 0;
  }
  return mtk_utf8_decode(s + i, n - i, r);
}

/* ---- patterns ---- */

enum tok_kind { TOK_LIT, TOK_ANY, TOK_STAR };

struct tok {
  enum tok_kind kind; /* literal rune, `?` or `*` */
  uint32_t r;         /* the rune of TOK_LIT */
};

struct pattern {
  struct tok *t; /* owned */
  size_t n;      /* entries of t */
  bool greedy;   /* `*` prefers the longest run (Go `.*`) rather than the shortest (`.*?`) */
};

static void pattern_free(struct pattern *p)
{
  free(p->t);
  p->t = NULL;
}

#define mtk_autopattern __attribute__((cleanup(pattern_free))) struct pattern

static void push_tok(struct pattern *p, size_t *cap, enum tok_kind kind, uint32_t r)
{
  /* `**` matches what `*` matches, with the same preference: keep one (this also keeps the
     VM's epsilon closure one level deep). */
  if (kind == TOK_STAR && p->n && p->t[p->n - 1].kind == TOK_STAR)
    return;
  if (p->n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    p->t = mtk_xrealloc(p->t, *cap * sizeof(*p->t));
  }
  p->t[p->n++] = (struct tok){kind, r};
}

/* Compiles a shell pattern as BuildKit's convertShellPatternToRegex reads it (through Go's
   text/scanner, so a leading U+FEFF is skipped): `*`, `?`, `\*` `\?` `\\` literal, `\}` and
   `\/` the bare character; any other escape is an error naming the whole pattern. */
static int compile(const char *src, bool greedy, struct pattern *p, struct mtk_err **err)
{
  size_t n = strlen(src), i = 0, cap = 0, w;
  uint32_t r, next;
  *p = (struct pattern){NULL, 0, greedy};
  w = decode_at(src, n, 0, &r);
  if (w && r == 0xFEFF)
    i = w;
  while ((w = decode_at(src, n, i, &r)) > 0) {
    i += w;
    if (r == '*' || r == '?') {
      push_tok(p, &cap, r == '*' ? TOK_STAR : TOK_ANY, 0);
      continue;
    }
    if (r == '\\') {
      w = decode_at(src, n, i, &next);
      if (w && (next == '}' || next == '/'))
        continue;
      i += w;
      if (!w || (next != '*' && next != '?' && next != '\\')) {
        mtk_autostrbuf esc = MTK_STRBUF_INIT;
        mtk_utf8_append(&esc, w ? next : 0xFFFD);
        pattern_free(p);
        return mtk_err_set(err, MTK_E_BUILD,
                           "invalid pattern (%s) in substitution: "
                           "invalid escape '\\%s'",
                           src, mtk_strbuf_str(&esc));
      }
      r = next;
    }
    push_tok(p, &cap, TOK_LIT, r);
  }
  return 0;
}

/* A thread of the VM: it is at token `state` (p->n = the match state) and began at `start`. */
struct thread {
  size_t state; /* token index, or p->n for "matched" */
  size_t start; /* byte offset where its match began */
};

struct vm {
  const struct pattern *p; /* borrowed */
  struct thread *list[2];  /* owned: current and next thread lists, p->n + 1 entries each */
  size_t len[2];           /* threads in each list */
  size_t *seen;            /* owned: per state, the generation that last added it */
  size_t gen;              /* current generation (one per list being filled) */
};

static void vm_init(struct vm *vm, const struct pattern *p)
{
  vm->p = p;
  for (int k = 0; k < 2; k++) {
    vm->list[k] = mtk_xcalloc(p->n + 1, sizeof(struct thread));
    vm->len[k] = 0;
  }
  vm->seen = mtk_xcalloc(p->n + 1, sizeof(size_t));
  vm->gen = 0;
}

static void vm_free(struct vm *vm)
{
  free(vm->list[0]);
  free(vm->list[1]);
  free(vm->seen);
}

#define mtk_autovm __attribute__((cleanup(vm_free))) struct vm

static void add_state(struct vm *vm, int k, size_t state, size_t start)
{
  if (vm->seen[state] == vm->gen)
    return;
  vm->seen[state] = vm->gen;
  vm->list[k][vm->len[k]++] = (struct thread){state, start};
}

/* Adds the threads reachable from token `state` without consuming input, in priority order:
   a `*` either takes one more rune (first when greedy) or lets the next token try. */
static void add_closure(struct vm *vm, int k, size_t state, size_t start)
{
  const struct pattern *p = vm->p;
  /* The token after a `*` is never a `*` (push_tok merges them): one level is enough. */
  if (state < p->n && p->t[state].kind == TOK_STAR) {
    if (p->greedy)
      add_state(vm, k, state, start);
    add_state(vm, k, state + 1, start);
    if (!p->greedy)
      add_state(vm, k, state, start);
    return;
  }
  add_state(vm, k, state, start);
}

static bool step_accepts(const struct tok *t, uint32_t r)
{
  return t->kind == TOK_LIT ? r == t->r : r != '\n';
}

/* Go regexp's leftmost-first search of s[0..n) from byte `from` (only at `from` when
   anchored).  Returns true with the match [*a, *b). */
static bool vm_search(struct vm *vm, const char *s, size_t n, size_t from, bool anchored, size_t *a,
                      size_t *b)
{
  const struct pattern *p = vm->p;
  bool matched = false;
  int cur = 0;
  vm->len[0] = vm->len[1] = 0;
  vm->gen++;
  for (size_t pos = from;;) {
    uint32_t r;
    size_t w = decode_at(s, n, pos, &r);
    /* A new start has the lowest priority; vm->gen is still the generation that filled the
       current list, so it cannot duplicate a state an earlier (better) thread holds. */
    if (!matched && (!anchored || pos == from))
      add_closure(vm, cur, 0, pos);
    if (vm->len[cur] == 0)
      break;
    vm->gen++;
    vm->len[!cur] = 0;
    for (size_t i = 0; i < vm->len[cur]; i++) {
      struct thread t = vm->list[cur][i];
      if (t.state == p->n) {
        *a = t.start, *b = pos, matched = true;
        break; /* threads after this one have a lower priority */
      }
      if (w == 0 || !step_accepts(&p->t[t.state], r))
        continue;
      add_closure(vm, !cur, p->t[t.state].kind == TOK_STAR ? t.state : t.state + 1, t.start);
    }
    if (w == 0)
      break;
    pos += w;
    cur = !cur;
  }
  return matched;
}

/* ---- ${VAR#p} ${VAR%p} ---- */

/* The runes of s, as Go's []rune(s) (an invalid byte is one U+FFFD); *n receives the count. */
static uint32_t *to_runes(const char *s, size_t *n)
{
  size_t len = strlen(s), i = 0, w;
  uint32_t *r = mtk_xcalloc(len + 1, sizeof(*r));
  *n = 0;
  while ((w = decode_at(s, len, i, &r[*n])) > 0)
    i += w, (*n)++;
  return r;
}

static char *from_runes(const uint32_t *r, size_t n)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++)
    mtk_utf8_append(&sb, r[i]);
  return mtk_strbuf_steal(&sb);
}

static char *reverse_string(const char *s)
{
  size_t n;
  mtk_autofree uint32_t *r = to_runes(s, &n);
  for (size_t i = 0; i < n / 2; i++) {
    uint32_t t = r[i];
    r[i] = r[n - 1 - i];
    r[n - 1 - i] = t;
  }
  return from_runes(r, n);
}

/* The pattern read backwards, an escape staying in front of the rune it escapes ("a\*c" ->
   "c\*a"), as BuildKit reverses it to find a suffix with a prefix search. */
static char *reverse_pattern(const char *pattern)
{
  size_t n;
  mtk_autofree uint32_t *r = to_runes(pattern, &n);
  mtk_autofree uint32_t *out = mtk_xcalloc(n + 1, sizeof(*out));
  for (size_t i = 0; i < n;) {
    size_t o = n - 1 - i;
    if (r[i] == '\\' && i != n - 1) {
      out[o - 1] = '\\';
      out[o] = r[i + 1];
      i += 2;
    } else {
      out[o] = r[i++];
    }
  }
  return from_runes(out, n);
}

static char *trim_prefix(const char *value, const char *pattern, bool greedy, struct mtk_err **err)
{
  mtk_autopattern p = {0};
  mtk_autovm vm = {0};
  size_t a, b;
  if (compile(pattern, greedy, &p, err) < 0)
    return NULL;
  vm_init(&vm, &p);
  if (vm_search(&vm, value, strlen(value), 0, true, &a, &b))
    return mtk_xstrdup(value + b);
  return mtk_xstrdup(value);
}

char *mtk_shlex_trim(const char *value, const char *pattern, bool suffix, bool greedy,
                     struct mtk_err **err)
{
  if (!suffix)
    return trim_prefix(value, pattern, greedy, err);
  mtk_autofree char *rp = reverse_pattern(pattern);
  mtk_autofree char *rv = reverse_string(value);
  mtk_autofree char *t = trim_prefix(rv, rp, greedy, err);
  return t ? reverse_string(t) : NULL;
}

/* ---- ${VAR/p/r} ${VAR//p/r} ---- */

/* Go regexp's template expansion (Regexp.Expand) for a regexp without groups: `$$` is `$`,
   `$0` / `${0}` the match, any other well-formed `$name` / `${name}` nothing, and a `$` that
   starts no name stays. */
static void expand(struct mtk_strbuf *dst, const char *tmpl, const char *match, size_t mlen)
{
  const char *d;
  while ((d = strchr(tmpl, '$')) != NULL) {
    mtk_strbuf_add(dst, tmpl, (size_t) (d - tmpl));
    tmpl = d + 1;
    if (*tmpl == '$') {
      mtk_strbuf_addc(dst, '$');
      tmpl++;
      continue;
    }
    bool brace = *tmpl == '{';
    const char *name = tmpl + brace;
    size_t len = strlen(name), i = 0, w;
    uint32_t r;
    while ((w = decode_at(name, len, i, &r)) > 0 &&
           (mtk_go_is_letter(r) || mtk_go_is_digit(r) || r == '_'))
      i += w;
    if (i == 0 || (brace && name[i] != '}')) {
      mtk_strbuf_addc(dst, '$'); /* malformed: the `$` is text */
      continue;
    }
    /* Group 0 is the only group: "0" names it; leading zeros or other names match nothing. */
    if (i == 1 && name[0] == '0')
      mtk_strbuf_add(dst, match, mlen);
    tmpl = name + i + brace;
  }
  mtk_strbuf_adds(dst, tmpl);
}

/* Go's Regexp.ReplaceAllString: every leftmost match from where the last one ended, an empty
   match right after a match is not replaced, and the search moves on by at least one rune. */
static char *replace_all(struct vm *vm, const char *value, const char *repl, size_t limit,
                         struct mtk_err **err)
{
  mtk_autostrbuf out = MTK_STRBUF_INIT;
  size_t n = strlen(value), last = 0, pos = 0, a, b;
  while (pos <= n && vm_search(vm, value, n, pos, false, &a, &b)) {
    uint32_t r;
    size_t w = decode_at(value, n, pos, &r);
    mtk_strbuf_add(&out, value + last, a - last);
    if (b > last || a == 0)
      expand(&out, repl, value + a, b - a);
    if (out.len > limit) {
      mtk_err_set(err, MTK_E_BUILD, "expansion longer than %zu bytes", limit);
      return NULL;
    }
    last = b;
    if (pos + w > b)
      pos += w;
    else if (pos + 1 > b)
      pos++;
    else
      pos = b;
  }
  mtk_strbuf_adds(&out, value + last);
  return mtk_strbuf_steal(&out);
}

char *mtk_shlex_replace(const char *value, const char *pattern, const char *repl, bool all,
                        size_t limit, struct mtk_err **err)
{
  mtk_autopattern p = {0};
  mtk_autovm vm = {0};
  size_t a, b;
  if (compile(pattern, true, &p, err) < 0)
    return NULL;
  vm_init(&vm, &p);
  if (all)
    return replace_all(&vm, value, repl, limit, err);
  if (!vm_search(&vm, value, strlen(value), 0, false, &a, &b))
    return mtk_xstrdup(value);
  return mtk_xasprintf("%.*s%s%s", (int) a, value, repl, value + b);
}
