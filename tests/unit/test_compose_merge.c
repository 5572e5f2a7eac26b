/* Unit tests of src/compose/merge*.c: !reset/!override, the merge of
 * documents with compose-go's special rules, extends and unicity.  YAML in,
 * JSON of the resulting tree compared with the expected JSON text. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compose/internal.h"
#include "compose/merge.h"
#include "tap.h"

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

/* True when n's JSON equals the JSON text want (object key order ignored,
 * sequence order not); prints both otherwise. */
static bool same_json(const struct mtk_node *n, const char *want)
{
  json_error_t jerr;
  json_t *w = json_loads(want, 0, &jerr);
  json_t *got = mtk_node_to_json(n);
  bool ok = w && json_equal(w, got);
  if (!ok) {
    char *a = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    char *b = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) : strdup(jerr.text);
    printf("#   got:  %s\n#   want: %s\n", a, b);
    free(a);
    free(b);
  }
  json_decref(w);
  json_decref(got);
  return ok;
}

/* Runs compose-go's per-document steps on each document in turn:
 * resets, apply resets to the model, merge, unicity.  NULL on error
 * (message in *msg when msg is given). */
static struct mtk_node *merge_docs(const char *const *docs, char **msg)
{
  struct mtk_err *err = NULL;
  struct mtk_node *model = mtk_node_new_map(NULL);
  for (size_t i = 0; docs[i]; i++) {
    struct mtk_node *doc = yaml(docs[i]);
    mtk_autoptr(mtk_compose_resets) resets = NULL;
    if (doc == NULL || mtk_compose_resets_collect(doc, &resets, &err) < 0) {
      mtk_node_free(doc);
      goto fail;
    }
    mtk_compose_resets_apply(resets, model);
    if (mtk_compose_merge(model, doc, &err) < 0 || mtk_compose_unicity(model, &err) < 0)
      goto fail;
  }
  return model;
fail:
  if (msg)
    *msg = err ? strdup(err->msg) : NULL;
  else if (err)
    printf("# error: %s\n", err->msg);
  mtk_err_free(&err);
  mtk_node_free(model);
  return NULL;
}

#define MERGE(...) merge_docs((const char *const[]){__VA_ARGS__, NULL}, NULL)

static int test_scalars_and_mappings(void)
{
  mtk_autoptr(mtk_node) m = MERGE("services:\n  web:\n    image: a\n    scale: 1\n"
                                  "    deploy: {resources: {limits: {cpus: '1'}}}\n",
                                  "services:\n  web:\n    image: b\n    hostname: h\n"
                                  "    deploy: {resources: {limits: {memory: 1g}}}\n"
                                  "  db:\n    image: pg\n");
  MTK_ASSERT(m);
  MTK_ASSERT(
      same_json(m, "{\"services\":{\"web\":{\"image\":\"b\",\"scale\":1,\"hostname\":\"h\","
                   "\"deploy\":{\"resources\":{\"limits\":{\"cpus\":\"1\",\"memory\":\"1g\"}}}},"
                   "\"db\":{\"image\":\"pg\"}}}"));
  /* existing keys keep their place, new ones come after */
  const struct mtk_node *web = mtk_node_get(mtk_node_get(m, "services"), "web");
  MTK_ASSERT_STREQ(web->pairs[0].key, "image");
  MTK_ASSERT_STREQ(web->pairs[3].key, "hostname");
  MTK_ASSERT_STREQ(mtk_node_get(m, "services")->pairs[1].key, "db");
  /* a null in the later file keeps the earlier value */
  mtk_autoptr(mtk_node) n = MERGE("services: {web: {image: a}}", "services: {web: {image: null}}");
  MTK_ASSERT(same_json(n, "{\"services\":{\"web\":{\"image\":\"a\"}}}"));
  return 0;
}

static int test_replaced_attributes(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  web:\n    command: [echo, base]\n    entrypoint: [/e]\n"
            "    healthcheck: {test: [CMD, a, b], interval: 30s}\n    x: [1]\n",
            "services:\n  web:\n    command: echo override\n"
            "    healthcheck: {test: [CMD, c], timeout: 5s}\n    x: [2]\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"web\":{\"command\":\"echo override\","
                          "\"entrypoint\":[\"/e\"],\"healthcheck\":{\"test\":[\"CMD\",\"c\"],"
                          "\"interval\":\"30s\",\"timeout\":\"5s\"},\"x\":[1,2]}}}"));
  /* command: null replaces too (a special rule runs even for null) */
  mtk_autoptr(mtk_node) n =
      MERGE("services: {web: {command: [a]}}", "services: {web: {command: }}");
  MTK_ASSERT(same_json(n, "{\"services\":{\"web\":{\"command\":null}}}"));
  return 0;
}

static int test_environment_and_labels(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  web:\n    environment: {B: '2', A: '1', E: }\n    labels: [tier=front]\n",
            "services:\n  web:\n    environment: [B=20, C=30]\n    labels: {team: science}\n"
            "    annotations: {b: 1}\n");
  MTK_ASSERT(m);
  /* the mapping became sorted K=V items (null value: bare key); later
   * entries replace earlier ones in place */
  MTK_ASSERT(same_json(m, "{\"services\":{\"web\":{\"environment\":[\"A=1\",\"B=20\",\"E\","
                          "\"C=30\"],\"labels\":[\"tier=front\",\"team=science\"],"
                          "\"annotations\":{\"b\":1}}}}"));
  /* Go's %v of numbers, booleans and lists inside K=V */
  mtk_autoptr(mtk_node) n =
      MERGE("services: {web: {environment: [X=0]}}",
            "services: {web: {environment: {I: 12, F: 1.5, G: 1000000.0, H: 0.00001,"
            " J: 123456.0, K: true, L: [a, 2], M: 0x1F, N: -0.5}}}");
  MTK_ASSERT(n);
  MTK_ASSERT(same_json(n, "{\"services\":{\"web\":{\"environment\":[\"X=0\",\"F=1.5\","
                          "\"G=1e+06\",\"H=1e-05\",\"I=12\",\"J=123456\",\"K=true\",\"L=a\","
                          "\"M=31\",\"N=-0.5\"]}}}"));
  return 0;
}

static int test_dns_and_extra_hosts(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  web:\n    dns: [1.1.1.1]\n    extra_hosts: [a=1, b=2]\n"
            "    tmpfs: /run\n    sysctls: {net.x: 1}\n",
            "services:\n  web:\n    dns: 8.8.8.8\n    extra_hosts: {b: 2, c: 3}\n"
            "    tmpfs: [/tmp, /run]\n    sysctls: [net.x=2, net.y=3]\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m,
                       "{\"services\":{\"web\":{\"dns\":[\"1.1.1.1\",\"8.8.8.8\"],"
                       "\"extra_hosts\":[\"a=1\",\"b=2\",\"c=3\"],"
                       "\"tmpfs\":[\"/run\",\"/tmp\"],\"sysctls\":[\"net.x=2\",\"net.y=3\"]}}}"));
  /* extra_hosts only drops later entries the earlier list has: no unicity */
  mtk_autoptr(mtk_node) n = MERGE("services: {web: {extra_hosts: [a=1]}}",
                                  "services: {web: {extra_hosts: [a=1, a=2, a=2]}}");
  MTK_ASSERT(same_json(n, "{\"services\":{\"web\":{\"extra_hosts\":[\"a=1\",\"a=2\",\"a=2\"]}}}"));
  return 0;
}

static int test_build(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services: {web: {build: .}}", "services: {web: {build: {context: src, args: [A=1]}}}",
            "services: {web: {build: {args: {A: 2, B: 3}, labels: [l=1]}}}",
            "services: {web: {build: other}}");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"web\":{\"build\":{\"context\":\"other\","
                          "\"args\":[\"A=2\",\"B=3\"],\"labels\":[\"l=1\"]}}}}"));
  return 0;
}

static int test_depends_on_networks(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  web:\n    depends_on: {db: {condition: service_healthy}, c: "
            "{condition: service_healthy}}\n    networks: [front, back]\n",
            "services:\n  web:\n    depends_on: [db, cache]\n"
            "    networks: {front: {aliases: [x, y]}, other: }\n",
            "services:\n  web:\n    networks: {front: {aliases: [y, z]}}\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"web\":{\"depends_on\":{"
                          "\"db\":{\"condition\":\"service_started\",\"required\":true},"
                          "\"c\":{\"condition\":\"service_healthy\"},"
                          "\"cache\":{\"condition\":\"service_started\",\"required\":true}},"
                          "\"networks\":{\"front\":{\"aliases\":[\"x\",\"y\",\"z\"]},\"back\":null,"
                          "\"other\":null}}}}"));
  return 0;
}

static int test_logging_ulimits(void)
{
  mtk_autoptr(mtk_node) same =
      MERGE("services: {web: {logging: {driver: syslog, options: {a: '1', b: '2'}}}}",
            "services: {web: {logging: {driver: syslog, options: {a: '3'}}}}");
  MTK_ASSERT(same_json(same, "{\"services\":{\"web\":{\"logging\":{\"driver\":\"syslog\","
                             "\"options\":{\"a\":\"3\",\"b\":\"2\"}}}}}"));
  mtk_autoptr(mtk_node) other =
      MERGE("services: {web: {logging: {driver: local, options: {a: '1'}}}}",
            "services: {web: {logging: {driver: syslog, options: {b: '2'}}}}");
  MTK_ASSERT(same_json(other, "{\"services\":{\"web\":{\"logging\":{\"driver\":\"syslog\","
                              "\"options\":{\"b\":\"2\"}}}}}"));
  mtk_autoptr(mtk_node) none = MERGE("services: {web: {logging: {driver: local, options: {a: 1}}}}",
                                     "services: {web: {logging: {options: {b: 2}}}}");
  MTK_ASSERT(same_json(none, "{\"services\":{\"web\":{\"logging\":{\"driver\":\"local\","
                             "\"options\":{\"a\":1,\"b\":2}}}}}"));
  mtk_autoptr(mtk_node) ul =
      MERGE("services: {web: {ulimits: {nofile: {soft: 1, hard: 2}, nproc: 3, locks: {soft: 4}}}}",
            "services: {web: {ulimits: {nofile: {soft: 5}, nproc: {soft: 6}}}}");
  MTK_ASSERT(same_json(ul, "{\"services\":{\"web\":{\"ulimits\":{\"nofile\":{\"soft\":5},"
                           "\"nproc\":{\"soft\":6},\"locks\":{\"soft\":4}}}}}"));
  return 0;
}

static int test_ipam_config(void)
{
  mtk_autoptr(mtk_node) m = MERGE(
      "networks:\n  n:\n    ipam:\n      config:\n        - {subnet: 10.0.0.0/16, gateway: "
      "10.0.0.1,"
      " aux_addresses: {h1: a, h2: b}}\n",
      "networks:\n  n:\n    ipam:\n      config:\n        - {subnet: 10.0.0.0/16, aux_addresses: "
      "{h2: c, h3: d}}\n        - {subnet: 10.1.0.0/16}\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"networks\":{\"n\":{\"ipam\":{\"config\":[{\"subnet\":\"10.0.0.0/16\","
                          "\"gateway\":\"10.0.0.1\",\"aux_addresses\":{\"h1\":\"a\",\"h2\":\"c\","
                          "\"h3\":\"d\"}},{\"subnet\":\"10.1.0.0/16\"}]}}}}"));
  char *msg = NULL;
  struct mtk_node *bad =
      merge_docs((const char *const[]){"networks: {n: {ipam: {config: [{}]}}}",
                                       "networks: {n: {ipam: {config: {}}}}", NULL},
                 &msg);
  MTK_ASSERT(bad == NULL);
  MTK_ASSERT_STREQ(msg, "networks.n.ipam.config: unexpected type []interface {}");
  free(msg);
  return 0;
}

static int test_cannot_override(void)
{
  char *msg = NULL;
  struct mtk_node *m =
      merge_docs((const char *const[]){"services: {web: {healthcheck: {test: [a]}}}",
                                       "services:\n  web:\n    healthcheck: [a]\n", NULL},
                 &msg);
  MTK_ASSERT(m == NULL);
  MTK_ASSERT_STREQ(msg, "cannot override services.web.healthcheck");
  free(msg);
  /* a scalar is replaced by anything */
  mtk_autoptr(mtk_node) n = MERGE("x-a: 1", "x-a: {b: 2}");
  MTK_ASSERT(same_json(n, "{\"x-a\":{\"b\":2}}"));
  return 0;
}

static int test_ports_volumes_unicity(void)
{
  mtk_autoptr(mtk_node) m = MERGE(
      "services:\n  app:\n    ports: ['8080:80', 5000]\n    volumes: [foo:/work, ./src:/src]\n"
      "    secrets: [s1, {source: s2, target: /x}]\n    configs: [c1]\n"
      "    devices: ['/dev/a:/dev/b']\n",
      "services:\n  app:\n    ports: ['8080:80', '8443:443', 5000, {target: 80, published: "
      "'8080'}]\n"
      "    volumes: [bar:/work, './src:/src:ro', {type: tmpfs, target: /t}]\n"
      "    secrets: [{source: s1, mode: 0400}, {source: s3, target: /x}]\n"
      "    configs: [{source: c1, target: /c1}]\n    devices: [{source: /dev/c, target: "
      "/dev/b}]\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(
      m, "{\"services\":{\"app\":{"
         "\"ports\":[\"8080:80\",5000,\"8443:443\",{\"target\":80,\"published\":\"8080\"}],"
         "\"volumes\":[\"bar:/work\",\"./src:/src:ro\",{\"type\":\"tmpfs\",\"target\":\"/t\"}],"
         "\"secrets\":[{\"source\":\"s1\",\"mode\":256},{\"source\":\"s3\",\"target\":\"/x\"}],"
         "\"configs\":[{\"source\":\"c1\",\"target\":\"/c1\"}],"
         "\"devices\":[{\"source\":\"/dev/c\",\"target\":\"/dev/b\"}]}}}"));
  /* long ports: host_ip:published:target/protocol, defaults 0.0.0.0 and tcp */
  mtk_autoptr(mtk_node) p =
      MERGE("services:\n  app:\n    ports:\n      - {target: 80, published: '8080', mode: host}\n"
            "      - {target: 80, published: '8080', host_ip: 0.0.0.0, protocol: tcp}\n"
            "      - {target: 80, published: '8080', protocol: udp}\n"
            "      - {target: 80, published: 8080}\n");
  MTK_ASSERT(same_json(p,
                       "{\"services\":{\"app\":{\"ports\":[{\"target\":80,\"published\":\"8080\","
                       "\"host_ip\":\"0.0.0.0\",\"protocol\":\"tcp\"},{\"target\":80,"
                       "\"published\":\"8080\",\"protocol\":\"udp\"},{\"target\":80,"
                       "\"published\":8080}]}}}"));
  return 0;
}

static int test_volume_spec_targets(void)
{
  /* format.ParseVolume's targets: Windows drive letters (any single letter
   * before ':'), ${...} holding colons, 1-2 character specs, anonymous
   * volumes, mode options; each later entry shares the target of one earlier */
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  app:\n    volumes:\n      - 'C:\\data:/data'\n"
            "      - '${A:-x}:/v:ro'\n      - 'o:/v'\n      - ab\n      - 'z:/data:rw'\n"
            "      - /data\n      - vol:/v\n      - '/other:o:/v'\n      - 'xx:ab'\n"
            "      - '/s:rw'\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"app\":{\"volumes\":[\"/data\",\"vol:/v\","
                          "\"/other:o:/v\",\"xx:ab\",\"/s:rw\"]}}}"));
  return 0;
}

static int test_unicity_lists(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  t:\n    environment: [FOO=BAR, BAR=QIX, QIX=, ZOT, FOO=ZOT, QIX, ZOT=]\n"
            "    cap_add: [A, B, A]\n    profiles: [p, p]\n    expose: [80, '80', 81]\n"
            "    networks: {n: {aliases: [a, a]}}\n    env_file: [a.env, {path: a.env}]\n"
            "    other: [a, a]\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"t\":{\"environment\":[\"FOO=ZOT\",\"BAR=QIX\","
                          "\"QIX\",\"ZOT=\"],\"cap_add\":[\"A\",\"B\"],\"profiles\":[\"p\"],"
                          "\"expose\":[\"80\",81],\"networks\":{\"n\":{\"aliases\":[\"a\"]}},"
                          "\"env_file\":[{\"path\":\"a.env\"}],\"other\":[\"a\",\"a\"]}}}"));
  return 0;
}

static int expect_error(const char *doc, const char *want)
{
  char *msg = NULL;
  struct mtk_node *m = merge_docs((const char *const[]){doc, NULL}, &msg);
  mtk_node_free(m);
  int ok = m == NULL && msg && strcmp(msg, want) == 0;
  if (!ok)
    printf("#   error \"%s\" != \"%s\"\n", msg ? msg : "(none)", want);
  free(msg);
  return ok ? 0 : 1;
}

static int test_unicity_errors(void)
{
  MTK_ASSERT_EQ(
      expect_error("services: {web: {dns: [1]}}", "services.web.dns.[0]: unexpected type int"), 0);
  MTK_ASSERT_EQ(expect_error("services: {web: {volumes: [/a, {source: x}]}}",
                             "service volume services.web.volumes.[1] is missing a mount target"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {volumes: ['ab::c']}}",
                             "invalid spec: ab::c: empty section between colons"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {volumes: ['12:34:56:78']}}",
                             "invalid spec: 12:34:56:78: too many colons"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {volumes: ['']}}", "invalid empty volume spec"), 0);
  MTK_ASSERT_EQ(expect_error("services: {web: {ports: [{published: 80}]}}",
                             "service ports services.web.ports.[0] is missing a target port"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {expose: [1.5]}}",
                             "services.web.expose.[0]: unsupported expose value %!s(float64=1.5)"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {env_file: [{required: true}]}}",
                             "environment path attribute services.web.env_file.[0] is missing"),
                0);
  MTK_ASSERT_EQ(expect_error("services: {web: {devices: [{source: /dev/a}]}}",
                             "service device services.web.devices.[0] is missing a mount target"),
                0);
  return 0;
}

static int test_reset_and_override(void)
{
  mtk_autoptr(mtk_node) m =
      MERGE("services:\n  app:\n    image: myapp\n    build: {context: ., dockerfile: foo}\n"
            "    ports: ['8080:80']\n    environment: {FOO: BAR, KEEP: 'yes'}\n"
            "  proxy:\n    image: nginx\n    ports: ['8081:80']\n    labels: {a: b}\n",
            "services:\n  app:\n    build: !reset null\n    ports: !reset []\n"
            "    environment:\n      FOO: !reset null\n"
            "  proxy:\n    ports: !override\n      - '8443:443'\n    labels: !override {c: d}\n");
  MTK_ASSERT(m);
  MTK_ASSERT(same_json(m, "{\"services\":{\"app\":{\"image\":\"myapp\",\"environment\":[\"KEEP="
                          "yes\"]},\"proxy\":{\"image\":\"nginx\",\"ports\":[\"8443:443\"],"
                          "\"labels\":{\"c\":\"d\"}}}}"));
  /* a reset of an entry of a mapping the model already holds as a list does nothing */
  mtk_autoptr(mtk_node) n = MERGE("services: {app: {environment: [FOO=1]}}",
                                  "services: {app: {environment: {FOO: !reset null}}}");
  MTK_ASSERT(same_json(n, "{\"services\":{\"app\":{\"environment\":[\"FOO=1\"]}}}"));
  /* a whole top-level entry */
  mtk_autoptr(mtk_node) o =
      MERGE("networks: {test: {name: test, external: true}}", "networks: {test: !reset {}}");
  MTK_ASSERT(same_json(o, "{\"networks\":{}}"));
  return 0;
}

static int test_resets_collect(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) doc = yaml("x-r: &r !reset []\nservices:\n  a:\n    ports: *r\n"
                                   "    dns: [a, !reset b, c]\n    env: !override {K: !reset v}\n"
                                   "  b: {ports: *r}\n");
  mtk_autoptr(mtk_compose_resets) r = NULL;
  MTK_ASSERT(doc);
  MTK_ASSERT_EQ(mtk_compose_resets_collect(doc, &r, &err), 0);
  /* x-r, services.a.ports, services.a.dns.1, services.a.env, services.b.ports */
  MTK_ASSERT_EQ(mtk_compose_resets_len(r), 5);
  /* !reset nodes are gone, !override kept as is (nothing inside it looked at) */
  MTK_ASSERT(same_json(doc, "{\"services\":{\"a\":{\"dns\":[\"a\",\"c\"],\"env\":{\"K\":\"v\"}},"
                            "\"b\":{}}}"));
  MTK_ASSERT(mtk_node_has_tag(mtk_node_get(mtk_node_get(mtk_node_get(doc, "services"), "a"), "env"),
                              "!override"));
  /* apply: deletes the paths from a model; sequence items are left alone */
  mtk_autoptr(mtk_node) model =
      yaml("x-r: 1\nservices:\n  a: {ports: [1], dns: [x, y], env: {A: 1},"
           " image: i}\n  b: {ports: [2], image: j}\n  c: {ports: [3]}\n");
  mtk_compose_resets_apply(r, model);
  MTK_ASSERT(same_json(model, "{\"services\":{\"a\":{\"dns\":[\"x\",\"y\"],\"image\":\"i\"},"
                              "\"b\":{\"image\":\"j\"},\"c\":{\"ports\":[3]}}}"));
  /* a tagged root becomes null */
  mtk_autoptr(mtk_node) root = yaml("!reset {a: 1}");
  mtk_autoptr(mtk_compose_resets) r2 = NULL;
  MTK_ASSERT_EQ(mtk_compose_resets_collect(root, &r2, &err), 0);
  MTK_ASSERT(mtk_node_is_null(root));
  return 0;
}

static int test_visit_limit(void)
{
  /* compose-go's TestVisitCounterLimit: two collections of 50001 entries each
   * (built directly: the parser is slow on mappings that large) */
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) doc = yaml("x-data1: []\nx-data2: []\n");
  MTK_ASSERT(doc);
  for (int i = 0; i < MTK_COMPOSE_MAX_NODE_VISITS / 2 + 1; i++) {
    mtk_node_push(mtk_node_get(doc, "x-data1"), mtk_node_new_str("v", NULL));
    mtk_node_push(mtk_node_get(doc, "x-data2"), mtk_node_new_str("v", NULL));
  }
  mtk_autoptr(mtk_compose_resets) r = NULL;
  MTK_ASSERT(mtk_compose_resets_collect(doc, &r, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "compose file exceeds maximum node visit limit (100000)");
  mtk_err_free(&err);
  /* just under the limit passes: the root and its items are the visits */
  mtk_autoptr(mtk_node) ok = mtk_node_new_seq(NULL);
  for (int i = 0; i < MTK_COMPOSE_MAX_NODE_VISITS - 1; i++)
    mtk_node_push(ok, mtk_node_new_null(NULL));
  mtk_autoptr(mtk_compose_resets) r2 = NULL;
  MTK_ASSERT_EQ(mtk_compose_resets_collect(ok, &r2, &err), 0);
  mtk_node_push(ok, mtk_node_new_null(NULL));
  mtk_autoptr(mtk_compose_resets) r3 = NULL;
  MTK_ASSERT(mtk_compose_resets_collect(ok, &r3, &err) < 0);
  mtk_err_free(&err);
  return 0;
}

static int test_extends(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_node) doc =
      yaml("services:\n  a:\n    image: a\n    depends_on: [c]\n    environment: {A: 1}\n"
           "    ports: ['80:80']\n    command: [x]\n"
           "  b:\n    extends: a\n    depends_on: !override [a]\n    environment: [B=2]\n"
           "    ports: !reset []\n    command: y\n");
  mtk_autoptr(mtk_compose_resets) r = NULL;
  MTK_ASSERT(doc);
  MTK_ASSERT_EQ(mtk_compose_resets_collect(doc, &r, &err), 0);
  const struct mtk_node *services = mtk_node_get(doc, "services");
  mtk_autoptr(mtk_node) b = mtk_compose_extend_service(mtk_node_get(services, "a"),
                                                       mtk_node_get(services, "b"), "b", r, &err);
  MTK_ASSERT(b);
  MTK_ASSERT(same_json(b, "{\"image\":\"a\",\"depends_on\":[\"a\"],\"environment\":[\"A=1\","
                          "\"B=2\"],\"command\":\"y\"}"));
  /* the base is not modified, and a null base gives the service unchanged */
  MTK_ASSERT(mtk_node_get(mtk_node_get(services, "a"), "ports"));
  mtk_autoptr(mtk_node) null = mtk_node_new_null(NULL);
  mtk_autoptr(mtk_node) c =
      mtk_compose_extend_service(null, mtk_node_get(services, "b"), "b", r, &err);
  MTK_ASSERT(mtk_node_get(c, "extends"));
  /* a mapping service over a sequence base attribute */
  mtk_autoptr(mtk_node) base = yaml("{healthcheck: {test: [a]}}");
  mtk_autoptr(mtk_node) svc = yaml("{healthcheck: [x]}");
  MTK_ASSERT(mtk_compose_extend_service(base, svc, "s", NULL, &err) == NULL);
  MTK_ASSERT_STREQ(err->msg, "cannot override services.x.healthcheck");
  mtk_err_free(&err);
  return 0;
}

static int test_path_matches(void)
{
  struct mtk_compose_path s = {NULL, "services"}, w = {&s, "w.b"}, v = {&w, "volumes"};
  MTK_ASSERT(mtk_compose_path_matches(&v, "services.*.volumes"));
  MTK_ASSERT(!mtk_compose_path_matches(&v, "services.*"));
  MTK_ASSERT(!mtk_compose_path_matches(&v, "services.*.volumes.*"));
  MTK_ASSERT(!mtk_compose_path_matches(&v, "services.w.b.volumes"));
  MTK_ASSERT(mtk_compose_path_matches(NULL, ""));
  MTK_ASSERT(!mtk_compose_path_matches(&s, ""));
  char *str = mtk_compose_path_str(&v);
  MTK_ASSERT_STREQ(str, "services.w.b.volumes");
  free(str);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"scalars and mappings", test_scalars_and_mappings},
      {"command/entrypoint/healthcheck.test replaced", test_replaced_attributes},
      {"environment, labels: K=V sequences", test_environment_and_labels},
      {"dns, tmpfs, sysctls, extra_hosts", test_dns_and_extra_hosts},
      {"build string and mapping", test_build},
      {"depends_on and networks to mappings", test_depends_on_networks},
      {"logging by driver, ulimits replaced", test_logging_ulimits},
      {"networks.*.ipam.config by subnet", test_ipam_config},
      {"cannot override", test_cannot_override},
      {"ports, volumes, secrets, configs, devices unicity", test_ports_volumes_unicity},
      {"short volume spec targets", test_volume_spec_targets},
      {"unicity of lists", test_unicity_lists},
      {"unicity errors", test_unicity_errors},
      {"!reset and !override across documents", test_reset_and_override},
      {"reset collection and apply", test_resets_collect},
      {"node visit limit", test_visit_limit},
      {"extends", test_extends},
      {"tree.Path matching", test_path_matches},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
