/* Unit tests for the compose conformance comparison (tests/conformance/compose_compare.c):
 * Go durations, scalar equivalences, the "absent == default" rules in both directions, diff
 * paths, $$ unescaping and placeholder substitution. */
#include "config.h"

#include <jansson.h>

#include "conformance/compose_compare.c" /* test build: the file is not in mtkcore */
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Number of differences between two JSON texts; the report goes to *why (caller frees). */
static int diff(const char *exp, const char *got, char **why)
{
  json_error_t e;
  json_auto_t *a = json_loads(exp, JSON_DECODE_ANY, &e);
  json_auto_t *b = json_loads(got, JSON_DECODE_ANY, &e);
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (!a || !b) {
    printf("#   bad test JSON: %s\n", e.text);
    *why = mtk_xstrdup("bad JSON");
    return -1;
  }
  int n = mtk_conf_compare(a, b, &sb, 5);
  *why = mtk_strbuf_steal(&sb);
  return n;
}

/* Equal both ways round (the rules must be symmetric). */
#define ASSERT_SAME(a, b)                                                                          \
  do {                                                                                             \
    mtk_autofree char *w1 = NULL, *w2 = NULL;                                                      \
    int n1 = diff(a, b, &w1), n2 = diff(b, a, &w2);                                                \
    if (n1 != 0 || n2 != 0) {                                                                      \
      printf("#   %s vs %s: %s | %s\n", a, b, w1, w2);                                             \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define ASSERT_DIFF(a, b)                                                                          \
  do {                                                                                             \
    mtk_autofree char *w1 = NULL, *w2 = NULL;                                                      \
    if (diff(a, b, &w1) <= 0 || diff(b, a, &w2) <= 0) {                                            \
      printf("#   %s vs %s compared equal\n", a, b);                                               \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

static int test_go_duration(void)
{
  static const struct {
    const char *s;
    int64_t ns;
  } good[] = {{"0", 0},
              {"90s", 90000000000LL},
              {"1m30s", 90000000000LL},
              {"1h0m0s", 3600000000000LL},
              {"1.5h", 5400000000000LL},
              {"500ms", 500000000},
              {".5s", 500000000},
              {"1.s", 1000000000},
              {"-2ms", -2000000},
              {"+3us", 3000},
              {"3\xc2\xb5s", 3000},
              {"3\xce\xbcs", 3000},
              {"7ns", 7},
              {"2h45m10.25s", 9910250000000LL}};
  static const char *const bad[] = {"", "1", "90", "s", "1x", ".s", "1m30", "-", "1.2.3s", " 1s"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    int64_t ns = -1;
    MTK_ASSERT(mtk_conf_go_duration(good[i].s, &ns));
    MTK_ASSERT_EQ(ns, good[i].ns);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t ns;
    if (mtk_conf_go_duration(bad[i], &ns)) {
      printf("#   \"%s\" parsed as a duration\n", bad[i]);
      return 1;
    }
  }
  return 0;
}

static int test_scalars(void)
{
  ASSERT_SAME("\"90s\"", "\"1m30s\"");
  ASSERT_SAME("\"2147483648\"", "2147483648");
  ASSERT_SAME("{\"published\": \"8080\"}", "{\"published\": 8080}");
  ASSERT_SAME("1.5", "1.5");
  ASSERT_SAME("2", "2.0");
  ASSERT_DIFF("\"90s\"", "\"91s\"");
  ASSERT_DIFF("\"8080\"", "8081");
  ASSERT_DIFF("\"0440\"", "\"440\""); /* file modes are strings, compared exactly */
  ASSERT_DIFF("\"1.5\"", "1.5");
  ASSERT_DIFF("\"a\"", "\"b\"");
  ASSERT_DIFF("\"\"", "null");
  ASSERT_DIFF("true", "\"true\"");
  return 0;
}

static int test_defaults(void)
{
  ASSERT_SAME("{\"command\": null, \"entrypoint\": null, \"image\": \"a\"}", "{\"image\": \"a\"}");
  ASSERT_SAME("{\"ipam\": {}, \"name\": \"p_default\"}", "{\"name\": \"p_default\"}");
  ASSERT_SAME("{\"privileged\": false, \"cap_add\": [], \"labels\": {}}", "{}");
  ASSERT_SAME("{\"bind\": {\"create_host_path\": true}}", "{}");
  ASSERT_SAME("{\"bind\": {\"create_host_path\": true}}", "{\"bind\": {}}");
  ASSERT_SAME("{\"deploy\": {\"resources\": {\"limits\": {}}, \"placement\": {}}}",
              "{\"deploy\": {}}");
  ASSERT_SAME("{\"depends_on\": {\"db\": {\"condition\": \"c\", \"required\": true, "
              "\"restart\": false}}}",
              "{\"depends_on\": {\"db\": {\"condition\": \"c\"}}}");
  ASSERT_SAME("{\"env_file\": [{\"path\": \"/a\", \"required\": true}]}",
              "{\"env_file\": [{\"path\": \"/a\"}]}");
  ASSERT_DIFF("{\"bind\": {\"create_host_path\": false}}", "{}");
  ASSERT_DIFF("{\"depends_on\": {\"db\": {\"condition\": \"c\", \"required\": false}}}",
              "{\"depends_on\": {\"db\": {\"condition\": \"c\"}}}");
  ASSERT_DIFF("{\"env_file\": [{\"path\": \"/a\", \"required\": false}]}",
              "{\"env_file\": [{\"path\": \"/a\"}]}");
  ASSERT_DIFF("{\"privileged\": true}", "{}");
  ASSERT_DIFF("{\"networks\": {\"default\": null}}", "{\"networks\": {\"default\": {}}}");
  ASSERT_DIFF("{\"networks\": {\"default\": null}}", "{}");
  ASSERT_DIFF("{\"labels\": null}", "{}");
  ASSERT_DIFF("{\"command\": []}", "{\"command\": null}");
  ASSERT_DIFF("{\"retries\": 0}", "{}");
  ASSERT_DIFF("{\"ipam\": {\"driver\": \"x\"}}", "{}");
  /* a `required` outside depends_on/env_file entries has no true default */
  ASSERT_DIFF("{\"x\": {\"required\": true}}", "{\"x\": {}}");
  return 0;
}

static int test_arrays(void)
{
  ASSERT_SAME("[1, [2, {\"a\": \"90s\"}]]", "[1, [2, {\"a\": \"1m30s\"}]]");
  ASSERT_DIFF("[1, 2]", "[2, 1]");
  ASSERT_DIFF("[1, 2]", "[1, 2, 3]");
  ASSERT_DIFF("[]", "{}");
  return 0;
}

static int test_report(void)
{
  mtk_autofree char *w = NULL;
  MTK_ASSERT_EQ(diff("{\"services\": {\"web\": {\"ports\": [{\"published\": \"80\"}]}}}",
                     "{\"services\": {\"web\": {\"ports\": [{\"published\": \"81\"}]}}}", &w),
                1);
  MTK_ASSERT_STREQ(w, "services.web.ports[0].published: expected \"80\", got \"81\"");
  free(w);
  MTK_ASSERT_EQ(
      diff("{\"labels\": {\"com.x\": \"1\"}, \"b\": 1}", "{\"labels\": {}, \"c\": true}", &w), 3);
  MTK_ASSERT_STREQ(w, "b: expected 1, got (absent); labels[\"com.x\"]: expected \"1\", got "
                      "(absent); c: expected (absent), got true");
  free(w);
  MTK_ASSERT_EQ(diff("[1]", "[1, 2, 3, 4, 5, 6, 7]", &w), 6);
  MTK_ASSERT_STREQ(w, "[1]: expected (absent), got 2; [2]: expected (absent), got 3; "
                      "[3]: expected (absent), got 4; [4]: expected (absent), got 5; "
                      "[5]: expected (absent), got 6");
  free(w);
  MTK_ASSERT_EQ(diff("1", "\"x\"", &w), 1);
  MTK_ASSERT_STREQ(w, "(root): expected 1, got \"x\"");
  return 0;
}

static int test_transforms(void)
{
  json_auto_t *in = json_pack("{s:s, s:[s, s], s:{s:s}}", "a$$b", "$$$$x $y", "k", "@CASE_DIR@/src",
                              "@HOME@:@HOME@", "m", "@CASE_DIR@", "$$");
  json_auto_t *un = mtk_conf_unescape_dollars(in);
  json_auto_t *sub = mtk_conf_subst_placeholders(in, "/cases/c1", "/home/t");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(un, "a$b")), "$$x $y");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(json_object_get(un, "m"), "@CASE_DIR@")), "$");
  MTK_ASSERT_STREQ(json_string_value(json_array_get(json_object_get(sub, "k"), 0)),
                   "/cases/c1/src");
  MTK_ASSERT_STREQ(json_string_value(json_array_get(json_object_get(sub, "k"), 1)),
                   "/home/t:/home/t");
  MTK_ASSERT(json_object_get(json_object_get(sub, "m"), "/cases/c1") != NULL);
  /* the input is left alone */
  MTK_ASSERT(json_object_get(in, "a$$b") != NULL);
  return 0;
}

static int test_strip_service_extensions(void)
{
  json_auto_t *p = json_pack("{s:{s:{s:s, s:i, s:i}}, s:i}", "services", "web", "image", "a",
                             "x-one", 1, "x-two", 2, "x-top", 3);
  mtk_conf_strip_service_extensions(p);
  json_t *web = json_object_get(json_object_get(p, "services"), "web");
  MTK_ASSERT_EQ(json_object_size(web), 1);
  MTK_ASSERT(json_object_get(web, "image") != NULL);
  MTK_ASSERT(json_object_get(p, "x-top") != NULL);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"go durations", test_go_duration},
      {"scalar equivalences", test_scalars},
      {"absent == default, both ways", test_defaults},
      {"arrays keep order", test_arrays},
      {"difference report", test_report},
      {"$$ unescaping and placeholders", test_transforms},
      {"service-level x-* stripped", test_strip_service_extensions},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
