/* config.json of a container: the merged Config (image defaults already
 * applied at create) and every HostConfig field mapped onto
 * struct mtk_oci_run_opts for src/oci/spec.h: Memory, NanoCpus, PidsLimit,
 * ShmSize, ReadonlyRootfs, CapAdd/CapDrop, Privileged, SecurityOpt
 * (no-new-privileges, seccomp=unconfined), Init (mtk-init bound at
 * /sbin/docker-init), Tty, Hostname/Domainname, Ulimits (clamped by spec.c),
 * Sysctls, OomScoreAdj, NetworkMode (host = no netns, else the given one or a
 * fresh one).  StopSignal stays out of config.json (stop uses it). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec.h"
#include "runtime/ctr_internal.h"
#include "runtime/init_path.h"
#include "util/cleanup.h"

/* A JSON array of strings as a C array borrowing the strings. */
static const char **strv(const json_t *a, size_t *n)
{
  *n = json_array_size(a);
  const char **v = mtk_xcalloc(*n + 1, sizeof(*v));
  for (size_t i = 0; i < *n; i++)
    v[i] = json_string_value(json_array_get(a, i));
  return v;
}

static void security_opts(const json_t *hc, struct mtk_oci_run_opts *o)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v)
  {
    const char *s = json_string_value(v);
    if (!s)
      continue;
    if (strncmp(s, "no-new-privileges", 17) == 0)
      o->no_new_privileges = !(strcmp(s + 17, ":false") == 0 || strcmp(s + 17, "=false") == 0);
    else if (strcmp(s, "seccomp=unconfined") == 0 || strcmp(s, "seccomp:unconfined") == 0)
      o->seccomp_unconfined = true;
  }
}

static uint64_t ulimit_value(const json_t *v)
{
  json_int_t n = json_integer_value(v);
  return n < 0 ? UINT64_MAX : (uint64_t) n;
}

/* HostConfig.Ulimits -> rlimits ("nofile" -> "RLIMIT_NOFILE"); types are
 * owned by *types. */
static struct mtk_oci_rlimit *ulimits(const json_t *hc, size_t *n, char ***types)
{
  json_t *a = json_object_get(hc, "Ulimits");
  *n = json_array_size(a);
  struct mtk_oci_rlimit *v = mtk_xcalloc(*n + 1, sizeof(*v));
  *types = mtk_xcalloc(*n + 1, sizeof(char *));
  for (size_t i = 0; i < *n; i++) {
    json_t *u = json_array_get(a, i);
    const char *name = json_string_value(json_object_get(u, "Name"));
    char *t = mtk_xasprintf("RLIMIT_%s", name ? name : "");
    for (char *p = t; *p; p++)
      *p = (char) toupper((unsigned char) *p);
    (*types)[i] = t;
    v[i].type = t;
    v[i].soft = ulimit_value(json_object_get(u, "Soft"));
    v[i].hard = ulimit_value(json_object_get(u, "Hard"));
  }
  return v;
}

json_t *mtk_ctr_spec(const struct mtk_ctr *c, const char *rootfs, const struct mtk_oci_mount *m,
                     size_t n_mounts, const char *netns, struct mtk_err **err)
{
  const json_t *cfg = json_object_get(c->config, "Config");
  const json_t *hc = json_object_get(c->config, "HostConfig");
  const char *mode = mtk_ctr_network_mode(c);
  size_t n_add, n_drop, n_rl;
  mtk_autofree const char **add = strv(json_object_get(hc, "CapAdd"), &n_add);
  mtk_autofree const char **drop = strv(json_object_get(hc, "CapDrop"), &n_drop);
  char **types = NULL;
  mtk_autofree struct mtk_oci_rlimit *rl = ulimits(hc, &n_rl, &types);
  mtk_autofree char *init = NULL;
  bool want_init = json_is_true(json_object_get(hc, "Init"));
  if (want_init && !(init = mtk_runtime_init_path(err))) {
    mtk_ctr_strv_free(types, n_rl);
    return NULL;
  }
  json_int_t cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
  struct mtk_oci_run_opts o = {
      .hostname = json_string_value(json_object_get(cfg, "Hostname")),
      .domainname = json_string_value(json_object_get(cfg, "Domainname")),
      .tty = json_is_true(json_object_get(cfg, "Tty")),
      .privileged = json_is_true(json_object_get(hc, "Privileged")),
      .read_only = json_is_true(json_object_get(hc, "ReadonlyRootfs")),
      .init = want_init,
      .init_binary = init,
      .cap_add = add,
      .n_cap_add = n_add,
      .cap_drop = drop,
      .n_cap_drop = n_drop,
      .memory = json_integer_value(json_object_get(hc, "Memory")),
      .cpus = (double) cpus / 1e9,
      .pids_limit = json_integer_value(json_object_get(hc, "PidsLimit")),
      .shm_size = json_integer_value(json_object_get(hc, "ShmSize")),
      .oom_score_adj = (int) json_integer_value(json_object_get(hc, "OomScoreAdj")),
      .network_host = strcmp(mode, "host") == 0,
      .netns_path = netns,
      .mounts = m,
      .n_mounts = n_mounts,
      .rlimits = rl,
      .n_rlimits = n_rl,
      .sysctls = json_object_get(hc, "Sysctls"),
  };
  security_opts(hc, &o);
  json_t *spec = mtk_oci_spec_new(rootfs, cfg, &o, err);
  mtk_ctr_strv_free(types, n_rl);
  return spec;
}
