/* Unit tests for the service dependency graph (src/compose/graph.c): start
 * order, levels, cycle messages, building from a project model. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "compose/graph.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* The start order as "name:level name:level ...". */
static char *dump(const struct mtk_graph *g)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < mtk_graph_len(g); i++)
    mtk_strbuf_addf(&sb, "%s%s:%d", i ? " " : "", mtk_graph_at(g, i), mtk_graph_level(g, i));
  return mtk_strbuf_steal(&sb);
}

/* Position of name in the start order, or -1. */
static long pos(const struct mtk_graph *g, const char *name)
{
  for (size_t i = 0; i < mtk_graph_len(g); i++)
    if (strcmp(mtk_graph_at(g, i), name) == 0)
      return (long) i;
  return -1;
}

/* The message of a failing sort ("" when it succeeds), and its code in *code. */
static char *sort_error(struct mtk_graph *g, int *code)
{
  struct mtk_err *err = NULL;
  if (mtk_graph_sort(g, &err) == 0) {
    *code = 0;
    return mtk_xstrdup("");
  }
  *code = err ? err->code : -1;
  char *m = mtk_xstrdup(err ? err->msg : "(no error set)");
  mtk_err_free(&err);
  return m;
}

static int test_diamond(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  /* web -> api, web -> cache, api -> db, cache -> db */
  mtk_graph_add_edge(g, "web", "cache");
  mtk_graph_add_edge(g, "web", "api");
  mtk_graph_add_edge(g, "cache", "db");
  mtk_graph_add_edge(g, "api", "db");
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  MTK_ASSERT(err == NULL);
  MTK_ASSERT_EQ(mtk_graph_len(g), 4);
  mtk_autofree char *s = dump(g);
  MTK_ASSERT_STREQ(s, "db:0 api:1 cache:1 web:2");
  MTK_ASSERT_EQ(mtk_graph_levels(g), 3);
  MTK_ASSERT(mtk_graph_at(g, 4) == NULL);
  MTK_ASSERT_EQ(mtk_graph_level(g, 4), -1);
  return 0;
}

static int test_chain(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  /* Names against alphabetical order, so name order alone would be wrong. */
  mtk_graph_add_edge(g, "a", "b");
  mtk_graph_add_edge(g, "b", "c");
  mtk_graph_add_edge(g, "c", "d");
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  mtk_autofree char *s = dump(g);
  MTK_ASSERT_STREQ(s, "d:0 c:1 b:2 a:3");
  MTK_ASSERT_EQ(mtk_graph_levels(g), 4);
  return 0;
}

static int test_independent_nodes_and_idempotence(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  mtk_graph_add_node(g, "zeta");
  mtk_graph_add_node(g, "alpha");
  mtk_graph_add_node(g, "mid");
  mtk_graph_add_node(g, "alpha");
  MTK_ASSERT_EQ(mtk_graph_len(g), 3);
  /* Before sorting: insertion order, no levels. */
  MTK_ASSERT_STREQ(mtk_graph_at(g, 0), "zeta");
  MTK_ASSERT_EQ(mtk_graph_level(g, 0), -1);
  MTK_ASSERT_EQ(mtk_graph_levels(g), 0);
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  mtk_autofree char *s = dump(g);
  MTK_ASSERT_STREQ(s, "alpha:0 mid:0 zeta:0");
  MTK_ASSERT_EQ(mtk_graph_levels(g), 1);
  return 0;
}

static int test_empty(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  MTK_ASSERT_EQ(mtk_graph_len(g), 0);
  MTK_ASSERT_EQ(mtk_graph_levels(g), 0);
  MTK_ASSERT(mtk_graph_at(g, 0) == NULL);
  return 0;
}

static int test_levels_take_the_longest_path(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  /* app depends on db (level 0) and on worker (level 2): app is level 3. */
  mtk_graph_add_edge(g, "app", "db");
  mtk_graph_add_edge(g, "app", "worker");
  mtk_graph_add_edge(g, "worker", "queue");
  mtk_graph_add_edge(g, "queue", "db");
  mtk_graph_add_edge(g, "app", "db"); /* duplicate edge counts once */
  mtk_graph_add_node(g, "lonely");
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  mtk_autofree char *s = dump(g);
  MTK_ASSERT_STREQ(s, "db:0 lonely:0 queue:1 worker:2 app:3");
  MTK_ASSERT_EQ(mtk_graph_levels(g), 4);
  /* Adding an edge drops the sort; sorting again reflects it. */
  mtk_graph_add_edge(g, "db", "lonely");
  MTK_ASSERT_EQ(mtk_graph_level(g, 0), -1);
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  mtk_autofree char *s2 = dump(g);
  MTK_ASSERT_STREQ(s2, "lonely:0 db:1 queue:2 worker:3 app:4");
  return 0;
}

static int test_cycle_messages(void)
{
  int code = 0;
  {
    mtk_autoptr(mtk_graph) g = mtk_graph_new();
    /* The conformance case invalid-depends-on-cycle, edges added out of order. */
    mtk_graph_add_edge(g, "service3", "service1");
    mtk_graph_add_edge(g, "service2", "service3");
    mtk_graph_add_edge(g, "service1", "service2");
    mtk_autofree char *m = sort_error(g, &code);
    MTK_ASSERT_STREQ(m, "dependency cycle detected: service1 -> service2 -> service3 -> service1");
    MTK_ASSERT_EQ(code, MTK_E_INVALID);
  }
  {
    /* A cycle behind an acyclic prefix, entered at its smallest name. */
    mtk_autoptr(mtk_graph) g = mtk_graph_new();
    mtk_graph_add_edge(g, "zz", "m");
    mtk_graph_add_edge(g, "m", "c");
    mtk_graph_add_edge(g, "c", "x");
    mtk_graph_add_edge(g, "x", "m");
    mtk_graph_add_node(g, "a");
    mtk_autofree char *m = sort_error(g, &code);
    MTK_ASSERT_STREQ(m, "dependency cycle detected: c -> x -> m -> c");
  }
  {
    /* Two cycles: the one met first in name order is reported. */
    mtk_autoptr(mtk_graph) g = mtk_graph_new();
    mtk_graph_add_edge(g, "q", "p");
    mtk_graph_add_edge(g, "p", "q");
    mtk_graph_add_edge(g, "b", "a");
    mtk_graph_add_edge(g, "a", "b");
    mtk_autofree char *m = sort_error(g, &code);
    MTK_ASSERT_STREQ(m, "dependency cycle detected: a -> b -> a");
  }
  {
    /* compose-go reports where its name-ordered search enters the cycle:
       a -> c -> b -> c is found as "c -> b -> c" (not "b -> c -> b"). */
    mtk_autoptr(mtk_graph) g = mtk_graph_new();
    mtk_graph_add_edge(g, "a", "c");
    mtk_graph_add_edge(g, "c", "b");
    mtk_graph_add_edge(g, "b", "c");
    mtk_autofree char *m = sort_error(g, &code);
    MTK_ASSERT_STREQ(m, "dependency cycle detected: c -> b -> c");
  }
  return 0;
}

static int test_self_cycle(void)
{
  int code = 0;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  mtk_graph_add_node(g, "a");
  mtk_graph_add_edge(g, "web", "web");
  mtk_autofree char *m = sort_error(g, &code);
  MTK_ASSERT_STREQ(m, "dependency cycle detected: web -> web");
  MTK_ASSERT_EQ(code, MTK_E_INVALID);
  MTK_ASSERT_EQ(mtk_graph_levels(g), 0);
  return 0;
}

static int test_long_chain(void)
{
  enum { N = 1000 };
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  char a[16], b[16];
  /* s0000 depends on s0001 ... depends on s0999; added in a scrambled order. */
  for (int k = 0; k < N - 1; k++) {
    int i = (k * 7) % (N - 1);
    snprintf(a, sizeof(a), "s%04d", i);
    snprintf(b, sizeof(b), "s%04d", i + 1);
    mtk_graph_add_edge(g, a, b);
  }
  MTK_ASSERT_EQ(mtk_graph_len(g), N);
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  MTK_ASSERT_EQ(mtk_graph_levels(g), N);
  for (int i = 0; i < N; i++) {
    snprintf(a, sizeof(a), "s%04d", N - 1 - i);
    MTK_ASSERT_STREQ(mtk_graph_at(g, (size_t) i), a);
    MTK_ASSERT_EQ(mtk_graph_level(g, (size_t) i), i);
  }
  /* Closing the chain into one long cycle: found without recursion too. */
  mtk_graph_add_edge(g, "s0999", "s0000");
  int code = 0;
  mtk_autofree char *m = sort_error(g, &code);
  MTK_ASSERT_EQ(code, MTK_E_INVALID);
  MTK_ASSERT_CONTAINS(m, "dependency cycle detected: s0000 -> s0001 -> s0002 -> ");
  MTK_ASSERT_CONTAINS(m, " -> s0998 -> s0999 -> s0000");
  MTK_ASSERT_EQ(strlen(m), strlen("dependency cycle detected: ") + 1000 * strlen("s0000 -> ") + 5);
  return 0;
}

static json_t *parse(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (j == NULL)
    fprintf(stderr, "# bad test json: %s\n", je.text);
  return j;
}

static int test_from_model(void)
{
  struct mtk_err *err = NULL;
  json_t *m = parse("{\"name\": \"p\", \"services\": {"
                    " \"web\": {\"image\": \"nginx\", \"depends_on\": {"
                    "   \"db\": {\"condition\": \"service_healthy\", \"required\": true},"
                    "   \"cache\": {\"condition\": \"service_started\", \"required\": true}}},"
                    " \"db\": {\"image\": \"postgres\"},"
                    " \"cache\": {\"image\": \"redis\", \"depends_on\": {"
                    "   \"gone\": {\"condition\": \"service_started\", \"required\": false}}},"
                    " \"admin\": {\"image\": \"adminer\", \"depends_on\": [\"db\"]}}}");
  MTK_ASSERT(m != NULL);
  struct mtk_graph *g = mtk_graph_from_model(m, &err);
  json_decref(m);
  MTK_ASSERT(g != NULL);
  mtk_autofree char *s = dump(g);
  mtk_graph_free(g);
  MTK_ASSERT_STREQ(s, "cache:0 db:0 admin:1 web:1");
  return 0;
}

static int test_from_model_errors(void)
{
  struct mtk_err *err = NULL;
  json_t *m = parse("{\"services\": {\"web\": {\"depends_on\": {\"db\": {\"condition\":"
                    " \"service_started\"}}}}}");
  MTK_ASSERT(m != NULL);
  MTK_ASSERT(mtk_graph_from_model(m, &err) == NULL);
  json_decref(m);
  MTK_ASSERT(err != NULL);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT_STREQ(err->msg, "service \"web\" depends on unknown service \"db\"");
  mtk_err_free(&err);

  m = parse("{\"services\": {\"a\": {\"depends_on\": {\"b\": {}}}, \"b\": {\"depends_on\":"
            " {\"a\": {\"required\": true}}}}}");
  MTK_ASSERT(m != NULL);
  MTK_ASSERT(mtk_graph_from_model(m, &err) == NULL);
  json_decref(m);
  MTK_ASSERT(err != NULL);
  MTK_ASSERT_STREQ(err->msg, "dependency cycle detected: a -> b -> a");
  mtk_err_free(&err);

  /* A model without services is an empty graph. */
  m = parse("{\"name\": \"empty\"}");
  struct mtk_graph *g = mtk_graph_from_model(m, &err);
  json_decref(m);
  MTK_ASSERT(g != NULL);
  MTK_ASSERT_EQ(mtk_graph_len(g), 0);
  mtk_graph_free(g);

  m = parse("{\"services\": [1]}");
  MTK_ASSERT(mtk_graph_from_model(m, &err) == NULL);
  json_decref(m);
  MTK_ASSERT(err != NULL && err->code == MTK_E_INVALID);
  mtk_err_free(&err);
  return 0;
}

static int test_many_nodes_hash(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  char a[16];
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 500; i++) {
      snprintf(a, sizeof(a), "n%d", i);
      mtk_graph_add_node(g, a);
    }
  MTK_ASSERT_EQ(mtk_graph_len(g), 500);
  MTK_ASSERT_EQ(mtk_graph_sort(g, &err), 0);
  /* Name order (strcmp): n0 n1 n10 n100 n101 ... */
  MTK_ASSERT_STREQ(mtk_graph_at(g, 0), "n0");
  MTK_ASSERT_STREQ(mtk_graph_at(g, 2), "n10");
  MTK_ASSERT_STREQ(mtk_graph_at(g, 3), "n100");
  MTK_ASSERT(pos(g, "n499") > pos(g, "n498"));
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"diamond", test_diamond},
      {"chain", test_chain},
      {"independent nodes, idempotent add", test_independent_nodes_and_idempotence},
      {"empty graph", test_empty},
      {"levels take the longest path", test_levels_take_the_longest_path},
      {"cycle messages", test_cycle_messages},
      {"self-dependency is a cycle", test_self_cycle},
      {"1000-node chain and cycle", test_long_chain},
      {"from model", test_from_model},
      {"from model: errors", test_from_model_errors},
      {"500 nodes through the hash", test_many_nodes_hash},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
