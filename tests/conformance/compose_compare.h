/* Comparison of a compose project model (as `mtk config --format json` prints it) with a
 * conformance case's expected.json, following the rules of
 * shared/conformance/compose/README.md: key order ignored, documented defaults treated as
 * absent, durations/byte sizes/ports compared by value.  Also the text transformations a
 * runner applies before comparing ($$ unescaping, @CASE_DIR@/@HOME@ substitution). */
#ifndef MTK_TESTS_COMPOSE_COMPARE_H
#define MTK_TESTS_COMPOSE_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Parses a Go time.Duration string ("1m30s", "1.5h", "-2ms", "0"); false when invalid. */
bool mtk_conf_go_duration(const char *s, int64_t *ns);

/* Returns a deep copy of v where every `$$` in strings and object keys became `$`. */
json_t *mtk_conf_unescape_dollars(json_t *v);

/* Returns a deep copy of v where @CASE_DIR@ and @HOME@ in strings and keys are replaced. */
json_t *mtk_conf_subst_placeholders(json_t *v, const char *case_dir, const char *home);

/* Deletes the `x-*` keys of every service in project["services"] (in place). */
void mtk_conf_strip_service_extensions(json_t *project);

/* Compares expected with got.  Appends to out at most max_report differences, each
 * "path: expected X, got Y", separated by "; ".  Returns the number of differences found
 * (0 = equal).  Neither value is modified. */
int mtk_conf_compare(json_t *expected, json_t *got, struct mtk_strbuf *out, int max_report);

#endif
