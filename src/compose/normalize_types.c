/* compose-go's model types (the types package at e70e961) as field tables for the renderer:
 * JSON name, YAML name when it differs, Go type and `omitempty`.  Fields keep the Go
 * declaration order, which is the key order of Go's JSON.  Fields tagged json:"-"
 * (Name, CustomLabels, Extensions) are absent. */
#include "config.h"

#include <stddef.h>

#include "compose/normalize.h"

#define F(json, kind)                                                                              \
  {                                                                                                \
    json, NULL, MTK_NORM_##kind, NULL, 0                                                           \
  }
#define FF(json, kind, flags)                                                                      \
  {                                                                                                \
    json, NULL, MTK_NORM_##kind, NULL, flags                                                       \
  }
#define S(json, kind, sub)                                                                         \
  {                                                                                                \
    json, NULL, MTK_NORM_##kind, &sub, 0                                                           \
  }
#define SF(json, kind, sub, flags)                                                                 \
  {                                                                                                \
    json, NULL, MTK_NORM_##kind, &sub, flags                                                       \
  }
#define END                                                                                        \
  {                                                                                                \
    NULL, NULL, 0, NULL, 0                                                                         \
  }
#define TYPE(var, name, ...)                                                                       \
  static const struct mtk_norm_field var##_fields[] = {__VA_ARGS__, END};                          \
  static const struct mtk_norm_type var = {name, var##_fields}

#define ALWAYS MTK_NORM_ALWAYS

/* ---- services: small structs ---- */

TYPE(file_ref, "a file reference", F("source", STR), F("target", STR), F("uid", STR), F("gid", STR),
     F("mode", FILEMODE));
TYPE(device, "a device", F("source", STR), F("target", STR), F("permissions", STR));
TYPE(device_request, "a device request", F("capabilities", STRLIST), F("driver", STR),
     F("count", DEVCOUNT), F("device_ids", STRLIST), F("options", MAPPING));
TYPE(credential_spec, "a credential_spec", F("config", STR), F("file", STR), F("registry", STR));
TYPE(dependency, "a dependency", F("condition", STR), F("restart", BOOL),
     FF("required", REQUIRED, ALWAYS));
TYPE(extends, "an extends", F("file", STR), F("service", STR));
TYPE(env_file, "an env_file", F("path", STR), F("required", OPTOUT), F("format", STR));
TYPE(logging, "a logging", F("driver", STR), F("options", MAPPING));
TYPE(service_model, "a service model", F("endpoint_var", STR), F("model_var", STR));
TYPE(service_network, "a service network", F("aliases", STRLIST), F("driver_opts", MAPPING),
     F("gw_priority", INT), F("interface_name", STR), F("ipv4_address", STR),
     F("ipv6_address", STR), F("link_local_ips", STRLIST), F("mac_address", STR),
     F("priority", INT));
TYPE(port, "a port", F("name", STR), F("mode", STR), F("host_ip", STR), F("target", INT),
     F("published", STR), F("protocol", STR), F("app_protocol", STR));
TYPE(provider, "a provider", F("type", STR), F("options", MULTIOPT));
TYPE(hook, "a hook", FF("command", SHELLCMD, ALWAYS), F("image", STR), F("user", STR),
     F("privileged", BOOL), F("working_dir", STR), F("environment", MAPEQ), F("per_replica", BOOL));
TYPE(healthcheck, "a healthcheck", F("test", HCTEST), F("timeout", PDURATION),
     F("interval", PDURATION), F("retries", PINT), F("start_period", PDURATION),
     F("start_interval", PDURATION), F("disable", BOOL));

/* WeightDevice and ThrottleDevice have no JSON tags: Go prints the field names, always. */
static const struct mtk_norm_field weight_device_fields[] = {
    {"Path", "path", MTK_NORM_STR, NULL, ALWAYS},
    {"Weight", "weight", MTK_NORM_INT, NULL, ALWAYS},
    END,
};
static const struct mtk_norm_type weight_device = {"a weight device", weight_device_fields};
static const struct mtk_norm_field throttle_device_fields[] = {
    {"Path", "path", MTK_NORM_STR, NULL, ALWAYS},
    {"Rate", "rate", MTK_NORM_BYTES, NULL, ALWAYS},
    END,
};
static const struct mtk_norm_type throttle_device = {"a throttle device", throttle_device_fields};
TYPE(blkio, "a blkio_config", F("weight", INT), S("weight_device", STRUCTLIST, weight_device),
     S("device_read_bps", STRUCTLIST, throttle_device),
     S("device_read_iops", STRUCTLIST, throttle_device),
     S("device_write_bps", STRUCTLIST, throttle_device),
     S("device_write_iops", STRUCTLIST, throttle_device));

/* ---- volumes ---- */

TYPE(volume_bind, "a bind", F("selinux", STR), F("propagation", STR), F("create_host_path", OPTOUT),
     F("recursive", STR));
TYPE(volume_volume, "a volume", F("labels", MAPPING), F("nocopy", BOOL), F("subpath", STR));
TYPE(volume_tmpfs, "a tmpfs", F("size", BYTES), F("mode", INT));
TYPE(volume_image, "an image", F("subpath", STR));
TYPE(service_volume, "a volume", F("type", STR), F("source", STR), F("target", STR),
     F("read_only", BOOL), F("consistency", STR), S("bind", PSTRUCT, volume_bind),
     S("volume", PSTRUCT, volume_volume), S("tmpfs", PSTRUCT, volume_tmpfs),
     S("image", PSTRUCT, volume_image));

/* ---- build, develop, deploy ---- */

TYPE(build, "a build", F("context", STR), F("dockerfile", STR), F("dockerfile_inline", STR),
     F("entitlements", STRLIST), F("args", MAPEQ), F("provenance", STR), F("sbom", STR),
     F("ssh", SSH), F("labels", MAPPING), F("cache_from", STRLIST), F("cache_to", STRLIST),
     F("no_cache", BOOL), F("no_cache_filter", STRLIST), F("additional_contexts", MAPPING),
     F("pull", BOOL), F("extra_hosts", HOSTS), F("isolation", STR), F("network", STR),
     F("target", STR), SF("secrets", STRUCTLIST, file_ref, MTK_NORM_SHORT_SOURCE),
     F("shm_size", BYTES), F("tags", STRLIST), F("ulimits", ULIMITS), F("platforms", STRLIST),
     F("privileged", BOOL));

TYPE(trigger, "a watch rule", FF("path", STR, ALWAYS), FF("action", STR, ALWAYS), F("target", STR),
     S("exec", STRUCT, hook), F("include", STRLIST), F("ignore", STRLIST), F("initial_sync", BOOL));
TYPE(develop, "a develop", S("watch", STRUCTLIST, trigger));

TYPE(update, "an update_config", F("parallelism", PINT), F("delay", DURATION),
     F("failure_action", STR), F("monitor", DURATION), F("max_failure_ratio", FLOAT32),
     F("order", STR));
TYPE(discrete, "a discrete_resource_spec", FF("kind", STR, ALWAYS), FF("value", INT, ALWAYS));
TYPE(generic_resource, "a generic resource", S("discrete_resource_spec", PSTRUCT, discrete));
TYPE(resource, "a resource", F("cpus", FLOAT32), F("memory", BYTES), F("pids", INT),
     S("devices", STRUCTLIST, device_request),
     S("generic_resources", STRUCTLIST, generic_resource));
TYPE(resources, "resources", S("limits", PSTRUCT, resource), S("reservations", PSTRUCT, resource));
TYPE(restart_policy, "a restart_policy", F("condition", STR), F("delay", PDURATION),
     F("max_attempts", PINT), F("window", PDURATION));
TYPE(preference, "a placement preference", F("spread", STR));
TYPE(placement, "a placement", F("constraints", STRLIST), S("preferences", STRUCTLIST, preference),
     F("max_replicas_per_node", INT));
TYPE(deploy, "a deploy", F("mode", STR), F("replicas", PINT), F("labels", MAPPING),
     S("update_config", PSTRUCT, update), S("rollback_config", PSTRUCT, update),
     S("resources", STRUCT, resources), S("restart_policy", PSTRUCT, restart_policy),
     S("placement", STRUCT, placement), F("endpoint_mode", STR));

/* ---- the service ---- */

static const struct mtk_norm_field service_fields[] = {
    F("profiles", STRLIST),
    F("annotations", MAPPING),
    F("attach", PBOOL),
    SF("build", PSTRUCT, build, MTK_NORM_STR_CONTEXT),
    S("develop", PSTRUCT, develop),
    S("blkio_config", PSTRUCT, blkio),
    F("cap_add", STRLIST),
    F("cap_drop", STRLIST),
    F("cgroup_parent", STR),
    F("cgroup", STR),
    F("cpu_count", INT),
    F("cpu_percent", FLOAT32),
    F("cpu_period", INT),
    F("cpu_quota", INT),
    F("cpu_rt_period", INT),
    F("cpu_rt_runtime", INT),
    F("cpus", FLOAT32),
    F("cpuset", STR),
    F("cpu_shares", INT),
    FF("command", SHELLCMD, ALWAYS),
    SF("configs", STRUCTLIST, file_ref, MTK_NORM_SHORT_SOURCE),
    F("container_name", STR),
    S("credential_spec", PSTRUCT, credential_spec),
    S("depends_on", STRUCTMAP, dependency),
    S("deploy", PSTRUCT, deploy),
    F("device_cgroup_rules", STRLIST),
    S("devices", STRUCTLIST, device),
    FF("dns", STRLIST, MTK_NORM_DROP_EMPTY),
    F("dns_opt", STRLIST),
    F("dns_search", STRLIST),
    F("dockerfile", STR),
    F("domainname", STR),
    FF("entrypoint", SHELLCMD, ALWAYS),
    S("provider", PSTRUCT, provider),
    F("environment", MAPEQ),
    S("env_file", STRUCTLIST, env_file),
    F("expose", STRNUMLIST),
    S("extends", PSTRUCT, extends),
    F("external_links", STRLIST),
    F("extra_hosts", HOSTS),
    F("group_add", STRNUMLIST),
    S("gpus", STRUCTLIST, device_request),
    F("hostname", STR),
    S("healthcheck", PSTRUCT, healthcheck),
    F("image", STR),
    F("init", PBOOL),
    F("ipc", STR),
    F("isolation", STR),
    F("labels", MAPPING),
    F("label_file", STRLIST),
    F("links", STRLIST),
    S("logging", PSTRUCT, logging),
    F("log_driver", STR),
    F("log_opt", MAPPING),
    F("mem_limit", BYTES),
    F("mem_reservation", BYTES),
    F("memswap_limit", BYTES),
    F("mem_swappiness", BYTES),
    F("mac_address", STR),
    S("models", PSTRUCTMAP, service_model),
    F("net", STR),
    F("network_mode", STR),
    S("networks", PSTRUCTMAP, service_network),
    F("oom_kill_disable", BOOL),
    F("oom_score_adj", INT),
    F("pid", STR),
    F("pids_limit", INT),
    F("platform", STR),
    S("ports", STRUCTLIST, port),
    F("privileged", BOOL),
    F("pull_policy", STR),
    F("read_only", BOOL),
    F("restart", STR),
    F("runtime", STR),
    F("scale", PINT),
    SF("secrets", STRUCTLIST, file_ref, MTK_NORM_SHORT_SOURCE),
    F("security_opt", STRLIST),
    F("shm_size", BYTES),
    F("stdin_open", BOOL),
    F("stop_grace_period", PDURATION),
    F("stop_signal", STR),
    F("storage_opt", MAPPING),
    F("sysctls", MAPPING),
    F("tmpfs", STRLIST),
    F("tty", BOOL),
    F("ulimits", ULIMITS),
    F("use_api_socket", BOOL),
    F("user", STR),
    F("userns_mode", STR),
    F("uts", STR),
    F("volume_driver", STR),
    S("volumes", STRUCTLIST, service_volume),
    F("volumes_from", STRLIST),
    F("working_dir", STR),
    S("pre_start", STRUCTLIST, hook),
    S("post_start", STRUCTLIST, hook),
    S("pre_stop", STRUCTLIST, hook),
    END,
};
static const struct mtk_norm_type service = {"a service", service_fields};

/* ---- top-level resources ---- */

TYPE(ipam_pool, "an ipam config", F("subnet", STR), F("gateway", STR), F("ip_range", STR),
     F("aux_addresses", MAPPING));
TYPE(ipam, "an ipam", F("driver", STR), S("config", STRUCTLIST, ipam_pool), F("options", MAPPING));
TYPE(network, "a network", F("name", STR), F("driver", STR), F("driver_opts", MAPPING),
     S("ipam", STRUCT, ipam), F("external", EXTERNAL), F("internal", BOOL), F("attachable", BOOL),
     F("labels", MAPPING), F("enable_ipv4", PBOOL), F("enable_ipv6", PBOOL));
TYPE(volume, "a volume", F("name", STR), F("driver", STR), F("driver_opts", MAPPING),
     F("external", EXTERNAL), F("labels", MAPPING));
/* FileObjectConfig; `content` is dropped after rendering for secrets, and for configs
 * whose content came from `environment`. */
TYPE(file_object, "a file object", F("name", STR), F("file", STR), F("environment", STR),
     F("content", STR), F("external", EXTERNAL), F("labels", MAPPING), F("driver", STR),
     F("driver_opts", MAPPING), F("template_driver", STR));

const struct mtk_norm_field mtk_norm_project_fields[] = {
    S("services", STRUCTMAP, service),    S("networks", STRUCTMAP, network),
    S("volumes", STRUCTMAP, volume),      S("secrets", STRUCTMAP, file_object),
    S("configs", STRUCTMAP, file_object), END,
};
