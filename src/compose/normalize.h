/* What compose-go does to a compose model once the files are merged, canonical,
 * defaulted and validated: relative paths made absolute (paths.ResolveRelativePaths),
 * environment resolution (ResolveEnvironment), Normalize (implicit "default" network,
 * <project>_<key> resource names, implicit depends_on, build defaults), profiles,
 * consistency checks, pruning of unused resources, env_file/label_file folding, and the
 * typed JSON rendering of Project.MarshalJSON — i.e. what `docker compose config
 * --format json` prints (with `$` unescaped).
 *
 * The first part of this header is the interface the loader calls; the second part
 * ("shared by normalize*.c") is private to the normalize*.c files. */
#ifndef MTK_COMPOSE_NORMALIZE_H
#define MTK_COMPOSE_NORMALIZE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compose/node.h"
#include "mtk/err.h"

struct mtk_strmap;

struct mtk_norm_ctx {
  const char *project_name;     /* borrowed: already validated; also COMPOSE_PROJECT_NAME */
  const char *workdir;          /* borrowed: absolute project directory */
  const struct mtk_strmap *env; /* borrowed: interpolation environment (OS env + .env files) */
  const char *const *profiles;  /* borrowed: active profiles ("*" = all) */
  size_t n_profiles;
  bool no_normalize;       /* --no-normalize: skip Normalize (names, default network...) */
  bool no_consistency;     /* --no-consistency: skip the consistency checks */
  bool no_path_resolution; /* --no-path-resolution (informational: paths are resolved by
                              mtk_compose_resolve_paths, which the caller then skips) */
  bool keep_env_files;     /* keep env_file/label_file after folding them into
                              environment/labels (compose-go without WithDiscardEnvFiles;
                              `docker compose config` always discards them) */
  bool all_resources;      /* --all-resources: keep unused networks/volumes/secrets/configs */
};

/* paths.ResolveRelativePaths on a whole (canonical) model, relative to base_dir:
 * services.*.build.context and build.additional_contexts.* (not URLs, git refs or
 * "service:" references), build.ssh.* values, env_file[].path, label_file[],
 * extends.file, develop.watch[].path (symbolic links resolved), bind volume sources,
 * configs.*.file, secrets.*.file, and the device of local volumes with o=bind.
 * "~" expands with HOME from env (falling back to the process HOME).  Relative paths are
 * joined and cleaned as Go's filepath.Join; absolute ones are kept as written.
 * Errors (MTK_E_INVALID, at the node): a bind mount without a source. */
int mtk_compose_resolve_paths(struct mtk_node *model, const char *base_dir,
                              const struct mtk_strmap *env, struct mtk_err **err);

/* From the merged, canonical, defaulted, validated (and path-resolved) model to the JSON
 * model that `docker compose config --format json` prints: ResolveEnvironment, Normalize
 * (unless no_normalize), profiles (only enabled services are kept), consistency checks
 * (unless no_consistency; a depends_on cycle included), pruning (unless all_resources),
 * env_file and label_file folded (then dropped unless keep_env_files), and the typed
 * rendering of compose-go's types (ports `published` as a string, durations as Go
 * durations, byte sizes as decimal strings, command/entrypoint split like a shell, ...).
 * `model` is modified in place (normalised) and stays owned by the caller.
 * Returns a new object {name, services, networks, volumes, secrets, configs (when
 * non-empty), top-level x-* keys}, or NULL with *err: MTK_E_INVALID positioned at the
 * offending node with compose-go's text (e.g. 'service "web" refers to undefined network
 * backend'), or the errno of an unreadable env_file ("env file PATH not found: ..."). */
json_t *mtk_compose_project_json(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                                 struct mtk_err **err);

/* go-shellwords v1.0.12 Parse (what compose-go uses for string command/entrypoint):
 * whitespace-separated words, '...' literal, "..." and \ escapes; parsing stops at an
 * unquoted ; & | < or >.  Returns a NULL-terminated owned vector (empty for "") and its
 * length in *argc (may be NULL), or NULL with *err ("invalid command line string"). */
char **mtk_compose_shellwords(const char *line, size_t *argc, struct mtk_err **err);
void mtk_compose_strv_free(char **v);

/* ---- shared by normalize*.c (not for other modules) ---- */

/* Lookup in the project environment (ctx->env, COMPOSE_PROJECT_NAME = project name);
 * NULL when unset.  Usable as an mtk_interp_lookup_cb with ud = ctx. */
const char *mtk_norm_env_lookup(const char *name, void *ctx);

/* Stage functions of mtk_compose_project_json, in order. */
void mtk_norm_resolve_environment(struct mtk_node *model, const struct mtk_norm_ctx *ctx);
int mtk_norm_normalize(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                       struct mtk_err **err);
/* Moves the services disabled by the profiles out of model.services into *disabled
 * (a new MAP node, owned by the caller). */
void mtk_norm_apply_profiles(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                             struct mtk_node **disabled);
int mtk_norm_check_consistency(struct mtk_node *model, const struct mtk_node *disabled,
                               struct mtk_err **err);
void mtk_norm_prune(struct mtk_node *model);
int mtk_norm_resolve_service_env(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                                 struct mtk_err **err);
json_t *mtk_norm_render(const struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                        struct mtk_err **err);

/* Typed reads as compose-go's decoding does them (absent/null is 0; numeric strings are
 * parsed; byte sizes take units).  Errors carry Go's parser text, without position. */
int mtk_norm_int(const struct mtk_node *n, int64_t *out, struct mtk_err **err);
int mtk_norm_float(const struct mtk_node *n, double *out, struct mtk_err **err);
int mtk_norm_bytes(const struct mtk_node *n, int64_t *out, struct mtk_err **err);
/* cpus, mem_limit, mem_reservation, pids_limit against deploy.resources (consistency). */
int mtk_norm_check_limits(const char *name, const struct mtk_node *svc, struct mtk_err **err);

/* The Go types of compose-go's model, as tables for the renderer (normalize_types.c). */
enum mtk_norm_kind {
  MTK_NORM_STR,        /* string (an int is printed in decimal) */
  MTK_NORM_BOOL,       /* bool */
  MTK_NORM_EXTERNAL,   /* types.External: a bool; the legacy {name: x} form is true */
  MTK_NORM_PBOOL,      /* *bool: printed when present, false included */
  MTK_NORM_OPTOUT,     /* types.OptOut: default true, printed only when false */
  MTK_NORM_REQUIRED,   /* depends_on required: bool printed always, absent = true */
  MTK_NORM_INT,        /* integers */
  MTK_NORM_PINT,       /* *int, *uint64: printed when present, 0 included */
  MTK_NORM_FLOAT32,    /* float32, NanoCPUs */
  MTK_NORM_BYTES,      /* types.UnitBytes: decimal string */
  MTK_NORM_DURATION,   /* types.Duration: Go duration string */
  MTK_NORM_PDURATION,  /* *types.Duration: printed when present, "0s" included */
  MTK_NORM_FILEMODE,   /* *types.FileMode: "0%o" */
  MTK_NORM_DEVCOUNT,   /* types.DeviceCount: "all" is -1 */
  MTK_NORM_STRLIST,    /* []string, StringList: a string is a one-item list */
  MTK_NORM_STRNUMLIST, /* StringOrNumberList: items as fmt.Sprint */
  MTK_NORM_MAPPING,    /* Mapping, Labels, Options, map[string]string: null is "" */
  MTK_NORM_MAPEQ,      /* MappingWithEquals: null kept */
  MTK_NORM_MULTIOPT,   /* MultiOptions: map[string][]string */
  MTK_NORM_SHELLCMD,   /* ShellCommand: never omitted (null), strings split like a shell */
  MTK_NORM_HCTEST,     /* HealthCheckTest: a string is [CMD-SHELL, s] */
  MTK_NORM_HOSTS,      /* HostsList: sorted host=ip */
  MTK_NORM_SSH,        /* SSHConfig */
  MTK_NORM_ULIMITS,    /* map[string]*UlimitsConfig */
  MTK_NORM_STRUCT,     /* a struct value: always printed */
  MTK_NORM_PSTRUCT,    /* *struct: printed when present */
  MTK_NORM_STRUCTLIST, /* []struct */
  MTK_NORM_STRUCTMAP,  /* map[string]struct (null values are empty structs) */
  MTK_NORM_PSTRUCTMAP, /* map[string]*struct (null values kept) */
};

enum {
  MTK_NORM_ALWAYS = 1,       /* no `omitempty`: the zero value is printed */
  MTK_NORM_DROP_EMPTY = 2,   /* empty strings dropped from the list (loader.OmitEmpty) */
  MTK_NORM_SHORT_SOURCE = 4, /* a string item is {source: item} (secrets, configs) */
  MTK_NORM_STR_CONTEXT = 8,  /* a string is {context: s} (build) */
  MTK_NORM_SKIP_EXT = 16,    /* x-* keys of the map are extensions, not entries */
};

struct mtk_norm_type;

struct mtk_norm_field {
  const char *json; /* JSON key (NULL ends a table) */
  const char *yaml; /* YAML key when it differs from json, else NULL */
  enum mtk_norm_kind kind;
  const struct mtk_norm_type *sub; /* element/struct type of the struct kinds */
  unsigned flags;                  /* MTK_NORM_ALWAYS ... */
};

struct mtk_norm_type {
  const char *name;                    /* for messages ("a service", "a port") */
  const struct mtk_norm_field *fields; /* in Go declaration order (JSON key order) */
};

/* The Project's rendered top-level attributes (services, networks, volumes, secrets,
 * configs), without name and extensions. */
extern const struct mtk_norm_field mtk_norm_project_fields[];

#endif
