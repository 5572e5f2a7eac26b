/* The plan of `mtk up`: which replicas of which services to keep, start,
 * create, recreate or remove, from the project model and the containers
 * that carry the project's labels (Docker Compose's convergence:
 * compose/pkg/compose/convergence.go). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose/graph.h"
#include "orch/orch.h"
#include "runtime/container.h"
#include "util/cleanup.h"

const char *mtk_orch_ctr_label(const struct mtk_ctr *c, const char *key)
{
  json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
  return json_string_value(json_object_get(labels, key));
}

void mtk_orch_plan_free(struct mtk_orch_plan *plan)
{
  for (size_t i = 0; i < plan->n; i++) {
    free(plan->steps[i].service);
    free(plan->steps[i].name);
    free(plan->steps[i].ctr_id);
  }
  free(plan->steps);
  for (size_t i = 0; i < plan->n_orphans; i++)
    free(plan->orphans[i]);
  free(plan->orphans);
  memset(plan, 0, sizeof(*plan));
}

static void add_step(struct mtk_orch_plan *plan, enum mtk_orch_action a, const char *service,
                     int number, const char *name, const char *id, int level)
{
  plan->steps = mtk_xrealloc(plan->steps, (plan->n + 1) * sizeof(*plan->steps));
  plan->steps[plan->n++] = (struct mtk_orch_step){
      .action = a,
      .service = mtk_xstrdup(service),
      .number = number,
      .name = mtk_xstrdup(name),
      .ctr_id = id ? mtk_xstrdup(id) : NULL,
      .level = level,
  };
}

/* Marks `name` and (unless no_deps) its required dependencies as selected. */
static void select_with_deps(const json_t *services, const char *name, json_t *selected,
                             bool no_deps)
{
  if (json_object_get(selected, name))
    return;
  json_object_set_new(selected, name, json_true());
  if (no_deps)
    return;
  const char *dep;
  json_t *v;
  json_object_foreach(json_object_get(json_object_get(services, name), "depends_on"), dep, v)
  {
    if (json_object_get(services, dep))
      select_with_deps(services, dep, selected, false);
  }
}

static int scale_of(const struct mtk_orch_plan_opts *o, const char *service, const json_t *svc,
                    struct mtk_err **err)
{
  size_t len = strlen(service);
  for (size_t i = 0; i < o->n_scale; i++) {
    const char *s = o->scale[i];
    if (strncmp(s, service, len) == 0 && s[len] == '=') {
      char *end;
      long n = strtol(s + len + 1, &end, 10);
      if (*end || n < 0 || n > 10000)
        return mtk_err_set(err, MTK_E_USAGE, "invalid --scale value: %s", s);
      return (int) n;
    }
  }
  return mtk_orch_replicas(svc, -1);
}

/* The steps of one service: replicas 1..want, then removals above it. */
static int plan_service(const struct mtk_project *p, const char *service, int level,
                        struct mtk_ctr *const *ctrs, size_t n_ctrs,
                        const struct mtk_orch_plan_opts *o, struct mtk_orch_plan *plan,
                        struct mtk_err **err)
{
  const json_t *svc = json_object_get(json_object_get(p->model, "services"), service);
  int want = scale_of(o, service, svc, err);
  if (want < 0)
    return -1;
  char hash[65];
  if (mtk_orch_service_hash(svc, hash, err) < 0)
    return -1;
  for (int num = 1; num <= want; num++) {
    mtk_autofree char *name = mtk_orch_ctr_name(p, service, num);
    const struct mtk_ctr *have = NULL;
    for (size_t i = 0; i < n_ctrs && !have; i++) {
      const char *s = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_SERVICE);
      const char *n = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_NUMBER);
      if (s && n && strcmp(s, service) == 0 && atoi(n) == num)
        have = ctrs[i];
    }
    enum mtk_orch_action a = MTK_ORCH_CREATE;
    if (have) {
      const char *h = mtk_orch_ctr_label(have, MTK_LABEL_HASH);
      bool changed = !h || strcmp(h, hash) != 0;
      if (o->force_recreate || (changed && !o->no_recreate))
        a = MTK_ORCH_RECREATE;
      else
        a = mtk_ctr_is_running(have) ? MTK_ORCH_KEEP : MTK_ORCH_START;
    }
    add_step(plan, a, service, num, name, have ? have->id : NULL, level);
  }
  for (size_t i = 0; i < n_ctrs; i++) {
    const char *s = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_SERVICE);
    const char *n = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_NUMBER);
    if (s && strcmp(s, service) == 0 && (!n || atoi(n) > want))
      add_step(plan, MTK_ORCH_REMOVE, service, n ? atoi(n) : 0, ctrs[i]->name, ctrs[i]->id, level);
  }
  return 0;
}

/* Containers of the project whose service is gone. */
static void find_orphans(const struct mtk_project *p, struct mtk_ctr *const *ctrs, size_t n_ctrs,
                         const struct mtk_orch_plan_opts *o, struct mtk_orch_plan *plan)
{
  const json_t *services = json_object_get(p->model, "services");
  for (size_t i = 0; i < n_ctrs; i++) {
    const char *s = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_SERVICE);
    if (s && json_object_get(services, s))
      continue;
    if (o->remove_orphans) {
      add_step(plan, MTK_ORCH_REMOVE, s ? s : "", 0, ctrs[i]->name, ctrs[i]->id, -1);
    } else {
      plan->orphans = mtk_xrealloc(plan->orphans, (plan->n_orphans + 1) * sizeof(char *));
      plan->orphans[plan->n_orphans++] = mtk_xstrdup(ctrs[i]->name);
    }
  }
}

int mtk_orch_plan(const struct mtk_project *p, struct mtk_ctr *const *ctrs, size_t n_ctrs,
                  const struct mtk_orch_plan_opts *o, struct mtk_orch_plan *out,
                  struct mtk_err **err)
{
  memset(out, 0, sizeof(*out));
  const json_t *services = json_object_get(p->model, "services");
  /* only this project's containers, one-offs (`run`) left alone */
  struct mtk_ctr **mine = mtk_xcalloc(n_ctrs + 1, sizeof(*mine));
  size_t n_mine = 0;
  for (size_t i = 0; i < n_ctrs; i++) {
    const char *proj = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_PROJECT);
    const char *oneoff = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_ONEOFF);
    if (proj && strcmp(proj, p->name) == 0 && !(oneoff && strcmp(oneoff, "True") == 0))
      mine[n_mine++] = ctrs[i];
  }
  json_t *selected = json_object();
  int rc = 0;
  for (size_t i = 0; i < o->n_services && rc == 0; i++) {
    if (!json_object_get(services, o->services[i]))
      rc = mtk_err_set(err, ENOENT, "no such service: %s", o->services[i]);
    else
      select_with_deps(services, o->services[i], selected, o->no_deps);
  }
  mtk_autoptr(mtk_graph) g = rc == 0 ? mtk_graph_from_model(p->model, err) : NULL;
  if (!g)
    rc = -1;
  for (size_t i = 0; rc == 0 && i < mtk_graph_len(g); i++) {
    const char *s = mtk_graph_at(g, i);
    if (o->n_services && !json_object_get(selected, s))
      continue;
    rc = plan_service(p, s, mtk_graph_level(g, i), mine, n_mine, o, out, err);
  }
  if (rc == 0)
    find_orphans(p, mine, n_mine, o, out);
  json_decref(selected);
  free(mine);
  if (rc < 0)
    mtk_orch_plan_free(out);
  return rc;
}
