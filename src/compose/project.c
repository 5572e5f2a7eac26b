/* The project loader (include/mtk/compose.h): options and environment as
 * docker compose prepares them (cmd/compose toProjectOptions: OS env, .env
 * or --env-file, COMPOSE_FILE, discovery of compose.yaml upwards, the .env
 * of the project directory, COMPOSE_PROFILES, the project name), then the
 * model (load.c) and its normalised JSON (normalize*.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/dotenv.h"
#include "compose/internal.h"
#include "compose/load.h"
#include "compose/normalize.h"
#include "compose/values.h"
#include "mtk/compose.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/strmap.h"

extern char **environ;

static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                            "docker-compose.yaml"};
static const char *const override_files[] = {"compose.override.yml", "compose.override.yaml",
                                             "docker-compose.override.yml",
                                             "docker-compose.override.yaml"};

/* A growable list of owned strings. */
struct strv {
  char **v;
  size_t len, cap;
};

static void strv_push(struct strv *s, char *owned)
{
  if (s->len + 1 >= s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = mtk_xrealloc(s->v, s->cap * sizeof(char *));
  }
  s->v[s->len++] = owned;
  s->v[s->len] = NULL;
}

static void strv_free(struct strv *s)
{
  for (size_t i = 0; i < s->len; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->len = s->cap = 0;
}

struct prep {
  struct mtk_strmap env; /* the interpolation environment */
  struct mtk_strmap osenv;
  char *cwd;         /* owned: absolute */
  char *project_dir; /* owned: --project-directory made absolute, or NULL */
  struct strv files; /* absolute config paths ("-" kept) */
  struct strv profiles;
};

static void prep_free(struct prep *p)
{
  mtk_strmap_free(&p->env);
  mtk_strmap_free(&p->osenv);
  free(p->cwd);
  free(p->project_dir);
  strv_free(&p->files);
  strv_free(&p->profiles);
}

struct env_lookup {
  const struct mtk_strmap *env; /* looked up first */
  const struct mtk_strmap *out; /* then what the env files set so far */
};

static const char *lookup_env_then_out(const char *name, void *ud)
{
  const struct env_lookup *l = ud;
  bool found = false;
  const char *v = mtk_strmap_get(l->env, name, &found);
  if (found)
    return v;
  return mtk_strmap_get(l->out, name, NULL);
}

int mtk_compose_env_file_load(const char *path, const struct mtk_strmap *env,
                              struct mtk_strmap *out, struct mtk_err **err)
{
  struct stat st;
  if (stat(path, &st) < 0)
    return mtk_err_set(err, MTK_E_INVALID, "couldn't find env file: %s", path);
  if (S_ISDIR(st.st_mode))
    return mtk_err_set(err, MTK_E_INVALID, "%s is a directory", path);
  /* Parsed straight into out: a later file sees the values of earlier ones
   * (and its own earlier lines) once the environment has none. */
  struct env_lookup l = {env, out};
  if (mtk_dotenv_read_file(path, lookup_env_then_out, &l, out, err) < 0)
    return mtk_err_wrap(err, "failed to read %s", path);
  return 0;
}

/* cli.ProjectOptions.GetWorkingDir: --project-directory, else the directory
 * of the first compose file, else the current directory.  Owned by caller. */
static char *working_dir(const struct prep *p)
{
  if (p->project_dir)
    return mtk_xstrdup(p->project_dir);
  for (size_t i = 0; i < p->files.len; i++)
    if (strcmp(p->files.v[i], "-") != 0)
      return mtk_path_dir(p->files.v[i]);
  return mtk_xstrdup(p->cwd);
}

/* cli.WithEnvFiles + cli.WithDotEnv: --env-file files, else <working dir>/.env. */
static int load_dotenv(struct prep *p, const struct mtk_compose_opts *o, struct mtk_err **err)
{
  struct strv files = {0};
  int r = 0;
  if (o->n_env_files > 0) {
    for (size_t i = 0; i < o->n_env_files; i++)
      strv_push(&files, mtk_path_abs(p->cwd, o->env_files[i]));
  } else {
    const char *dis = mtk_strmap_get(&p->osenv, "COMPOSE_DISABLE_ENV_FILE", NULL);
    bool disabled = false;
    if (dis && mtk_compose_strconv_parse_bool(dis, &disabled) && disabled) {
      strv_free(&files);
      return 0;
    }
    mtk_autofree char *wd = working_dir(p);
    char *f = mtk_xasprintf("%s/.env", wd);
    struct stat st;
    if (stat(f, &st) == 0 && !S_ISDIR(st.st_mode))
      strv_push(&files, f);
    else
      free(f);
  }
  mtk_autostrmap loaded = MTK_STRMAP_INIT;
  for (size_t i = 0; i < files.len && r == 0; i++)
    r = mtk_compose_env_file_load(files.v[i], &p->env, &loaded, err);
  for (size_t i = 0; r == 0 && i < loaded.len; i++)
    mtk_strmap_set_default(&p->env, loaded.keys[i], loaded.vals[i]);
  strv_free(&files);
  return r;
}

static bool exists_file(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* cli.WithDefaultConfigPath: the first compose.yaml-like file in the working
 * directory or the nearest parent, plus its override file. */
static void discover(struct prep *p)
{
  mtk_autofree char *dir = working_dir(p);
  for (;;) {
    for (size_t i = 0; i < sizeof(default_files) / sizeof(default_files[0]); i++) {
      char *f = mtk_xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", default_files[i]);
      if (!exists_file(f)) {
        free(f);
        continue;
      }
      strv_push(&p->files, f);
      for (size_t j = 0; j < sizeof(override_files) / sizeof(override_files[0]); j++) {
        char *o = mtk_xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", override_files[j]);
        if (exists_file(o)) {
          strv_push(&p->files, o);
          break;
        }
        free(o);
      }
      return;
    }
    if (strcmp(dir, "/") == 0)
      return;
    char *parent = mtk_path_dir(dir);
    free(dir);
    dir = parent;
  }
}

static void split_push(struct strv *out, const char *s, const char *sep, const char *base,
                       bool trim)
{
  mtk_autofree char *copy = mtk_xstrdup(s);
  size_t seplen = strlen(sep);
  char *cur = copy;
  for (;;) {
    char *next = seplen ? strstr(cur, sep) : NULL;
    if (next)
      *next = '\0';
    char *item = cur;
    if (trim) {
      while (*item == ' ' || *item == '\t')
        item++;
      size_t n = strlen(item);
      while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
        item[--n] = '\0';
    }
    strv_push(out, base ? mtk_path_abs(base, item) : mtk_xstrdup(item));
    if (!next)
      break;
    cur = next + seplen;
  }
}

static int prepare(struct prep *p, const struct mtk_compose_opts *o, struct mtk_err **err)
{
  char *const *ev = o->environ ? o->environ : environ;
  for (size_t i = 0; ev && ev[i]; i++) {
    const char *eq = strchr(ev[i], '=');
    if (eq == NULL)
      continue;
    mtk_autofree char *k = mtk_xstrndup(ev[i], (size_t) (eq - ev[i]));
    mtk_strmap_set(&p->osenv, k, eq + 1);
  }
  mtk_strmap_merge(&p->env, &p->osenv);
  if (o->workdir)
    p->cwd = mtk_xstrdup(o->workdir);
  else if ((p->cwd = getcwd(NULL, 0)) == NULL)
    return mtk_err_set(err, errno, "cannot determine the current directory: %s", strerror(errno));
  mtk_strmap_set_default(&p->env, "PWD", p->cwd);
  if (o->project_dir)
    p->project_dir = mtk_path_abs(p->cwd, o->project_dir);
  for (size_t i = 0; i < o->n_files; i++)
    strv_push(&p->files,
              strcmp(o->files[i], "-") == 0 ? mtk_xstrdup("-") : mtk_path_abs(p->cwd, o->files[i]));
  if (load_dotenv(p, o, err) < 0)
    return -1;
  if (p->files.len == 0) {
    const char *cf = mtk_strmap_get(&p->env, "COMPOSE_FILE", NULL);
    const char *sep = mtk_strmap_get(&p->env, "COMPOSE_PATH_SEPARATOR", NULL);
    if (cf)
      split_push(&p->files, cf, sep && *sep ? sep : ":", p->cwd, false);
  }
  if (p->files.len == 0)
    discover(p);
  if (p->files.len == 0) {
    mtk_autofree char *wd = working_dir(p);
    mtk_err_set(err, MTK_E_NOFILE, "no configuration file provided: not found");
    mtk_err_hint(err, "create compose.yaml in %s or a parent directory, or pass -f FILE", wd);
    return -1;
  }
  if (load_dotenv(p, o, err) < 0)
    return -1;
  if (o->n_profiles > 0) {
    for (size_t i = 0; i < o->n_profiles; i++)
      strv_push(&p->profiles, mtk_xstrdup(o->profiles[i]));
  } else {
    const char *cp = mtk_strmap_get(&p->env, "COMPOSE_PROFILES", NULL);
    split_push(&p->profiles, cp ? cp : "", ",", NULL, true);
  }
  return 0;
}

char *mtk_compose_normalize_name(const char *s)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (const char *c = s; *c; c++) {
    char l = (*c >= 'A' && *c <= 'Z') ? (char) (*c - 'A' + 'a') : *c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-')
      mtk_strbuf_addc(&sb, l);
  }
  const char *r = mtk_strbuf_str(&sb);
  while (*r == '_' || *r == '-')
    r++;
  return mtk_xstrdup(r);
}

static int invalid_name(const char *name, int code, struct mtk_err **err)
{
  return mtk_err_set(err, code,
                     "invalid project name \"%s\": must consist only of lowercase alphanumeric "
                     "characters, hyphens, and underscores as well as start with a letter or "
                     "number",
                     name);
}

/* The last non-empty top-level `name:` of the files' documents, as written. */
static char *name_in_files(const struct prep *p, bool first_doc_only)
{
  char *found = NULL;
  for (size_t i = 0; i < p->files.len; i++) {
    size_t len = 0;
    struct mtk_err *e = NULL;
    mtk_autofree char *text = mtk_compose_read_file(p->files.v[i], &len, &e);
    mtk_autoptr(mtk_node) docs =
        text ? mtk_compose_yaml_parse_all(p->files.v[i], text, len, &e) : NULL;
    mtk_err_free(&e);
    for (size_t d = 0; docs && d < docs->len && (d == 0 || !first_doc_only); d++) {
      const char *n = mtk_node_get_str(docs->items[d], "name");
      if (n && *n) {
        free(found);
        found = mtk_xstrdup(n);
      }
    }
  }
  return found;
}

/* withNamePrecedenceLoad + loader projectName: -p, COMPOSE_PROJECT_NAME,
 * the files' `name:` (interpolated, normalised), the directory's name. */
static char *project_name(struct prep *p, const struct mtk_compose_opts *o, const char *workdir,
                          struct mtk_err **err)
{
  if (o->project_name) {
    mtk_autofree char *norm = mtk_compose_normalize_name(o->project_name);
    if (strcmp(norm, o->project_name) != 0 || *norm == '\0')
      return invalid_name(o->project_name, MTK_E_USAGE, err), NULL;
    return mtk_xstrdup(o->project_name);
  }
  const char *envname = mtk_strmap_get(&p->env, "COMPOSE_PROJECT_NAME", NULL);
  if (envname && *envname) {
    mtk_autofree char *norm = mtk_compose_normalize_name(envname);
    if (strcmp(norm, envname) != 0)
      return invalid_name(envname, MTK_E_USAGE, err), NULL;
    return mtk_xstrdup(envname);
  }
  mtk_autofree char *named = name_in_files(p, true);
  char *name = NULL;
  if (named == NULL) {
    mtk_autofree char *base =
        mtk_xstrdup(strrchr(workdir, '/') ? strrchr(workdir, '/') + 1 : workdir);
    name = mtk_compose_normalize_name(base);
  }
  mtk_autofree char *fromfile = name_in_files(p, false);
  if (fromfile && !o->no_interpolate) {
    mtk_autoptr(mtk_node) n = mtk_node_new_str(fromfile, NULL);
    mtk_autoptr(mtk_node) m = mtk_node_new_map(NULL);
    mtk_node_set(m, "name", mtk_steal_ptr(&n));
    if (mtk_compose_interpolate(m, &p->env, err) < 0) {
      free(name);
      return NULL;
    }
    free(fromfile);
    fromfile = mtk_xstrdup(mtk_node_get(m, "name")->str);
  }
  if (fromfile && !o->no_normalize) {
    char *norm = mtk_compose_normalize_name(fromfile);
    free(fromfile);
    fromfile = norm;
  }
  if (fromfile && *fromfile) {
    free(name);
    name = mtk_steal_ptr(&fromfile);
  }
  if (name == NULL || *name == '\0') {
    free(name);
    mtk_err_set(err, MTK_E_INVALID, "project name must not be empty");
    mtk_err_hint(err, "set `name:` in the compose file or pass -p NAME");
    return NULL;
  }
  return name;
}

static void collect_profiles(const struct mtk_node *model, struct mtk_strmap *set)
{
  const struct mtk_node *services = mtk_node_get(model, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    const struct mtk_node *pr = mtk_node_get(services->pairs[i].val, "profiles");
    for (size_t j = 0; mtk_node_is_seq(pr) && j < pr->len; j++)
      if (pr->items[j]->kind == MTK_NODE_SCALAR)
        mtk_strmap_set(set, pr->items[j]->str, NULL);
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

void mtk_project_free(struct mtk_project *p)
{
  if (p == NULL)
    return;
  free(p->name);
  free(p->workdir);
  for (size_t i = 0; p->config_files && p->config_files[i]; i++)
    free(p->config_files[i]);
  free(p->config_files);
  for (size_t i = 0; p->profiles && p->profiles[i]; i++)
    free(p->profiles[i]);
  free(p->profiles);
  json_decref(p->model);
  free(p);
}
MTK_DEFINE_AUTOPTR(mtk_project, mtk_project_free)

static int finish(struct mtk_project *proj, struct prep *p, struct mtk_node *model,
                  const struct mtk_compose_opts *o, struct mtk_err **err)
{
  mtk_autostrmap profset = MTK_STRMAP_INIT;
  collect_profiles(model, &profset);
  proj->profiles = mtk_xcalloc(profset.len + 1, sizeof(char *));
  for (size_t i = 0; i < profset.len; i++)
    proj->profiles[i] = mtk_xstrdup(profset.keys[i]);
  qsort(proj->profiles, profset.len, sizeof(char *), cmp_str);
  struct mtk_norm_ctx nctx = {
      .project_name = proj->name,
      .workdir = proj->workdir,
      .env = &p->env,
      .profiles = (const char *const *) p->profiles.v,
      .n_profiles = p->profiles.len,
      .no_normalize = o->no_normalize,
      .no_consistency = o->no_consistency,
      .no_path_resolution = o->no_path_resolution,
      .keep_env_files = o->keep_env_files,
      .all_resources = o->all_resources,
  };
  /* The depends_on cycle check is the consistency checks' (mtk_graph_sort). */
  proj->model = mtk_compose_project_json(model, &nctx, err);
  return proj->model ? 0 : -1;
}

struct mtk_project *mtk_compose_load(const struct mtk_compose_opts *o, struct mtk_err **err)
{
  struct prep p = {0};
  struct mtk_project *ret = NULL;
  mtk_autoptr(mtk_project) proj = mtk_xcalloc(1, sizeof(*proj));
  mtk_autoptr(mtk_node) model = NULL;
  if (prepare(&p, o, err) < 0)
    goto out;
  proj->workdir = working_dir(&p);
  proj->name = project_name(&p, o, proj->workdir, err);
  if (proj->name == NULL)
    goto out;
  mtk_strmap_set(&p.env, "COMPOSE_PROJECT_NAME", proj->name);
  proj->config_files = mtk_xcalloc(p.files.len + 1, sizeof(char *));
  for (size_t i = 0; i < p.files.len; i++) {
    if (strcmp(p.files.v[i], "-") == 0) {
      mtk_err_set(err, MTK_E_USAGE, "reading a compose file from standard input is not supported");
      mtk_err_hint(err, "write it to a file and pass -f FILE");
      goto out;
    }
    proj->config_files[i] = mtk_xstrdup(p.files.v[i]);
  }
  struct mtk_compose_ctx ctx = {
      .env = &p.env,
      .workdir = proj->workdir,
      .skip_interpolation = o->no_interpolate,
      .resolve_paths = !o->no_path_resolution,
      .skip_path_resolution = o->no_path_resolution,
  };
  model = mtk_compose_load_model(&ctx, (const char *const *) p.files.v, p.files.len, err);
  mtk_node_free(ctx.kept);
  if (model == NULL)
    goto out;
  if (model->len == 0) {
    mtk_err_set_at(err, MTK_E_INVALID, p.files.v[0], 0, 0, "empty compose file");
    goto out;
  }
  if (finish(proj, &p, model, o, err) < 0)
    goto out;
  ret = mtk_steal_ptr(&proj);
out:
  prep_free(&p);
  return ret;
}
