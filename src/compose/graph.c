/* The service dependency graph (see graph.h): a node table with a name hash,
 * Kahn's algorithm for the start order and levels, and an iterative
 * depth-first search that finds the cycle compose-go reports
 * (graph/cycle.go: vertices and their dependencies in name order, the first
 * back edge wins).  Nothing here recurses, so a chain of thousands of
 * services cannot exhaust the stack. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/graph.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct gnode {
  char *name;      /* owned */
  size_t *deps;    /* owned: indices of the nodes this one depends on */
  size_t n_deps;   /* entries used in deps */
  size_t cap_deps; /* entries allocated in deps */
};

struct mtk_graph {
  struct gnode *nodes; /* owned: insertion order */
  size_t len;          /* nodes used */
  size_t cap;          /* nodes allocated */
  size_t *slots;       /* owned: open-addressing name hash, node index + 1, 0 = free */
  size_t n_slots;      /* a power of two, at least twice len */
  size_t *order;       /* owned: node indices in start order; NULL until sorted */
  int *levels;         /* owned: levels[i] is the level of order[i] */
  int n_levels;        /* number of levels after a sort */
};

/* FNV-1a: service names are short and trusted enough for a plain hash. */
static size_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char) *s;
    h *= 1099511628211ULL;
  }
  return (size_t) h;
}

/* The slot holding name, or the free slot where it would go. */
static size_t *slot_for(const struct mtk_graph *g, const char *name)
{
  size_t mask = g->n_slots - 1;
  for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
    size_t *s = &g->slots[i];
    if (*s == 0 || strcmp(g->nodes[*s - 1].name, name) == 0)
      return s;
  }
}

static void grow_slots(struct mtk_graph *g)
{
  size_t n = g->n_slots ? g->n_slots * 2 : 16;
  free(g->slots);
  g->slots = mtk_xcalloc(n, sizeof(*g->slots));
  g->n_slots = n;
  for (size_t i = 0; i < g->len; i++)
    *slot_for(g, g->nodes[i].name) = i + 1;
}

static void drop_sort(struct mtk_graph *g)
{
  free(g->order);
  free(g->levels);
  g->order = NULL;
  g->levels = NULL;
  g->n_levels = 0;
}

/* Index of name, adding the node when missing. */
static size_t intern(struct mtk_graph *g, const char *name)
{
  if ((g->len + 1) * 2 > g->n_slots)
    grow_slots(g);
  size_t *s = slot_for(g, name);
  if (*s)
    return *s - 1;
  drop_sort(g);
  if (g->len == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 8;
    g->nodes = mtk_xrealloc(g->nodes, g->cap * sizeof(*g->nodes));
  }
  g->nodes[g->len] = (struct gnode){.name = mtk_xstrdup(name)};
  *s = ++g->len;
  return g->len - 1;
}

struct mtk_graph *mtk_graph_new(void)
{
  return mtk_xcalloc(1, sizeof(struct mtk_graph));
}

void mtk_graph_free(struct mtk_graph *g)
{
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->len; i++) {
    free(g->nodes[i].name);
    free(g->nodes[i].deps);
  }
  free(g->nodes);
  free(g->slots);
  drop_sort(g);
  free(g);
}

void mtk_graph_add_node(struct mtk_graph *g, const char *name)
{
  intern(g, name);
}

void mtk_graph_add_edge(struct mtk_graph *g, const char *from, const char *to)
{
  size_t f = intern(g, from);
  size_t t = intern(g, to);
  struct gnode *n = &g->nodes[f];
  for (size_t i = 0; i < n->n_deps; i++)
    if (n->deps[i] == t)
      return;
  drop_sort(g);
  if (n->n_deps == n->cap_deps) {
    n->cap_deps = n->cap_deps ? n->cap_deps * 2 : 4;
    n->deps = mtk_xrealloc(n->deps, n->cap_deps * sizeof(*n->deps));
  }
  n->deps[n->n_deps++] = t;
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
  const struct gnode *nodes = ctx;
  return strcmp(nodes[*(const size_t *) a].name, nodes[*(const size_t *) b].name);
}

/* Node indices in name order. */
static size_t *names_sorted(const struct mtk_graph *g)
{
  size_t *by_name = mtk_xcalloc(g->len, sizeof(*by_name));
  for (size_t i = 0; i < g->len; i++)
    by_name[i] = i;
  if (g->len > 1)
    qsort_r(by_name, g->len, sizeof(*by_name), cmp_by_name, g->nodes);
  return by_name;
}

/* Kahn's algorithm: fills level[] for every node that is not on or behind a
 * cycle and returns how many nodes that is (g->len when there is no cycle).
 * A node is taken only once all its dependencies are, so its level is final
 * when it is taken. */
static size_t assign_levels(const struct mtk_graph *g, int *level)
{
  size_t n = g->len, taken = 0, total = 0;
  mtk_autofree size_t *first = mtk_xcalloc(n + 1, sizeof(size_t)); /* dependents of d: */
  mtk_autofree size_t *fill = mtk_xcalloc(n + 1, sizeof(size_t));  /* rdeps[first[d]..] */
  mtk_autofree size_t *pending = mtk_xcalloc(n, sizeof(size_t));   /* unmet dependencies */
  mtk_autofree size_t *queue = mtk_xcalloc(n, sizeof(size_t));
  for (size_t v = 0; v < n; v++) {
    pending[v] = g->nodes[v].n_deps;
    total += g->nodes[v].n_deps;
    for (size_t k = 0; k < g->nodes[v].n_deps; k++)
      first[g->nodes[v].deps[k] + 1]++;
  }
  for (size_t d = 0; d < n; d++)
    first[d + 1] += first[d];
  memcpy(fill, first, (n + 1) * sizeof(size_t));
  mtk_autofree size_t *rdeps = mtk_xcalloc(total, sizeof(size_t));
  for (size_t v = 0; v < n; v++)
    for (size_t k = 0; k < g->nodes[v].n_deps; k++)
      rdeps[fill[g->nodes[v].deps[k]]++] = v;

  size_t tail = 0;
  for (size_t v = 0; v < n; v++)
    if (pending[v] == 0)
      queue[tail++] = v;
  while (taken < tail) {
    size_t d = queue[taken++];
    for (size_t k = first[d]; k < first[d + 1]; k++) {
      size_t v = rdeps[k];
      if (level[v] < level[d] + 1)
        level[v] = level[d] + 1;
      if (--pending[v] == 0)
        queue[tail++] = v;
    }
  }
  return taken;
}

static int cycle_error(const struct mtk_graph *g, const size_t *stack, size_t from, size_t top,
                       size_t back_to, struct mtk_err **err)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = from; i < top; i++) {
    mtk_strbuf_adds(&sb, g->nodes[stack[i]].name);
    mtk_strbuf_adds(&sb, " -> ");
  }
  mtk_strbuf_adds(&sb, g->nodes[back_to].name);
  return mtk_err_set(err, MTK_E_INVALID, "dependency cycle detected: %s", mtk_strbuf_str(&sb));
}

static int cmp_dep_rank(const void *a, const void *b, void *ctx)
{
  const size_t *rank = ctx;
  size_t ra = rank[*(const size_t *) a], rb = rank[*(const size_t *) b];
  return ra < rb ? -1 : ra > rb;
}

/* Depth-first search over nodes and their dependencies in name order, with
 * an explicit stack; the first dependency found on the current path closes
 * the cycle that is reported.  Nodes already finished cannot lead to a cycle
 * (the search would have stopped), so skipping them reports what compose-go's
 * exhaustive search reports. */
static int report_cycle(struct mtk_graph *g, const size_t *by_name, struct mtk_err **err)
{
  enum { WHITE, GREY, BLACK };
  size_t n = g->len;
  mtk_autofree size_t *rank = mtk_xcalloc(n, sizeof(size_t));
  mtk_autofree unsigned char *colour = mtk_xcalloc(n, 1);
  mtk_autofree size_t *next = mtk_xcalloc(n, sizeof(size_t));
  mtk_autofree size_t *stack = mtk_xcalloc(n, sizeof(size_t));
  for (size_t k = 0; k < n; k++)
    rank[by_name[k]] = k;
  for (size_t v = 0; v < n; v++)
    if (g->nodes[v].n_deps > 1)
      qsort_r(g->nodes[v].deps, g->nodes[v].n_deps, sizeof(size_t), cmp_dep_rank, rank);

  for (size_t k = 0; k < n; k++) {
    size_t top = 0;
    if (colour[by_name[k]] != WHITE)
      continue;
    stack[top++] = by_name[k];
    colour[by_name[k]] = GREY;
    while (top > 0) {
      struct gnode *u = &g->nodes[stack[top - 1]];
      if (next[stack[top - 1]] == u->n_deps) {
        colour[stack[--top]] = BLACK;
        continue;
      }
      size_t c = u->deps[next[stack[top - 1]]++];
      if (colour[c] == GREY) {
        size_t from = top;
        while (stack[from - 1] != c)
          from--;
        return cycle_error(g, stack, from - 1, top, c, err);
      }
      if (colour[c] == WHITE) {
        colour[c] = GREY;
        stack[top++] = c;
      }
    }
  }
  return mtk_err_set(err, MTK_E_GENERIC, "dependency cycle detected");
}

int mtk_graph_sort(struct mtk_graph *g, struct mtk_err **err)
{
  size_t n = g->len;
  drop_sort(g);
  mtk_autofree size_t *by_name = names_sorted(g);
  mtk_autofree int *level = mtk_xcalloc(n, sizeof(int));
  if (assign_levels(g, level) < n)
    return report_cycle(g, by_name, err);

  /* Bucket the names (already in order) by level: order is (level, name). */
  int n_levels = 0;
  for (size_t v = 0; v < n; v++)
    if (level[v] + 1 > n_levels)
      n_levels = level[v] + 1;
  mtk_autofree size_t *at = mtk_xcalloc((size_t) n_levels + 1, sizeof(size_t));
  for (size_t v = 0; v < n; v++)
    at[level[v] + 1]++;
  for (int l = 0; l < n_levels; l++)
    at[l + 1] += at[l];
  g->order = mtk_xcalloc(n, sizeof(size_t));
  g->levels = mtk_xcalloc(n, sizeof(int));
  for (size_t k = 0; k < n; k++) {
    size_t v = by_name[k], i = at[level[v]]++;
    g->order[i] = v;
    g->levels[i] = level[v];
  }
  g->n_levels = n_levels;
  return 0;
}

size_t mtk_graph_len(const struct mtk_graph *g)
{
  return g->len;
}

const char *mtk_graph_at(const struct mtk_graph *g, size_t i)
{
  if (i >= g->len)
    return NULL;
  return g->nodes[g->order ? g->order[i] : i].name;
}

int mtk_graph_level(const struct mtk_graph *g, size_t i)
{
  if (g->levels == NULL || i >= g->len)
    return -1;
  return g->levels[i];
}

int mtk_graph_levels(const struct mtk_graph *g)
{
  return g->n_levels;
}

/* Adds the edges of one service; an unknown dependency is an error unless
 * it is marked "required": false (compose-go graph/services.go drops those). */
static int add_deps(struct mtk_graph *g, const json_t *services, const char *name,
                    const json_t *svc, struct mtk_err **err)
{
  const json_t *deps = json_is_object(svc) ? json_object_get(svc, "depends_on") : NULL;
  const char *dep;
  const json_t *cond;
  size_t i;
  if (deps == NULL || json_is_null(deps))
    return 0;
  if (json_is_array(deps)) {
    json_array_foreach(deps, i, cond)
    {
      dep = json_string_value(cond);
      if (dep == NULL)
        return mtk_err_set(err, MTK_E_INVALID, "service \"%s\": depends_on[%zu] must be a string",
                           name, i);
      if (json_object_get(services, dep) == NULL)
        return mtk_err_set(err, MTK_E_INVALID, "service \"%s\" depends on unknown service \"%s\"",
                           name, dep);
      mtk_graph_add_edge(g, name, dep);
    }
    return 0;
  }
  if (!json_is_object(deps))
    return mtk_err_set(err, MTK_E_INVALID, "service \"%s\": depends_on must be a mapping", name);
  json_object_foreach((json_t *) deps, dep, cond)
  {
    if (json_object_get(services, dep) != NULL)
      mtk_graph_add_edge(g, name, dep);
    else if (!json_is_false(json_object_get(cond, "required")))
      return mtk_err_set(err, MTK_E_INVALID, "service \"%s\" depends on unknown service \"%s\"",
                         name, dep);
  }
  return 0;
}

struct mtk_graph *mtk_graph_from_model(const json_t *model, struct mtk_err **err)
{
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  const json_t *services = json_is_object(model) ? json_object_get(model, "services") : NULL;
  const char *name;
  const json_t *svc;
  if (!json_is_object(model)) {
    mtk_err_set(err, MTK_E_INVALID, "the project model is not a mapping");
    return NULL;
  }
  if (services != NULL && !json_is_null(services) && !json_is_object(services)) {
    mtk_err_set(err, MTK_E_INVALID, "services must be a mapping");
    return NULL;
  }
  if (json_is_object(services)) {
    json_object_foreach((json_t *) services, name, svc) mtk_graph_add_node(g, name);
    json_object_foreach((json_t *) services, name, svc)
    {
      if (add_deps(g, services, name, svc, err) < 0)
        return NULL;
    }
  }
  if (mtk_graph_sort(g, err) < 0)
    return NULL;
  return mtk_steal_ptr(&g);
}
