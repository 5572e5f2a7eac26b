/* `mtk network create|ls|rm|inspect|prune|connect|disconnect`: the network
 * records and endpoints of src/net/net.h, printed as docker prints them.
 * connect/disconnect of a running container also update the container's
 * state ("Networks"). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/net.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define GETOPT_LOOP(shortopts, longopts)                                                           \
  opterr = 0;                                                                                      \
  optind = 0;                                                                                      \
  for (int c_; (c_ = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1;)                   \
    switch (c_)

#define HELP_AND_ERRORS                                                                            \
  case 'h':                                                                                        \
    mtk_cli_print_cmd_help(stdout, cmd);                                                           \
    return 0;                                                                                      \
  default:                                                                                         \
    return mtk_cli_getopt_error(cmd, c_, argv, err)

/* An error of one argument among several: printed, and the command goes on. */
static void print_item_err(struct mtk_err **e)
{
  mtk_autofree char *msg = mtk_err_format(*e);
  fprintf(stderr, "Error: %s\n", msg);
  if ((*e)->hint)
    fprintf(stderr, "hint: %s\n", (*e)->hint);
  mtk_err_free(e);
}

/* The record as docker shows it: mtk's own bookkeeping keys left out. */
static json_t *public_view(json_t *rec)
{
  json_t *v = json_deep_copy(rec);
  json_object_del(v, "MtkIPAM");
  json_t *ctrs = json_object_get(v, "Containers"), *ep;
  const char *k;
  json_object_foreach(ctrs, k, ep)
  {
    json_object_del(ep, "Veth");
    json_object_del(ep, "SandboxKey");
  }
  return v;
}

/* ----------------------------------------------------------------- create */

int mtk_cli_network_create(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
      {"internal", no_argument, NULL, 'i'},     {"ipv6", no_argument, NULL, '6'},
      {"label", required_argument, NULL, 'l'},  {"driver", required_argument, NULL, 'd'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  struct mtk_net_create_opts o = {0};
  struct mtk_cli_strv labels = {0};
  GETOPT_LOOP(":d:h", longopts)
  {
    case 's':
      if (o.subnet) {
        mtk_cli_strv_free(&labels);
        return mtk_cli_usage_error(cmd, err, "only one --subnet is supported");
      }
      o.subnet = optarg;
      break;
    case 'g':
      o.gateway = optarg;
      break;
    case 'i':
      o.internal = true;
      break;
    case '6':
      o.ipv6 = true;
      break;
    case 'l':
      mtk_cli_strv_push(&labels, optarg);
      break;
    case 'd':
      if (strcmp(optarg, "bridge") != 0) {
        mtk_cli_strv_free(&labels);
        return mtk_cli_usage_error(cmd, err, "driver \"%s\" is not supported: only bridge", optarg);
      }
      break;
    case 'h':
      mtk_cli_strv_free(&labels);
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      mtk_cli_strv_free(&labels);
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  if (argc - optind != 1) {
    mtk_cli_strv_free(&labels);
    return mtk_cli_usage_error(cmd, err, "\"network create\" requires exactly 1 argument");
  }
  if (o.gateway && !o.subnet) {
    mtk_cli_strv_free(&labels);
    return mtk_cli_usage_error(cmd, err, "--gateway needs a --subnet");
  }
  o.name = argv[optind];
  o.labels = labels.v;
  o.n_labels = labels.n;
  json_t *rec = NULL;
  int r = mtk_net_create(cli->root, &o, &rec, err);
  mtk_cli_strv_free(&labels);
  if (r < 0)
    return -1;
  printf("%s\n", json_string_value(json_object_get(rec, "Id")));
  json_decref(rec);
  return 0;
}

/* --------------------------------------------------------------------- ls */

static char *labels_text(const json_t *labels)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *) labels, k, v)
  {
    mtk_strbuf_addf(&sb, "%s%s=%s", sb.len ? "," : "", k, json_string_value(v));
  }
  return mtk_strbuf_steal(&sb);
}

static void ls_json(json_t *rec, bool trunc)
{
  const char *id = json_string_value(json_object_get(rec, "Id"));
  mtk_autofree char *labels = labels_text(json_object_get(rec, "Labels"));
  json_t *o = json_pack(
      "{s:O, s:O, s:s#, s:s, s:s, s:s, s:O, s:O}", "CreatedAt", json_object_get(rec, "Created"),
      "Driver", json_object_get(rec, "Driver"), "ID", id, trunc ? 12 : strlen(id), "IPv6",
      json_is_true(json_object_get(rec, "EnableIPv6")) ? "true" : "false", "Internal",
      json_is_true(json_object_get(rec, "Internal")) ? "true" : "false", "Labels", labels, "Name",
      json_object_get(rec, "Name"), "Scope", json_object_get(rec, "Scope"));
  mtk_autofree char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  printf("%s\n", s);
  json_decref(o);
}

/* Docker's table: columns padded to the widest cell plus 3 spaces. */
static void ls_table(json_t *recs, bool trunc)
{
  static const char *const head[] = {"NETWORK ID", "NAME", "DRIVER", "SCOPE"};
  static const char *const keys[] = {"Id", "Name", "Driver", "Scope"};
  size_t w[4], i;
  json_t *rec;
  for (int c = 0; c < 4; c++)
    w[c] = strlen(head[c]);
  json_array_foreach(recs, i, rec)
  {
    for (int c = 0; c < 4; c++) {
      size_t l = strlen(json_string_value(json_object_get(rec, keys[c])));
      if (c == 0 && trunc && l > 12)
        l = 12;
      if (l > w[c])
        w[c] = l;
    }
  }
  printf("%-*s   %-*s   %-*s   %s\n", (int) w[0], head[0], (int) w[1], head[1], (int) w[2], head[2],
         head[3]);
  json_array_foreach(recs, i, rec)
  {
    const char *id = json_string_value(json_object_get(rec, "Id"));
    printf("%-*.*s   %-*s   %-*s   %s\n", (int) w[0], trunc ? 12 : (int) strlen(id), id, (int) w[1],
           json_string_value(json_object_get(rec, "Name")), (int) w[2],
           json_string_value(json_object_get(rec, "Driver")),
           json_string_value(json_object_get(rec, "Scope")));
  }
}

/* --filter name=x (substring), id=x (prefix), label=k[=v], driver=bridge. */
static bool ls_match(json_t *rec, const struct mtk_cli_strv *filters)
{
  for (size_t i = 0; i < filters->n; i++) {
    const char *f = filters->v[i], *eq = strchr(f, '=');
    const char *val = eq ? eq + 1 : "";
    size_t kl = eq ? (size_t) (eq - f) : strlen(f);
    const char *name = json_string_value(json_object_get(rec, "Name"));
    const char *id = json_string_value(json_object_get(rec, "Id"));
    json_t *labels = json_object_get(rec, "Labels");
    if (kl == 4 && !strncmp(f, "name", 4) && !strstr(name, val))
      return false;
    if (kl == 2 && !strncmp(f, "id", 2) && strncmp(id, val, strlen(val)) != 0)
      return false;
    if (kl == 6 && !strncmp(f, "driver", 6) && strcmp(val, "bridge") != 0)
      return false;
    if (kl == 5 && !strncmp(f, "label", 5)) {
      const char *leq = strchr(val, '=');
      mtk_autofree char *k = leq ? mtk_xstrndup(val, (size_t) (leq - val)) : mtk_xstrdup(val);
      json_t *lv = json_object_get(labels, k);
      if (!lv || (leq && strcmp(json_string_value(lv), leq + 1) != 0))
        return false;
    }
  }
  return true;
}

int mtk_cli_network_ls(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"quiet", no_argument, NULL, 'q'},    {"format", required_argument, NULL, 'F'},
      {"no-trunc", no_argument, NULL, 'T'}, {"filter", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
  };
  bool quiet = false, trunc = true;
  const char *format = NULL;
  struct mtk_cli_strv filters = {0};
  GETOPT_LOOP(":qf:h", longopts)
  {
    case 'q':
      quiet = true;
      break;
    case 'F':
      format = optarg;
      break;
    case 'T':
      trunc = false;
      break;
    case 'f':
      mtk_cli_strv_push(&filters, optarg);
      break;
    case 'h':
      mtk_cli_strv_free(&filters);
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      mtk_cli_strv_free(&filters);
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  if (argc - optind != 0 || (format && strcmp(format, "json") != 0 && strcmp(format, "table"))) {
    mtk_cli_strv_free(&filters);
    return mtk_cli_usage_error(cmd, err,
                               argc - optind ? "\"network ls\" accepts no arguments"
                                             : "--format: only json or table");
  }
  json_t *all = NULL, *recs = json_array(), *rec;
  size_t i;
  if (mtk_net_list(cli->root, &all, err) < 0) {
    mtk_cli_strv_free(&filters);
    json_decref(recs);
    return -1;
  }
  json_array_foreach(all, i, rec)
  {
    if (ls_match(rec, &filters))
      json_array_append(recs, rec);
  }
  json_array_foreach(recs, i, rec)
  {
    const char *id = json_string_value(json_object_get(rec, "Id"));
    if (quiet)
      printf("%.*s\n", trunc ? 12 : (int) strlen(id), id);
    else if (format && !strcmp(format, "json"))
      ls_json(rec, trunc);
  }
  if (!quiet && (!format || !strcmp(format, "table")))
    ls_table(recs, trunc);
  mtk_cli_strv_free(&filters);
  json_decref(all);
  json_decref(recs);
  return 0;
}

/* ------------------------------------------------------------ rm, inspect */

int mtk_cli_network_rm(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false;
  GETOPT_LOOP(":fh", longopts)
  {
    case 'f':
      force = true;
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind < 1)
    return mtk_cli_usage_error(cmd, err, "\"network rm\" requires at least 1 argument");
  int status = 0;
  for (int i = optind; i < argc; i++) {
    struct mtk_err *e = NULL;
    if (mtk_net_remove(cli->root, argv[i], &e) == 0) {
      printf("%s\n", argv[i]);
      continue;
    }
    if (force && e->code == ENOENT) {
      mtk_err_free(&e);
      continue;
    }
    fflush(stdout);
    print_item_err(&e);
    status = 1;
  }
  return status;
}

int mtk_cli_network_inspect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                            char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  GETOPT_LOOP(":f:vh", longopts)
  {
    case 'f':
      format = optarg;
      break;
    case 'v':
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind < 1)
    return mtk_cli_usage_error(cmd, err, "\"network inspect\" requires at least 1 argument");
  if (format && strcmp(format, "json") != 0)
    return mtk_cli_usage_error(cmd, err, "--format: only json is supported");
  json_t *out = json_array();
  int status = 0;
  for (int i = optind; i < argc; i++) {
    struct mtk_err *e = NULL;
    json_t *rec = NULL;
    if (mtk_net_load(cli->root, argv[i], &rec, &e) < 0) {
      print_item_err(&e);
      status = 1;
      continue;
    }
    json_array_append_new(out, public_view(rec));
    json_decref(rec);
  }
  mtk_autofree char *s = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  json_decref(out);
  return status;
}

/* ------------------------------------------------------------------ prune */

int mtk_cli_network_prune(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false;
  GETOPT_LOOP(":fh", longopts)
  {
    case 'f':
      force = true;
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind != 0)
    return mtk_cli_usage_error(cmd, err, "\"network prune\" accepts no arguments");
  if (!force) {
    printf("WARNING! This will remove all custom networks not used by at least one container.\n"
           "Are you sure you want to continue? [y/N] ");
    fflush(stdout);
    char line[16] = "";
    if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
      return 0;
  }
  char **removed = NULL;
  size_t n = 0;
  int r = mtk_net_prune(cli->root, cli->runroot, &removed, &n, err);
  if (n)
    printf("Deleted Networks:\n");
  for (size_t i = 0; i < n; i++) {
    printf("%s\n", removed[i]);
    free(removed[i]);
  }
  free(removed);
  return r < 0 ? -1 : 0;
}

/* ------------------------------------------------------ connect, disconnect */

/* The network's name as recorded (the state is keyed by it). */
static char *network_name(const char *root, const char *ref, struct mtk_err **err)
{
  json_t *rec = NULL;
  if (mtk_net_load(root, ref, &rec, err) < 0)
    return NULL;
  char *name = mtk_xstrdup(json_string_value(json_object_get(rec, "Name")));
  json_decref(rec);
  return name;
}

static int state_networks(const char *root, struct mtk_ctr *c, const char *net, json_t *ep,
                          struct mtk_err **err)
{
  json_t *nets = json_object_get(c->state, "Networks");
  if (!json_is_object(nets)) {
    nets = json_object();
    json_object_set_new(c->state, "Networks", nets);
  }
  if (ep)
    json_object_set(nets, net, ep);
  else
    json_object_del(nets, net);
  return mtk_ctr_save_state(root, c, err);
}

struct connect_opts {
  struct mtk_cli_strv aliases;
  const char *ip, *netns;
};

static int connect_ctr(struct mtk_cli *cli, const char *net, const char *ref,
                       const struct connect_opts *o, struct mtk_err **err)
{
  mtk_autofree char *name = network_name(cli->root, net, err);
  mtk_autoptr(mtk_ctr) c = NULL;
  if (!name || mtk_ctr_load(cli->root, cli->runroot, ref, &c, err) < 0)
    return -1;
  if (!mtk_ctr_is_running(c)) {
    mtk_err_set(err, EINVAL, "container %s is not running", c->name);
    mtk_err_hint(err, "connect it once it runs, or start it with --network %s", name);
    return -1;
  }
  mtk_autofree char *ns = mtk_xasprintf("%s/netns/%s", cli->runroot, c->id);
  if (access(ns, F_OK) < 0)
    return mtk_err_set(err, ENOENT, "container %s has no network namespace of its own (%s)",
                       c->name, ns);
  struct mtk_net_endpoint_req req = {
      .network = name, .aliases = o->aliases.v, .n_aliases = o->aliases.n, .ipv4 = o->ip};
  json_t *ep = NULL;
  if (mtk_net_connect(cli->root, c->id, c->name, ns, &req, &ep, err) < 0)
    return -1;
  /* The same endpoint object prepare records for the first networks. */
  int r = state_networks(cli->root, c, name, ep, err);
  json_decref(ep);
  if (r < 0) {
    mtk_net_disconnect(cli->root, c->id, name, NULL);
    return -1;
  }
  return 0;
}

/* --netns PATH (for tests and debugging): a namespace that is no container,
 * its endpoint named and keyed by ref. */
static int connect_netns(struct mtk_cli *cli, const char *net, const char *ref,
                         const struct connect_opts *o, struct mtk_err **err)
{
  struct mtk_net_endpoint_req req = {.network = net,
                                     .aliases = o->aliases.v,
                                     .n_aliases = o->aliases.n,
                                     .ipv4 = o->ip,
                                     .default_route = true};
  return mtk_net_connect(cli->root, ref, ref, o->netns, &req, NULL, err);
}

int mtk_cli_network_connect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                            char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"alias", required_argument, NULL, 'a'},
      {"ip", required_argument, NULL, 'i'},
      {"netns", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct connect_opts o = {0};
  GETOPT_LOOP(":h", longopts)
  {
    case 'a':
      mtk_cli_strv_push(&o.aliases, optarg);
      break;
    case 'i':
      o.ip = optarg;
      break;
    case 'n':
      o.netns = optarg;
      break;
    case 'h':
      mtk_cli_strv_free(&o.aliases);
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      mtk_cli_strv_free(&o.aliases);
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  int r;
  if (argc - optind != 2)
    r = mtk_cli_usage_error(cmd, err, "\"network connect\" requires exactly 2 arguments");
  else if (o.netns)
    r = connect_netns(cli, argv[optind], argv[optind + 1], &o, err);
  else
    r = connect_ctr(cli, argv[optind], argv[optind + 1], &o, err);
  mtk_cli_strv_free(&o.aliases);
  return r;
}

/* The endpoint of ref in the network: a container's ID, or (for a container
 * that is gone) an endpoint name or ID prefix as recorded. */
static char *endpoint_key(const char *root, const char *net, const char *ref, const char *shown,
                          struct mtk_err **err)
{
  json_t *rec = NULL, *ep;
  const char *k;
  if (mtk_net_load(root, net, &rec, err) < 0)
    return NULL;
  char *hit = NULL;
  json_object_foreach(json_object_get(rec, "Containers"), k, ep)
  {
    const char *name = json_string_value(json_object_get(ep, "Name"));
    if (!hit && ((name && !strcmp(name, ref)) || !strncmp(k, ref, strlen(ref))))
      hit = mtk_xstrdup(k);
  }
  json_decref(rec);
  if (!hit)
    mtk_err_set(err, ENOENT, "container %s is not connected to network %s", shown, net);
  return hit;
}

int mtk_cli_network_disconnect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                               char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  GETOPT_LOOP(":fh", longopts)
  {
    case 'f':
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind != 2)
    return mtk_cli_usage_error(cmd, err, "\"network disconnect\" requires exactly 2 arguments");
  const char *net = argv[optind], *ref = argv[optind + 1];
  mtk_autofree char *name = network_name(cli->root, net, err);
  if (!name)
    return -1;
  mtk_autoptr(mtk_ctr) c = NULL;
  struct mtk_err *lerr = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, ref, &c, &lerr) < 0)
    mtk_err_free(&lerr);
  mtk_autofree char *key = endpoint_key(cli->root, name, c ? c->id : ref, ref, err);
  if (!key || mtk_net_disconnect(cli->root, key, name, err) < 0)
    return -1;
  if (c && json_object_get(json_object_get(c->state, "Networks"), name))
    return state_networks(cli->root, c, name, NULL, err);
  return 0;
}
