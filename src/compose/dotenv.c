/* The .env parser (see dotenv.h), written after compose-go's dotenv package so that a file
 * means the same to mtk as to Docker Compose, quirks included:
 *  - a key runs up to `=`, `:` or a newline (then it is "inherited" from the lookup); spaces
 *    inside it are only rejected afterwards, and a key may be empty;
 *  - the line counter used in messages advances exactly where compose-go's does (an inherited
 *    key with a trailing space does not advance it, an unterminated quote counts every
 *    newline up to the end of the input);
 *  - unquoted values end at the newline, lose a ` #` comment and trailing white space, and are
 *    interpolated; single quotes keep everything but `\'`; double quotes take the escapes
 *    \a \b \f \n \r \t \v \\ \" \$ and \0NNN (a bad \0NNN loses its 0), then are
 *    interpolated;
 *  - interpolation looks a name up in the caller's lookup first, then in the map being filled.
 * Letters and digits in keys are Unicode's (categories L and N), as Go's unicode package. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/dotenv.h"
#include "compose/interp.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* A .env file larger than this is refused: it is configuration, not data. */
#define DOTENV_MAX_SIZE (64u << 20)

struct parser {
  const char *s;               /* borrowed: the text, BOM removed */
  size_t n;                    /* its length */
  int line;                    /* compose-go's line counter */
  const char *file;            /* borrowed: for messages */
  mtk_interp_lookup_cb lookup; /* may be NULL */
  void *ud;                    /* passed to lookup */
  struct mtk_strmap *out;      /* borrowed: the result */
};

/* compose-go's isSpace: white space that does not end a line. */
static bool env_is_space(uint32_t r)
{
  return r == '\t' || r == '\v' || r == '\f' || r == '\r' || r == ' ' || r == 0x85 || r == 0xA0;
}

static uint32_t rune_at(const struct parser *p, size_t pos, size_t *w)
{
  uint32_t r;
  *w = mtk_utf8_decode(p->s + pos, p->n - pos, &r);
  return r;
}

/* Skips runes from pos while pred holds; returns the first other position. */
static size_t skip_while(const struct parser *p, size_t pos, size_t end, bool (*pred)(uint32_t))
{
  while (pos < end) {
    uint32_t r;
    size_t w = mtk_utf8_decode(p->s + pos, end - pos, &r);
    if (!pred(r))
      break;
    pos += w;
  }
  return pos;
}

/* End of s[start..end) without its trailing runes for which pred holds. */
static size_t trim_right(const struct parser *p, size_t start, size_t end, bool (*pred)(uint32_t))
{
  size_t keep = start;
  while (start < end) {
    uint32_t r;
    size_t w = mtk_utf8_decode(p->s + start, end - start, &r);
    start += w;
    if (!pred(r))
      keep = start;
  }
  return keep;
}

static const char *memchr_end(const struct parser *p, size_t pos, char c)
{
  const char *q = memchr(p->s + pos, c, p->n - pos);
  return q ? q : p->s + p->n;
}

static int fail(struct parser *p, struct mtk_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, struct mtk_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_set_atv(err, MTK_E_INVALID, p->file, p->line, 0, fmt, ap);
  va_end(ap);
  return r;
}

/* compose-go's getStatementStart: skips white space (counting newlines) and comment lines.
 * Returns the start of the next statement, or p->n at the end of the text. */
static size_t statement_start(struct parser *p, size_t pos)
{
  for (;;) {
    size_t w;
    while (pos < p->n) {
      uint32_t r = rune_at(p, pos, &w);
      if (r == '\n')
        p->line++;
      if (!mtk_go_is_space(r))
        break;
      pos += w;
    }
    if (pos >= p->n || p->s[pos] != '#')
      return pos;
    pos = (size_t) (memchr_end(p, pos, '\n') - p->s);
  }
}

/* A located key: s[key..key_end), and where its value starts. */
struct key {
  size_t key, key_end; /* the key, trimmed */
  size_t value;        /* start of the value (after `=`/`:` and spaces) */
  bool inherited;      /* the key stood alone on its line */
};

/* Reports compose-go's "unexpected character" error for the rune at `bad`. */
static int bad_key_char(struct parser *p, size_t src, size_t bad, size_t w, struct mtk_err **err)
{
  uint32_t r;
  mtk_utf8_decode(p->s + bad, w, &r);
  /* Go's string(rune) of an invalid byte is U+FFFD. */
  mtk_autofree char *qc =
      r == 0xFFFD && w == 1 ? mtk_go_quote("\xEF\xBF\xBD", 3) : mtk_go_quote(p->s + bad, w);
  size_t eol = (size_t) (memchr_end(p, src, '\n') - p->s);
  mtk_autofree char *ql = mtk_go_quote(p->s + src, eol - src);
  return fail(p, err, "line %d: unexpected character %s in variable name %s", p->line, qc, ql);
}

/* compose-go's locateKeyName. */
static int locate_key(struct parser *p, size_t pos, struct key *k, struct mtk_err **err)
{
  static const char export_space[] = "\t\n\f\r ";
  size_t i = pos, end = pos, w, off = pos;
  bool found = false;

  if (p->n - pos > 6 && memcmp(p->s + pos, "export", 6) == 0 && p->s[pos + 6] &&
      strchr(export_space, p->s[pos + 6]))
    pos = skip_while(p, pos + 6, p->n, env_is_space);
  memset(k, 0, sizeof(*k));
  for (i = pos; i < p->n && !found; i += w) {
    uint32_t r = rune_at(p, i, &w);
    if (env_is_space(r) || r == '_' || r == '.' || r == '-' || r == '[' || r == ']' ||
        mtk_go_is_letter(r) || mtk_go_is_number(r))
      continue;
    if (r != '=' && r != ':' && r != '\n')
      return bad_key_char(p, pos, i, w, err);
    end = i, off = i + 1, found = true;
    k->inherited = r == '\n';
  }
  if (pos == p->n)
    return fail(p, err, "zero length string");
  /* Without a separator the key is empty and the whole rest is the value. */
  if (!found)
    end = pos, off = pos;
  if (k->inherited && !memchr(p->s + pos, ' ', end - pos))
    p->line++;
  k->key = pos;
  k->key_end = trim_right(p, pos, end, mtk_go_is_space);
  k->value = skip_while(p, off, p->n, env_is_space);
  return 0;
}

/* Interpolation inside .env text: the caller's lookup first, then the keys parsed so far. */
static const char *expand_lookup(const char *name, void *ud)
{
  struct parser *p = ud;
  const char *v = p->lookup ? p->lookup(name, p->ud) : NULL;
  return v ? v : mtk_strmap_get(p->out, name, NULL);
}

static char *expand(struct parser *p, const char *value, int line, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  char *res = mtk_interp_substitute(value, expand_lookup, p, &e);
  if (!res) {
    mtk_err_set_at(err, e->code, p->file, line, 0, "%s", e->msg);
    mtk_err_free(&e);
  }
  return res;
}

/* One escape at s[0] == '\\' (compose-go's `\\(?:[abcfnrtv$"\\]|0\d{0,3})` and what
 * strconv.UnquoteChar makes of it).  Returns the bytes consumed, 0 when s starts no escape. */
static size_t unescape_one(const char *s, size_t n, struct mtk_strbuf *sb)
{
  static const char from[] = "abfnrtv\"\\", to[] = "\a\b\f\n\r\t\v\"\\";
  if (n < 2)
    return 0;
  if (s[1] == '$') {
    mtk_strbuf_add(sb, "$$", 2); /* the template's escape for a literal `$` */
    return 2;
  }
  if (s[1] == 'c') {
    mtk_strbuf_add(sb, s, 2); /* matched, but not an escape Go knows */
    return 2;
  }
  const char *f = s[1] ? strchr(from, s[1]) : NULL;
  if (f) {
    mtk_strbuf_addc(sb, to[f - from]);
    return 2;
  }
  if (s[1] != '0')
    return 0;
  size_t d = 0;
  while (d < 3 && 2 + d < n && s[2 + d] >= '0' && s[2 + d] <= '9')
    d++;
  /* `\0NNN` is read as Go's `\NNN`: exactly three octal digits, at most 0377. */
  bool octal = d == 3;
  for (size_t i = 0; octal && i < 3; i++)
    octal = s[2 + i] <= '7';
  uint32_t v = octal ? (uint32_t) ((s[2] - '0') * 64 + (s[3] - '0') * 8 + (s[4] - '0')) : 256;
  if (v <= 255) {
    mtk_utf8_append(sb, v);
  } else {
    /* compose-go keeps the rewritten text: `\012` becomes `\12`, `\0` becomes `\`. */
    mtk_strbuf_addc(sb, '\\');
    mtk_strbuf_add(sb, s + 2, d);
  }
  return 2 + d;
}

static char *expand_escapes(const char *s, size_t n)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_add(&sb, "", 0);
  for (size_t i = 0; i < n;) {
    size_t used = s[i] == '\\' ? unescape_one(s + i, n - i, &sb) : 0;
    if (!used)
      mtk_strbuf_addc(&sb, s[i]);
    i += used ? used : 1;
  }
  return mtk_strbuf_steal(&sb);
}

/* compose-go's extractVarValue for a quoted value at p->s[pos].  Sets *rest past it. */
static char *quoted_value(struct parser *p, size_t pos, size_t *rest, struct mtk_err **err)
{
  char quote = p->s[pos];
  int line = p->line;
  bool esc = false;
  mtk_autostrbuf chars = MTK_STRBUF_INIT;

  mtk_strbuf_add(&chars, "", 0);
  for (size_t i = pos + 1; i < p->n; i++) {
    char c = p->s[i];
    if (c == '\n')
      p->line++;
    if (c != quote) {
      if (!esc && c == '\\') {
        esc = true;
        continue;
      }
      if (esc)
        mtk_strbuf_addc(&chars, '\\');
      esc = false;
      mtk_strbuf_addc(&chars, c);
      continue;
    }
    if (esc) { /* an escaped quote loses its backslash */
      esc = false;
      mtk_strbuf_addc(&chars, c);
      continue;
    }
    *rest = i + 1;
    if (quote == '\'')
      return mtk_strbuf_steal(&chars);
    mtk_autofree char *unesc = expand_escapes(chars.buf, chars.len);
    return expand(p, unesc, line, err);
  }
  size_t eol = (size_t) (memchr_end(p, pos, '\n') - p->s);
  fail(p, err, "line %d: unterminated quoted value %.*s", p->line, (int) (eol - pos), p->s + pos);
  return NULL;
}

/* compose-go's extractVarValue.  Returns the value (owned) and sets *rest past it. */
static char *var_value(struct parser *p, size_t pos, size_t *rest, struct mtk_err **err)
{
  if (pos < p->n && (p->s[pos] == '"' || p->s[pos] == '\''))
    return quoted_value(p, pos, rest, err);
  size_t eol = (size_t) (memchr_end(p, pos, '\n') - p->s);
  int line = p->line++;
  *rest = eol < p->n ? eol + 1 : eol;
  const char *hash = memmem(p->s + pos, eol - pos, " #", 2);
  size_t end = trim_right(p, pos, hash ? (size_t) (hash - p->s) : eol, mtk_go_is_space);
  mtk_autofree char *value = mtk_xstrndup(p->s + pos, end - pos);
  return expand(p, value, line, err);
}

int mtk_dotenv_parse(const char *text, size_t len, const char *filename,
                     mtk_interp_lookup_cb lookup, void *ud, struct mtk_strmap *out,
                     struct mtk_err **err)
{
  struct parser p = {.s = text,
                     .n = len,
                     .line = 1,
                     .file = filename ? filename : ".env",
                     .lookup = lookup,
                     .ud = ud,
                     .out = out};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    p.s += 3, p.n -= 3;

  for (size_t pos = statement_start(&p, 0); pos < p.n; pos = statement_start(&p, pos)) {
    struct key k;
    if (locate_key(&p, pos, &k, err) < 0)
      return -1;
    mtk_autofree char *key = mtk_xstrndup(p.s + k.key, k.key_end - k.key);
    if (strchr(key, ' '))
      return fail(&p, err, "line %d: key cannot contain a space", p.line);
    if (k.inherited) {
      const char *v = lookup ? lookup(key, ud) : NULL;
      if (v)
        mtk_strmap_set(out, key, v);
      pos = k.value;
      continue;
    }
    mtk_autofree char *value = var_value(&p, k.value, &pos, err);
    if (!value)
      return -1;
    mtk_strmap_set(out, key, value);
  }
  return 0;
}

int mtk_dotenv_read_file(const char *path, mtk_interp_lookup_cb lookup, void *ud,
                         struct mtk_strmap *out, struct mtk_err **err)
{
  size_t len = 0;
  mtk_autofree char *text = mtk_file_read(path, DOTENV_MAX_SIZE, &len, err);
  if (!text)
    return -1;
  return mtk_dotenv_parse(text, len, path, lookup, ud, out, err);
}
