/* Unit tests for the Compose JSON schema validator (src/compose/schema*.c):
 * compose-go's error texts and choice of error, short/long syntaxes,
 * patternProperties, the conformance cases, and speed. */
#include "config.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compose/internal.h"
#include "compose/node.h"
#include "compose/schema.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* The shared vectors: $MTK_CONFORMANCE_DIR/compose, else, as the build's
 * default, <source dir>/../shared/conformance/compose (found from __FILE__,
 * <source dir>/tests/unit/test_compose_schema.c). */
static const char *conformance_dir(void)
{
  static char buf[4096];
  const char *d = getenv("MTK_CONFORMANCE_DIR");
  if (d && *d) {
    snprintf(buf, sizeof(buf), "%s/compose", d);
    return buf;
  }
  snprintf(buf, sizeof(buf), "%s", __FILE__);
  for (int i = 0; i < 3; i++) {
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
      return "../shared/conformance/compose";
    *slash = '\0';
  }
  size_t len = strlen(buf);
  snprintf(buf + len, sizeof(buf) - len, "/../shared/conformance/compose");
  return buf;
}

static struct mtk_node *yaml(const char *text)
{
  struct mtk_err *err = NULL;
  struct mtk_node *n = mtk_compose_yaml_parse("test.yaml", text, strlen(text), &err);
  if (n == NULL) {
    printf("# yaml: %s\n", err->msg);
    mtk_err_free(&err);
  }
  return n;
}

/* Validates YAML text; returns the error message (caller frees) or NULL. */
static char *validate_text(const char *text, struct mtk_err **out)
{
  mtk_autoptr(mtk_node) n = yaml(text);
  if (n == NULL)
    return mtk_xstrdup("(yaml error)");
  struct mtk_err *err = NULL;
  if (mtk_compose_schema_validate(n, &err) == 0)
    return NULL;
  char *msg = mtk_xstrdup(err->msg);
  if (out)
    *out = err;
  else
    mtk_err_free(&err);
  return msg;
}

#define ASSERT_VALID(text)                                                                         \
  do {                                                                                             \
    mtk_autofree char *m_ = validate_text(text, NULL);                                             \
    if (m_) {                                                                                      \
      printf("#   %s:%d: unexpected error: %s\n", __FILE__, __LINE__, m_);                         \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define ASSERT_INVALID(text, msg)                                                                  \
  do {                                                                                             \
    mtk_autofree char *m_ = validate_text(text, NULL);                                             \
    MTK_ASSERT_STREQ(m_, msg);                                                                     \
  } while (0)

static int test_schema_compiles(void)
{
  struct mtk_err *err = NULL;
  int r = mtk_compose_schema_compile(&err);
  if (r < 0)
    printf("# %s\n", err->msg);
  mtk_err_free(&err);
  MTK_ASSERT_EQ(r, 0);
  return 0;
}

static int test_minimal_documents(void)
{
  ASSERT_VALID("services:\n  web:\n    image: nginx\n");
  ASSERT_VALID("name: x\n");
  ASSERT_VALID("{}\n");
  ASSERT_VALID("x-extra-stuff: {a: [1, 2]}\nservices: {}\n");
  return 0;
}

static int test_top_level(void)
{
  ASSERT_INVALID("helicopters:\n  foo: {image: busybox}\n",
                 " additional properties 'helicopters' not allowed");
  ASSERT_INVALID("- hello\n", "top-level object must be a mapping");
  ASSERT_INVALID("hello\n", "top-level object must be a mapping");
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_compose_schema_validate(NULL, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "top-level object must be a mapping");
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  mtk_err_free(&err);
  ASSERT_INVALID("services:\n  - foo:\n      image: busybox\n", "services must be a mapping");
  ASSERT_INVALID("name: [a]\n", "name must be a string");
  ASSERT_INVALID("networks: [a]\n", "networks must be a mapping");
  return 0;
}

static int test_unknown_attribute_position(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *m = validate_text("name: typo\nservices:\n  web:\n    image: nginx\n"
                                       "    imagee: nginx\n    foo: 1\n",
                                       &err);
  MTK_ASSERT_STREQ(m, "services.web additional properties 'imagee', 'foo' not allowed");
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT_STREQ(err->file, "test.yaml");
  MTK_ASSERT_EQ(err->line, 5);
  MTK_ASSERT_EQ(err->col, 5);
  mtk_err_free(&err);
  return 0;
}

static int test_type_errors(void)
{
  ASSERT_INVALID("services:\n  web:\n    image: 1\n", "services.web.image must be a string");
  ASSERT_INVALID("services:\n  web:\n    image: [a]\n", "services.web.image must be a string");
  ASSERT_INVALID("services:\n  web:\n    privileged: [yes]\n",
                 "services.web.privileged must be a boolean or string");
  ASSERT_INVALID("services:\n  web: [a]\n", "services.web must be a mapping");
  ASSERT_INVALID("services:\n  web:\n    environment:\n      FOO: [\"1\"]\n",
                 "services.web.environment.FOO must be a boolean, null, number or string");
  ASSERT_INVALID("services:\n  web:\n    environment:\n      FOO: {a: 1}\n",
                 "services.web.environment.FOO must be a boolean, null, number or string");
  /* 1.0 is an integer after compose-go's JSON round trip, 1.5 is not */
  ASSERT_VALID("services:\n  web:\n    cpu_count: 1.0\n");
  ASSERT_INVALID("services:\n  web:\n    cpu_count: 1.5\n",
                 "services.web.cpu_count must be a string");
  ASSERT_VALID("services:\n  web:\n    environment:\n      A: 1\n      B: true\n      C:\n"
               "      D: 1.5\n      E: x\n");
  return 0;
}

static int test_pattern_properties(void)
{
  ASSERT_VALID("services:\n  web:\n    image: a\n    x-anything: {nested: [1]}\n"
               "volumes:\n  data:\n    x-foo: 1\nnetworks:\n  n:\n    x-bar: [1]\n"
               "configs:\n  c:\n    x-c: {}\nsecrets:\n  s:\n    x-s: null\n");
  ASSERT_VALID("services:\n  web.1_a-b:\n    image: a\n");
  ASSERT_INVALID("services:\n  web app:\n    image: a\n",
                 "services additional properties 'web app' not allowed");
  ASSERT_INVALID("volumes:\n  \"d/x\": {}\n", "volumes additional properties 'd/x' not allowed");
  /* "^x-" is a prefix: "ax-" is not an extension; ".+" rejects the empty key */
  ASSERT_INVALID("ax-b: 1\n", " additional properties 'ax-b' not allowed");
  ASSERT_INVALID("services:\n  web:\n    environment:\n      \"\": a\n",
                 "services.web.environment additional properties '' not allowed");
  /* Go's '.' does not match a newline; quoting as the library does */
  ASSERT_INVALID("services:\n  web:\n    environment:\n      \"\\n\": a\n",
                 "services.web.environment additional properties '\\n' not allowed");
  ASSERT_VALID("services:\n  web:\n    environment:\n      \"a\\nb\": a\n");
  ASSERT_INVALID("\"it's\": 1\n", " additional properties 'it\\'s' not allowed");
  return 0;
}

static int test_one_of_syntaxes(void)
{
  ASSERT_VALID("services:\n  web:\n    ports:\n      - \"8000:8000\"\n      - 9000\n"
               "      - target: 80\n        published: \"8080\"\n        protocol: tcp\n"
               "        mode: host\n");
  ASSERT_VALID("services:\n  web:\n    build: .\n    volumes:\n      - ./a:/a:ro\n"
               "      - type: bind\n        source: ./b\n        target: /b\n"
               "        bind: {create_host_path: true}\n");
  ASSERT_VALID("services:\n  web:\n    build:\n      context: .\n      args: [A=1]\n"
               "    depends_on: [db]\n    environment: [A=1, B]\n  db:\n    image: x\n"
               "    depends_on:\n      web: {condition: service_started}\n");
  ASSERT_INVALID("services:\n  web:\n    ports:\n      - target: 80\n        foo: 1\n",
                 "services.web.ports.0 additional properties 'foo' not allowed");
  ASSERT_INVALID("services:\n  web:\n    ports:\n      - target: [80]\n",
                 "services.web.ports.0.target must be a integer or string");
  ASSERT_INVALID("services:\n  web:\n    build:\n      context: .\n      dockerfil: x\n",
                 "services.web.build additional properties 'dockerfil' not allowed");
  /* equally specific branch errors: the first branch's wins */
  ASSERT_INVALID("services:\n  web:\n    environment: [A=1, A=1]\n",
                 "services.web.environment must be a mapping");
  ASSERT_INVALID("services:\n  web:\n    cpu_count: -1\n",
                 "services.web.cpu_count must be a string");
  ASSERT_INVALID("services:\n  web:\n    depends_on:\n      db: {condition: sometime}\n",
                 "services.web.depends_on.db.condition value must be one of 'service_started', "
                 "'service_healthy', 'service_completed_successfully'");
  return 0;
}

static int test_keywords(void)
{
  ASSERT_INVALID("services:\n  web:\n    cgroup: foo\n",
                 "services.web.cgroup value must be one of 'host', 'private'");
  ASSERT_INVALID("services:\n  web:\n    provider: {options: {}}\n",
                 "services.web.provider missing property 'type'");
  ASSERT_INVALID("services:\n  web:\n    develop:\n      watch:\n        - target: /x\n",
                 "services.web.develop.watch.0 missing properties 'path', 'action'");
  ASSERT_INVALID("services:\n  web:\n    pull_policy: sometimes\n",
                 "services.web.pull_policy 'sometimes' does not match pattern "
                 "'always|never|build|if_not_present|missing|refresh|daily|weekly|"
                 "every_([0-9]+[wdhms])+'");
  ASSERT_VALID("services:\n  web:\n    pull_policy: every_12h\n");
  ASSERT_INVALID("services:\n  web:\n    container_name: a\n",
                 "services.web.container_name 'a' does not match pattern "
                 "'[a-zA-Z0-9][a-zA-Z0-9_.-]+'");
  ASSERT_VALID("services:\n  web:\n    container_name: -ab\n"); /* unanchored, as in Go */
  ASSERT_INVALID("services:\n  web:\n    cap_add: [a, b, c, b, a]\n",
                 "services.web.cap_add items at 1 and 3 are equal");
  ASSERT_INVALID("services:\n  web:\n    expose: [80, \"80\", 80.0]\n",
                 "services.web.expose items at 0 and 2 are equal");
  ASSERT_VALID("services:\n  web:\n    cap_add: [a, b]\n    dns: [a, b]\n");
  /* inside a oneOf the string branch's type error comes first */
  ASSERT_INVALID("services:\n  web:\n    dns: [a, a]\n", "services.web.dns must be a string");
  ASSERT_INVALID("services:\n  web:\n    oom_score_adj: 1001\n",
                 "services.web.oom_score_adj must be a string");
  return 0;
}

static int test_non_finite_numbers(void)
{
  ASSERT_INVALID("services:\n  web:\n    cpus: .inf\n  a:\n    cpus: .nan\n",
                 "json: unsupported value: NaN");
  ASSERT_INVALID("x-a: -.inf\n", "json: unsupported value: -Inf");
  return 0;
}

/* --- conformance cases -------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    mtk_strbuf_add(&sb, buf, n);
  fclose(f);
  *len = sb.len;
  return mtk_strbuf_steal(&sb);
}

/* What compose-go's ResetProcessor does while decoding a file: entries
 * tagged !reset are dropped before the file is merged and validated. */
static void drop_reset(struct mtk_node *n)
{
  if (n->kind == MTK_NODE_SCALAR)
    return;
  for (size_t i = 0; i < n->len;) {
    struct mtk_node *v = n->kind == MTK_NODE_MAP ? n->pairs[i].val : n->items[i];
    if (!mtk_node_has_tag(v, "!reset")) {
      drop_reset(v);
      i++;
    } else if (n->kind == MTK_NODE_MAP) {
      mtk_node_del(n, n->pairs[i].key);
    } else {
      mtk_node_free(v);
      memmove(&n->items[i], &n->items[i + 1], (n->len - i - 1) * sizeof(n->items[0]));
      n->len--;
    }
  }
}

/* Validates every document of a YAML file; returns the first error message. */
static char *validate_file(const char *path, int *ndocs)
{
  size_t len;
  mtk_autofree char *text = read_file(path, &len);
  if (text == NULL)
    return mtk_xasprintf("cannot read %s", path);
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) docs = mtk_compose_yaml_parse_all(path, text, len, &err);
  if (docs == NULL) {
    char *m = mtk_xasprintf("yaml: %s", err->msg);
    mtk_err_free(&err);
    return m;
  }
  for (size_t i = 0; i < docs->len; i++) {
    (*ndocs)++;
    drop_reset(docs->items[i]);
    if (mtk_compose_schema_validate(docs->items[i], &err) < 0) {
      char *m = mtk_xstrdup(err->msg);
      mtk_err_free(&err);
      return m;
    }
  }
  return NULL;
}

static int check_error_case(const char *id, const char *want)
{
  mtk_autofree char *path = mtk_xasprintf("%s/cases/%s/compose.yaml", conformance_dir(), id);
  mtk_autofree char *exp_path =
      mtk_xasprintf("%s/cases/%s/expected-error.txt", conformance_dir(), id);
  size_t len;
  mtk_autofree char *expected = read_file(exp_path, &len);
  if (expected == NULL)
    return 77;
  int ndocs = 0;
  mtk_autofree char *msg = validate_file(path, &ndocs);
  MTK_ASSERT_STREQ(msg, want);
  for (char *save = NULL, *line = strtok_r(expected, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save))
    MTK_ASSERT_CONTAINS(msg, line);
  return 0;
}

static int test_conformance_errors(void)
{
  struct stat st;
  if (stat(conformance_dir(), &st) != 0)
    return 77;
  int r;
  if ((r = check_error_case("invalid-unknown-attribute",
                            "services.web additional properties 'imagee' not allowed")))
    return r;
  if ((r = check_error_case("invalid-environment-value-type",
                            "services.dict-env.environment.FOO must be a boolean, null, number "
                            "or string")))
    return r;
  if ((r = check_error_case("invalid-services-not-mapping", "services must be a mapping")))
    return r;
  return check_error_case("invalid-top-level-not-mapping", "top-level object must be a mapping");
}

static bool expects_success(const char *case_dir)
{
  mtk_autofree char *p = mtk_xasprintf("%s/case.json", case_dir);
  json_t *j = json_load_file(p, 0, NULL);
  bool ok = j && json_is_string(json_object_get(j, "expect")) &&
            strcmp(json_string_value(json_object_get(j, "expect")), "success") == 0;
  json_decref(j);
  return ok;
}

static bool is_yaml_name(const char *name)
{
  size_t n = strlen(name);
  return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Every YAML file under dir (sub-directories included); returns failures. */
static int validate_tree(const char *dir, int *nfiles, int *ndocs)
{
  DIR *d = opendir(dir);
  if (d == NULL)
    return 0;
  int failures = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      failures += validate_tree(p, nfiles, ndocs);
      continue;
    }
    if (!is_yaml_name(e->d_name))
      continue;
    (*nfiles)++;
    mtk_autofree char *msg = validate_file(p, ndocs);
    if (msg) {
      printf("#   %s: %s\n", p, msg);
      failures++;
    }
  }
  closedir(d);
  return failures;
}

static int test_conformance_valid_files(void)
{
  mtk_autofree char *cases = mtk_xasprintf("%s/cases", conformance_dir());
  DIR *d = opendir(cases);
  if (d == NULL)
    return 77;
  int failures = 0, nfiles = 0, ndocs = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    mtk_autofree char *dir = mtk_xasprintf("%s/%s", cases, e->d_name);
    if (expects_success(dir))
      failures += validate_tree(dir, &nfiles, &ndocs);
  }
  closedir(d);
  mtk_autofree char *full = mtk_xasprintf("%s/vectors/full-example", conformance_dir());
  failures += validate_tree(full, &nfiles, &ndocs);
  printf("# %d files, %d documents validated\n", nfiles, ndocs);
  MTK_ASSERT(nfiles >= 30);
  MTK_ASSERT_EQ(failures, 0);
  return 0;
}

/* --- speed ------------------------------------------------------------------ */

static char *big_document(int services)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "name: big\nservices:\n");
  for (int i = 0; i < services; i++) {
    mtk_strbuf_addf(&sb,
                    "  svc%d:\n    image: nginx:1.%d\n    restart: always\n"
                    "    ports:\n      - \"80%02d:80\"\n      - target: 443\n"
                    "        published: \"84%02d\"\n    environment:\n      A: \"1\"\n"
                    "      B: 2\n    volumes:\n      - ./d%d:/d\n    depends_on: [svc0]\n"
                    "    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 10s\n"
                    "    labels: [a=b]\n    x-meta: {k: v}\n",
                    i, i, i, i, i);
  }
  mtk_strbuf_adds(&sb, "volumes:\n  data: {}\nnetworks:\n  front: {driver: bridge}\n");
  return mtk_strbuf_steal(&sb);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int test_speed(void)
{
  mtk_autofree char *text = big_document(25); /* about 550 lines */
  mtk_autoptr(mtk_node) n = yaml(text);
  MTK_ASSERT(n != NULL);
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_compose_schema_compile(&err), 0);
  double best = 1e9;
  for (int i = 0; i < 5; i++) {
    double t0 = now_ms();
    int r = mtk_compose_schema_validate(n, &err);
    double t = now_ms() - t0;
    if (r < 0) {
      printf("# %s\n", err->msg);
      mtk_err_free(&err);
    }
    MTK_ASSERT_EQ(r, 0);
    best = t < best ? t : best;
  }
  printf("# 550-line document validated in %.3f ms\n", best);
  MTK_ASSERT(best < 10.0);
  /* the whole tree was visited: an error deep in the last service is found */
  struct mtk_node *svc = mtk_node_get(mtk_node_get(n, "services"), "svc24");
  MTK_ASSERT(svc != NULL);
  struct mtk_node *port = mtk_node_get(svc, "ports")->items[1];
  mtk_node_set(port, "published", mtk_node_new_bool(true, NULL));
  MTK_ASSERT(mtk_compose_schema_validate(n, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "services.svc24.ports.1.published must be a integer or string");
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"schema compiles", test_schema_compiles},
      {"minimal documents", test_minimal_documents},
      {"top level", test_top_level},
      {"unknown attribute position", test_unknown_attribute_position},
      {"type errors", test_type_errors},
      {"pattern properties", test_pattern_properties},
      {"oneOf short and long syntaxes", test_one_of_syntaxes},
      {"keywords", test_keywords},
      {"non-finite numbers", test_non_finite_numbers},
      {"conformance error cases", test_conformance_errors},
      {"conformance valid files", test_conformance_valid_files},
      {"speed", test_speed},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
