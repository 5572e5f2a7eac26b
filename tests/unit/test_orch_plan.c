/* Unit tests for the plan of `up` (src/orch/plan.c): fresh project, an
 * unchanged, a changed and a scaled service, selection with dependencies,
 * orphans. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtk/compose.h"
#include "orch/orch.h"
#include "runtime/container.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static const char compose_yaml[] = "name: lab\n"
                                   "services:\n"
                                   "  db: {image: busybox, command: sleep 100}\n"
                                   "  web:\n"
                                   "    image: busybox\n"
                                   "    depends_on: [db]\n"
                                   "    deploy: {replicas: 2}\n"
                                   "  tool: {image: busybox}\n";

static char dir[] = "/tmp/mtk-plan-XXXXXX";
static struct mtk_project *project;

static struct mtk_project *load(void)
{
  if (!mkdtemp(dir))
    return NULL;
  mtk_autofree char *path = mtk_xasprintf("%s/compose.yaml", dir);
  FILE *f = fopen(path, "w");
  if (!f)
    return NULL;
  fputs(compose_yaml, f);
  fclose(f);
  const char *files[] = {path};
  struct mtk_compose_opts o = {.files = files, .n_files = 1, .workdir = dir};
  struct mtk_err *err = NULL;
  struct mtk_project *p = mtk_compose_load(&o, &err);
  mtk_err_free(&err);
  return p;
}

/* A fake existing container of the project (exited, so never "running"). */
static struct mtk_ctr *ctr(const char *service, int number, const char *hash)
{
  struct mtk_ctr *c = mtk_xcalloc(1, sizeof(*c));
  snprintf(c->id, sizeof(c->id), "%s%d000000000000000000000000000000000000000000000000000000",
           service, number);
  c->name = mtk_xasprintf("lab-%s-%d", service, number);
  c->config =
      json_pack("{s:{s:{s:s, s:s, s:i, s:s}}}", "Config", "Labels", MTK_LABEL_PROJECT, "lab",
                MTK_LABEL_SERVICE, service, MTK_LABEL_NUMBER, 0, MTK_LABEL_HASH, hash);
  json_object_set_new(json_object_get(json_object_get(c->config, "Config"), "Labels"),
                      MTK_LABEL_NUMBER, json_sprintf("%d", number));
  c->state = json_pack("{s:s, s:b}", "Status", "exited", "Running", 0);
  return c;
}

static char *summary(const struct mtk_orch_plan *pl)
{
  static const char *names[] = {"keep", "start", "create", "recreate", "remove"};
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < pl->n; i++)
    mtk_strbuf_addf(&sb, "%s%s:%s", i ? " " : "", names[pl->steps[i].action], pl->steps[i].name);
  return sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
}

static const char *hash_of(const char *service)
{
  static char h[65];
  struct mtk_err *err = NULL;
  mtk_orch_service_hash(json_object_get(json_object_get(project->model, "services"), service), h,
                        &err);
  return h;
}

static int test_fresh(void)
{
  MTK_ASSERT(project);
  struct mtk_orch_plan pl;
  struct mtk_orch_plan_opts o = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_orch_plan(project, NULL, 0, &o, &pl, &err), 0);
  mtk_autofree char *s = summary(&pl);
  MTK_ASSERT_STREQ(s, "create:lab-db-1 create:lab-tool-1 create:lab-web-1 create:lab-web-2");
  MTK_ASSERT_EQ(pl.steps[3].level, 1);
  mtk_orch_plan_free(&pl);
  return 0;
}

static int test_converge(void)
{
  MTK_ASSERT(project);
  char db_hash[65];
  strcpy(db_hash, hash_of("db"));
  struct mtk_ctr *v[] = {ctr("db", 1, db_hash), ctr("web", 1, "old"), ctr("web", 3, "old"),
                         ctr("gone", 1, "x")};
  struct mtk_orch_plan pl;
  struct mtk_orch_plan_opts o = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_orch_plan(project, v, 4, &o, &pl, &err), 0);
  mtk_autofree char *s = summary(&pl);
  MTK_ASSERT_STREQ(s, "start:lab-db-1 create:lab-tool-1 recreate:lab-web-1 create:lab-web-2 "
                      "remove:lab-web-3");
  MTK_ASSERT_EQ(pl.n_orphans, 1);
  MTK_ASSERT_STREQ(pl.orphans[0], "lab-gone-1");
  mtk_orch_plan_free(&pl);
  /* --no-recreate, --remove-orphans, --scale web=1, only web (+ db) */
  const char *sel[] = {"web"}, *scale[] = {"web=1"};
  struct mtk_orch_plan_opts o2 = {.services = sel,
                                  .n_services = 1,
                                  .no_recreate = true,
                                  .remove_orphans = true,
                                  .scale = scale,
                                  .n_scale = 1};
  MTK_ASSERT_EQ(mtk_orch_plan(project, v, 4, &o2, &pl, &err), 0);
  mtk_autofree char *s2 = summary(&pl);
  MTK_ASSERT_STREQ(s2, "start:lab-db-1 start:lab-web-1 remove:lab-web-3 remove:lab-gone-1");
  mtk_orch_plan_free(&pl);
  /* --no-deps and an unknown service */
  struct mtk_orch_plan_opts o3 = {.services = sel, .n_services = 1, .no_deps = true};
  MTK_ASSERT_EQ(mtk_orch_plan(project, v, 4, &o3, &pl, &err), 0);
  mtk_autofree char *s3 = summary(&pl);
  MTK_ASSERT_STREQ(s3, "recreate:lab-web-1 create:lab-web-2 remove:lab-web-3");
  mtk_orch_plan_free(&pl);
  const char *bad[] = {"nope"};
  struct mtk_orch_plan_opts o4 = {.services = bad, .n_services = 1};
  MTK_ASSERT(mtk_orch_plan(project, v, 4, &o4, &pl, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "no such service: nope");
  mtk_err_free(&err);
  for (size_t i = 0; i < 4; i++) {
    json_decref(v[i]->config);
    json_decref(v[i]->state);
    free(v[i]->name);
    free(v[i]);
  }
  return 0;
}

int main(void)
{
  project = load();
  static const struct mtk_test tests[] = {
      {"fresh project", test_fresh},
      {"convergence", test_converge},
      {NULL, NULL},
  };
  int rc = mtk_test_main(tests);
  mtk_project_free(project);
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
