/* Unit tests for the canonical form, defaults and validation of the compose
 * model (src/compose/canonical*.c, defaults.c, validate.c), and of the typed
 * JSON rendering that follows them (mtk_compose_project_json): YAML snippet ->
 * pipeline -> JSON of a sub-tree, compared with the JSON compose-go produces
 * (expectations from the conformance cases and compose-go's transform tests). */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "compose/internal.h"
#include "compose/node.h"
#include "compose/normalize.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"

static struct mtk_node *parse(const char *yaml)
{
  struct mtk_err *err = NULL;
  struct mtk_node *n = mtk_compose_yaml_parse("t.yaml", yaml, strlen(yaml), &err);
  if (n == NULL) {
    printf("#   yaml: %s\n", err->msg);
    mtk_err_free(&err);
  }
  return n;
}

static bool same_json(const struct mtk_node *a, const struct mtk_node *b)
{
  json_t *ja = mtk_node_to_json(a), *jb = mtk_node_to_json(b);
  bool eq = json_equal(ja, jb);
  json_decref(ja);
  json_decref(jb);
  return eq;
}

enum stage { CANONICAL, DEFAULTS, RENDER };

/* The loader's order: canonical + omit_empty per file, then defaults and
 * validation, then the JSON model (Normalize, no consistency checks, every
 * resource kept).  Canonical runs twice to check it leaves its own output
 * alone.  Returns the JSON of the tree after the stage, or NULL with *err. */
static json_t *run(struct mtk_node *root, enum stage upto, struct mtk_err **err)
{
  if (mtk_compose_canonical(root, err) < 0)
    return NULL;
  mtk_compose_omit_empty(root);
  mtk_autoptr(mtk_node) once = mtk_node_copy(root);
  if (mtk_compose_canonical(root, err) < 0)
    return NULL;
  if (!same_json(once, root)) {
    printf("#   canonical is not idempotent\n");
    mtk_err_set(err, MTK_E_GENERIC, "not idempotent");
    return NULL;
  }
  if (upto == CANONICAL)
    return mtk_node_to_json(root);
  if (mtk_compose_defaults(root, err) < 0 || mtk_compose_validate(root, err) < 0)
    return NULL;
  if (upto == DEFAULTS)
    return mtk_node_to_json(root);
  struct mtk_norm_ctx ctx = {
      .project_name = "p", .workdir = "/w", .no_consistency = true, .all_resources = true};
  return mtk_compose_project_json(root, &ctx, err);
}

/* JSON at a dotted path of object keys and array indexes ("services.app.ports.0");
 * borrowed. */
static json_t *at(json_t *j, const char *path)
{
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *save = NULL;
  for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
    j = json_is_array(j) ? json_array_get(j, strtoul(k, NULL, 10)) : json_object_get(j, k);
  return j;
}

static int check(const char *yaml, enum stage upto, const char *path, const char *want_text)
{
  mtk_autoptr(mtk_node) root = parse(yaml);
  struct mtk_err *err = NULL;
  MTK_ASSERT(root != NULL);
  json_t *out = run(root, upto, &err);
  if (out == NULL) {
    printf("#   error: %s\n", err->msg);
    mtk_err_free(&err);
    return 1;
  }
  json_error_t je;
  json_t *want = json_loads(want_text, JSON_DECODE_ANY, &je);
  if (want == NULL) {
    printf("#   bad expected JSON: %s\n", je.text);
    json_decref(out);
    return 1;
  }
  json_t *got = json_incref(at(out, path));
  json_decref(out);
  int rc = 0;
  if (!json_equal(want, got)) {
    mtk_autofree char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    mtk_autofree char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    printf("#   %s:\n#     got  %s\n#     want %s\n", path, g, w);
    rc = 1;
  }
  json_decref(want);
  json_decref(got);
  return rc;
}

/* The pipeline must fail with a message containing want (and a position). */
static int check_err(const char *yaml, enum stage upto, const char *want)
{
  mtk_autoptr(mtk_node) root = parse(yaml);
  struct mtk_err *err = NULL;
  MTK_ASSERT(root != NULL);
  MTK_ASSERT(run(root, upto, &err) == NULL);
  MTK_ASSERT_CONTAINS(err->msg, want);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT(err->line > 0);
  mtk_err_free(&err);
  return 0;
}

#define CHECK(yaml, upto, path, want) MTK_ASSERT_EQ(check(yaml, upto, path, want), 0)
#define CHECK_ERR(yaml, upto, want) MTK_ASSERT_EQ(check_err(yaml, upto, want), 0)

static int test_ports_short(void)
{
  CHECK("services:\n  app:\n    ports:\n"
        "      - \"3000\"\n      - \"3001-3002\"\n      - \"8000:8000\"\n"
        "      - \"9090-9091:8080-8081\"\n      - \"127.0.0.1:5000-5001:5000-5001\"\n"
        "      - \"6060:6060/udp\"\n      - 8600\n      - \"[::1]:53:53/udp\"\n",
        RENDER, "services.app.ports",
        "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":3000},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":3001},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":3002},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8000\",\"target\":8000},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"9090\",\"target\":8080},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"9091\",\"target\":8081},"
        "{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"tcp\","
        "\"published\":\"5000\",\"target\":5000},"
        "{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"tcp\","
        "\"published\":\"5001\",\"target\":5001},"
        "{\"mode\":\"ingress\",\"protocol\":\"udp\",\"published\":\"6060\",\"target\":6060},"
        "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":8600},"
        "{\"host_ip\":\"::1\",\"mode\":\"ingress\",\"protocol\":\"udp\",\"published\":\"53\","
        "\"target\":53}]");
  return 0;
}

static int test_ports_long(void)
{
  CHECK("services:\n  app:\n    ports:\n"
        "      - target: 80\n        published: 8080\n"
        "      - target: \"443\"\n        published: \"8443\"\n        mode: host\n"
        "        host_ip: 127.0.0.1\n"
        "      - name: web\n        target: 5000\n        app_protocol: http\n"
        "      - target: 53\n        protocol: udp\n        published: 5000-5010\n",
        RENDER, "services.app.ports",
        "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8080\",\"target\":80},"
        "{\"host_ip\":\"127.0.0.1\",\"mode\":\"host\",\"protocol\":\"tcp\","
        "\"published\":\"8443\",\"target\":443},"
        "{\"app_protocol\":\"http\",\"mode\":\"ingress\",\"name\":\"web\",\"protocol\":\"tcp\","
        "\"target\":5000},"
        "{\"mode\":\"ingress\",\"protocol\":\"udp\",\"published\":\"5000-5010\",\"target\":53}]");
  /* canonical alone: no defaults yet */
  CHECK("services:\n  app:\n    ports:\n      - target: 80\n", CANONICAL, "services.app.ports",
        "[{\"target\":80}]");
  return 0;
}

static int test_ports_errors(void)
{
  CHECK_ERR("services:\n  web:\n    ports:\n      - \"80:80:80/tcpx\"\n", CANONICAL,
            "services.web.ports[0]: invalid port \"80:80:80/tcpx\": Invalid ip address: 80");
  CHECK_ERR("services:\n  web:\n    ports:\n      - \"80/tcpx\"\n", CANONICAL,
            "Invalid proto: tcpx");
  CHECK_ERR("services:\n  web:\n    ports:\n      - [1]\n", CANONICAL,
            "services.web.ports[0]: invalid type []interface {} for port");
  CHECK_ERR("services:\n  web:\n    ports:\n      - target: 80\n        host_ip: nope\n", DEFAULTS,
            "services.web.ports[0]: invalid ip address: nope");
  return 0;
}

static int test_volumes(void)
{
  CHECK("services:\n  app:\n    volumes:\n"
        "      - /var/lib/anon\n      - ./src:/app/src\n      - ./shared:/shared/:ro\n"
        "      - /opt/data:/var/lib/data:z\n      - ~/configs:/etc/configs:ro\n"
        "      - data:/var/lib/db\n      - cache:/cache:nocopy\n"
        "      - /a:/b//c/../d:rshared\n",
        DEFAULTS, "services.app.volumes",
        "[{\"target\":\"/var/lib/anon\",\"type\":\"volume\",\"volume\":{}},"
        "{\"bind\":{\"create_host_path\":true},\"source\":\"./src\",\"target\":\"/app/src\","
        "\"type\":\"bind\"},"
        "{\"bind\":{\"create_host_path\":true},\"read_only\":true,\"source\":\"./shared\","
        "\"target\":\"/shared\",\"type\":\"bind\"},"
        "{\"bind\":{\"create_host_path\":true,\"selinux\":\"z\"},\"source\":\"/opt/data\","
        "\"target\":\"/var/lib/data\",\"type\":\"bind\"},"
        "{\"bind\":{\"create_host_path\":true},\"read_only\":true,\"source\":\"~/configs\","
        "\"target\":\"/etc/configs\",\"type\":\"bind\"},"
        "{\"source\":\"data\",\"target\":\"/var/lib/db\",\"type\":\"volume\",\"volume\":{}},"
        "{\"source\":\"cache\",\"target\":\"/cache\",\"type\":\"volume\","
        "\"volume\":{\"nocopy\":true}},"
        "{\"bind\":{\"create_host_path\":true,\"propagation\":\"rshared\"},\"source\":\"/a\","
        "\"target\":\"/b/d\",\"type\":\"bind\"}]");
  /* long syntax is kept; defaults add create_host_path only where bind is given */
  static const char *long_syntax = "services:\n  app:\n    volumes:\n"
                                   "      - type: bind\n        source: ./data\n"
                                   "        target: /data/\n"
                                   "        bind:\n          propagation: rshared\n"
                                   "      - type: tmpfs\n        target: /tmp/cache\n"
                                   "        tmpfs:\n          size: 64m\n          mode: 1777\n";
  CHECK(long_syntax, DEFAULTS, "services.app.volumes.0.bind",
        "{\"create_host_path\":true,\"propagation\":\"rshared\"}");
  /* rendered: the target cleaned (Normalize), create_host_path (OptOut) printed only
   * when false, byte sizes in bytes */
  CHECK(long_syntax, RENDER, "services.app.volumes",
        "[{\"bind\":{\"propagation\":\"rshared\"},"
        "\"source\":\"./data\",\"target\":\"/data\",\"type\":\"bind\"},"
        "{\"target\":\"/tmp/cache\",\"tmpfs\":{\"mode\":1777,\"size\":\"67108864\"},"
        "\"type\":\"tmpfs\"}]");
  CHECK_ERR("services:\n  app:\n    volumes:\n      - \"/a::/b\"\n", CANONICAL,
            "services.app.volumes[0]: invalid spec: /a::/b: empty section between colons");
  return 0;
}

static int test_build(void)
{
  CHECK("services:\n  api:\n    build: ./api\n", DEFAULTS, "services.api.build",
        "{\"context\":\"./api\"}");
  CHECK("services:\n  inline:\n    build:\n      dockerfile_inline: FROM alpine\n", DEFAULTS,
        "services.inline.build", "{\"context\":\".\",\"dockerfile_inline\":\"FROM alpine\"}");
  CHECK("services:\n  w:\n    build:\n      context: ./w\n      args:\n"
        "        - PYTHON_VERSION=3.12\n        - FROM_ENV\n      labels: [FOO=BAR, EMPTY]\n"
        "      ssh: [default, key=/k]\n      secrets: [s1]\n"
        "      additional_contexts: [foo=./bar]\n      provenance: true\n",
        DEFAULTS, "services.w.build",
        "{\"context\":\"./w\",\"args\":{\"PYTHON_VERSION\":\"3.12\",\"FROM_ENV\":null},"
        "\"labels\":{\"FOO\":\"BAR\",\"EMPTY\":\"\"},\"ssh\":{\"default\":null,\"key\":\"/k\"},"
        "\"secrets\":[{\"source\":\"s1\"}],\"additional_contexts\":{\"foo\":\"./bar\"},"
        "\"provenance\":\"true\"}");
  CHECK_ERR("services:\n  w:\n    build:\n      ssh: [nokey]\n", CANONICAL,
            "services.w.build.ssh: invalid ssh key \"nokey\"");
  CHECK_ERR("services:\n  w:\n    build:\n      additional_contexts: [foo]\n", CANONICAL,
            "services.w.build.additional_contexts: invalid value foo, expected key=value");
  CHECK_ERR("services:\n  w:\n    build: 3\n", CANONICAL,
            "services.w.build: invalid type int for build");
  return 0;
}

static int test_depends_on(void)
{
  CHECK("services:\n  web:\n    depends_on: [db, cache]\n", CANONICAL, "services.web.depends_on",
        "{\"db\":{\"condition\":\"service_started\",\"required\":true},"
        "\"cache\":{\"condition\":\"service_started\",\"required\":true}}");
  CHECK("services:\n  web:\n    depends_on:\n      db:\n        condition: service_healthy\n"
        "        restart: true\n      cache:\n        required: false\n",
        RENDER, "services.web.depends_on",
        "{\"db\":{\"condition\":\"service_healthy\",\"required\":true,\"restart\":true},"
        "\"cache\":{\"condition\":\"service_started\",\"required\":false}}");
  CHECK_ERR("services:\n  web:\n    depends_on:\n      db: yes\n", CANONICAL,
            "services.web.depends_on.db: unsupported value");
  return 0;
}

static int test_environment(void)
{
  static const char *want = "{\"FOO\":\"1\",\"BAR\":\"2\",\"GA\":\"2.5\",\"BU\":\"\","
                            "\"ZO\":null,\"MEU\":null}";
  CHECK("services:\n  e:\n    environment:\n      FOO: \"1\"\n      BAR: 2\n      GA: 2.5\n"
        "      BU: \"\"\n      ZO:\n      MEU:\n",
        RENDER, "services.e.environment", want);
  CHECK("services:\n  e:\n    environment:\n      - FOO=1\n      - BAR=2\n      - GA=2.5\n"
        "      - BU=\n      - ZO\n      - MEU\n",
        RENDER, "services.e.environment", want);
  CHECK("services:\n  e:\n    environment:\n      T: true\n      F: false\n      X: 1.0\n"
        "      O: 0x1F\n      E: a=b=c\n",
        CANONICAL, "services.e.environment",
        "{\"T\":\"true\",\"F\":\"false\",\"X\":\"1\",\"O\":\"31\",\"E\":\"a=b=c\"}");
  CHECK_ERR("services:\n  e:\n    environment:\n      - \"FOO =1\"\n", CANONICAL,
            "environment variable FOO  is declared with a trailing space");
  /* labels: a bare key and a null are "" */
  CHECK("services:\n  e:\n    labels:\n      - a=b\n      - c\n    annotations:\n      x:\n"
        "      n: 42\n",
        CANONICAL, "services.e",
        "{\"labels\":{\"a\":\"b\",\"c\":\"\"},"
        "\"annotations\":{\"x\":\"\",\"n\":\"42\"}}");
  CHECK("services:\n  e:\n    sysctls: [net.core.somaxconn=1024]\n    deploy:\n"
        "      labels: [FOO=BAR]\n",
        CANONICAL, "services.e",
        "{\"sysctls\":{\"net.core.somaxconn\":\"1024\"},"
        "\"deploy\":{\"labels\":{\"FOO\":\"BAR\"}}}");
  return 0;
}

static int test_healthcheck(void)
{
  CHECK("services:\n  a:\n    healthcheck:\n      test: curl -f http://localhost/ || exit 1\n"
        "      interval: 90s\n      timeout: 1m\n      retries: 5\n      start_period: 1h\n"
        "      start_interval: 500ms\n    stop_grace_period: 1m30s\n",
        RENDER, "services.a",
        "{\"command\":null,\"entrypoint\":null,\"networks\":{\"default\":null},"
        "\"healthcheck\":{\"test\":[\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"],"
        "\"interval\":\"1m30s\",\"timeout\":\"1m0s\",\"retries\":5,\"start_period\":\"1h0m0s\","
        "\"start_interval\":\"500ms\"},\"stop_grace_period\":\"1m30s\"}");
  CHECK("services:\n  d:\n    healthcheck:\n      test: [NONE]\n      disable: \"yes\"\n", RENDER,
        "services.d.healthcheck", "{\"test\":[\"NONE\"],\"disable\":true}");
  CHECK_ERR("services:\n  web:\n    healthcheck:\n      test: [\"curl\", \"-f\"]\n", DEFAULTS,
            "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"");
  CHECK_ERR("services:\n  a:\n    healthcheck:\n      interval: 10\n", RENDER,
            "services.a.healthcheck.interval: time: missing unit in duration \"10\"");
  return 0;
}

static int test_misc_attributes(void)
{
  CHECK("services:\n  lab:\n    pull_policy: if_not_present\n    shm_size: 2gb\n"
        "    expose: [8787, \"9000-9001\"]\n"
        "    extra_hosts:\n      - \"somehost:162.242.195.82\"\n"
        "      - \"otherhost=50.31.209.229\"\n      - \"v6:[::1]\"\n"
        "    dns: 8.8.8.8\n    tmpfs: /run\n"
        "    ulimits:\n      nproc: 65535\n      nofile:\n        soft: 20000\n"
        "        hard: 40000\n    devices:\n      - /dev/fuse\n      - /dev/a:/dev/b\n"
        "      - /dev/c:/dev/d:r\n"
        "    deploy:\n      resources:\n        limits:\n          cpus: \"1.5\"\n"
        "          memory: 4G\n        reservations:\n          devices:\n"
        "            - driver: nvidia\n              count: 1\n              capabilities: [gpu]\n"
        "            - driver: x\n    gpus: all\n",
        RENDER, "services.lab",
        "{\"command\":null,\"entrypoint\":null,\"networks\":{\"default\":null},"
        "\"pull_policy\":\"missing\",\"shm_size\":\"2147483648\",\"expose\":[\"8787\","
        "\"9000-9001\"],\"extra_hosts\":[\"otherhost=50.31.209.229\","
        "\"somehost=162.242.195.82\",\"v6=::1\"],\"dns\":[\"8.8.8.8\"],\"tmpfs\":[\"/run\"],"
        "\"ulimits\":{\"nproc\":65535,\"nofile\":{\"soft\":20000,\"hard\":40000}},"
        "\"devices\":[{\"source\":\"/dev/fuse\",\"target\":\"/dev/fuse\",\"permissions\":\"rwm\"},"
        "{\"source\":\"/dev/a\",\"target\":\"/dev/b\",\"permissions\":\"rwm\"},"
        "{\"source\":\"/dev/c\",\"target\":\"/dev/d\",\"permissions\":\"r\"}],"
        "\"deploy\":{\"placement\":{},\"resources\":{\"limits\":{\"cpus\":1.5,\"memory\":"
        "\"4294967296\"},"
        "\"reservations\":{\"devices\":[{\"driver\":\"nvidia\",\"count\":1,"
        "\"capabilities\":[\"gpu\"]},{\"driver\":\"x\",\"count\":-1}]}}},"
        "\"gpus\":[{\"count\":-1}]}");
  CHECK_ERR("services:\n  a:\n    devices: [\"/a:/b:rwm:x\"]\n", CANONICAL,
            "confusing device mapping, please use long syntax: /a:/b:rwm:x");
  CHECK_ERR("services:\n  a:\n    extra_hosts: [\"nohost\"]\n", RENDER,
            "invalid additional host, missing IP: nohost");
  CHECK_ERR("services:\n  a:\n    ulimits:\n      nproc: \"100\"\n", CANONICAL,
            "services.a.ulimits.nproc: invalid type string for ulimits");
  CHECK_ERR("services:\n  a:\n    gpus:\n      - count: 1\n        device_ids: [\"0\"]\n", DEFAULTS,
            "services.a.gpus[0]: \"count\" and \"device_ids\" attributes are exclusive");
  return 0;
}

static int test_mounts_and_files(void)
{
  static const char *secrets = "services:\n  f:\n    secrets:\n      - s1\n      - source: s2\n"
                               "        target: t\n        mode: 0440\n      - source: s3\n"
                               "        mode: \"0400\"\n";
  /* file modes are rendered in octal */
  CHECK(secrets, RENDER, "services.f.secrets",
        "[{\"source\":\"s1\",\"target\":\"/run/secrets/s1\"},"
        "{\"source\":\"s2\",\"target\":\"t\",\"mode\":\"0440\"},"
        "{\"source\":\"s3\",\"mode\":\"0400\",\"target\":\"/run/secrets/s3\"}]");
  CHECK("services:\n  f:\n    secrets:\n      - s1\n      - source: s2\n        target: t\n"
        "        mode: 0440\n      - source: s3\n        mode: \"0400\"\n"
        "    configs: [c1]\n    env_file:\n      - a.env\n      - path: b.env\n"
        "        required: false\n    label_file: l.label\n    extends: base\n"
        "    networks: [front, back]\n",
        DEFAULTS, "services.f",
        "{\"secrets\":[{\"source\":\"s1\",\"target\":\"/run/secrets/s1\"},"
        "{\"source\":\"s2\",\"target\":\"t\",\"mode\":288},"
        "{\"source\":\"s3\",\"mode\":\"0400\",\"target\":\"/run/secrets/s3\"}],"
        "\"configs\":[{\"source\":\"c1\"}],"
        "\"env_file\":[{\"path\":\"a.env\",\"required\":true},"
        "{\"path\":\"b.env\",\"required\":false}],\"label_file\":[\"l.label\"],"
        "\"extends\":{\"service\":\"base\"},\"networks\":{\"front\":null,\"back\":null}}");
  CHECK("services:\n  f:\n    env_file: one.env\n", CANONICAL, "services.f.env_file",
        "[{\"path\":\"one.env\",\"required\":true}]");
  return 0;
}

static int test_command(void)
{
  CHECK("services:\n  c:\n    command: bundle exec thin -p 3000\n"
        "    entrypoint: [\"/e.sh\", \"-p\"]\n",
        RENDER, "services.c",
        "{\"command\":[\"bundle\",\"exec\",\"thin\",\"-p\",\"3000\"],"
        "\"entrypoint\":[\"/e.sh\",\"-p\"],\"networks\":{\"default\":null}}");
  CHECK("services:\n  c:\n    command: >-\n      sh -c 'echo \"a  b\"' \"x\\\"y\" ''\n", RENDER,
        "services.c.command", "[\"sh\",\"-c\",\"echo \\\"a  b\\\"\",\"x\\\"y\",\"\"]");
  /* go-shellwords stops at an unquoted ; & | < > */
  CHECK("services:\n  c:\n    command: echo hi && echo there\n", RENDER, "services.c.command",
        "[\"echo\",\"hi\"]");
  CHECK_ERR("services:\n  c:\n    command: echo 'open\n", RENDER, "invalid command line string");
  return 0;
}

static int test_top_level(void)
{
  CHECK("volumes:\n  v1:\n    external:\n      name: real\n  v2:\n  v3:\n    labels: [a=b]\n"
        "networks:\n  n1:\n    external:\n      name: x\n    name: x\n"
        "secrets:\n  s:\n    file: ./s\n"
        "configs:\n  c:\n    external: true\n",
        DEFAULTS, "",
        "{\"volumes\":{\"v1\":{\"external\":true,\"name\":\"real\"},\"v2\":null,"
        "\"v3\":{\"labels\":{\"a\":\"b\"}}},"
        "\"networks\":{\"n1\":{\"external\":true,\"name\":\"x\"}},"
        "\"secrets\":{\"s\":{\"file\":\"./s\"}},\"configs\":{\"c\":{\"external\":true}}}");
  CHECK_ERR("networks:\n  n1:\n    external:\n      name: x\n    name: y\n", CANONICAL,
            "networks.n1: name and external.name conflict; only use name");
  CHECK_ERR("volumes:\n  v:\n    external: true\n    driver: local\n", DEFAULTS,
            "volumes.v: conflicting parameters \"external\" and \"driver\" specified");
  CHECK_ERR("secrets:\n  s:\n    labels: {}\n", DEFAULTS,
            "secrets.s: one of file|environment must be set");
  CHECK_ERR("configs:\n  c:\n    file: ./a\n    content: x\n", DEFAULTS,
            "configs.c: file|environment|content attributes are mutually exclusive");
  CHECK("include:\n  - a.yaml\n  - path: b.yaml\n", CANONICAL, "include",
        "[{\"path\":[\"a.yaml\"]},{\"path\":[\"b.yaml\"]}]");
  return 0;
}

static int test_omit_empty(void)
{
  CHECK("services:\n  a:\n    dns: [\"\", 8.8.8.8, null]\n", CANONICAL, "services.a.dns",
        "[\"8.8.8.8\"]");
  CHECK("services:\n  a:\n    dns: \"\"\n", CANONICAL, "services.a.dns", "[]");
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"ports_short", test_ports_short},
      {"ports_long", test_ports_long},
      {"ports_errors", test_ports_errors},
      {"volumes", test_volumes},
      {"build", test_build},
      {"depends_on", test_depends_on},
      {"environment", test_environment},
      {"healthcheck", test_healthcheck},
      {"misc_attributes", test_misc_attributes},
      {"mounts_and_files", test_mounts_and_files},
      {"command", test_command},
      {"top_level", test_top_level},
      {"omit_empty", test_omit_empty},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
