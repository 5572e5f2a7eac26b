/* The dockerignore suite of mtk-conformance: runs a cases.json file (see
 * shared/conformance/dockerignore/README.md) through src/build/ignore.c.
 * `cases`: the patterns are compiled with mtk_ignore_new and the path tested
 * with mtk_ignore_matches; `expect` is true (excluded), false (kept) or
 * "error" (compiling or matching must fail).  `readall`: mtk_ignore_read of
 * `content` must give exactly `patterns`.  Cases are told apart by their
 * position (and id when present); nothing depends on the ids.  Prints one
 * line per failing case and ends with "N passed, M failed". */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "build/ignore.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* A case's name for messages: its id, or "cases[i]". */
static char *case_name(json_t *c, const char *array, size_t i)
{
  const char *id = json_string_value(json_object_get(c, "id"));
  return id ? mtk_xasprintf("%s (%s[%zu])", id, array, i) : mtk_xasprintf("%s[%zu]", array, i);
}

static char *dump(json_t *v)
{
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
  return s ? s : mtk_xstrdup("?");
}

/* Runs one match case: "true", "false" or "error" in *got, the error text in *why. */
static bool run_match(json_t *c, const char **got, char **why)
{
  json_t *pats = json_object_get(c, "patterns");
  const char *path = json_string_value(json_object_get(c, "path"));
  if (!json_is_array(pats) || !path)
    return false;
  size_t n = json_array_size(pats);
  mtk_autofree const char **list = mtk_xcalloc(n + 1, sizeof(*list));
  for (size_t i = 0; i < n; i++)
    if (!(list[i] = json_string_value(json_array_get(pats, i))))
      return false;
  struct mtk_err *err = NULL;
  bool excluded = false;
  mtk_autoptr(mtk_ignore) m = mtk_ignore_new(list, n, &err);
  if (m)
    mtk_ignore_matches(m, path, &excluded, &err);
  if (err) {
    *got = "error";
    *why = mtk_err_format(err);
    mtk_err_free(&err);
  } else {
    *got = excluded ? "true" : "false";
  }
  return true;
}

static bool check_case(json_t *c, size_t i)
{
  mtk_autofree char *name = case_name(c, "cases", i);
  json_t *expect = json_object_get(c, "expect");
  const char *want = json_is_true(expect)    ? "true"
                     : json_is_false(expect) ? "false"
                     : json_is_string(expect) && strcmp(json_string_value(expect), "error") == 0
                         ? "error"
                         : NULL;
  const char *got = NULL;
  mtk_autofree char *why = NULL;
  if (!want || !run_match(c, &got, &why)) {
    printf("FAIL %s: malformed case\n", name);
    return false;
  }
  if (strcmp(want, got) == 0)
    return true;
  mtk_autofree char *pats = dump(json_object_get(c, "patterns"));
  mtk_autofree char *path = dump(json_object_get(c, "path"));
  printf("FAIL %s: patterns %s path %s: expected %s, got %s%s%s\n", name, pats, path, want, got,
         why ? ": " : "", why ? why : "");
  return false;
}

static bool check_readall(json_t *c, size_t i)
{
  mtk_autofree char *name = case_name(c, "readall", i);
  json_t *content = json_object_get(c, "content");
  json_t *want = json_object_get(c, "patterns");
  if (!json_is_string(content) || !json_is_array(want)) {
    printf("FAIL %s: malformed case\n", name);
    return false;
  }
  char **pats = NULL;
  size_t n = 0;
  struct mtk_err *err = NULL;
  if (mtk_ignore_read(json_string_value(content), json_string_length(content), &pats, &n, &err) <
      0) {
    mtk_autofree char *msg = mtk_err_format(err);
    printf("FAIL %s: unexpected error: %s\n", name, msg);
    mtk_err_free(&err);
    return false;
  }
  json_t *got = json_array();
  for (size_t k = 0; k < n; k++)
    json_array_append_new(got, json_string(pats[k]));
  mtk_ignore_patterns_free(pats, n);
  bool ok = json_equal(got, want);
  if (!ok) {
    mtk_autofree char *g = dump(got);
    mtk_autofree char *w = dump(want);
    printf("FAIL %s: expected %s, got %s\n", name, w, g);
  }
  json_decref(got);
  return ok;
}

int mtk_conf_dockerignore(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mtk-conformance dockerignore FILE\n");
    return 2;
  }
  json_error_t jerr;
  json_t *root = json_load_file(argv[1], 0, &jerr);
  if (!root) {
    fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line, jerr.column, jerr.text);
    return 2;
  }
  json_t *cases = json_object_get(root, "cases"), *readall = json_object_get(root, "readall");
  if (!json_is_array(cases) && !json_is_array(readall)) {
    fprintf(stderr, "%s: neither a \"cases\" nor a \"readall\" array\n", argv[1]);
    json_decref(root);
    return 2;
  }
  size_t passed = 0, failed = 0, i;
  json_t *c;
  json_array_foreach(cases, i, c)
  {
    if (check_case(c, i))
      passed++;
    else
      failed++;
  }
  json_array_foreach(readall, i, c)
  {
    if (check_readall(c, i))
      passed++;
    else
      failed++;
  }
  json_decref(root);
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed ? 1 : 0;
}
