/* Compose variable interpolation on one string, as compose-go's template.Substitute:
 * $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt},
 * ${VAR+alt}, $$ (a literal $), nested and lazily evaluated defaults.  Variable values
 * come from a lookup callback, so the caller decides where they live. */
#ifndef MTK_COMPOSE_INTERP_H
#define MTK_COMPOSE_INTERP_H

#include "mtk/err.h"

struct mtk_strmap;

/* Returns the value of variable `name`, or NULL when it is unset. */
typedef const char *(*mtk_interp_lookup_cb)(const char *name, void *ud);

/* Substitutes $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}, $$,
   nested/lazy defaults, exactly as compose-go template.Substitute. Returns an owned string or
   NULL with *err (code MTK_E_INVALID). Error texts: an invalid template gives a message
   containing "invalid template" and the template; a missing required variable gives
   "required variable NAME is missing a value: MSG" (compose-go's exact wording, also when MSG
   is empty). The caller adds "invalid interpolation format for <path>" context itself.
   `lookup` may be NULL (every variable unset). */
char *mtk_interp_substitute(const char *tmpl, mtk_interp_lookup_cb lookup, void *ud,
                            struct mtk_err **err);

/* A lookup callback over a map: ud is a `const struct mtk_strmap *`.  A key that is present
   with a NULL value counts as unset. */
const char *mtk_interp_strmap_lookup(const char *name, void *ud);

#endif
