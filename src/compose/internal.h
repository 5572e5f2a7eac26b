/* Private interfaces of the compose module shared between its files. */
#ifndef MTK_COMPOSE_INTERNAL_H
#define MTK_COMPOSE_INTERNAL_H

#include <stddef.h>

#include "compose/node.h"
#include "mtk/err.h"

/* Most nodes one YAML document may expand to through aliases: a cap against
 * "billion laughs" documents. */
#define MTK_COMPOSE_YAML_MAX_NODES 250000

/* Parses every document of a YAML text (path is used for positions and
 * messages).  Returns a SEQ node holding one root node per document (empty
 * when the text holds none), or NULL with *err (MTK_E_INVALID,
 * "path:line:col: ..."). */
struct mtk_node *mtk_compose_yaml_parse_all(const char *path, const char *text, size_t len,
                                            struct mtk_err **err);
/* The first document only (a null scalar for an empty text). */
struct mtk_node *mtk_compose_yaml_parse(const char *path, const char *text, size_t len,
                                        struct mtk_err **err);

/* Interpolates every string scalar of a parsed document (values only, never
 * keys) from env, then casts the values at compose-go's typed paths
 * (`services.*.ports[].target` to an integer, `privileged` to a boolean...).
 * Errors name the key path and the position. */
struct mtk_strmap;
int mtk_compose_interpolate(struct mtk_node *root, const struct mtk_strmap *env,
                            struct mtk_err **err);

/* loader.NormalizeProjectName: lower-cased, only [a-z0-9_-] kept, leading
 * '_' and '-' trimmed.  Owned by caller. */
char *mtk_compose_normalize_name(const char *s);

#endif
