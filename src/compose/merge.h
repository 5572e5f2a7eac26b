/* Merging compose documents as compose-go does (override.Merge,
 * override.ExtendService, override.EnforceUnicity, loader.ResetProcessor):
 * the `!reset` / `!override` tags, the merge of the several -f files (and of
 * the YAML documents of one file), `extends`, and the de-duplication of
 * sequences ("unicity").  Works on the node tree of node.h.
 *
 * The loader calls these per YAML document, in compose-go's order
 * (loader.loadYamlFile):
 *
 *   doc = parse; mtk_compose_resets_collect(doc, &resets);   ResetProcessor
 *   interpolate(doc); include(doc);
 *   mtk_compose_resets_apply(resets, model);                  processor.Apply(dict)
 *   for each service of doc with `extends`:                   ApplyExtends
 *     merged = mtk_compose_extend_service(base, svc, name, resets)
 *   mtk_compose_merge(model, doc);                            override.Merge
 *   mtk_compose_unicity(model);                               EnforceUnicity
 *   validate; canonical; omit-empty; mtk_compose_unicity(model)
 *
 * The left side (the model so far) is canonical, the right side (the new
 * document) is raw: merge only ever looks at what compose-go looks at, so
 * short and long syntaxes meet exactly where they meet in compose-go (ports
 * and volumes are appended here and collapse in the second unicity pass,
 * once canonical has expanded them). */
#ifndef MTK_COMPOSE_MERGE_H
#define MTK_COMPOSE_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "compose/node.h"
#include "mtk/err.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* compose-go's defaultMaxNodeVisits: most values (not keys) one document may
 * hold.  Counted on the parsed tree, where aliases are already expanded, so a
 * document that reuses big anchors many times reaches it sooner than in
 * compose-go (which visits each anchor once). */
#define MTK_COMPOSE_MAX_NODE_VISITS 100000

/* The key paths of one document that carried `!reset` or `!override`. */
struct mtk_compose_resets;

/* Reset processing of one freshly parsed document (compose-go
 * ResetProcessor.resolveReset): removes every node tagged `!reset` from doc
 * (mapping entries and sequence items; a `!reset` root becomes a null
 * scalar) and records its path; records the path of every node tagged
 * `!override` and keeps it (its tag too) without looking inside it.  Fails
 * with "compose file exceeds maximum node visit limit (100000)" on documents
 * with more than MTK_COMPOSE_MAX_NODE_VISITS values.  *resets is always set
 * on success (possibly empty); the caller frees it. */
int mtk_compose_resets_collect(struct mtk_node *doc, struct mtk_compose_resets **resets,
                               struct mtk_err **err);

/* processor.Apply: deletes from model every mapping entry whose path is a
 * recorded one (so `!override` replaces instead of merging, and `!reset`
 * drops what earlier files defined).  Sequence items are never removed
 * (compose-go leaves that as a TODO).  resets may be NULL. */
void mtk_compose_resets_apply(const struct mtk_compose_resets *resets, struct mtk_node *model);

/* The same on a sub-tree whose path is `prefix` (n segments); extends uses
 * {"services", name} on the copy of the base service. */
void mtk_compose_resets_apply_at(const struct mtk_compose_resets *resets, struct mtk_node *node,
                                 const char *const *prefix, size_t n);

/* Number of recorded paths (0 for NULL). */
size_t mtk_compose_resets_len(const struct mtk_compose_resets *resets);

void mtk_compose_resets_free(struct mtk_compose_resets *resets);
MTK_DEFINE_AUTOPTR(mtk_compose_resets, mtk_compose_resets_free)

/* override.Merge: merges `over` (always consumed, even on failure) into the
 * mapping `model` (may be empty), in place.  Mappings merge recursively with
 * the later value winning on scalars, sequences are appended, and the
 * compose-go special rules apply (command/entrypoint/healthcheck.test
 * replaced; environment, labels, ... turned into K=V sequences and appended;
 * build string -> {context}; depends_on, networks, models list -> mapping;
 * logging by driver; extra_hosts; ulimits; networks.*.ipam.config by
 * subnet).  New keys are appended after the existing ones.  On failure
 * (e.g. "cannot override services.web.healthcheck", a mapping over a
 * sequence) model is left partly merged but valid. */
int mtk_compose_merge(struct mtk_node *model, struct mtk_node *over, struct mtk_err **err);

/* applyServiceExtends' last step + override.ExtendService: returns a copy of
 * `base` (the resolved service `svc` extends) on which the document's
 * resets are applied at services.<name>, with a copy of `svc` merged on top
 * (rules as in services.*), and without its `extends` key.  When base is
 * NULL or null, returns a copy of svc unchanged (compose-go does the same).
 * resets may be NULL.  The caller resolves base (same file or `file:`,
 * recursively, with cycle detection) and owns the result. */
struct mtk_node *mtk_compose_extend_service(const struct mtk_node *base, const struct mtk_node *svc,
                                            const char *name,
                                            const struct mtk_compose_resets *resets,
                                            struct mtk_err **err);

/* override.EnforceUnicity: in the sequences compose-go de-duplicates
 * (environment, labels, ports, volumes, secrets, ... see merge_unicity.c), a
 * later entry with the same key replaces the earlier one at the earlier
 * position.  Errors name the path ("services.web.dns.[0]: unexpected type
 * int", "service volume services.web.volumes.[1] is missing a mount
 * target", "invalid spec: a::b: empty section between colons"). */
int mtk_compose_unicity(struct mtk_node *model, struct mtk_err **err);

/* ---- Shared by merge*.c only ---------------------------------------- */

/* A compose-go tree.Path as a chain of segments on the stack; NULL is the
 * empty (root) path.  Segments are raw keys ("a.b" stays one segment). */
struct mtk_compose_path {
  const struct mtk_compose_path *up; /* borrowed: parent, NULL at the root */
  const char *seg;                   /* borrowed: key, or "[i]" for sequence items */
};

/* tree.Path.Matches: same number of segments, "*" in pattern matches any. */
bool mtk_compose_path_matches(const struct mtk_compose_path *p, const char *pattern);
/* The dotted text of p (tree.Path.String); caller frees. */
char *mtk_compose_path_str(const struct mtk_compose_path *p);

/* Go's fmt of a decoded YAML value with verb 'v', 's' or 'd' (including
 * the "%!s(int=1)" forms of a mismatched verb); NULL or a null scalar is
 * Go's nil. */
void mtk_compose_go_fmt(struct mtk_strbuf *sb, char verb, const struct mtk_node *n);
/* Go's == on two interface values holding scalars (false for collections). */
bool mtk_compose_go_equal(const struct mtk_node *a, const struct mtk_node *b);

#endif
