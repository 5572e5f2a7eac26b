/* `mtk container inspect`: Docker's document (field names of the Engine
 * API's ContainerJSON) from the config and the state: State, Name with its
 * '/', Mounts without mtk's own keys, NetworkSettings (Ports, Networks and
 * the legacy top-level address fields of the first network). */
#include "config.h"

#include <string.h>

#include "runtime/ctr_internal.h"
#include "util/cleanup.h"

static const char *const state_keys[] = {"Status",    "Running",   "Paused",     "Restarting",
                                         "OOMKilled", "Dead",      "Pid",        "ExitCode",
                                         "Error",     "StartedAt", "FinishedAt", "Health"};

static json_t *state_doc(const struct mtk_ctr *c)
{
  json_t *s = json_object();
  for (size_t i = 0; i < sizeof(state_keys) / sizeof(state_keys[0]); i++) {
    json_t *v = json_object_get(c->state, state_keys[i]);
    if (v)
      json_object_set(s, state_keys[i], v);
  }
  if (!mtk_ctr_is_running(c))
    json_object_set_new(s, "Pid", json_integer(0));
  return s;
}

static json_t *mounts_doc(const struct mtk_ctr *c)
{
  static const char *const keys[] = {"Type",   "Name", "Source", "Destination",
                                     "Driver", "Mode", "RW",     "Propagation"};
  json_t *out = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->config, "Mounts"), i, m)
  {
    json_t *d = json_object();
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
      json_t *v = json_object_get(m, keys[k]);
      if (v)
        json_object_set(d, keys[k], v);
    }
    json_array_append_new(out, d);
  }
  return out;
}

static json_t *network_doc(const struct mtk_ctr *c, const char *runroot_netns)
{
  json_t *nets = json_object_get(c->state, "Networks");
  json_t *ports = json_object_get(c->state, "Ports");
  json_t *ns =
      json_pack("{s:s, s:s, s:s}", "Bridge", "", "SandboxID", "", "SandboxKey", runroot_netns);
  json_object_set_new(ns, "Ports", json_is_object(ports) ? json_deep_copy(ports) : json_object());
  json_object_set_new(ns, "Networks", json_is_object(nets) ? json_deep_copy(nets) : json_object());
  static const char *const legacy[] = {"IPAddress", "Gateway", "MacAddress", "IPPrefixLen"};
  const char *name;
  json_t *ep, *first = NULL;
  json_object_foreach(nets, name, ep)
  {
    if (!first)
      first = ep;
  }
  for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
    json_t *v = json_object_get(first, legacy[i]);
    json_object_set_new(ns, legacy[i],
                        v        ? json_incref(v)
                        : i == 3 ? json_integer(0)
                                 : json_string(""));
  }
  return ns;
}

json_t *mtk_ctr_inspect(const struct mtk_ctr *c)
{
  static const char *const copied[] = {"Id",           "Created",   "Path",
                                       "Args",         "Image",     "ResolvConfPath",
                                       "HostnamePath", "HostsPath", "LogPath",
                                       "Driver",       "Platform",  "HostConfig",
                                       "GraphDriver",  "Config",    "NetworkingConfig"};
  json_t *d = json_object();
  for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
    json_t *v = json_object_get(c->config, copied[i]);
    if (v)
      json_object_set_new(d, copied[i], json_deep_copy(v));
  }
  json_object_set_new(d, "Name", json_sprintf("/%s", c->name));
  json_object_set_new(d, "State", state_doc(c));
  json_object_set_new(d, "RestartCount",
                      json_integer(json_integer_value(json_object_get(c->state, "RestartCount"))));
  json_object_set_new(d, "MountLabel", json_string(""));
  json_object_set_new(d, "ProcessLabel", json_string(""));
  json_object_set_new(d, "AppArmorProfile", json_string(""));
  json_object_set_new(d, "ExecIDs", json_null());
  json_object_set_new(d, "Mounts", mounts_doc(c));
  const char *netns = json_string_value(json_object_get(c->state, "SandboxKey"));
  json_object_set_new(d, "NetworkSettings", network_doc(c, netns ? netns : ""));
  return d;
}
