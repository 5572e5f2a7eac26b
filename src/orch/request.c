/* A compose service as Docker's ContainerCreate request (the fields listed
 * in src/runtime/container.h), the way Docker Compose fills it
 * (compose/pkg/compose/create.go getCreateConfigs): the model is the
 * normalised JSON of `mtk config --format json`, so every short syntax is
 * already in its long form here. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/values.h"
#include "orch/orch.h"
#include "util/cleanup.h"
#include "util/sha256.h"
#include "util/strbuf.h"

char *mtk_orch_ctr_name(const struct mtk_project *p, const char *service, int number)
{
  const json_t *svc = json_object_get(json_object_get(p->model, "services"), service);
  const char *fixed = json_string_value(json_object_get(svc, "container_name"));
  if (fixed && *fixed)
    return mtk_xstrdup(fixed);
  return mtk_xasprintf("%s-%s-%d", p->name, service, number);
}

int mtk_orch_service_hash(const json_t *service, char out[65], struct mtk_err **err)
{
  static const char *const ignored[] = {"build",      "pull_policy", "scale",
                                        "depends_on", "profiles",    NULL};
  json_t *copy = json_deep_copy(service);
  if (!copy)
    return mtk_err_set(err, MTK_E_GENERIC, "cannot compute the service hash");
  for (size_t i = 0; ignored[i]; i++)
    json_object_del(copy, ignored[i]);
  json_object_del(json_object_get(copy, "deploy"), "replicas");
  mtk_autofree char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(copy);
  if (!text)
    return mtk_err_set(err, MTK_E_GENERIC, "cannot compute the service hash");
  mtk_sha256_hex(text, strlen(text), out);
  return 0;
}

int mtk_orch_replicas(const json_t *service, int scale_override)
{
  if (scale_override >= 0)
    return scale_override;
  json_t *r = json_object_get(json_object_get(service, "deploy"), "replicas");
  if (json_is_integer(r))
    return (int) json_integer_value(r);
  r = json_object_get(service, "scale");
  if (json_is_integer(r))
    return (int) json_integer_value(r);
  return 1;
}

/* ------------------------------------------------------------ helpers */

/* A Go duration string of the model as ns; 0 when absent. */
static int duration_ns(const json_t *v, const char *what, int64_t *out, struct mtk_err **err)
{
  *out = 0;
  if (!v || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  if (mtk_duration_parse(json_string_value(v) ? json_string_value(v) : "", out, err) < 0)
    return mtk_err_wrap(err, "%s", what);
  return 0;
}

/* A byte size of the model (decimal string or integer) as an integer. */
static int bytes_value(const json_t *v, const char *what, int64_t *out, struct mtk_err **err)
{
  *out = 0;
  if (!v || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  if (mtk_bytes_parse(json_string_value(v) ? json_string_value(v) : "", out, err) < 0)
    return mtk_err_wrap(err, "%s", what);
  return 0;
}

static void copy_if(json_t *dst, const char *dkey, const json_t *src, const char *skey)
{
  json_t *v = json_object_get(src, skey);
  if (v && !json_is_null(v))
    json_object_set(dst, dkey, v);
}

static json_t *environment(const json_t *svc)
{
  json_t *env = json_array();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *) json_object_get(svc, "environment"), k, v)
  {
    if (json_is_string(v))
      json_array_append_new(env, json_sprintf("%s=%s", k, json_string_value(v)));
  }
  return env;
}

static json_t *labels(const struct mtk_project *p, const char *service, int number,
                      const json_t *svc, const char *hash)
{
  json_t *l = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *) json_object_get(svc, "labels"), k, v)
  {
    if (json_is_string(v))
      json_object_set(l, k, v);
  }
  struct mtk_strbuf files = MTK_STRBUF_INIT;
  for (size_t i = 0; p->config_files && p->config_files[i]; i++) {
    if (i)
      mtk_strbuf_addc(&files, ',');
    mtk_strbuf_adds(&files, p->config_files[i]);
  }
  struct mtk_strbuf deps = MTK_STRBUF_INIT;
  json_object_foreach((json_t *) json_object_get(svc, "depends_on"), k, v)
  {
    if (deps.len)
      mtk_strbuf_addc(&deps, ',');
    const char *cond = json_string_value(json_object_get(v, "condition"));
    mtk_strbuf_addf(&deps, "%s:%s:%s", k, cond ? cond : "service_started",
                    json_is_true(json_object_get(v, "restart")) ? "true" : "false");
  }
  json_object_set_new(l, MTK_LABEL_PROJECT, json_string(p->name));
  json_object_set_new(l, MTK_LABEL_SERVICE, json_string(service));
  json_object_set_new(l, MTK_LABEL_NUMBER, json_sprintf("%d", number));
  json_object_set_new(l, MTK_LABEL_HASH, json_string(hash));
  json_object_set_new(l, MTK_LABEL_ONEOFF, json_string("False"));
  json_object_set_new(l, MTK_LABEL_WORKDIR, json_string(p->workdir));
  json_object_set_new(l, MTK_LABEL_FILES, json_string(files.buf ? files.buf : ""));
  json_object_set_new(l, MTK_LABEL_DEPENDS, json_string(deps.buf ? deps.buf : ""));
  json_object_set_new(l, MTK_LABEL_VERSION, json_string(MTK_VERSION));
  copy_if(l, MTK_LABEL_IMAGE, svc, "image");
  mtk_strbuf_free(&files);
  mtk_strbuf_free(&deps);
  return l;
}

static int healthcheck(const json_t *svc, json_t *cfg, struct mtk_err **err)
{
  const json_t *hc = json_object_get(svc, "healthcheck");
  if (!hc)
    return 0;
  json_t *out = json_object();
  json_object_set_new(cfg, "Healthcheck", out);
  if (json_is_true(json_object_get(hc, "disable"))) {
    json_object_set_new(out, "Test", json_pack("[s]", "NONE"));
    return 0;
  }
  copy_if(out, "Test", hc, "test");
  static const struct {
    const char *model, *api;
  } durations[] = {{"interval", "Interval"},
                   {"timeout", "Timeout"},
                   {"start_period", "StartPeriod"},
                   {"start_interval", "StartInterval"}};
  for (size_t i = 0; i < sizeof(durations) / sizeof(*durations); i++) {
    int64_t ns;
    mtk_autofree char *what = mtk_xasprintf("healthcheck.%s", durations[i].model);
    if (duration_ns(json_object_get(hc, durations[i].model), what, &ns, err) < 0)
      return -1;
    if (ns)
      json_object_set_new(out, durations[i].api, json_integer(ns));
  }
  copy_if(out, "Retries", hc, "retries");
  return 0;
}

static json_t *restart_policy(const json_t *svc)
{
  const char *r = json_string_value(json_object_get(svc, "restart"));
  json_t *p = json_object();
  if (!r || !*r)
    r = "no";
  const char *colon = strchr(r, ':');
  if (colon) {
    json_object_set_new(p, "Name", json_stringn(r, (size_t) (colon - r)));
    json_object_set_new(p, "MaximumRetryCount", json_integer(strtol(colon + 1, NULL, 10)));
  } else {
    json_object_set_new(p, "Name", json_string(r));
    json_object_set_new(p, "MaximumRetryCount", json_integer(0));
  }
  return p;
}

/* ulimits: {name: n | {soft, hard}} -> [{Name, Soft, Hard}]. */
static json_t *ulimits(const json_t *svc)
{
  json_t *out = json_array();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *) json_object_get(svc, "ulimits"), k, v)
  {
    json_int_t soft, hard;
    if (json_is_integer(v)) {
      soft = hard = json_integer_value(v);
    } else {
      soft = json_integer_value(json_object_get(v, "soft"));
      hard = json_integer_value(json_object_get(v, "hard"));
    }
    json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "Name", k, "Soft", soft, "Hard", hard));
  }
  return out;
}

static int limits(const json_t *svc, json_t *hc, struct mtk_err **err)
{
  const json_t *lim =
      json_object_get(json_object_get(json_object_get(svc, "deploy"), "resources"), "limits");
  int64_t mem = 0;
  if (bytes_value(json_object_get(lim, "memory"), "deploy.resources.limits.memory", &mem, err) < 0)
    return -1;
  if (!mem && bytes_value(json_object_get(svc, "mem_limit"), "mem_limit", &mem, err) < 0)
    return -1;
  if (mem)
    json_object_set_new(hc, "Memory", json_integer(mem));
  json_t *cpus = json_object_get(lim, "cpus");
  if (!json_is_number(cpus))
    cpus = json_object_get(svc, "cpus");
  if (json_is_number(cpus) && json_number_value(cpus) > 0)
    json_object_set_new(hc, "NanoCpus", json_integer((json_int_t) (json_number_value(cpus) * 1e9)));
  json_t *pids = json_object_get(lim, "pids");
  if (!json_is_integer(pids))
    pids = json_object_get(svc, "pids_limit");
  if (json_is_integer(pids))
    json_object_set(hc, "PidsLimit", pids);
  int64_t shm = 0;
  if (bytes_value(json_object_get(svc, "shm_size"), "shm_size", &shm, err) < 0)
    return -1;
  if (shm)
    json_object_set_new(hc, "ShmSize", json_integer(shm));
  return 0;
}

/* volumes and tmpfs -> Binds, Mounts, Tmpfs. */
static int volumes(const struct mtk_project *p, const char *service, const json_t *svc, json_t *hc,
                   struct mtk_err **err)
{
  json_t *binds = json_array(), *mounts = json_array(), *tmpfs = json_object();
  json_object_set_new(hc, "Binds", binds);
  json_object_set_new(hc, "Mounts", mounts);
  json_object_set_new(hc, "Tmpfs", tmpfs);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(svc, "volumes"), i, v)
  {
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *src = json_string_value(json_object_get(v, "source"));
    const char *dst = json_string_value(json_object_get(v, "target"));
    bool ro = json_is_true(json_object_get(v, "read_only"));
    if (!type || !dst)
      return mtk_err_set(err, EINVAL, "service %s: volumes[%zu]: no type or target", service, i);
    if (strcmp(type, "bind") == 0) {
      json_t *create = json_object_get(json_object_get(v, "bind"), "create_host_path");
      if (!json_is_false(create)) {
        json_array_append_new(binds, json_sprintf("%s:%s%s", src, dst, ro ? ":ro" : ""));
        continue;
      }
      json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", src,
                                              "Target", dst, "ReadOnly", ro));
    } else if (strcmp(type, "volume") == 0) {
      const char *name = "";
      if (src && *src) {
        const json_t *vol = json_object_get(json_object_get(p->model, "volumes"), src);
        name = json_string_value(json_object_get(vol, "name"));
        if (!name)
          return mtk_err_set(err, EINVAL, "service %s refers to undefined volume %s", service, src);
      }
      json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "volume", "Source",
                                              name, "Target", dst, "ReadOnly", ro));
    } else if (strcmp(type, "tmpfs") == 0) {
      int64_t size = 0;
      if (bytes_value(json_object_get(json_object_get(v, "tmpfs"), "size"), "tmpfs.size", &size,
                      err) < 0)
        return -1;
      json_object_set_new(tmpfs, dst,
                          size ? json_sprintf("size=%lld", (long long) size) : json_string(""));
    } else {
      return mtk_err_set(err, EINVAL, "service %s: volume type %s is not supported", service, type);
    }
  }
  json_array_foreach(json_object_get(svc, "tmpfs"), i, v)
  {
    const char *t = json_string_value(v);
    const char *colon = t ? strchr(t, ':') : NULL;
    if (!t)
      continue;
    if (colon) {
      mtk_autofree char *path = mtk_xstrndup(t, (size_t) (colon - t));
      json_object_set_new(tmpfs, path, json_string(colon + 1));
    } else
      json_object_set_new(tmpfs, t, json_string(""));
  }
  return 0;
}

/* ports -> PortBindings {"80/tcp": [{HostIp, HostPort}]} and ExposedPorts. */
static void ports(const json_t *svc, json_t *cfg, json_t *hc)
{
  json_t *bindings = json_object(), *exposed = json_object();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(svc, "ports"), i, v)
  {
    const char *proto = json_string_value(json_object_get(v, "protocol"));
    mtk_autofree char *key =
        mtk_xasprintf("%lld/%s", (long long) json_integer_value(json_object_get(v, "target")),
                      proto && *proto ? proto : "tcp");
    json_object_set_new(exposed, key, json_object());
    json_t *list = json_object_get(bindings, key);
    if (!list) {
      list = json_array();
      json_object_set_new(bindings, key, list);
    }
    const char *ip = json_string_value(json_object_get(v, "host_ip"));
    const char *pub = json_string_value(json_object_get(v, "published"));
    json_array_append_new(
        list, json_pack("{s:s, s:s}", "HostIp", ip ? ip : "", "HostPort", pub ? pub : ""));
  }
  json_array_foreach(json_object_get(svc, "expose"), i, v)
  {
    const char *e = json_string_value(v);
    if (!e)
      continue;
    mtk_autofree char *key = strchr(e, '/') ? mtk_xstrdup(e) : mtk_xasprintf("%s/tcp", e);
    json_object_set_new(exposed, key, json_object());
  }
  json_object_set_new(hc, "PortBindings", bindings);
  json_object_set_new(cfg, "ExposedPorts", exposed);
}

struct netref {
  const char *key; /* the model's key */
  long priority;
};

static int netref_cmp(const void *a, const void *b)
{
  const struct netref *x = a, *y = b;
  if (x->priority != y->priority)
    return x->priority > y->priority ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* network_mode, or every network of the service: NetworkMode = the first
 * by priority then name; EndpointsConfig with the service name as alias. */
static int networks(const struct mtk_project *p, const char *service, const json_t *svc,
                    json_t *req, json_t *hc, struct mtk_err **err)
{
  const char *mode = json_string_value(json_object_get(svc, "network_mode"));
  if (mode) {
    if (strcmp(mode, "none") && strcmp(mode, "host") && strcmp(mode, "bridge"))
      return mtk_err_set(err, EINVAL, "service %s: network_mode \"%s\" is not supported yet",
                         service, mode);
    json_object_set_new(hc, "NetworkMode", json_string(mode));
    return 0;
  }
  const json_t *nets = json_object_get(svc, "networks");
  size_t n = json_object_size(nets), k = 0;
  if (n == 0) {
    json_object_set_new(hc, "NetworkMode", json_string("none"));
    return 0;
  }
  struct netref *refs = mtk_xcalloc(n, sizeof(*refs));
  const char *key;
  json_t *v;
  json_object_foreach((json_t *) nets, key, v)
  {
    refs[k].key = key;
    refs[k++].priority = (long) json_integer_value(json_object_get(v, "priority"));
  }
  qsort(refs, n, sizeof(*refs), netref_cmp);
  json_t *endpoints = json_object();
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const json_t *def = json_object_get(json_object_get(p->model, "networks"), refs[i].key);
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name) {
      rc = mtk_err_set(err, EINVAL, "service %s refers to undefined network %s", service,
                       refs[i].key);
      break;
    }
    const json_t *cfg = json_object_get(nets, refs[i].key);
    json_t *aliases = json_pack("[s]", service);
    size_t j;
    json_t *a;
    json_array_foreach(json_object_get(cfg, "aliases"), j, a) json_array_append(aliases, a);
    json_t *ep = json_pack("{s:o}", "Aliases", aliases);
    const char *ip = json_string_value(json_object_get(cfg, "ipv4_address"));
    if (ip)
      json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
    json_object_set_new(endpoints, name, ep);
    if (i == 0)
      json_object_set_new(hc, "NetworkMode", json_string(name));
  }
  free(refs);
  json_object_set_new(req, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", endpoints));
  return rc;
}

static int host_config(const struct mtk_project *p, const char *service, const json_t *svc,
                       json_t *req, struct mtk_err **err)
{
  json_t *hc = json_object();
  json_object_set_new(req, "HostConfig", hc);
  static const struct {
    const char *model, *api;
  } same[] = {
      {"init", "Init"},       {"read_only", "ReadonlyRootfs"},  {"privileged", "Privileged"},
      {"cap_add", "CapAdd"},  {"cap_drop", "CapDrop"},          {"security_opt", "SecurityOpt"},
      {"sysctls", "Sysctls"}, {"oom_score_adj", "OomScoreAdj"}, {"runtime", "Runtime"}};
  for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++)
    copy_if(hc, same[i].api, svc, same[i].model);
  json_object_set_new(hc, "RestartPolicy", restart_policy(svc));
  json_object_set_new(hc, "Ulimits", ulimits(svc));
  json_t *hosts = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(svc, "extra_hosts"), i, v)
  {
    const char *h = json_string_value(v), *eq = h ? strchr(h, '=') : NULL;
    if (eq)
      json_array_append_new(hosts, json_sprintf("%.*s:%s", (int) (eq - h), h, eq + 1));
  }
  json_object_set_new(hc, "ExtraHosts", hosts);
  if (limits(svc, hc, err) < 0 || volumes(p, service, svc, hc, err) < 0)
    return -1;
  ports(svc, req, hc);
  return networks(p, service, svc, req, hc, err);
}

json_t *mtk_orch_ctr_request(const struct mtk_project *p, const char *service, int number,
                             struct mtk_err **err)
{
  const json_t *svc = json_object_get(json_object_get(p->model, "services"), service);
  if (!svc) {
    mtk_err_set(err, ENOENT, "no such service: %s", service);
    return NULL;
  }
  char hash[65];
  if (mtk_orch_service_hash(svc, hash, err) < 0)
    return NULL;
  json_t *req = json_object();
  const char *image = json_string_value(json_object_get(svc, "image"));
  if (image)
    json_object_set_new(req, "Image", json_string(image));
  else
    json_object_set_new(req, "Image", json_sprintf("%s-%s", p->name, service));
  copy_if(req, "Cmd", svc, "command");
  copy_if(req, "Entrypoint", svc, "entrypoint");
  json_object_set_new(req, "Env", environment(svc));
  copy_if(req, "User", svc, "user");
  copy_if(req, "WorkingDir", svc, "working_dir");
  copy_if(req, "Hostname", svc, "hostname");
  copy_if(req, "Domainname", svc, "domainname");
  copy_if(req, "Tty", svc, "tty");
  copy_if(req, "OpenStdin", svc, "stdin_open");
  copy_if(req, "StopSignal", svc, "stop_signal");
  json_object_set_new(req, "Labels", labels(p, service, number, svc, hash));
  int64_t grace = 0;
  if (duration_ns(json_object_get(svc, "stop_grace_period"), "stop_grace_period", &grace, err) < 0)
    goto fail;
  if (json_object_get(svc, "stop_grace_period"))
    json_object_set_new(req, "StopTimeout", json_integer((json_int_t) (grace / 1000000000)));
  if (healthcheck(svc, req, err) < 0 || host_config(p, service, svc, req, err) < 0)
    goto fail;
  return req;
fail:
  mtk_err_wrap(err, "service %s", service);
  json_decref(req);
  return NULL;
}
