/* compose-go's validation package on the node tree (external volumes,
 * secret and config sources, port host IPs, develop.watch paths, device
 * requests), plus the healthcheck.test check of loader/validate.go. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "compose/values.h"
#include "util/cleanup.h"

static bool truthy(const struct mtk_node *n)
{
  bool b;
  return mtk_node_decode_bool(n, &b) && b;
}

/* checkExternal: an external volume has nothing but name and x-* keys. */
static int check_volume(const struct mtk_node *v, const char *path, struct mtk_err **err)
{
  if (mtk_node_is_null(v))
    return 0;
  if (!mtk_node_is_map(v)) {
    mtk_autofree char *s = mtk_node_scalar_text(v, NULL);
    return mtk_node_err(v, err, "%s: expected volume, got %s", path, s ? s : "a sequence");
  }
  if (!truthy(mtk_node_get(v, "external")))
    return 0;
  for (size_t i = 0; i < v->len; i++) {
    const char *k = v->pairs[i].key;
    if (strcmp(k, "name") == 0 || strcmp(k, "external") == 0 || strncmp(k, "x-", 2) == 0)
      continue;
    return mtk_node_err(v->pairs[i].val, err,
                        "%s: conflicting parameters \"external\" and \"%s\" specified", path, k);
  }
  return 0;
}

/* checkFileObject: exactly one source attribute, unless external or a driver. */
static int check_file_object(const struct mtk_node *v, const char *path, const char *const *keys,
                             const char *joined, struct mtk_err **err)
{
  size_t count = 0;
  for (size_t i = 0; keys[i]; i++)
    count += mtk_node_get_pair(v, keys[i]) != NULL;
  if (count > 1)
    return mtk_node_err(v, err, "%s: %s attributes are mutually exclusive", path, joined);
  if (count == 0 && !mtk_node_get_pair(v, "driver") && !mtk_node_get_pair(v, "external"))
    return mtk_node_err(v, err, "%s: one of %s must be set", path, joined);
  return 0;
}

static int check_resources(const struct mtk_node *root, struct mtk_err **err)
{
  static const char *const secret_keys[] = {"file", "environment", NULL};
  static const char *const config_keys[] = {"file", "environment", "content", NULL};
  const struct mtk_node *vols = mtk_node_get(root, "volumes");
  for (size_t i = 0; mtk_node_is_map(vols) && i < vols->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("volumes.%s", vols->pairs[i].key);
    if (check_volume(vols->pairs[i].val, p, err) < 0)
      return -1;
  }
  const struct mtk_node *cfgs = mtk_node_get(root, "configs");
  for (size_t i = 0; mtk_node_is_map(cfgs) && i < cfgs->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("configs.%s", cfgs->pairs[i].key);
    if (check_file_object(cfgs->pairs[i].val, p, config_keys, "file|environment|content", err) < 0)
      return -1;
  }
  const struct mtk_node *secs = mtk_node_get(root, "secrets");
  for (size_t i = 0; mtk_node_is_map(secs) && i < secs->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("secrets.%s", secs->pairs[i].key);
    if (check_file_object(secs->pairs[i].val, p, secret_keys, "file|environment", err) < 0)
      return -1;
  }
  return 0;
}

static int check_device_requests(const struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    const struct mtk_node *d = seq->items[i];
    if (mtk_node_get_pair(d, "count") && mtk_node_get_pair(d, "device_ids"))
      return mtk_node_err(d, err, "%s[%zu]: \"count\" and \"device_ids\" attributes are exclusive",
                          path, i);
  }
  return 0;
}

static int check_ports(const struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    const struct mtk_node *ip = mtk_node_get(seq->items[i], "host_ip");
    if (ip == NULL)
      continue;
    mtk_autofree char *s = mtk_node_scalar_text(ip, NULL);
    if (s == NULL || !mtk_compose_ip_valid(s))
      return mtk_node_err(ip, err, "%s[%zu]: invalid ip address: %s", path, i, s ? s : "");
  }
  return 0;
}

static int check_watch(const struct mtk_node *develop, const char *path, struct mtk_err **err)
{
  const struct mtk_node *watch = mtk_node_get(develop, "watch");
  for (size_t i = 0; mtk_node_is_seq(watch) && i < watch->len; i++) {
    const struct mtk_node *p = mtk_node_get(watch->items[i], "path");
    if (mtk_node_is_str(p) && p->str[0] == '\0')
      return mtk_node_err(p, err, "%s.develop.watch[%zu].path: value can't be blank", path, i);
  }
  return 0;
}

int mtk_compose_validate_healthcheck(const struct mtk_node *service, struct mtk_err **err)
{
  const struct mtk_node *test = mtk_node_get(mtk_node_get(service, "healthcheck"), "test");
  if (!mtk_node_is_seq(test) || test->len == 0)
    return 0;
  const struct mtk_node *first = test->items[0];
  if (mtk_node_is_str(first) &&
      (strcmp(first->str, "CMD") == 0 || strcmp(first->str, "CMD-SHELL") == 0 ||
       strcmp(first->str, "NONE") == 0))
    return 0;
  return mtk_node_err(first, err,
                      "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"");
}

static int check_service(const struct mtk_node *svc, const char *path, struct mtk_err **err)
{
  mtk_autofree char *pports = mtk_xasprintf("%s.ports", path);
  mtk_autofree char *pgpu = mtk_xasprintf("%s.gpus", path);
  mtk_autofree char *pdev = mtk_xasprintf("%s.deploy.resources.reservations.devices", path);
  const struct mtk_node *res = mtk_node_get(mtk_node_get(svc, "deploy"), "resources");
  const struct mtk_node *devs = mtk_node_get(mtk_node_get(res, "reservations"), "devices");
  if (check_ports(mtk_node_get(svc, "ports"), pports, err) < 0 ||
      check_watch(mtk_node_get(svc, "develop"), path, err) < 0 ||
      check_device_requests(mtk_node_get(svc, "gpus"), pgpu, err) < 0 ||
      check_device_requests(devs, pdev, err) < 0)
    return -1;
  if (mtk_compose_validate_healthcheck(svc, err) < 0)
    return mtk_err_wrap(err, "%s", path);
  return 0;
}

int mtk_compose_validate(const struct mtk_node *root, struct mtk_err **err)
{
  if (check_resources(root, err) < 0)
    return -1;
  const struct mtk_node *services = mtk_node_get(root, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("services.%s", services->pairs[i].key);
    if (check_service(services->pairs[i].val, p, err) < 0)
      return -1;
  }
  return 0;
}
