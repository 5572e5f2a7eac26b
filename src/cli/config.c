/* `mtk config`: loads the project as `docker compose config` does and
 * prints it (YAML or JSON, every `$` of a string value doubled so the text
 * loads again), or one of its lists: --services (dependency order),
 * --volumes, --hash, --profiles, --images; the first of these in that order
 * wins, as in docker/compose cmd/compose/config.go.  SERVICE... arguments
 * keep those services and their dependencies (the full model, --profiles
 * and --images); a named service whose profile is not active is enabled by
 * adding its profiles, as compose-go's WithServicesEnabled. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/project.h"
#include "mtk/compose.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

enum config_mode { MODE_MODEL, MODE_SERVICES, MODE_VOLUMES, MODE_HASH, MODE_PROFILES, MODE_IMAGES };

struct config_opts {
  const char *format; /* borrowed: --format, NULL = yaml */
  const char *output; /* borrowed: -o, or NULL */
  const char *hash;   /* borrowed: --hash, or NULL */
  bool quiet;
  bool list[MODE_IMAGES + 1]; /* --services ... --images given */
  bool no_interpolate;
  bool no_normalize;
  bool no_consistency;
  bool no_path_resolution;
  bool keep_env_files;
  char **names; /* borrowed: SERVICE... (argv) */
  size_t n_names;
};

enum {
  OPT_FORMAT = 256,
  OPT_HASH,
  OPT_SERVICES,
  OPT_VOLUMES,
  OPT_PROFILES,
  OPT_IMAGES,
  OPT_NO_INTERPOLATE,
  OPT_NO_NORMALIZE,
  OPT_NO_CONSISTENCY,
  OPT_NO_PATH_RESOLUTION,
  OPT_KEEP_ENV_FILES,
};

static const struct option config_longopts[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"hash", required_argument, NULL, OPT_HASH},
    {"services", no_argument, NULL, OPT_SERVICES},
    {"volumes", no_argument, NULL, OPT_VOLUMES},
    {"profiles", no_argument, NULL, OPT_PROFILES},
    {"images", no_argument, NULL, OPT_IMAGES},
    {"no-interpolate", no_argument, NULL, OPT_NO_INTERPOLATE},
    {"no-normalize", no_argument, NULL, OPT_NO_NORMALIZE},
    {"no-consistency", no_argument, NULL, OPT_NO_CONSISTENCY},
    {"no-path-resolution", no_argument, NULL, OPT_NO_PATH_RESOLUTION},
    {"keep-env-files", no_argument, NULL, OPT_KEEP_ENV_FILES},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void set_option(struct config_opts *o, int c, const char *arg)
{
  switch (c) {
    case OPT_FORMAT:
      o->format = arg;
      break;
    case OPT_HASH:
      o->hash = arg;
      o->list[MODE_HASH] = true;
      break;
    case OPT_SERVICES:
      o->list[MODE_SERVICES] = true;
      break;
    case OPT_VOLUMES:
      o->list[MODE_VOLUMES] = true;
      break;
    case OPT_PROFILES:
      o->list[MODE_PROFILES] = true;
      break;
    case OPT_IMAGES:
      o->list[MODE_IMAGES] = true;
      break;
    case OPT_NO_INTERPOLATE:
      o->no_interpolate = true;
      break;
    case OPT_NO_NORMALIZE:
      o->no_normalize = true;
      break;
    case OPT_NO_CONSISTENCY:
      o->no_consistency = true;
      break;
    case OPT_NO_PATH_RESOLUTION:
      o->no_path_resolution = true;
      break;
    case OPT_KEEP_ENV_FILES:
      o->keep_env_files = true;
      break;
    case 'o':
      o->output = arg;
      break;
    case 'q':
      o->quiet = true;
      break;
  }
}

/* Returns 1 to go on, 0 when --help was printed, negative on a usage error. */
static int parse_options(const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct config_opts *o, struct mtk_err **err)
{
  int c;
  opterr = 0;
  optind = 0;
  /* No "+": options may follow SERVICE names, as with docker compose. */
  while ((c = getopt_long(argc, argv, ":o:qh", config_longopts, NULL)) != -1) {
    if (c == 'h') {
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    }
    if (c == '?' || c == ':')
      return mtk_cli_getopt_error(cmd, c, argv, err);
    set_option(o, c, optarg);
  }
  if (o->format && strcmp(o->format, "json") != 0 && strcmp(o->format, "yaml") != 0)
    return mtk_cli_usage_error(cmd, err, "unsupported format \"%s\" (json or yaml)", o->format);
  if (o->hash && *o->hash == '\0')
    return mtk_cli_usage_error(cmd, err, "--hash needs service names or \"*\"");
  o->names = argv + optind;
  o->n_names = (size_t) (argc - optind);
  return 1;
}

static void compose_opts(const struct mtk_cli *cli, const struct config_opts *o,
                         struct mtk_compose_opts *co)
{
  memset(co, 0, sizeof(*co));
  co->files = cli->files.v;
  co->n_files = cli->files.n;
  co->project_name = cli->project_name;
  co->project_dir = cli->project_dir;
  co->env_files = cli->env_files.v;
  co->n_env_files = cli->env_files.n;
  co->profiles = cli->profiles.v;
  co->n_profiles = cli->profiles.n;
  co->environ = NULL; /* the real environment */
  co->no_interpolate = o->no_interpolate;
  co->no_normalize = o->no_normalize;
  co->no_consistency = o->no_consistency;
  co->no_path_resolution = o->no_path_resolution;
  co->keep_env_files = o->keep_env_files;
  co->all_resources = cli->all_resources;
}

/* The profiles in force: --profile, else COMPOSE_PROFILES (comma-separated). */
static void active_profiles(const struct mtk_cli *cli, struct mtk_cli_strv *out, char **buf)
{
  for (size_t i = 0; i < cli->profiles.n; i++)
    mtk_cli_strv_push(out, cli->profiles.v[i]);
  const char *env = getenv("COMPOSE_PROFILES");
  if (cli->profiles.n > 0 || env == NULL)
    return;
  *buf = mtk_xstrdup(env);
  char *save = NULL;
  for (char *p = strtok_r(*buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
    if (*p)
      mtk_cli_strv_push(out, p);
}

/* Loads the project; named services that are disabled by their profiles
 * are enabled by loading again with their profiles added. */
static struct mtk_project *load(const struct mtk_cli *cli, const struct config_opts *o, bool select,
                                struct mtk_err **err)
{
  struct mtk_compose_opts co;
  compose_opts(cli, o, &co);
  mtk_autoptr(mtk_project) p = mtk_compose_load(&co, err);
  if (p == NULL || !select)
    return mtk_steal_ptr(&p);
  json_t *services = json_object_get(p->model, "services");
  size_t missing = 0;
  for (size_t i = 0; i < o->n_names; i++)
    missing += json_object_get(services, o->names[i]) == NULL;
  if (missing == 0)
    return mtk_steal_ptr(&p);

  /* Which profiles do the missing services need?  Load with every profile. */
  static const char *const all[] = {"*", NULL};
  co.profiles = all;
  co.n_profiles = 1;
  mtk_autoptr(mtk_project) everything = mtk_compose_load(&co, err);
  if (everything == NULL)
    return NULL;
  struct mtk_cli_strv profiles = {NULL, 0};
  mtk_autofree char *env_buf = NULL;
  active_profiles(cli, &profiles, &env_buf);
  json_t *all_services = json_object_get(everything->model, "services");
  for (size_t i = 0; i < o->n_names; i++) {
    if (json_object_get(services, o->names[i]))
      continue;
    size_t j;
    json_t *prof;
    json_array_foreach(json_object_get(json_object_get(all_services, o->names[i]), "profiles"), j,
                       prof) if (json_is_string(prof))
        mtk_cli_strv_push(&profiles, json_string_value(prof));
  }
  co.profiles = profiles.v;
  co.n_profiles = profiles.n;
  struct mtk_project *again = mtk_compose_load(&co, err);
  mtk_cli_strv_free(&profiles);
  return again;
}

static void print_services(json_t *model, struct mtk_strbuf *out)
{
  mtk_autofree const char **names = mtk_cli_model_service_order(model);
  for (size_t i = 0; names[i]; i++)
    mtk_strbuf_addf(out, "%s\n", names[i]);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void print_keys(json_t *obj, struct mtk_strbuf *out)
{
  size_t n = json_object_size(obj), i = 0;
  mtk_autofree const char **keys = mtk_xcalloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) keys[i++] = key;
  qsort(keys, n, sizeof(*keys), cmp_str);
  for (i = 0; i < n; i++)
    mtk_strbuf_addf(out, "%s\n", keys[i]);
}

static int print_hashes(json_t *model, const char *spec, struct mtk_strbuf *out,
                        struct mtk_err **err)
{
  json_t *services = json_object_get(model, "services");
  struct mtk_cli_strv names = {NULL, 0};
  mtk_autofree char *buf = mtk_xstrdup(spec);
  if (strcmp(spec, "*") == 0) {
    const char *key;
    json_t *val;
    json_object_foreach(services, key, val) mtk_cli_strv_push(&names, key);
  } else {
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
      mtk_cli_strv_push(&names, p);
  }
  if (names.n > 0)
    qsort(names.v, names.n, sizeof(*names.v), cmp_str);
  int r = 0;
  for (size_t i = 0; i < names.n && r == 0; i++) {
    json_t *svc = json_object_get(services, names.v[i]);
    char hex[65];
    if (svc == NULL)
      r = mtk_err_set(err, MTK_E_GENERIC, "no such service: %s", names.v[i]);
    else if ((r = mtk_cli_model_service_hash(svc, hex, err)) == 0)
      mtk_strbuf_addf(out, "%s %s\n", names.v[i], hex);
  }
  mtk_cli_strv_free(&names);
  return r;
}

static void print_images(const struct mtk_project *p, struct mtk_strbuf *out)
{
  json_t *services = json_object_get(p->model, "services");
  mtk_autofree const char **names = mtk_xcalloc(json_object_size(services) + 1, sizeof(*names));
  size_t n = 0;
  const char *key;
  json_t *val;
  json_object_foreach(services, key, val) names[n++] = key;
  qsort(names, n, sizeof(*names), cmp_str);
  for (size_t i = 0; i < n; i++) {
    const char *image =
        json_string_value(json_object_get(json_object_get(services, names[i]), "image"));
    if (image && *image)
      mtk_strbuf_addf(out, "%s\n", image);
    else
      mtk_strbuf_addf(out, "%s-%s\n", p->name, names[i]);
  }
}

static int print_model(const struct config_opts *o, json_t *model, struct mtk_strbuf *out,
                       struct mtk_err **err)
{
  /* docker compose doubles `$` only in the interpolated model. */
  if (!o->no_interpolate)
    mtk_cli_model_escape_dollars(model);
  mtk_autofree char *text = NULL;
  if (o->format && strcmp(o->format, "json") == 0)
    text = mtk_cli_json_dump(model);
  else if ((text = mtk_cli_yaml_dump(model, err)) == NULL)
    return -1;
  mtk_strbuf_adds(out, text);
  return 0;
}

static enum config_mode pick_mode(const struct config_opts *o)
{
  static const enum config_mode order[] = {MODE_SERVICES, MODE_VOLUMES, MODE_HASH, MODE_PROFILES,
                                           MODE_IMAGES};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (o->list[order[i]])
      return order[i];
  return MODE_MODEL;
}

static int render(const struct config_opts *o, enum config_mode mode, struct mtk_project *p,
                  struct mtk_strbuf *out, struct mtk_err **err)
{
  switch (mode) {
    case MODE_SERVICES:
      print_services(p->model, out);
      return 0;
    case MODE_VOLUMES:
      print_keys(json_object_get(p->model, "volumes"), out);
      return 0;
    case MODE_HASH:
      return print_hashes(p->model, o->hash, out, err);
    case MODE_PROFILES:
      for (size_t i = 0; p->profiles && p->profiles[i]; i++)
        mtk_strbuf_addf(out, "%s\n", p->profiles[i]);
      return 0;
    case MODE_IMAGES:
      print_images(p, out);
      return 0;
    case MODE_MODEL:
      return print_model(o, p->model, out, err);
  }
  return 0;
}

int mtk_cli_config(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                   struct mtk_err **err)
{
  struct config_opts o = {0};
  int r = parse_options(cmd, argc, argv, &o, err);
  if (r <= 0)
    return r;
  enum config_mode mode = pick_mode(&o);
  /* As docker compose: --services, --volumes and --hash ignore SERVICE... */
  bool select = o.n_names > 0 && mode != MODE_SERVICES && mode != MODE_VOLUMES && mode != MODE_HASH;
  mtk_autoptr(mtk_project) p = load(cli, &o, select, err);
  if (p == NULL)
    return -1;
  if (select && mtk_cli_model_select(p->model, (const char *const *) o.names, o.n_names,
                                     !cli->all_resources, err) < 0)
    return -1;
  mtk_autostrbuf out = MTK_STRBUF_INIT;
  if (render(&o, mode, p, &out, err) < 0)
    return -1;
  if (o.quiet)
    return 0;
  /* As docker compose, -o with nothing to write leaves the file alone. */
  if (o.output && out.len == 0)
    return 0;
  return mtk_cli_write_output(o.output, mtk_strbuf_str(&out), out.len, err) < 0 ? -1 : 0;
}
