/* Unit tests for the post-merge pipeline (src/compose/normalize*.c): go-shellwords
 * semantics, relative path resolution, Normalize (default network, resource
 * names, implicit dependencies, build args), profiles, consistency errors, pruning,
 * env_file/label_file folding and the typed JSON rendering. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/normalize.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

MTK_DEFINE_AUTOPTR(json_t, json_decref)

static struct mtk_node *model_of(const char *text)
{
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  if (j == NULL) {
    printf("# bad JSON in test: %s (line %d)\n", jerr.text, jerr.line);
    abort();
  }
  struct mtk_node *n = mtk_node_from_json(j, NULL);
  json_decref(j);
  return n;
}

/* j at a dotted path ("services.web.ports.0.published"); NULL when absent. */
static json_t *at(json_t *j, const char *path)
{
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *save = NULL;
  for (char *seg = strtok_r(copy, ".", &save); seg && j; seg = strtok_r(NULL, ".", &save)) {
    if (json_is_array(j))
      j = json_array_get(j, (size_t) atoi(seg));
    else
      j = json_object_get(j, seg);
  }
  return j;
}

static const char *str_at(json_t *j, const char *path)
{
  return json_string_value(at(j, path));
}

struct run {
  json_t *out; /* the model, or NULL */
  char *msg;   /* the error message, or NULL */
};

static void run_free(struct run *r)
{
  json_decref(r->out);
  free(r->msg);
}
#define autorun __attribute__((cleanup(run_free))) struct run

static struct mtk_strmap test_env = MTK_STRMAP_INIT;

/* mtk_compose_project_json on a JSON model with the test environment. */
static struct run project(const char *text, const char *const *profiles, size_t n_profiles,
                          bool all_resources)
{
  struct mtk_node *m = model_of(text);
  struct mtk_norm_ctx ctx = {
      .project_name = "proj",
      .workdir = "/work/proj",
      .env = &test_env,
      .profiles = profiles,
      .n_profiles = n_profiles,
      .all_resources = all_resources,
  };
  struct mtk_err *err = NULL;
  struct run r = {mtk_compose_project_json(m, &ctx, &err), NULL};
  if (r.out == NULL)
    r.msg = mtk_xstrdup(err && err->msg ? err->msg : "(no message)");
  mtk_err_free(&err);
  mtk_node_free(m);
  return r;
}

/* The words joined with '|' ("ERR" on failure). */
static char *words(const char *line)
{
  struct mtk_err *err = NULL;
  size_t n = 0;
  char **v = mtk_compose_shellwords(line, &n, &err);
  if (v == NULL) {
    mtk_err_free(&err);
    return mtk_xstrdup("ERR");
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(&sb, "%s%s", i ? "|" : "", v[i]);
  mtk_compose_strv_free(v);
  return mtk_strbuf_steal(&sb);
}

static int test_shellwords(void)
{
  static const char *const cases[][2] = {
      {"bundle exec thin -p 3000", "bundle|exec|thin|-p|3000"},
      {"echo \"hello world\" 'a b' c\\ d", "echo|hello world|a b|c d"},
      {"  spaced\t out  ", "spaced|out"},
      {"echo hi && echo bye", "echo|hi"},
      {"ls 2>/dev/null", "ls"},
      {"sh -c \"a; b\"", "sh|-c|a; b"},
      {"echo ''", "echo|"},
      {"echo $(date) `x y`", "echo|$(date)|`x y`"},
      {"'it\\'s'", "ERR"},
      {"\"open", "ERR"},
      {"a (b", "ERR"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autofree char *w = words(cases[i][0]);
    MTK_ASSERT_STREQ(w, cases[i][1]);
  }
  return 0;
}

static int test_resolve_paths(void)
{
  struct mtk_node *m =
      model_of("{\"services\": {\"web\": {"
               "  \"build\": {\"context\": \"./api\", \"additional_contexts\": {\"a\": \"../lib\","
               "             \"b\": \"docker-image://alpine\", \"c\": \"service:base\"}},"
               "  \"env_file\": [{\"path\": \"web.env\", \"required\": true}],"
               "  \"label_file\": [\"labels\"],"
               "  \"volumes\": [{\"type\": \"bind\", \"source\": \"./data\", \"target\": \"/d\"},"
               "              {\"type\": \"bind\", \"source\": \"~/cfg\", \"target\": \"/c\"},"
               "              {\"type\": \"bind\", \"source\": \"/abs/x/\", \"target\": \"/x\"},"
               "              {\"type\": \"volume\", \"source\": \"data\", \"target\": \"/v\"}]},"
               " \"remote\": {\"build\": {\"context\": \"https://github.com/a/b.git\"}}},"
               " \"secrets\": {\"s\": {\"file\": \"./secret.txt\"}},"
               " \"volumes\": {\"v\": {\"driver\": \"local\", \"driver_opts\": {\"o\": \"bind\","
               "              \"device\": \"./dev\"}}}}");
  struct mtk_strmap env = MTK_STRMAP_INIT;
  mtk_strmap_set(&env, "HOME", "/home/u");
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_compose_resolve_paths(m, "/w", &env, &err), 0);
  mtk_strmap_free(&env);
  mtk_autoptr(json_t) j = mtk_node_to_json(m);
  mtk_node_free(m);
  MTK_ASSERT_STREQ(str_at(j, "services.web.build.context"), "/w/api");
  MTK_ASSERT_STREQ(str_at(j, "services.web.build.additional_contexts.a"), "/lib");
  MTK_ASSERT_STREQ(str_at(j, "services.web.build.additional_contexts.b"), "docker-image://alpine");
  MTK_ASSERT_STREQ(str_at(j, "services.web.build.additional_contexts.c"), "service:base");
  MTK_ASSERT_STREQ(str_at(j, "services.web.env_file.0.path"), "/w/web.env");
  MTK_ASSERT_STREQ(str_at(j, "services.web.label_file.0"), "/w/labels");
  MTK_ASSERT_STREQ(str_at(j, "services.web.volumes.0.source"), "/w/data");
  MTK_ASSERT_STREQ(str_at(j, "services.web.volumes.1.source"), "/home/u/cfg");
  MTK_ASSERT_STREQ(str_at(j, "services.web.volumes.2.source"), "/abs/x/");
  MTK_ASSERT_STREQ(str_at(j, "services.web.volumes.3.source"), "data");
  MTK_ASSERT_STREQ(str_at(j, "services.remote.build.context"), "https://github.com/a/b.git");
  MTK_ASSERT_STREQ(str_at(j, "secrets.s.file"), "/w/secret.txt");
  MTK_ASSERT_STREQ(str_at(j, "volumes.v.driver_opts.device"), "/w/dev");

  struct mtk_node *bad = model_of("{\"services\": {\"w\": {\"volumes\": [{\"type\": \"bind\","
                                  " \"target\": \"/x\"}]}}}");
  MTK_ASSERT(mtk_compose_resolve_paths(bad, "/w", NULL, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "field Source must not be empty");
  mtk_err_free(&err);
  mtk_node_free(bad);
  return 0;
}

static int test_networks_and_names(void)
{
  autorun r = project("{\"services\": {"
                      " \"web\": {\"image\": \"w\", \"networks\": {\"front\": null}},"
                      " \"db\": {\"image\": \"d\"},"
                      " \"host\": {\"image\": \"h\", \"network_mode\": \"host\"}},"
                      " \"networks\": {\"front\": {}, \"ext\": {\"external\": true},"
                      "   \"named\": {\"name\": \"mine\"}, \"unused\": null},"
                      " \"volumes\": {\"data\": null}}",
                      NULL, 0, true);
  MTK_ASSERT(r.out != NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "name"), "proj");
  MTK_ASSERT_STREQ(str_at(r.out, "networks.front.name"), "proj_front");
  MTK_ASSERT_STREQ(str_at(r.out, "networks.default.name"), "proj_default");
  MTK_ASSERT_STREQ(str_at(r.out, "networks.ext.name"), "ext");
  MTK_ASSERT_STREQ(str_at(r.out, "networks.named.name"), "mine");
  MTK_ASSERT(json_is_object(at(r.out, "networks.front.ipam")));
  MTK_ASSERT_STREQ(str_at(r.out, "volumes.data.name"), "proj_data");
  MTK_ASSERT(json_is_null(at(r.out, "services.db.networks.default")));
  MTK_ASSERT(at(r.out, "services.host.networks") == NULL);
  MTK_ASSERT(json_is_null(at(r.out, "services.web.command")));
  MTK_ASSERT(json_is_null(at(r.out, "services.web.entrypoint")));

  /* without all_resources, what no service uses is pruned; no default network unless used */
  autorun p = project("{\"services\": {\"a\": {\"image\": \"a\", \"networks\": [\"n\"]}},"
                      " \"networks\": {\"n\": {}, \"unused\": {}}, \"volumes\": {\"v\": {}}}",
                      NULL, 0, false);
  MTK_ASSERT(p.out != NULL);
  MTK_ASSERT(at(p.out, "networks.n") != NULL);
  MTK_ASSERT(at(p.out, "networks.unused") == NULL);
  MTK_ASSERT(at(p.out, "networks.default") == NULL);
  MTK_ASSERT(at(p.out, "volumes") == NULL);
  return 0;
}

static int test_implicit_dependencies(void)
{
  autorun r = project("{\"services\": {"
                      " \"web\": {\"image\": \"w\", \"links\": [\"db:database\", \"cache\"],"
                      "   \"volumes_from\": [\"data:ro\", \"container:xyz\"],"
                      "   \"depends_on\": {\"db\": {\"condition\": \"service_healthy\","
                      "     \"required\": true}}},"
                      " \"side\": {\"image\": \"s\", \"network_mode\": \"service:web\"},"
                      " \"db\": {\"image\": \"d\"}, \"cache\": {\"image\": \"c\"},"
                      " \"data\": {\"image\": \"x\"}}}",
                      NULL, 0, false);
  MTK_ASSERT(r.out != NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.depends_on.db.condition"), "service_healthy");
  MTK_ASSERT(at(r.out, "services.web.depends_on.db.restart") == NULL);
  MTK_ASSERT(json_is_true(at(r.out, "services.web.depends_on.cache.restart")));
  MTK_ASSERT(json_is_true(at(r.out, "services.web.depends_on.cache.required")));
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.depends_on.data.condition"), "service_started");
  MTK_ASSERT(at(r.out, "services.web.depends_on.data.restart") == NULL);
  MTK_ASSERT(at(r.out, "services.web.depends_on.xyz") == NULL);
  MTK_ASSERT(json_is_true(at(r.out, "services.side.depends_on.web.restart")));
  MTK_ASSERT(at(r.out, "services.side.networks") == NULL);
  return 0;
}

static int test_profiles(void)
{
  const char *model = "{\"services\": {\"app\": {\"image\": \"a\"},"
                      " \"dbg\": {\"image\": \"b\", \"profiles\": [\"debug\"]},"
                      " \"docs\": {\"image\": \"c\", \"profiles\": [\"docs\", \"all\"]}}}";
  autorun none = project(model, NULL, 0, false);
  MTK_ASSERT(none.out != NULL);
  MTK_ASSERT_EQ(json_object_size(at(none.out, "services")), 1);
  const char *debug[] = {"debug"};
  autorun one = project(model, debug, 1, false);
  MTK_ASSERT(at(one.out, "services.dbg") != NULL);
  MTK_ASSERT(at(one.out, "services.docs") == NULL);
  MTK_ASSERT_STREQ(str_at(one.out, "services.dbg.profiles.0"), "debug");
  const char *star[] = {"*"};
  autorun all = project(model, star, 1, false);
  MTK_ASSERT_EQ(json_object_size(at(all.out, "services")), 3);

#define DEP_MODEL(req)                                                                             \
  "{\"services\": {\"main\": {\"image\": \"a\", \"profiles\": [\"dev\"]},"                         \
  " \"test\": {\"image\": \"a\", \"depends_on\": {\"main\": {\"condition\":"                       \
  " \"service_started\", \"required\": " req "}}}}}"
  autorun bad = project(DEP_MODEL("true"), NULL, 0, false);
  MTK_ASSERT(bad.out == NULL);
  MTK_ASSERT_CONTAINS(bad.msg, "service \"test\" depends on undefined service \"main\"");
  autorun ok = project(DEP_MODEL("false"), NULL, 0, false);
  MTK_ASSERT(ok.out != NULL);
  MTK_ASSERT(json_is_false(at(ok.out, "services.test.depends_on.main.required")));
  return 0;
}

static int expect_error(const char *model, const char *msg)
{
  autorun r = project(model, NULL, 0, false);
  if (r.out != NULL) {
    printf("#   no error for %s\n", model);
    return 1;
  }
  MTK_ASSERT_CONTAINS(r.msg, msg);
  return 0;
}

static int test_consistency(void)
{
  static const char *const cases[][2] = {
      {"{\"services\": {\"web\": {\"command\": \"echo\"}}}",
       "service \"web\" has neither an image nor a build context specified"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"networks\": {\"backend\": null}}}}",
       "service \"web\" refers to undefined network backend"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"volumes\": [{\"type\": \"volume\","
       " \"source\": \"data\", \"target\": \"/d\"}]}}}",
       "service \"web\" refers to undefined volume data"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"secrets\": [{\"source\": \"s\"}]}}}",
       "service \"web\" refers to undefined secret s"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"configs\": [\"c\"]}}}",
       "service \"web\" refers to undefined config c"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"network_mode\": \"host\","
       " \"networks\": {\"default\": null}}}}",
       "service web declares mutually exclusive `network_mode` and `networks`"},
      {"{\"services\": {\"web\": {\"image\": \"w\", \"healthcheck\": {\"test\": [\"RUN\"]}}}}",
       "healthcheck.test must start either by"},
      {"{\"services\": {\"a\": {\"image\": \"a\", \"depends_on\": {\"b\": {}}},"
       " \"b\": {\"image\": \"b\", \"depends_on\": {\"a\": {}}}}}",
       "dependency cycle detected: a -> b -> a"},
      {"{\"services\": {\"a\": {\"image\": \"a\", \"scale\": 2, \"deploy\": {\"replicas\": 3}}}}",
       "can't set distinct values on 'scale' and 'deploy.replicas'"},
      {"{\"services\": {\"a\": {\"image\": \"a\", \"mem_limit\": \"1g\", \"deploy\":"
       " {\"resources\": {\"limits\": {\"memory\": \"512m\"}}}}}}",
       "can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'"},
      {"{\"services\": {\"a\": {\"image\": \"a\", \"tmpfs\": [\"/t\"], \"volumes\":"
       " [{\"type\": \"tmpfs\", \"target\": \"/t\"}]}}}",
       "services.a.volumes[0]: target /t already mounted as services.a.tmpfs[0]"},
      {"{\"services\": {\"a\": {\"image\": \"a\", \"container_name\": \"x\"},"
       " \"b\": {\"image\": \"b\", \"container_name\": \"x\"}}}",
       "container name \"x\" is already in use by service a"},
      {"{\"services\": {\"a\": {\"image\": \"a\"}}, \"secrets\": {\"s\": {\"name\": \"x\"}}}",
       "secret \"s\" must declare either `file` or `environment`"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (expect_error(cases[i][0], cases[i][1]))
      return 1;
  return 0;
}

static int test_environment(void)
{
  autorun r = project("{\"services\": {"
                      " \"l\": {\"image\": \"i\", \"environment\": [\"A=1\", \"FROM_ENV\","
                      "   \"UNSET\", \"E=\"]},"
                      " \"m\": {\"image\": \"i\", \"environment\": {\"A\": 2, \"B\": 2.5,"
                      "   \"T\": true, \"FROM_ENV\": null, \"UNSET\": null, \"P\": null,"
                      "   \"COMPOSE_PROJECT_NAME\": null}},"
                      " \"b\": {\"build\": {\"context\": \".\", \"args\": [\"X=1\", \"FROM_ENV\","
                      "   \"UNSET\"]}}}}",
                      NULL, 0, false);
  MTK_ASSERT(r.out != NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.l.environment.A"), "1");
  MTK_ASSERT_STREQ(str_at(r.out, "services.l.environment.FROM_ENV"), "from-env");
  MTK_ASSERT(json_is_null(at(r.out, "services.l.environment.UNSET")));
  MTK_ASSERT_STREQ(str_at(r.out, "services.l.environment.E"), "");
  MTK_ASSERT_STREQ(str_at(r.out, "services.m.environment.A"), "2");
  MTK_ASSERT_STREQ(str_at(r.out, "services.m.environment.B"), "2.5");
  MTK_ASSERT_STREQ(str_at(r.out, "services.m.environment.T"), "true");
  MTK_ASSERT_STREQ(str_at(r.out, "services.m.environment.FROM_ENV"), "from-env");
  MTK_ASSERT_STREQ(str_at(r.out, "services.m.environment.COMPOSE_PROJECT_NAME"), "proj");
  MTK_ASSERT(json_is_null(at(r.out, "services.m.environment.UNSET")));
  MTK_ASSERT_STREQ(str_at(r.out, "services.b.build.args.X"), "1");
  MTK_ASSERT_STREQ(str_at(r.out, "services.b.build.args.FROM_ENV"), "from-env");
  MTK_ASSERT(at(r.out, "services.b.build.args.UNSET") == NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.b.build.dockerfile"), "Dockerfile");
  return 0;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
  char *path = mtk_xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return path;
}

static int test_env_files(void)
{
  char dir[] = "/tmp/mtk-normalize-XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  mtk_autofree char *e1 = write_file(dir, "one.env", "FOO=foo1\nBAR=bar1\nBAZ=baz1\nREF=${FOO}\n");
  mtk_autofree char *e2 = write_file(dir, "two.env", "BAR=bar2\nQUX=${SVC}\n");
  mtk_autofree char *l1 = write_file(dir, "one.label", "L1=a\nL2=b\n");
  mtk_autofree char *model = mtk_xasprintf(
      "{\"services\": {\"web\": {\"image\": \"i\", \"environment\": {\"BAZ\": \"own\","
      " \"SVC\": \"svc\"}, \"labels\": {\"L2\": \"own\"}, \"label_file\": [\"%s\"],"
      " \"env_file\": [{\"path\": \"%s\", \"required\": true}, {\"path\": \"%s\","
      " \"required\": false}, {\"path\": \"%s/missing.env\", \"required\": false}]}}}",
      l1, e1, e2, dir);
  autorun r = project(model, NULL, 0, false);
  mtk_autofree char *missing = mtk_xasprintf(
      "{\"services\": {\"web\": {\"image\": \"i\", \"env_file\": [{\"path\": \"%s/nothere.env\","
      " \"required\": true}]}}}",
      dir);
  autorun bad = project(missing, NULL, 0, false);
  unlink(e1);
  unlink(e2);
  unlink(l1);
  rmdir(dir);
  MTK_ASSERT(r.out != NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.environment.FOO"), "foo1");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.environment.BAR"), "bar2");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.environment.BAZ"), "own");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.environment.REF"), "foo1");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.environment.QUX"), "svc");
  MTK_ASSERT(at(r.out, "services.web.env_file") == NULL);
  MTK_ASSERT(at(r.out, "services.web.label_file") == NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.labels.L1"), "a");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.labels.L2"), "own");
  MTK_ASSERT(bad.out == NULL);
  MTK_ASSERT_CONTAINS(bad.msg, "nothere.env not found");
  return 0;
}

static int test_rendering(void)
{
  autorun r = project(
      "{\"services\": {\"web\": {\"image\": \"i\","
      " \"command\": \"bundle exec thin -p 3000\", \"entrypoint\": [\"/e.sh\", \"-x\"],"
      " \"ports\": [{\"target\": 80, \"published\": 8080, \"protocol\": \"tcp\","
      "   \"mode\": \"ingress\"}],"
      " \"healthcheck\": {\"test\": \"curl -f x\", \"interval\": \"90s\", \"timeout\": \"1m\","
      "   \"retries\": 0},"
      " \"stop_grace_period\": \"1h\", \"shm_size\": \"2gb\", \"cpus\": \"1.5\","
      " \"extra_hosts\": [\"b:10.0.0.2\", \"a=10.0.0.1\", \"v6=[::1]\"],"
      " \"ulimits\": {\"nproc\": 65535, \"nofile\": {\"soft\": 1, \"hard\": 2}},"
      " \"secrets\": [{\"source\": \"s\", \"mode\": 288}], \"privileged\": false,"
      " \"init\": false, \"expose\": [3000, \"4000\"], \"dns\": [\"\", \"8.8.8.8\"],"
      " \"x-ext\": 1,"
      " \"volumes\": [{\"type\": \"tmpfs\", \"target\": \"/t/\", \"tmpfs\": {\"size\": \"64m\"}},"
      "   {\"type\": \"bind\", \"source\": \"/h\", \"target\": \"/b\","
      "    \"bind\": {\"create_host_path\": false}}]}},"
      " \"secrets\": {\"s\": {\"environment\": \"SECRET\", \"content\": \"hidden\"}},"
      " \"x-top\": {\"a\": 1}}",
      NULL, 0, false);
  MTK_ASSERT(r.out != NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.command.2"), "thin");
  MTK_ASSERT_EQ(json_array_size(at(r.out, "services.web.command")), 5);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.entrypoint.1"), "-x");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.ports.0.published"), "8080");
  MTK_ASSERT_EQ(json_integer_value(at(r.out, "services.web.ports.0.target")), 80);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.healthcheck.test.0"), "CMD-SHELL");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.healthcheck.interval"), "1m30s");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.healthcheck.timeout"), "1m0s");
  MTK_ASSERT(json_is_integer(at(r.out, "services.web.healthcheck.retries")));
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.stop_grace_period"), "1h0m0s");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.shm_size"), "2147483648");
  MTK_ASSERT(json_real_value(at(r.out, "services.web.cpus")) == 1.5);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.extra_hosts.0"), "a=10.0.0.1");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.extra_hosts.1"), "b=10.0.0.2");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.extra_hosts.2"), "v6=::1");
  MTK_ASSERT_EQ(json_integer_value(at(r.out, "services.web.ulimits.nproc")), 65535);
  MTK_ASSERT_EQ(json_integer_value(at(r.out, "services.web.ulimits.nofile.hard")), 2);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.secrets.0.mode"), "0440");
  MTK_ASSERT(at(r.out, "services.web.privileged") == NULL);
  MTK_ASSERT(json_is_false(at(r.out, "services.web.init")));
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.expose.0"), "3000");
  MTK_ASSERT_EQ(json_array_size(at(r.out, "services.web.dns")), 1);
  MTK_ASSERT(at(r.out, "services.web.x-ext") == NULL);
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.volumes.0.target"), "/t");
  MTK_ASSERT_STREQ(str_at(r.out, "services.web.volumes.0.tmpfs.size"), "67108864");
  MTK_ASSERT(json_is_false(at(r.out, "services.web.volumes.1.bind.create_host_path")));
  MTK_ASSERT_STREQ(str_at(r.out, "secrets.s.environment"), "SECRET");
  MTK_ASSERT(at(r.out, "secrets.s.content") == NULL);
  MTK_ASSERT_EQ(json_integer_value(at(r.out, "x-top.a")), 1);

  autorun bad = project("{\"services\": {\"w\": {\"image\": \"i\", \"command\": \"echo 'x\"}}}",
                        NULL, 0, false);
  MTK_ASSERT(bad.out == NULL);
  MTK_ASSERT_CONTAINS(bad.msg, "services.w.command: invalid command line string");
  return 0;
}

/* Values compose-go's types reject fail the load with the attribute path, in disabled services
 * and unused resources too, and before any consistency error. */
static int test_decode_errors(void)
{
  static const char *const cases[][2] = {
      {"{\"services\": {\"a\": {\"image\": \"i\", \"privileged\": \"maybe\"}}}",
       "services.a.privileged: invalid boolean: maybe"},
      {"{\"services\": {\"a\": {\"image\": \"i\", \"secrets\": [{\"source\": \"s\","
       " \"mode\": \"0999\"}]}}, \"secrets\": {\"s\": {\"file\": \"/s\"}}}",
       "services.a.secrets[0].mode: strconv.ParseInt: parsing \"0999\": invalid syntax"},
      {"{\"services\": {\"a\": {\"image\": \"i\", \"extra_hosts\": [\"nohost\"]}}}",
       "services.a.extra_hosts: invalid additional host, missing IP: nohost"},
      {"{\"services\": {\"a\": {\"image\": \"i\", \"ulimits\": {\"nofile\": {\"soft\": 1,"
       " \"hard\": \"zz\"}}}}}",
       "services.a.ulimits.nofile.hard: strconv.Atoi: parsing \"zz\": invalid syntax"},
      {"{\"services\": {\"a\": {\"image\": \"i\", \"post_start\": [{\"command\": \"x\","
       " \"environment\": [\"X =1\"]}]}}}",
       "services.a.post_start[0].environment: environment variable X  is declared with a "
       "trailing space"},
      {"{\"services\": {\"a\": {\"image\": \"i\"}, \"b\": {\"image\": \"i\","
       " \"profiles\": [\"p\"], \"stop_grace_period\": \"5x\"}}}",
       "services.b.stop_grace_period: time: unknown unit \"x\" in duration \"5x\""},
      {"{\"services\": {\"a\": {\"image\": \"i\"}}, \"networks\": {\"n\":"
       " {\"internal\": \"perhaps\"}}}",
       "networks.n.internal: invalid boolean: perhaps"},
      {"{\"services\": {\"a\": {\"image\": \"i\", \"networks\": {\"nope\": null},"
       " \"healthcheck\": {\"interval\": \"10x\"}}}}",
       "services.a.healthcheck.interval: time: unknown unit"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    autorun r = project(cases[i][0], NULL, 0, false);
    MTK_ASSERT(r.out == NULL);
    MTK_ASSERT_CONTAINS(r.msg, cases[i][1]);
  }
  return 0;
}

int main(void)
{
  mtk_strmap_set(&test_env, "FROM_ENV", "from-env");
  mtk_strmap_set(&test_env, "COMPOSE_PROJECT_NAME", "not-this-one");
  static const struct mtk_test tests[] = {
      {"shellwords", test_shellwords},
      {"resolve_paths", test_resolve_paths},
      {"networks_and_names", test_networks_and_names},
      {"implicit_dependencies", test_implicit_dependencies},
      {"profiles", test_profiles},
      {"consistency", test_consistency},
      {"environment", test_environment},
      {"env_files", test_env_files},
      {"rendering", test_rendering},
      {"decode_errors", test_decode_errors},
      {NULL, NULL},
  };
  int rc = mtk_test_main(tests);
  mtk_strmap_free(&test_env);
  return rc;
}
