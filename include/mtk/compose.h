/* The compose front end: loads compose files exactly as Docker Compose
 * (compose-go) does and yields the normalised project model. */
#ifndef MTK_COMPOSE_H
#define MTK_COMPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mtk/err.h"

struct mtk_compose_opts {
  const char *const *files; /* borrowed: -f in order (NULL/0: COMPOSE_FILE, then discovery) */
  size_t n_files;
  const char *project_name;     /* borrowed: -p, or NULL */
  const char *project_dir;      /* borrowed: --project-directory, or NULL */
  const char *const *env_files; /* borrowed: --env-file in order (NULL/0: <project dir>/.env) */
  size_t n_env_files;
  const char *const *profiles; /* borrowed: --profile in order (none: COMPOSE_PROFILES) */
  size_t n_profiles;
  char *const *environ;    /* borrowed: process environment, NULL = the real environ */
  const char *workdir;     /* borrowed: directory to resolve from, NULL = getcwd() */
  bool no_interpolate;     /* --no-interpolate */
  bool no_normalize;       /* --no-normalize: no defaults/names/default network/pruning */
  bool no_consistency;     /* --no-consistency */
  bool no_path_resolution; /* --no-path-resolution */
  bool keep_env_files;     /* --keep-env-files: env_file/label_file folded but kept */
  bool all_resources;      /* --all-resources: unused networks/volumes/... kept */
};

struct mtk_project {
  char *name;          /* owned: project name */
  char *workdir;       /* owned: absolute project directory */
  char **config_files; /* owned: absolute paths of the files loaded, NULL-terminated */
  char **profiles;     /* owned: every profile named in the files, sorted, NULL-terminated */
  json_t *model;       /* owned: the model as `docker compose config --format json` (unescaped $) */
};

/* Loads the project; NULL and *err on failure (code MTK_E_NOFILE when no
 * compose file is found, MTK_E_INVALID for invalid files, MTK_E_USAGE for a
 * bad option value such as an invalid -p). */
struct mtk_project *mtk_compose_load(const struct mtk_compose_opts *opts, struct mtk_err **err);
void mtk_project_free(struct mtk_project *p);

#endif
