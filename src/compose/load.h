/* The loading pipeline shared by the project loader, `include` and
 * `extends` (load.c), and its file reader. */
#ifndef MTK_COMPOSE_LOAD_H
#define MTK_COMPOSE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "compose/node.h"
#include "mtk/err.h"

struct mtk_strmap;

/* One file of the chain of `include`s being loaded (cycle detection). */
struct mtk_compose_included {
  const char *path;                        /* borrowed: absolute path */
  const struct mtk_compose_included *prev; /* borrowed: the includer, NULL for a main file */
};

/* What one load (the project, an included project, an extends base) uses. */
struct mtk_compose_ctx {
  const struct mtk_strmap *env;                /* borrowed: interpolation environment */
  const char *workdir;                         /* borrowed: absolute base for relative paths */
  const struct mtk_compose_included *included; /* borrowed: include chain */
  struct mtk_node *kept;                       /* owned: trees kept alive while loading */
  bool skip_interpolation;
  bool skip_include;
  bool skip_extends;
  bool skip_validation;
  bool skip_defaults;
  bool resolve_paths;
  bool skip_path_resolution; /* --no-path-resolution: never resolve, even for extends */
};

/* Loads and merges files (absolute paths) into one model: every document
 * through the per-file pipeline, then defaults, validation and (when
 * ctx->resolve_paths) relative paths made absolute against ctx->workdir. */
struct mtk_node *mtk_compose_load_model(struct mtk_compose_ctx *ctx, const char *const *files,
                                        size_t n_files, struct mtk_err **err);

/* Loads an env file into *out with compose-go's lookup order: env first,
 * then the values loaded so far (*out).  Errors name the file. */
int mtk_compose_env_file_load(const char *path, const struct mtk_strmap *env,
                              struct mtk_strmap *out, struct mtk_err **err);

/* Whole file into memory (NUL-terminated, at most 16 MiB). */
char *mtk_compose_read_file(const char *path, size_t *len, struct mtk_err **err);

#endif
