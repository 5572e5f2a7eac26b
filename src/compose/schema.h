/* Validation of a compose document tree against the Compose JSON schema
 * that compose-go validates with (schema/compose-spec.json, embedded into
 * the library at build time), with compose-go's choice of the one error to
 * report and its wording (schema.Validate on top of
 * santhosh-tekuri/jsonschema v6). */
#ifndef MTK_COMPOSE_SCHEMA_H
#define MTK_COMPOSE_SCHEMA_H

#include "compose/node.h"
#include "mtk/err.h"

/* Validates an interpolated compose file tree (the whole top-level mapping,
 * before canonical conversion: short and long syntaxes are both valid).
 * Returns 0 when valid.  Otherwise returns negative with *err (code
 * MTK_E_INVALID) positioned at the offending node (for unknown properties:
 * at the first unknown key) and the message compose-go prints after its
 * "validating <file>: " prefix, e.g.
 *   "services.web additional properties 'imagee' not allowed"
 *   "services.dict-env.environment.FOO must be a boolean, null, number or string"
 *   "services must be a mapping"
 * Like compose-go the message starts with the instance path joined with
 * '.', so an error about the top-level mapping itself starts with a space
 * (" additional properties 'helicopters' not allowed"): wrap it with
 * mtk_err_wrap(err, "validating %s", file) to get compose-go's text.
 * A root that is not a mapping gives "top-level object must be a mapping";
 * a .inf/.nan number gives "json: unsupported value: +Inf" (compose-go's
 * JSON round trip fails before validating). */
int mtk_compose_schema_validate(const struct mtk_node *root, struct mtk_err **err);

/* Compiles the embedded schema if not done yet (validate does it lazily);
 * fails when the schema uses a keyword or a regular expression that the
 * validator does not support.  Thread-safe. */
int mtk_compose_schema_compile(struct mtk_err **err);

#endif
