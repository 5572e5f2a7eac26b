/* The service dependency graph of a project: nodes are services, an edge
 * "from -> to" means that `from` depends on `to`.  Sorting yields the start
 * order (dependencies first; the stop order is its reverse) and the start
 * levels (services of one level can start in parallel), or rejects a
 * depends_on cycle with compose-go's message. */
#ifndef MTK_COMPOSE_GRAPH_H
#define MTK_COMPOSE_GRAPH_H

#include <jansson.h>
#include <stddef.h>

#include "mtk/err.h"
#include "util/cleanup.h"

struct mtk_graph; /* opaque */

struct mtk_graph *mtk_graph_new(void);
/* Accepts NULL. */
void mtk_graph_free(struct mtk_graph *g);

/* Adds a node; adding a name twice is a no-op. */
void mtk_graph_add_node(struct mtk_graph *g, const char *name);
/* Records that `from` depends on `to`, adding both nodes when missing; an
 * edge added twice counts once. */
void mtk_graph_add_edge(struct mtk_graph *g, const char *from, const char *to);

/* Computes the start order and the levels: level 0 = no dependencies, a
 * node's level is 1 + the highest level of its dependencies.  The start order
 * is by level, then by name (strcmp), so it is deterministic.
 * A cycle (a self-dependency too) fails with MTK_E_INVALID and the message
 * "dependency cycle detected: a -> b -> c -> a"; the cycle reported is the one
 * compose-go reports: the first one met by a depth-first search that visits
 * nodes and dependencies in name order, printed from the node where the
 * search entered it (for a lone cycle that is its smallest name).
 * Adding nodes or edges afterwards discards the result (sort again). */
int mtk_graph_sort(struct mtk_graph *g, struct mtk_err **err);

/* Number of nodes. */
size_t mtk_graph_len(const struct mtk_graph *g);
/* The i-th node in start order after a successful sort (insertion order
 * before); NULL when i >= len.  Borrowed. */
const char *mtk_graph_at(const struct mtk_graph *g, size_t i);
/* Level of the i-th node in start order; -1 when not sorted or out of range. */
int mtk_graph_level(const struct mtk_graph *g, size_t i);
/* Number of levels (0 for an empty or unsorted graph). */
int mtk_graph_levels(const struct mtk_graph *g);

/* Builds the graph of a normalised project model ({"services": {name:
 * {"depends_on": {dep: {...}}}}} as `docker compose config --format json`
 * prints it; a list of names for depends_on is accepted too) and sorts it.
 * A dependency on a service that is not in the model is an error
 * (MTK_E_INVALID, compose-go's wording) unless it says "required": false,
 * in which case it is ignored.  NULL and *err on failure. */
struct mtk_graph *mtk_graph_from_model(const json_t *model, struct mtk_err **err);

MTK_DEFINE_AUTOPTR(mtk_graph, mtk_graph_free)

#endif
