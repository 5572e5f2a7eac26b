/* The interpolation suite of mtk-conformance: runs vectors/interpolation.json (string-level
 * `${...}` templates, see shared/conformance/compose/README.md) through
 * mtk_interp_substitute.  Each set carries the complete variable mapping: a name absent from
 * `env` is unset, a name mapped to "" is set but empty.  Prints one line per failing case
 * and ends with "N passed, M failed". */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "compose/interp.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strmap.h"

static void env_to_map(json_t *env, struct mtk_strmap *m)
{
  const char *k;
  json_t *v;
  json_object_foreach(env, k, v)
      mtk_strmap_set(m, k, json_is_string(v) ? json_string_value(v) : NULL);
}

/* Runs one case; returns true when it passes (and prints it otherwise). */
static bool run_case(json_t *c, const struct mtk_strmap *env)
{
  const char *tmpl = json_string_value(json_object_get(c, "template"));
  const char *want = json_string_value(json_object_get(c, "expected"));
  const char *want_err = json_string_value(json_object_get(c, "error_contains"));
  struct mtk_err *err = NULL;

  if (!tmpl || (!want && !want_err)) {
    printf("FAIL malformed case (no template, or neither expected nor error_contains)\n");
    return false;
  }
  mtk_autofree char *got =
      mtk_interp_substitute(tmpl, mtk_interp_strmap_lookup, (void *) env, &err);
  mtk_autofree char *qt = mtk_go_quote(tmpl, strlen(tmpl));
  bool ok;
  if (want) {
    ok = got && strcmp(got, want) == 0;
    if (!ok) {
      mtk_autofree char *qw = mtk_go_quote(want, strlen(want));
      mtk_autofree char *qg = got ? mtk_go_quote(got, strlen(got)) : NULL;
      printf("FAIL template %s: expected %s, got %s%s\n", qt, qw,
             qg ? qg : "error: ", qg ? "" : err->msg);
    }
  } else {
    ok = got == NULL && err && strstr(err->msg, want_err) != NULL;
    if (!ok) {
      mtk_autofree char *qg = got ? mtk_go_quote(got, strlen(got)) : NULL;
      printf("FAIL template %s: expected an error containing \"%s\", got %s%s\n", qt, want_err,
             qg ? qg : "error: ", qg ? "" : err->msg);
    }
  }
  mtk_err_free(&err);
  return ok;
}

int mtk_conf_interpolation(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mtk-conformance interpolation FILE\n");
    return 2;
  }
  json_error_t jerr;
  json_t *doc = json_load_file(argv[1], 0, &jerr);
  json_t *sets = doc ? json_object_get(doc, "sets") : NULL;
  if (!json_is_array(sets)) {
    fprintf(stderr, "mtk-conformance: %s:%d:%d: %s\n", argv[1], jerr.line, jerr.column,
            doc ? "no \"sets\" array" : jerr.text);
    json_decref(doc);
    return 2;
  }
  size_t passed = 0, failed = 0, i, j;
  json_t *set, *c;
  json_array_foreach(sets, i, set)
  {
    mtk_autostrmap env = MTK_STRMAP_INIT;
    env_to_map(json_object_get(set, "env"), &env);
    json_array_foreach(json_object_get(set, "cases"), j, c)
    {
      if (run_case(c, &env))
        passed++;
      else
        failed++;
    }
  }
  json_decref(doc);
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed || passed == 0 ? 1 : 0;
}
