/* Unit tests for the YAML -> node tree parser, core-schema scalars and the
 * scalar readers of node.h (text, booleans). */
#include "config.h"

#include <stdlib.h>

#include "compose/internal.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static struct mtk_node *parse(const char *text, struct mtk_err **err)
{
  return mtk_compose_yaml_parse("t.yaml", text, strlen(text), err);
}

/* Parses text and returns its compact JSON with sorted keys (caller frees). */
static char *json_of(const char *text)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse(text, &err);
  if (n == NULL) {
    char *s = mtk_err_format(err);
    mtk_err_free(&err);
    return s;
  }
  json_t *j = mtk_node_to_json(n);
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  json_decref(j);
  return s;
}

static int expect_error(const char *text, const char *needle, int line)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse(text, &err);
  MTK_ASSERT(n == NULL);
  MTK_ASSERT(err != NULL);
  mtk_autofree char *s = mtk_err_format(err);
  int code = err->code, eline = err->line;
  mtk_err_free(&err);
  MTK_ASSERT_CONTAINS(s, needle);
  MTK_ASSERT_EQ(code, MTK_E_INVALID);
  if (line)
    MTK_ASSERT_EQ(eline, line);
  return 0;
}

static int test_core_schema(void)
{
  mtk_autofree char *s = json_of("a: 8000:8000\nb: yes\nc: no\nd: on\ne: true\nf: ~\ng:\n"
                                 "h: 0440\ni: 0o17\nj: 0x1F\nk: 1_000\nl: '12'\nm: 1.5\n"
                                 "n: 08\no: -3\np: .5\nq: 1e3\nr: 12:30\ns: FALSE\n");
  MTK_ASSERT_STREQ(s, "{\"a\":\"8000:8000\",\"b\":\"yes\",\"c\":\"no\",\"d\":\"on\",\"e\":true,"
                      "\"f\":null,\"g\":null,\"h\":288,\"i\":15,\"j\":31,\"k\":1000,\"l\":\"12\","
                      "\"m\":1.5,\"n\":8.0,\"o\":-3,\"p\":0.5,\"q\":1000.0,\"r\":\"12:30\","
                      "\"s\":false}");
  return 0;
}

/* fmt.Sprint text, isTrue (strconv.ParseBool) and toBoolean of parsed scalars. */
static int test_scalar_readers(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse("s: abc\ni: 0x1F\nf: 1e6\ng: 0.5\nb: true\nz: ~\n"
                                  "m: {}\nq: [1]\none: \"1\"\nyes: \"yes\"\nT: \"T\"\n",
                                  &err);
  MTK_ASSERT(n != NULL);
  static const char *const texts[][2] = {{"s", "abc"}, {"i", "31"},       {"f", "1e+06"},
                                         {"g", "0.5"}, {"b", "true"},     {"z", ""},
                                         {"m", "(x)"}, {"missing", "(x)"}};
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    mtk_autofree char *t = mtk_node_scalar_text(mtk_node_get(n, texts[i][0]), "(x)");
    MTK_ASSERT_STREQ(t, texts[i][1]);
  }
  MTK_ASSERT(mtk_node_scalar_text(mtk_node_get(n, "q"), NULL) == NULL);
  MTK_ASSERT(mtk_node_is_true(mtk_node_get(n, "b")));
  MTK_ASSERT(mtk_node_is_true(mtk_node_get(n, "one")));
  MTK_ASSERT(mtk_node_is_true(mtk_node_get(n, "T")));
  MTK_ASSERT(!mtk_node_is_true(mtk_node_get(n, "yes")));
  MTK_ASSERT(!mtk_node_is_true(mtk_node_get(n, "m")));
  bool b = false;
  MTK_ASSERT(mtk_node_decode_bool(mtk_node_get(n, "yes"), &b) && b);
  MTK_ASSERT(mtk_node_decode_bool(mtk_node_get(n, "b"), &b) && b);
  MTK_ASSERT(!mtk_node_decode_bool(mtk_node_get(n, "one"), &b) && !b);
  MTK_ASSERT(!mtk_node_decode_bool(mtk_node_get(n, "z"), &b));
  MTK_ASSERT(!mtk_node_decode_bool(mtk_node_get(n, "g"), &b));
  return 0;
}

/* mtk_node_clear: a tree becomes a null scalar in place, position kept. */
static int test_clear(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse("a:\n  b: !reset [1, {c: d}]\n", &err);
  MTK_ASSERT(n != NULL);
  struct mtk_node *a = mtk_node_get(n, "a");
  int line = a->line, col = a->col;
  mtk_node_clear(a);
  MTK_ASSERT(mtk_node_is_null(a));
  MTK_ASSERT(a->tag == NULL && a->len == 0 && a->items == NULL && a->pairs == NULL);
  MTK_ASSERT_STREQ(a->str, "");
  MTK_ASSERT_EQ(a->line, line);
  MTK_ASSERT_EQ(a->col, col);
  json_t *j = mtk_node_to_json(n);
  mtk_autofree char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  MTK_ASSERT_STREQ(s, "{\"a\":null}");
  return 0;
}

static int test_anchors_and_merge(void)
{
  mtk_autofree char *s = json_of("x-base: &base\n  image: busybox\n  environment: {A: '1'}\n"
                                 "services:\n  web:\n    <<: *base\n    image: nginx\n"
                                 "  db:\n    <<: [*base, {user: root}]\n");
  MTK_ASSERT_STREQ(
      s, "{\"services\":{\"db\":{\"environment\":{\"A\":\"1\"},\"image\":\"busybox\","
         "\"user\":\"root\"},\"web\":{\"environment\":{\"A\":\"1\"},\"image\":\"nginx\"}},"
         "\"x-base\":{\"environment\":{\"A\":\"1\"},\"image\":\"busybox\"}}");
  return 0;
}

static int test_positions_and_tags(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse("services:\n  web:\n    ports: !reset []\n    build: !override\n"
                                  "      context: .\n",
                                  &err);
  MTK_ASSERT(n != NULL);
  struct mtk_node *web = mtk_node_get(mtk_node_get(n, "services"), "web");
  MTK_ASSERT(web != NULL);
  MTK_ASSERT_EQ(web->line, 3);
  MTK_ASSERT_EQ(web->col, 5);
  MTK_ASSERT(mtk_node_has_tag(mtk_node_get(web, "ports"), "!reset"));
  MTK_ASSERT(mtk_node_has_tag(mtk_node_get(web, "build"), "!override"));
  MTK_ASSERT_EQ(web->pairs[1].line, 4);
  MTK_ASSERT_STREQ(mtk_node_get(web, "ports")->file, "t.yaml");
  return 0;
}

static int test_errors(void)
{
  if (expect_error("a: 1\nb: 2\na: 3\n", "mapping key \"a\" already defined at line 1", 3))
    return 1;
  if (expect_error("services:\n\tweb: {}\n", "t.yaml:2:", 2))
    return 1;
  if (expect_error("a: [1, 2\n", "t.yaml:", 0))
    return 1;
  if (expect_error("a: *nope\n", "unknown anchor 'nope'", 1))
    return 1;
  if (expect_error("a: &x [1, *x]\n", "anchor refers to itself", 1))
    return 1;
  if (expect_error("1: a\n", "non-string key", 1))
    return 1;
  return 0;
}

static int test_billion_laughs(void)
{
  const char *doc =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
  return expect_error(doc, "excessive aliasing", 0);
}

static int test_multi_document(void)
{
  struct mtk_err *err = NULL;
  const char *t = "a: 1\n---\nb: 2\n---\n";
  mtk_autoptr(mtk_node) docs = mtk_compose_yaml_parse_all("t.yaml", t, strlen(t), &err);
  MTK_ASSERT(docs != NULL);
  MTK_ASSERT_EQ(docs->len, 3);
  MTK_ASSERT_STREQ(mtk_node_get_str(docs->items[1], "b"), "2");
  MTK_ASSERT(mtk_node_is_null(docs->items[2]));
  mtk_autoptr(mtk_node) empty = parse("", &err);
  MTK_ASSERT(mtk_node_is_null(empty));
  return 0;
}

static int test_many_keys(void)
{
  /* 50 000 keys and a duplicate of the first at the end: found through the
   * parser's key index (a linear search per key would take minutes). */
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (int i = 0; i < 50000; i++)
    mtk_strbuf_addf(&sb, "k%d: %d\n", i, i);
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = parse(sb.buf, &err);
  MTK_ASSERT(n != NULL);
  MTK_ASSERT_EQ(n->len, 50000);
  MTK_ASSERT_STREQ(mtk_node_get_str(n, "k49999"), "49999");
  mtk_strbuf_adds(&sb, "k0: again\n");
  return expect_error(sb.buf, "mapping key \"k0\" already defined at line 1", 50001);
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"core schema scalars", test_core_schema},
      {"scalar readers", test_scalar_readers},
      {"clear in place", test_clear},
      {"anchors, aliases, merge keys", test_anchors_and_merge},
      {"positions and tags", test_positions_and_tags},
      {"errors with positions", test_errors},
      {"billion laughs capped", test_billion_laughs},
      {"multi-document", test_multi_document},
      {"many keys, duplicate found", test_many_keys},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
