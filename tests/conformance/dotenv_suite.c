/* The dotenv suite of mtk-conformance: runs vectors/dotenv.json (see
 * shared/conformance/compose/README.md) through mtk_dotenv_parse / mtk_dotenv_read_file:
 * `lines` (one key of a one-line document), `documents` (the exact map), `errors` (must be
 * rejected) and `files` (fixtures next to the vectors file).  Lookups see an empty
 * environment.  Prints one line per failing case and ends with "N passed, M failed". */
#include "config.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "compose/dotenv.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

struct tally {
  size_t passed; /* cases that passed */
  size_t failed; /* cases that failed (each printed) */
};

static char *quote(const char *s)
{
  return s ? mtk_go_quote(s, strlen(s)) : mtk_xstrdup("(absent)");
}

static char *map_text(const struct mtk_strmap *m)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_addc(&sb, '{');
  for (size_t i = 0; i < m->len; i++) {
    mtk_autofree char *k = quote(m->keys[i]);
    mtk_autofree char *v = quote(m->vals[i]);
    mtk_strbuf_addf(&sb, "%s%s: %s", i ? ", " : "", k, v);
  }
  mtk_strbuf_addc(&sb, '}');
  return mtk_strbuf_steal(&sb);
}

static void count(struct tally *t, bool ok)
{
  if (ok)
    t->passed++;
  else
    t->failed++;
}

/* Parses `input`; on failure prints it and returns false.  *m receives the map. */
static bool parse(const char *what, const char *input, struct mtk_strmap *m)
{
  struct mtk_err *err = NULL;
  if (mtk_dotenv_parse(input, strlen(input), "input", NULL, NULL, m, &err) == 0)
    return true;
  mtk_autofree char *qi = quote(input);
  mtk_autofree char *msg = mtk_err_format(err);
  printf("FAIL %s %s: expected success, got error: %s\n", what, qi, msg);
  mtk_err_free(&err);
  return false;
}

static bool run_line(json_t *c)
{
  const char *input = json_string_value(json_object_get(c, "input"));
  const char *key = json_string_value(json_object_get(c, "key"));
  const char *want = json_string_value(json_object_get(c, "value"));
  mtk_autostrmap m = MTK_STRMAP_INIT;
  if (!input || !key || !want) {
    printf("FAIL malformed lines[] case\n");
    return false;
  }
  if (!parse("line", input, &m))
    return false;
  bool found;
  const char *got = mtk_strmap_get(&m, key, &found);
  if (found && got && strcmp(got, want) == 0)
    return true;
  mtk_autofree char *qi = quote(input);
  mtk_autofree char *qw = quote(want);
  mtk_autofree char *qg = found ? quote(got) : mtk_xstrdup("(absent)");
  printf("FAIL line %s: key \"%s\": expected %s, got %s\n", qi, key, qw, qg);
  return false;
}

/* s with every CRLF made LF (owned). */
static char *crlf_to_lf(const char *s)
{
  char *r = mtk_xstrdup(s), *w = r;
  for (; *s; s++)
    if (!(s[0] == '\r' && s[1] == '\n'))
      *w++ = *s;
  *w = '\0';
  return r;
}

/* True when every key of `want` has its value in m (and, when exact, nothing else is).
 * With crlf, CRLF in values counts as LF (a fixture may be checked out with CRLF). */
static bool map_matches(const struct mtk_strmap *m, json_t *want, bool exact, bool crlf)
{
  const char *k;
  json_t *v;
  if (exact && json_object_size(want) != m->len)
    return false;
  json_object_foreach(want, k, v)
  {
    const char *got = mtk_strmap_get(m, k, NULL);
    mtk_autofree char *norm = got && crlf ? crlf_to_lf(got) : NULL;
    if (norm)
      got = norm;
    if (!got || !json_is_string(v) || strcmp(got, json_string_value(v)) != 0)
      return false;
  }
  return true;
}

static void report_map(const char *what, const char *name, json_t *want, const struct mtk_strmap *m)
{
  mtk_autofree char *qn = quote(name);
  mtk_autofree char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
  mtk_autofree char *g = map_text(m);
  printf("FAIL %s %s: expected %s, got %s\n", what, qn, w, g);
}

static bool run_document(json_t *c)
{
  const char *input = json_string_value(json_object_get(c, "input"));
  json_t *want = json_object_get(c, "expected");
  mtk_autostrmap m = MTK_STRMAP_INIT;
  if (!input || !json_is_object(want)) {
    printf("FAIL malformed documents[] case\n");
    return false;
  }
  if (!parse("document", input, &m))
    return false;
  if (map_matches(&m, want, true, false))
    return true;
  report_map("document", input, want, &m);
  return false;
}

static bool run_error(json_t *c)
{
  const char *input = json_string_value(json_object_get(c, "input"));
  const char *want = json_string_value(json_object_get(c, "error_contains"));
  mtk_autostrmap m = MTK_STRMAP_INIT;
  struct mtk_err *err = NULL;
  if (!input) {
    printf("FAIL malformed errors[] case\n");
    return false;
  }
  int r = mtk_dotenv_parse(input, strlen(input), "input", NULL, NULL, &m, &err);
  mtk_autofree char *msg = r < 0 ? mtk_err_format(err) : NULL;
  bool ok = r < 0 && err->code == MTK_E_INVALID && (!want || strstr(msg, want));
  mtk_err_free(&err);
  if (ok)
    return true;
  mtk_autofree char *qi = quote(input);
  mtk_autofree char *g = r < 0 ? mtk_xasprintf("error: %s", msg) : map_text(&m);
  printf("FAIL error %s: expected an error containing \"%s\", got %s\n", qi, want ? want : "", g);
  return false;
}

static bool run_file(json_t *c, const char *dir)
{
  const char *file = json_string_value(json_object_get(c, "file"));
  json_t *want = json_object_get(c, "expected");
  mtk_autostrmap m = MTK_STRMAP_INIT;
  struct mtk_err *err = NULL;
  if (!file || !json_is_object(want)) {
    printf("FAIL malformed files[] case\n");
    return false;
  }
  mtk_autofree char *path = mtk_xasprintf("%s/%s", dir, file);
  if (mtk_dotenv_read_file(path, NULL, NULL, &m, &err) < 0) {
    mtk_autofree char *msg = mtk_err_format(err);
    printf("FAIL file %s: expected success, got error: %s\n", file, msg);
    mtk_err_free(&err);
    return false;
  }
  if (map_matches(&m, want, json_is_true(json_object_get(c, "exact")), true))
    return true;
  report_map("file", file, want, &m);
  return false;
}

int mtk_conf_dotenv(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mtk-conformance dotenv FILE\n");
    return 2;
  }
  json_error_t jerr;
  json_t *doc = json_load_file(argv[1], 0, &jerr);
  if (!json_is_object(doc)) {
    fprintf(stderr, "mtk-conformance: %s:%d:%d: %s\n", argv[1], jerr.line, jerr.column,
            doc ? "not an object" : jerr.text);
    json_decref(doc);
    return 2;
  }
  mtk_autofree char *copy = mtk_xstrdup(argv[1]);
  const char *dir = dirname(copy);
  struct tally t = {0, 0};
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(doc, "lines"), i, c) count(&t, run_line(c));
  json_array_foreach(json_object_get(doc, "documents"), i, c) count(&t, run_document(c));
  json_array_foreach(json_object_get(doc, "errors"), i, c) count(&t, run_error(c));
  json_array_foreach(json_object_get(doc, "files"), i, c) count(&t, run_file(c, dir));
  json_decref(doc);
  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  return t.failed || t.passed == 0 ? 1 : 0;
}
