/* Unit tests for document-level interpolation and compose-go's typed casts. */
#include "config.h"

#include <stdlib.h>

#include "compose/internal.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strmap.h"

static char *run(const char *yaml, struct mtk_strmap *env, char **errmsg)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) n = mtk_compose_yaml_parse("c.yaml", yaml, strlen(yaml), &err);
  if (n && mtk_compose_interpolate(n, env, &err) == 0) {
    json_t *j = mtk_node_to_json(n);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
  }
  *errmsg = mtk_err_format(err);
  mtk_err_free(&err);
  return NULL;
}

static int test_values_and_casts(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_strmap_set(&env, "PORT", "8080");
  mtk_strmap_set(&env, "PRIV", "yes");
  mtk_strmap_set(&env, "KEY", "k");
  mtk_autofree char *e = NULL;
  mtk_autofree char *s =
      run("services:\n  web:\n    image: \"img:${TAG:-latest}\"\n    privileged: $PRIV\n"
          "    ports:\n      - target: $PORT\n        published: $PORT\n"
          "    environment:\n      $KEY: $$KEY\n    tty: 'true'\n"
          "    ulimits:\n      nofile: '1024'\n",
          &env, &e);
  MTK_ASSERT_STREQ(s, "{\"services\":{\"web\":{\"environment\":{\"$KEY\":\"$KEY\"},\"image\":"
                      "\"img:latest\",\"ports\":[{\"published\":\"8080\",\"target\":8080}],"
                      "\"privileged\":true,\"tty\":true,\"ulimits\":{\"nofile\":1024}}}}");
  return 0;
}

static int test_errors_name_the_path(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autofree char *e1 = NULL, *e2 = NULL, *e3 = NULL;
  mtk_autofree char *s1 =
      run("services:\n  app:\n    image: ${REG:?registry must be set}/x\n", &env, &e1);
  MTK_ASSERT(s1 == NULL);
  MTK_ASSERT_CONTAINS(e1, "c.yaml:3:12: error while interpolating services.app.image: "
                          "required variable REG is missing a value: registry must be set");
  mtk_autofree char *s2 = run("services:\n  app:\n    image: ${BAD\n", &env, &e2);
  MTK_ASSERT(s2 == NULL);
  MTK_ASSERT_CONTAINS(e2, "invalid interpolation format for services.app.image");
  mtk_autofree char *s3 = run("services:\n  app:\n    tty: maybe\n", &env, &e3);
  MTK_ASSERT(s3 == NULL);
  MTK_ASSERT_CONTAINS(e3, "services.app.tty: failed to cast to expected type");
  /* strconv.ParseInt base 10: a hex literal given as a string is no number. */
  mtk_autofree char *e4 = NULL;
  mtk_autofree char *s4 = run("services:\n  app:\n    pids_limit: '0x10'\n", &env, &e4);
  MTK_ASSERT(s4 == NULL);
  MTK_ASSERT_CONTAINS(e4, "services.app.pids_limit: failed to cast to expected type");
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"values interpolated, typed paths cast", test_values_and_casts},
      {"errors name the key path and position", test_errors_name_the_path},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
