/* Capabilities for config.json: Docker's 14 default capabilities and
 * --cap-add/--cap-drop/--privileged as moby daemon/pkg/oci/caps
 * (NormalizeLegacyCapabilities, TweakCapabilities) applies them. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec.h"
#include "util/cleanup.h"

/* Kernel order (linux/capability.h, CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
static const char *const all_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define N_ALL_CAPS (sizeof all_caps / sizeof all_caps[0])

/* moby caps/defaults.go DefaultCapabilities, in its order. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

size_t mtk_oci_caps_all(const char *const **out)
{
  size_t n = N_ALL_CAPS;
  mtk_autofclose FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last;
  if (f && fscanf(f, "%d", &last) == 1 && last >= 0 && (size_t) last + 1 < n)
    n = (size_t) last + 1;
  *out = all_caps;
  return n;
}

/* The capabilities this process may hand on (CapBnd of /proc/self/status),
 * as Docker's initCaps keeps only what its own bounding set has: on a host
 * without e.g. CAP_SYS_RESOURCE for root, --privileged must not ask for it
 * (the runtime's capset would fail).  All bits when unreadable. */
static uint64_t own_bounding_set(void)
{
  mtk_autofclose FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  unsigned long long mask;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "CapBnd: %llx", &mask) == 1)
      return (uint64_t) mask;
  return ~(uint64_t) 0;
}

static bool available(uint64_t bnd, const char *cap)
{
  for (size_t i = 0; i < N_ALL_CAPS && i < 64; i++)
    if (strcmp(all_caps[i], cap) == 0)
      return (bnd >> i) & 1;
  return false;
}

/* "net_admin" -> "CAP_NET_ADMIN", "all" -> "ALL"; error for an unknown name. */
static char *normalize(const char *name, struct mtk_err **err)
{
  mtk_autofree char *up = mtk_xstrdup(name);
  for (char *p = up; *p; p++)
    *p = (char) toupper((unsigned char) *p);
  if (strcmp(up, "ALL") == 0)
    return mtk_steal_ptr(&up);
  char *full = strncmp(up, "CAP_", 4) == 0 ? mtk_xstrdup(up) : mtk_xasprintf("CAP_%s", up);
  for (size_t i = 0; i < N_ALL_CAPS; i++)
    if (strcmp(all_caps[i], full) == 0)
      return full;
  mtk_err_set(err, EINVAL, "unknown capability: \"%s\"", full);
  free(full);
  return NULL;
}

static bool in_json(const json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (strcmp(json_string_value(v), s) == 0)
      return true;
  }
  return false;
}

static json_t *normalize_list(const char *const *names, size_t n, struct mtk_err **err)
{
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    mtk_autofree char *c = normalize(names[i], err);
    if (!c) {
      json_decref(out);
      return NULL;
    }
    if (!in_json(out, c))
      json_array_append_new(out, json_string(c));
  }
  return out;
}

json_t *mtk_oci_spec_caps(const struct mtk_oci_run_opts *o, struct mtk_err **err)
{
  const char *const *all;
  size_t n_all = mtk_oci_caps_all(&all);
  json_t *add = normalize_list(o->cap_add, o->n_cap_add, err);
  json_t *drop = add ? normalize_list(o->cap_drop, o->n_cap_drop, err) : NULL;
  if (!drop) {
    json_decref(add);
    return NULL;
  }
  json_t *caps = json_array();
  uint64_t bnd = own_bounding_set();
  if (o->privileged || in_json(add, "ALL")) {
    for (size_t i = 0; i < n_all; i++)
      if ((o->privileged || !in_json(drop, all[i])) && available(bnd, all[i]))
        json_array_append_new(caps, json_string(all[i]));
  } else {
    bool drop_all = in_json(drop, "ALL");
    for (size_t i = 0; !drop_all && i < sizeof default_caps / sizeof default_caps[0]; i++)
      if (!in_json(drop, default_caps[i]))
        json_array_append_new(caps, json_string(default_caps[i]));
    size_t i;
    json_t *v;
    json_array_foreach(add, i, v)
    {
      if (!available(bnd, json_string_value(v))) {
        mtk_err_set(err, EINVAL,
                    "capability not supported by your kernel or not available in the current "
                    "environment: \"%s\"",
                    json_string_value(v));
        json_decref(add);
        json_decref(drop);
        json_decref(caps);
        return NULL;
      }
      if (!in_json(caps, json_string_value(v)))
        json_array_append(caps, v);
    }
  }
  json_decref(add);
  json_decref(drop);
  return caps;
}
