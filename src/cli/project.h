/* The project commands (project.c, volume.c): `up`, `down`, `volume ...`,
 * and what they share. */
#ifndef MTK_CLI_PROJECT_H
#define MTK_CLI_PROJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "mtk/compose.h"
#include "mtk/err.h"
#include "util/cleanup.h"

MTK_DEFINE_AUTOPTR(mtk_project, mtk_project_free)

struct mtk_ctr;

/* The project as the global options (-f, -p, --env-file, --profile, ...)
 * describe it. */
struct mtk_project *mtk_cli_project_load(const struct mtk_cli *cli, struct mtk_err **err);

/* The containers labelled with the project's name (owned array of owned
 * containers). */
int mtk_cli_project_ctrs(const struct mtk_cli *cli, const char *project, struct mtk_ctr ***out,
                         size_t *n, struct mtk_err **err);

/* Stops (and with remove, removes) containers in reverse dependency order
 * of `model` (may be NULL), a level at a time, in parallel within a level. */
int mtk_cli_project_stop(const struct mtk_cli *cli, const json_t *model, struct mtk_ctr **v,
                         size_t n, int timeout, bool remove, bool volumes, struct mtk_err **err);

int mtk_cli_up(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);
int mtk_cli_down(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);
int mtk_cli_volume_create(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                          struct mtk_err **);
int mtk_cli_volume_ls(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                      struct mtk_err **);
int mtk_cli_volume_inspect(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_volume_rm(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                      struct mtk_err **);
int mtk_cli_volume_prune(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                         struct mtk_err **);

/* project_cmds.c */
/* The list is kept by hand: clang-format does not settle on one layout for it. */
/* clang-format off */
#define MTK_CLI_PROJECT_VERBS(X) \
  X(ps) X(logs) X(stop_cmd) X(kill) X(rm) X(start) X(restart) X(exec) X(port) X(top) X(run) \
  X(create) X(wait) X(ls) X(pull) X(images)
/* clang-format on */
#define MTK_CLI_PROJECT_DECL(verb)                                                                 \
  int mtk_cli_project_##verb(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,           \
                             struct mtk_err **);
MTK_CLI_PROJECT_VERBS(MTK_CLI_PROJECT_DECL)

#endif
