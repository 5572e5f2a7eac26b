/* Compose variable interpolation on one string, as compose-go's template.Substitute:
 * $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt},
 * ${VAR+alt}, $$ (a literal $), nested and lazily evaluated defaults.  Variable values
 * come from a lookup callback, so the caller decides where they live. */
#ifndef MTK_COMPOSE_INTERP_H
#define MTK_COMPOSE_INTERP_H

#include <stddef.h>

#include "mtk/err.h"

struct mtk_strmap;

/* Returns the value of variable `name`, or NULL when it is unset. */
typedef const char *(*mtk_interp_lookup_cb)(const char *name, void *ud);

/* Substitutes $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}, $$,
   nested/lazy defaults, exactly as compose-go template.Substitute. Returns an owned string or
   NULL with *err (code MTK_E_INVALID). Error texts: an invalid template gives compose-go's
   message `Invalid template: "TEMPLATE"` (TEMPLATE Go-quoted); a missing required variable
   gives "required variable NAME is missing a value: MSG", or "required variable NAME is
   missing a value" when MSG is empty (compose-go's exact wording). The caller adds
   "invalid interpolation format for <path>" context itself. `lookup` may be NULL (every
   variable unset). */
char *mtk_interp_substitute(const char *tmpl, mtk_interp_lookup_cb lookup, void *ud,
                            struct mtk_err **err);

/* Like mtk_interp_substitute.  When the template is invalid and `bad` is not NULL, *bad receives
   an owned copy of the template compose-go's InvalidTemplateError names: the innermost default
   value or remainder in which the bad "${" was found, else the whole template.  Compose prints
   it raw: "invalid interpolation format for PATH.\nYou may need to escape any $ with another
   $.\nBAD". *bad is left untouched on success and on other errors. */
char *mtk_interp_substitute_ex(const char *tmpl, mtk_interp_lookup_cb lookup, void *ud, char **bad,
                               struct mtk_err **err);

/* A lookup callback over a map: ud is a `const struct mtk_strmap *`.  A key that is present
   with a NULL value counts as unset. */
const char *mtk_interp_strmap_lookup(const char *name, void *ud);

#endif
