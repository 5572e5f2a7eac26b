/* Parser directives of a Dockerfile ("# syntax=...", "# escape=`", "# check=..."),
 * as BuildKit's DirectiveParser: only in the comment lines at the very top, each
 * at most once, name case-insensitive, value matched by
 * ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ after the '#'.  Also the look-up
 * BuildKit does before parsing (DetectSyntax / ParseDirective), which skips a
 * "#!" first line and, for syntax, accepts "//" comments. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

const char *const mtk_df_directive_names[3] = {"syntax", "escape", "check"};

/* Go regexp \s: [\t\n\f\r ]. */
static bool re_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
  return is_alpha(c) || (c >= '0' && c <= '9');
}

/* Matches the directive regexp on s: the name and value spans, or false. */
static bool match_directive(const char *s, size_t n, size_t *name_len, const char **value,
                            size_t *value_len)
{
  size_t i = 0;
  if (n == 0 || !is_alpha(s[0]))
    return false;
  while (i < n && is_alnum(s[i]))
    i++;
  *name_len = i;
  while (i < n && re_space(s[i]))
    i++;
  if (i == n || s[i] != '=')
    return false;
  const char *t = s + i + 1;
  size_t tn = n - i - 1, k = 0;
  if (tn == 0)
    return false;
  while (k < tn && re_space(t[k]))
    k++;
  if (k == tn) {
    /* Only blanks: the lazy (.+?) still takes one of them (the last). */
    *value = t + tn - 1;
    *value_len = 1;
    return true;
  }
  size_t end = tn;
  while (end > k && re_space(t[end - 1]))
    end--;
  *value = t + k;
  *value_len = end - k;
  return true;
}

int mtk_df_directive_line(struct df_directives *d, const char *line, size_t n, int *kind,
                          const char **value, size_t *value_len, char **emsg)
{
  d->line++;
  if (d->done)
    return 0;
  if (n == 0 || line[0] != '#') {
    d->done = true;
    return 0;
  }
  size_t skip = 1 + mtk_go_space_prefix(line + 1, n - 1);
  size_t name_len;
  if (!match_directive(line + skip, n - skip, &name_len, value, value_len)) {
    d->done = true;
    return 0;
  }
  for (int k = 0; k < 3; k++) {
    const char *name = mtk_df_directive_names[k];
    if (strlen(name) == name_len && strncasecmp(name, line + skip, name_len) == 0) {
      if (d->seen[k]) {
        *emsg = mtk_xasprintf("only one %s parser directive can be used", name);
        return -1;
      }
      d->seen[k] = true;
      *kind = k;
      return 1;
    }
  }
  d->done = true;
  return 0;
}

/* DirectiveParser.ParseAll with comment prefix `prefix` over the raw lines of
 * text (no whitespace trimming), looking for directive `kind`. */
static bool scan_directive(const char *text, size_t len, const char *prefix, int kind,
                           const char **value, size_t *value_len)
{
  bool seen[3] = {false, false, false};
  size_t plen = strlen(prefix);
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t) (nl - text) : len;
    const char *line = text + pos;
    size_t n = end - pos;
    pos = nl ? end + 1 : len;
    if (n > DF_MAX_LINE)
      return false; /* bufio.Scanner stops on a too long line */
    if (n > 0 && line[n - 1] == '\r')
      n--;
    if (n < plen || memcmp(line, prefix, plen) != 0)
      return false;
    size_t skip = plen + mtk_go_space_prefix(line + plen, n - plen);
    size_t name_len;
    const char *v;
    size_t vn;
    if (!match_directive(line + skip, n - skip, &name_len, &v, &vn))
      return false;
    int k = -1;
    for (int i = 0; i < 3; i++)
      if (strlen(mtk_df_directive_names[i]) == name_len &&
          strncasecmp(mtk_df_directive_names[i], line + skip, name_len) == 0)
        k = i;
    if (k < 0 || seen[k])
      return false;
    seen[k] = true;
    if (k == kind) {
      *value = v;
      *value_len = vn;
      return true;
    }
  }
  return false;
}

char *mtk_df_detect_directive(struct mtk_df_arena *a, const char *name, const char *text,
                              size_t len)
{
  int kind = -1;
  for (int i = 0; i < 3; i++)
    if (strcmp(mtk_df_directive_names[i], name) == 0)
      kind = i;
  if (kind < 0)
    return NULL;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    text += 3, len -= 3;
  if (len >= 2 && text[0] == '#' && text[1] == '!') {
    const char *nl = memchr(text, '\n', len);
    len = nl ? len - (size_t) (nl + 1 - text) : 0;
    text = nl ? nl + 1 : text;
  }
  const char *v;
  size_t vn;
  bool found = scan_directive(text, len, "#", kind, &v, &vn);
  if (!found && kind == 0)
    found = scan_directive(text, len, "//", kind, &v, &vn);
  if (!found)
    return NULL;
  /* BuildKit uses the value up to the first space ("dockerfile:1 // opts"). */
  const char *sp = memchr(v, ' ', vn);
  return mtk_df_arena_strndup(a, v, sp ? (size_t) (sp - v) : vn);
}
