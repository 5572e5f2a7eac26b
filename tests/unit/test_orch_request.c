/* Unit tests for the service -> ContainerCreate mapping (src/orch/request.c):
 * a compose file written to a temporary directory is loaded as `mtk up`
 * would, and the request of each service is checked field by field. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mtk/compose.h"
#include "orch/orch.h"
#include "tap.h"
#include "util/cleanup.h"

static const char compose_yaml[] =
    "name: lab\n"
    "services:\n"
    "  web:\n"
    "    image: busybox\n"
    "    command: httpd -f -p 8080\n"
    "    ports: [\"127.0.0.1:8080:8080\", \"9000:9000/udp\", \"80\"]\n"
    "    environment: {A: \"1\", B: null}\n"
    "    healthcheck: {test: [CMD, wget, -q, http://localhost:8080], interval: 2s,\n"
    "                  timeout: 1s, retries: 3, start_period: 1500ms}\n"
    "    volumes: [\"data:/data\", \"./src:/src:ro\", {type: tmpfs, target: /t, tmpfs: {size: "
    "1000}}]\n"
    "    tmpfs: [\"/run:size=64k\"]\n"
    "    deploy: {replicas: 2, resources: {limits: {cpus: \"0.5\", memory: 64M, pids: 100}}}\n"
    "    restart: on-failure:3\n"
    "    init: true\n"
    "    stop_signal: SIGINT\n"
    "    stop_grace_period: 1m30s\n"
    "    extra_hosts: [\"foo:1.2.3.4\"]\n"
    "    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}\n"
    "    labels: {x: y}\n"
    "    cap_add: [NET_ADMIN]\n"
    "    networks: {back: {aliases: [w], ipv4_address: 10.9.0.5}, default: }\n"
    "    user: \"1000\"\n"
    "    tty: true\n"
    "  worker:\n"
    "    image: busybox\n"
    "    entrypoint: [sh, -c]\n"
    "    command: [\"echo hi\"]\n"
    "    container_name: the-worker\n"
    "    depends_on: {web: {condition: service_healthy, restart: true}}\n"
    "  host:\n"
    "    image: busybox\n"
    "    network_mode: host\n"
    "  odd:\n"
    "    image: busybox\n"
    "    network_mode: \"service:web\"\n"
    "volumes: {data: {}}\n"
    "networks: {back: {internal: true, ipam: {config: [{subnet: 10.9.0.0/24}]}}}\n";

static char dir[] = "/tmp/mtk-orch-XXXXXX";

static struct mtk_project *load(void)
{
  if (!mkdtemp(dir))
    return NULL;
  mtk_autofree char *path = mtk_xasprintf("%s/compose.yaml", dir);
  FILE *f = fopen(path, "w");
  if (!f)
    return NULL;
  fputs(compose_yaml, f);
  fclose(f);
  const char *files[] = {path};
  struct mtk_compose_opts o = {.files = files, .n_files = 1, .workdir = dir};
  struct mtk_err *err = NULL;
  struct mtk_project *p = mtk_compose_load(&o, &err);
  if (!p) {
    mtk_autofree char *t = mtk_err_format(err);
    printf("# load: %s\n", t);
    mtk_err_free(&err);
  }
  return p;
}

static struct mtk_project *project;

static const char *str(const json_t *j, const char *path)
{
  json_t *v = json_object_get(j, path);
  return json_string_value(v);
}

static int test_web(void)
{
  MTK_ASSERT(project);
  struct mtk_err *err = NULL;
  json_t *r = mtk_orch_ctr_request(project, "web", 2, &err);
  MTK_ASSERT(r);
  mtk_autofree char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(r);
  MTK_ASSERT_CONTAINS(text, "\"Image\":\"busybox\"");
  MTK_ASSERT_CONTAINS(text, "\"Cmd\":[\"httpd\",\"-f\",\"-p\",\"8080\"]");
  MTK_ASSERT_CONTAINS(text, "\"Env\":[\"A=1\"]");
  MTK_ASSERT_CONTAINS(text, "\"Interval\":2000000000");
  MTK_ASSERT_CONTAINS(text, "\"StartPeriod\":1500000000");
  MTK_ASSERT_CONTAINS(text, "\"Retries\":3");
  MTK_ASSERT_CONTAINS(text, "\"Binds\":[\"");
  MTK_ASSERT_CONTAINS(text, "/src:/src:ro\"]");
  MTK_ASSERT_CONTAINS(text, "{\"ReadOnly\":false,\"Source\":\"lab_data\",\"Target\":\"/data\","
                            "\"Type\":\"volume\"}");
  MTK_ASSERT_CONTAINS(text, "\"Tmpfs\":{\"/run\":\"size=64k\",\"/t\":\"size=1000\"}");
  MTK_ASSERT_CONTAINS(text, "\"Memory\":67108864");
  MTK_ASSERT_CONTAINS(text, "\"NanoCpus\":500000000");
  MTK_ASSERT_CONTAINS(text, "\"PidsLimit\":100");
  MTK_ASSERT_CONTAINS(text, "\"RestartPolicy\":{\"MaximumRetryCount\":3,\"Name\":\"on-failure\"}");
  MTK_ASSERT_CONTAINS(text, "\"Init\":true");
  MTK_ASSERT_CONTAINS(text, "\"StopSignal\":\"SIGINT\"");
  MTK_ASSERT_CONTAINS(text, "\"StopTimeout\":90");
  MTK_ASSERT_CONTAINS(text, "\"ExtraHosts\":[\"foo:1.2.3.4\"]");
  MTK_ASSERT_CONTAINS(text, "{\"Hard\":200,\"Name\":\"nofile\",\"Soft\":100}");
  MTK_ASSERT_CONTAINS(text, "{\"Hard\":50,\"Name\":\"nproc\",\"Soft\":50}");
  MTK_ASSERT_CONTAINS(text, "\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]");
  MTK_ASSERT_CONTAINS(text, "\"9000/udp\":[{\"HostIp\":\"\",\"HostPort\":\"9000\"}]");
  MTK_ASSERT_CONTAINS(text, "\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]");
  MTK_ASSERT_CONTAINS(text, "\"x\":\"y\"");
  MTK_ASSERT_CONTAINS(text, "\"com.docker.compose.container-number\":\"2\"");
  MTK_ASSERT_CONTAINS(text, "\"com.docker.compose.project\":\"lab\"");
  MTK_ASSERT_CONTAINS(text, "\"com.docker.compose.service\":\"web\"");
  /* both networks, the service name as alias; the first by name is the mode */
  MTK_ASSERT_CONTAINS(text, "\"lab_back\":{\"Aliases\":[\"web\",\"w\"],\"IPAMConfig\":"
                            "{\"IPv4Address\":\"10.9.0.5\"}}");
  MTK_ASSERT_CONTAINS(text, "\"lab_default\":{\"Aliases\":[\"web\"]}");
  MTK_ASSERT_CONTAINS(text, "\"NetworkMode\":\"lab_back\"");
  MTK_ASSERT_CONTAINS(text, "\"User\":\"1000\"");
  MTK_ASSERT_CONTAINS(text, "\"Tty\":true");
  return 0;
}

static int test_worker_and_names(void)
{
  MTK_ASSERT(project);
  struct mtk_err *err = NULL;
  json_t *r = mtk_orch_ctr_request(project, "worker", 1, &err);
  MTK_ASSERT(r);
  MTK_ASSERT_STREQ(json_string_value(json_array_get(json_object_get(r, "Entrypoint"), 0)), "sh");
  MTK_ASSERT_STREQ(json_string_value(json_array_get(json_object_get(r, "Cmd"), 0)), "echo hi");
  MTK_ASSERT_STREQ(str(json_object_get(r, "Labels"), "com.docker.compose.depends_on"),
                   "web:service_healthy:true");
  json_decref(r);
  mtk_autofree char *n1 = mtk_orch_ctr_name(project, "worker", 1);
  mtk_autofree char *n2 = mtk_orch_ctr_name(project, "web", 2);
  MTK_ASSERT_STREQ(n1, "the-worker");
  MTK_ASSERT_STREQ(n2, "lab-web-2");
  json_t *svcs = json_object_get(project->model, "services");
  MTK_ASSERT_EQ(mtk_orch_replicas(json_object_get(svcs, "web"), -1), 2);
  MTK_ASSERT_EQ(mtk_orch_replicas(json_object_get(svcs, "worker"), -1), 1);
  MTK_ASSERT_EQ(mtk_orch_replicas(json_object_get(svcs, "web"), 5), 5);
  return 0;
}

static int test_network_modes(void)
{
  MTK_ASSERT(project);
  struct mtk_err *err = NULL;
  json_t *r = mtk_orch_ctr_request(project, "host", 1, &err);
  MTK_ASSERT(r);
  MTK_ASSERT_STREQ(str(json_object_get(r, "HostConfig"), "NetworkMode"), "host");
  MTK_ASSERT(json_object_get(r, "NetworkingConfig") == NULL);
  json_decref(r);
  MTK_ASSERT(mtk_orch_ctr_request(project, "odd", 1, &err) == NULL);
  MTK_ASSERT_CONTAINS(err->msg, "network_mode \"service:web\" is not supported");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_orch_ctr_request(project, "nope", 1, &err) == NULL);
  mtk_err_free(&err);
  return 0;
}

static int test_hash_changes(void)
{
  MTK_ASSERT(project);
  json_t *web = json_object_get(json_object_get(project->model, "services"), "web");
  char h1[65], h2[65], h3[65];
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_orch_service_hash(web, h1, &err), 0);
  json_t *copy = json_deep_copy(web);
  json_object_set_new(json_object_get(copy, "deploy"), "replicas", json_integer(7));
  MTK_ASSERT_EQ(mtk_orch_service_hash(copy, h2, &err), 0);
  MTK_ASSERT_STREQ(h1, h2); /* scaling does not recreate */
  json_object_set_new(copy, "user", json_string("0"));
  MTK_ASSERT_EQ(mtk_orch_service_hash(copy, h3, &err), 0);
  MTK_ASSERT(strcmp(h1, h3) != 0);
  json_decref(copy);
  return 0;
}

int main(void)
{
  project = load();
  static const struct mtk_test tests[] = {
      {"web: every field", test_web},
      {"worker, names, replicas", test_worker_and_names},
      {"network modes and errors", test_network_modes},
      {"config hash", test_hash_changes},
      {NULL, NULL},
  };
  int rc = mtk_test_main(tests);
  mtk_project_free(project);
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
