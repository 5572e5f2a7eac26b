/* Unit tests for the parts of the cli that do not need a loaded project:
 * command suggestions, JSON/YAML output, `$` escaping, service order and
 * selection, the service hash and the atomic output file.  The cli sources
 * are compiled into the mtk binary only, so the ones under test are
 * included here. */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../../src/cli/jsonout.c"
#include "../../src/cli/model.c"
#include "../../src/cli/output.c"
#include "../../src/cli/suggest.c"
#include "../../src/cli/yamlout.c"
#include "tap.h"

static int test_edit_distance(void)
{
  MTK_ASSERT_EQ(mtk_cli_edit_distance("config", "config"), 0);
  MTK_ASSERT_EQ(mtk_cli_edit_distance("cnofig", "config"), 1); /* transposition */
  MTK_ASSERT_EQ(mtk_cli_edit_distance("kitten", "sitting"), 3);
  MTK_ASSERT_EQ(mtk_cli_edit_distance("", "abc"), 3);
  MTK_ASSERT_EQ(mtk_cli_edit_distance("ca", "abc"), 3); /* OSA, not full Damerau */
  MTK_ASSERT_EQ(mtk_cli_edit_distance("pul", "pull"), 1);
  return 0;
}

static int test_suggest(void)
{
  static const struct mtk_cli_cmd table[] = {
      {.name = "config"},
      {.name = "pull"},
      {.name = "push"},
      {.name = "up"},
      {.name = "secret", .hidden = true},
      {0},
  };
  MTK_ASSERT_STREQ(mtk_cli_suggest(table, "cnofig"), "config");
  MTK_ASSERT_STREQ(mtk_cli_suggest(table, "confg"), "config");
  MTK_ASSERT_STREQ(mtk_cli_suggest(table, "pulll"), "pull");
  MTK_ASSERT(mtk_cli_suggest(table, "xyzzy") == NULL);
  MTK_ASSERT(mtk_cli_suggest(table, "u") == NULL);      /* too short to guess */
  MTK_ASSERT(mtk_cli_suggest(table, "secrte") == NULL); /* hidden */
  return 0;
}

static int test_yaml_needs_quotes(void)
{
  static const char *const quoted[] = {"",      "true", "False",      "no",    "N",     "on",
                                       "~",     "null", "8080",       "-1",    "1.5",   ".5",
                                       "1e3",   "0x1F", "0o17",       "0b101", "20:30", ".inf",
                                       "-.Inf", ".nan", "2024-01-01", "<<",    "1_000", NULL};
  static const char *const plain[] = {
      "8000:8000", "80:80",   "nginx:1.25",        "hello",           "1.2.3",  "v1",
      "yes-no",    "0.0.0.0", "127.0.0.1:8080:80", "service_started", "/tmp/x", NULL};
  for (size_t i = 0; quoted[i]; i++)
    if (!mtk_cli_yaml_needs_quotes(quoted[i])) {
      printf("#   \"%s\" should be quoted\n", quoted[i]);
      return 1;
    }
  for (size_t i = 0; plain[i]; i++)
    if (mtk_cli_yaml_needs_quotes(plain[i])) {
      printf("#   \"%s\" should stay plain\n", plain[i]);
      return 1;
    }
  return 0;
}

static int test_format_real(void)
{
  static const struct {
    double d;
    const char *text;
  } cases[] = {{0.1, "0.1"},
               {1.5, "1.5"},
               {1.0, "1"},
               {100000, "100000"},
               {1e21, "1e+21"},
               {1e-7, "1e-7"},
               {0.000001, "0.000001"},
               {-2.25, "-2.25"},
               {123456789.125, "123456789.125"},
               {0, "0"}};
  char buf[32];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_cli_format_real(cases[i].d, buf);
    MTK_ASSERT_STREQ(buf, cases[i].text);
  }
  return 0;
}

static int test_json_dump(void)
{
  json_t *v = json_pack("{s:[i,f,s,n,b],s:{},s:[],s:s}", "b", 1, 0.5, "q\"\n\x01", 0, "a", "c",
                        "a2", "\xc3\xa9");
  mtk_autofree char *text = mtk_cli_json_dump(v);
  json_decref(v);
  MTK_ASSERT_STREQ(text, "{\n"
                         "  \"a\": {},\n"
                         "  \"a2\": \"\xc3\xa9\",\n"
                         "  \"b\": [\n"
                         "    1,\n"
                         "    0.5,\n"
                         "    \"q\\\"\\n\\u0001\",\n"
                         "    null,\n"
                         "    false\n"
                         "  ],\n"
                         "  \"c\": []\n"
                         "}\n");
  return 0;
}

static int test_yaml_dump(void)
{
  json_t *v = json_pack("{s:s,s:[i,s,s],s:{},s:s,s:n,s:s,s:s}", "b", "true", "a", 1, "x", "a: b",
                        "c", "9", "yes", "e", "p", "8000:8000", "m", "two\nlines\n");
  json_object_set_new(v, "t", json_string("blank line at the end\n\n"));
  struct mtk_err *err = NULL;
  mtk_autofree char *text = mtk_cli_yaml_dump(v, &err);
  json_decref(v);
  MTK_ASSERT(err == NULL);
  MTK_ASSERT_STREQ(text, "\"9\": \"yes\"\n"
                         "a:\n"
                         "- 1\n"
                         "- x\n"
                         "- 'a: b'\n"
                         "b: \"true\"\n"
                         "c: {}\n"
                         "e: null\n"
                         "m: |\n"
                         "  two\n"
                         "  lines\n"
                         "p: 8000:8000\n"
                         "t: \"blank line at the end\\n\\n\"\n");
  return 0;
}

static int test_escape_dollars(void)
{
  json_t *v = json_pack("{s:s,s:[s,i],s:{s:s}}", "a", "$HOME and $$", "b", "x$", 3, "$k", "v", "$");
  mtk_cli_model_escape_dollars(v);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(v, "a")), "$$HOME and $$$$");
  MTK_ASSERT_STREQ(json_string_value(json_array_get(json_object_get(v, "b"), 0)), "x$$");
  /* keys are not interpolated when loaded again: they stay as they are */
  MTK_ASSERT_STREQ(json_string_value(json_object_get(json_object_get(v, "$k"), "v")), "$$");
  json_decref(v);
  return 0;
}

static json_t *sample_model(void)
{
  json_error_t je;
  return json_loads(
      "{\"name\":\"demo\",\"services\":{"
      "\"web\":{\"image\":\"nginx\",\"depends_on\":{\"db\":{\"condition\":\"service_started\","
      "\"required\":true},\"cache\":{\"condition\":\"service_started\",\"required\":false}},"
      "\"networks\":{\"front\":null}},"
      "\"db\":{\"image\":\"pg\",\"volumes\":[{\"type\":\"volume\",\"source\":\"data\","
      "\"target\":\"/d\"},{\"type\":\"bind\",\"source\":\"/h\",\"target\":\"/h\"}],"
      "\"networks\":{\"back\":null}},"
      "\"app\":{\"build\":{\"context\":\".\"},\"depends_on\":{\"web\":{\"condition\":"
      "\"service_started\",\"required\":true}},\"networks\":{\"front\":null},"
      "\"secrets\":[{\"source\":\"tok\"}]}},"
      "\"networks\":{\"front\":{},\"back\":{}},\"volumes\":{\"data\":{}},"
      "\"secrets\":{\"tok\":{\"file\":\"/t\"}}}",
      0, &je);
}

static int test_service_order(void)
{
  json_t *m = sample_model();
  mtk_autofree const char **names = mtk_cli_model_service_order(m);
  MTK_ASSERT_STREQ(names[0], "db");
  MTK_ASSERT_STREQ(names[1], "web");
  MTK_ASSERT_STREQ(names[2], "app");
  MTK_ASSERT(names[3] == NULL);
  json_decref(m);
  return 0;
}

static int test_select(void)
{
  struct mtk_err *err = NULL;
  json_t *m = sample_model();
  const char *names[] = {"web"};
  MTK_ASSERT_EQ(mtk_cli_model_select(m, names, 1, true, &err), 0);
  json_t *services = json_object_get(m, "services");
  MTK_ASSERT_EQ(json_object_size(services), 2); /* web + db; cache is optional and absent */
  MTK_ASSERT(json_object_get(services, "app") == NULL);
  MTK_ASSERT(json_object_get(json_object_get(m, "networks"), "back") != NULL);
  MTK_ASSERT(json_object_get(m, "secrets") == NULL); /* only app used it */
  MTK_ASSERT(json_object_get(json_object_get(m, "volumes"), "data") != NULL);
  const char *db[] = {"db"};
  MTK_ASSERT_EQ(mtk_cli_model_select(m, db, 1, true, &err), 0);
  MTK_ASSERT(json_object_get(m, "networks") != NULL);
  MTK_ASSERT(json_object_get(json_object_get(m, "networks"), "front") == NULL);
  const char *bad[] = {"nope"};
  MTK_ASSERT(mtk_cli_model_select(m, bad, 1, true, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "no such service: nope");
  mtk_err_free(&err);
  json_decref(m);
  /* --all-resources: the selection keeps every resource */
  m = sample_model();
  MTK_ASSERT_EQ(mtk_cli_model_select(m, db, 1, false, &err), 0);
  MTK_ASSERT_EQ(json_object_size(json_object_get(m, "services")), 1);
  MTK_ASSERT(json_object_get(json_object_get(m, "networks"), "front") != NULL);
  MTK_ASSERT(json_object_get(json_object_get(m, "secrets"), "tok") != NULL);
  json_decref(m);
  return 0;
}

static int test_service_hash(void)
{
  struct mtk_err *err = NULL;
  json_t *m = sample_model();
  json_t *web = json_object_get(json_object_get(m, "services"), "web");
  char h1[65], h2[65], h3[65];
  MTK_ASSERT_EQ(mtk_cli_model_service_hash(web, h1, &err), 0);
  MTK_ASSERT_EQ(strlen(h1), 64);
  MTK_ASSERT_EQ(strspn(h1, "0123456789abcdef"), 64);
  /* What does not need a new container does not change the hash. */
  json_object_del(web, "depends_on");
  json_object_set_new(web, "scale", json_integer(3));
  MTK_ASSERT_EQ(mtk_cli_model_service_hash(web, h2, &err), 0);
  MTK_ASSERT_STREQ(h1, h2);
  json_object_set_new(web, "image", json_string("nginx:2"));
  MTK_ASSERT_EQ(mtk_cli_model_service_hash(web, h3, &err), 0);
  MTK_ASSERT(strcmp(h1, h3) != 0);
  json_decref(m);
  return 0;
}

static int test_write_output_atomic(void)
{
  struct mtk_err *err = NULL;
  char dir[] = "/tmp/mtk-cli-test.XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  mtk_autofree char *path = mtk_xasprintf("%s/out.yaml", dir);
  MTK_ASSERT_EQ(mtk_cli_write_output(path, "old\n", 4, &err), 0);
  MTK_ASSERT_EQ(mtk_cli_write_output(path, "new text\n", 9, &err), 0);
  char buf[32] = {0};
  FILE *f = fopen(path, "r");
  MTK_ASSERT(f != NULL);
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  MTK_ASSERT_EQ(n, 9);
  MTK_ASSERT_STREQ(buf, "new text\n");
  /* no temporary file left behind */
  DIR *d = opendir(dir);
  int entries = 0;
  for (struct dirent *e; (e = readdir(d));)
    entries += e->d_name[0] != '.' || strncmp(e->d_name, ".out", 4) == 0;
  closedir(d);
  MTK_ASSERT_EQ(entries, 1);
  mtk_autofree char *bad = mtk_xasprintf("%s/missing/out.yaml", dir);
  MTK_ASSERT(mtk_cli_write_output(bad, "x", 1, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "missing/out.yaml");
  mtk_err_free(&err);
  unlink(path);
  rmdir(dir);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"edit distance (OSA)", test_edit_distance},
      {"nearest command", test_suggest},
      {"YAML quoting of non-strings", test_yaml_needs_quotes},
      {"reals as Go prints them", test_format_real},
      {"JSON dump: sorted keys, 2-space indent", test_json_dump},
      {"YAML dump: block style, sorted, quoted", test_yaml_dump},
      {"$ re-escaped in values only", test_escape_dollars},
      {"service dependency order", test_service_order},
      {"service selection and pruning", test_select},
      {"service hash", test_service_hash},
      {"atomic output file", test_write_output_atomic},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
