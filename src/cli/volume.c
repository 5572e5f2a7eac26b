/* `mtk volume create|ls|inspect|rm|prune` over src/orch/volume.c. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/project.h"
#include "orch/orch.h"
#include "util/cleanup.h"

/* Parses the flags shared by the volume verbs: -q, -f (force), --format,
 * --label; returns optind or negative. */
struct vol_opts {
  bool quiet, force, all;
  const char *format;
  struct mtk_cli_strv labels;
};

static int parse(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct vol_opts *o,
                 bool *help, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"quiet", no_argument, NULL, 'q'},
      {"force", no_argument, NULL, 'f'},
      {"all", no_argument, NULL, 'a'},
      {"format", required_argument, NULL, 'F'},
      {"label", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  *help = false;
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:qfah", longopts, NULL)) != -1;) {
    switch (c) {
      case 'q':
        o->quiet = true;
        break;
      case 'f':
        o->force = true;
        break;
      case 'a':
        o->all = true;
        break;
      case 'F':
        o->format = optarg;
        break;
      case 'l':
        mtk_cli_strv_push(&o->labels, optarg);
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        *help = true;
        return optind;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  return optind;
}

int mtk_cli_volume_create(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  struct vol_opts o = {0};
  bool help;
  int i = parse(cmd, argc, argv, &o, &help, err);
  int rc = i;
  if (i >= 0 && !help) {
    if (argc - i != 1) {
      rc = mtk_cli_usage_error(cmd, err, "\"volume create\" requires exactly 1 argument");
    } else {
      rc = mtk_volume_create(cli->root, argv[i], (const char *const *) o.labels.v, o.labels.n, NULL,
                             err);
      if (rc == 0)
        printf("%s\n", argv[i]);
    }
  }
  mtk_cli_strv_free(&o.labels);
  return rc < 0 ? rc : 0;
}

int mtk_cli_volume_ls(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                      struct mtk_err **err)
{
  struct vol_opts o = {0};
  bool help;
  int i = parse(cmd, argc, argv, &o, &help, err);
  mtk_cli_strv_free(&o.labels);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  json_t *list = NULL;
  if (mtk_volume_list(cli->root, &list, err) < 0)
    return -1;
  size_t k;
  json_t *v;
  if (!o.quiet && !o.format)
    printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
  json_array_foreach(list, k, v)
  {
    const char *name = json_string_value(json_object_get(v, "Name"));
    if (o.format && strcmp(o.format, "json") == 0) {
      mtk_autofree char *t = json_dumps(v, JSON_COMPACT);
      printf("%s\n", t);
    } else if (o.quiet) {
      printf("%s\n", name);
    } else {
      printf("%-10s%s\n", "local", name);
    }
  }
  json_decref(list);
  return 0;
}

int mtk_cli_volume_inspect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct vol_opts o = {0};
  bool help;
  int i = parse(cmd, argc, argv, &o, &help, err);
  mtk_cli_strv_free(&o.labels);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  if (i >= argc)
    return mtk_cli_usage_error(cmd, err, "\"volume inspect\" requires at least 1 argument");
  json_t *all = json_array();
  int rc = 0;
  for (; i < argc; i++) {
    json_t *v = NULL;
    struct mtk_err *e = NULL;
    if (mtk_volume_inspect(cli->root, argv[i], &v, &e) < 0) {
      if (!*err)
        *err = e;
      else
        mtk_err_free(&e);
      rc = -1;
      continue;
    }
    json_array_append_new(all, v);
  }
  mtk_autofree char *t = json_dumps(all, JSON_INDENT(4));
  printf("%s\n", t);
  json_decref(all);
  return rc;
}

int mtk_cli_volume_rm(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                      struct mtk_err **err)
{
  struct vol_opts o = {0};
  bool help;
  int i = parse(cmd, argc, argv, &o, &help, err);
  mtk_cli_strv_free(&o.labels);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  if (i >= argc)
    return mtk_cli_usage_error(cmd, err, "\"volume rm\" requires at least 1 argument");
  int rc = 0;
  for (; i < argc; i++) {
    struct mtk_err *e = NULL;
    if (mtk_volume_remove(cli->root, argv[i], o.force, &e) < 0) {
      if (o.force && e->code == ENOENT) {
        mtk_err_free(&e);
        continue;
      }
      if (!*err)
        *err = e;
      else
        mtk_err_free(&e);
      rc = -1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  return rc;
}

int mtk_cli_volume_prune(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  struct vol_opts o = {0};
  bool help;
  int i = parse(cmd, argc, argv, &o, &help, err);
  mtk_cli_strv_free(&o.labels);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  json_t *list = NULL;
  if (mtk_volume_list(cli->root, &list, err) < 0)
    return -1;
  size_t k;
  json_t *v;
  int rc = 0;
  printf("Deleted Volumes:\n");
  json_array_foreach(list, k, v)
  {
    const char *name = json_string_value(json_object_get(v, "Name"));
    json_t *users = mtk_volume_users(cli->root, name);
    bool used = json_array_size(users) > 0;
    json_decref(users);
    /* as docker: without --all only anonymous volumes (64 hex names) */
    bool anonymous = strlen(name) == 64 && strspn(name, "0123456789abcdef") == 64;
    if (used || (!o.all && !anonymous))
      continue;
    struct mtk_err *e = NULL;
    if (mtk_volume_remove(cli->root, name, false, &e) == 0)
      printf("%s\n", name);
    else if (!*err)
      *err = e, rc = -1;
    else
      mtk_err_free(&e);
  }
  json_decref(list);
  return rc;
}
