/* `mtk build --check [SERVICE...]` and `mtk image build --check [-f
 * Dockerfile] CONTEXT`: what `docker build --check` does, without building.
 * Each Dockerfile (a compose service's build.context + build.dockerfile or
 * build.dockerfile_inline, build.args, build.target; or the one given) is
 * parsed, its stages resolved with the build args and target, and every
 * build check run; the plan is printed per stage that will be built (each
 * instruction with its words expanded as the builder will see them), then
 * the warnings (`file:line: WARN Rule: message` and the rule's URL), then a
 * summary; --format json prints one JSON document instead.  The ENV of a
 * base image is read from the local image store when the image is there
 * (the store is never created here).  Exit status 0
 * when every Dockerfile resolves (warnings included), 17 when one does not
 * or a check is an error (`# check=error=true`).  Building itself is not
 * available yet: without --check both commands say so and exit 1. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/check.h"
#include "build/ignore.h"
#include "build/stages.h"
#include "cli/cli.h"
#include "cli/project.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/strmap.h"

#define MAX_DOCKERFILE (16 << 20)

struct build_opts {
  bool check;
  bool json;
  const char *file;             /* borrowed: -f */
  const char *target;           /* borrowed: --target */
  const char *platform;         /* borrowed: --platform */
  struct mtk_strmap build_args; /* --build-arg, in order */
  char **names;                 /* borrowed: SERVICE... or CONTEXT */
  size_t n_names;
};

/* One Dockerfile to check. */
struct job {
  const char *service; /* borrowed, or NULL */
  char *context;       /* owned: context directory */
  char *dockerfile;    /* owned: path (NULL for an inline Dockerfile) */
  char *display;       /* owned: the path as printed */
  char *text;          /* owned: the Dockerfile */
  size_t len;
  const char *target;     /* borrowed */
  const char *platform;   /* borrowed */
  struct mtk_strmap args; /* build args */
};

/* The local image store, opened on first use when it exists (never created). */
struct images {
  const char *root;        /* borrowed: --root */
  struct mtk_store *store; /* owned, or NULL */
  bool tried;
};

struct totals {
  size_t files, warnings, errors;
  json_t *docs; /* --format json: the array of results */
  struct images images;
};

enum { OPT_CHECK = 256, OPT_FORMAT, OPT_TARGET, OPT_PLATFORM, OPT_BUILD_ARG };

static const struct option build_longopts[] = {
    {"check", no_argument, NULL, OPT_CHECK},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
    {"target", required_argument, NULL, OPT_TARGET},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"file", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --build-arg K=V, or K alone: the value from the environment when set. */
static void add_build_arg(struct mtk_strmap *m, const char *arg)
{
  const char *eq = strchr(arg, '=');
  if (eq) {
    mtk_autofree char *k = mtk_xstrndup(arg, (size_t) (eq - arg));
    mtk_strmap_set(m, k, eq + 1);
  } else if (getenv(arg)) {
    mtk_strmap_set(m, arg, getenv(arg));
  }
}

/* Returns 1 to go on, 0 when --help was printed, negative on a usage error. */
static int parse_options(const struct mtk_cli_cmd *cmd, bool image, int argc, char **argv,
                         struct build_opts *o, struct mtk_err **err)
{
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, image ? ":f:h" : ":h", build_longopts, NULL)) != -1) {
    switch (c) {
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 0;
      case OPT_CHECK:
        o->check = true;
        break;
      case OPT_FORMAT:
        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
          return mtk_cli_usage_error(cmd, err, "unsupported format \"%s\" (text or json)", optarg);
        o->json = strcmp(optarg, "json") == 0;
        break;
      case OPT_BUILD_ARG:
        add_build_arg(&o->build_args, optarg);
        break;
      case OPT_TARGET:
      case OPT_PLATFORM:
      case 'f':
        if (!image)
          return mtk_cli_getopt_error(cmd, '?', argv, err);
        *(c == 'f' ? &o->file : c == OPT_TARGET ? &o->target : &o->platform) = optarg;
        break;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  o->names = argv + optind;
  o->n_names = (size_t) (argc - optind);
  if (image && o->n_names != 1)
    return mtk_cli_usage_error(cmd, err,
                               "\"mtk image build\" requires exactly 1 argument "
                               "(the build context)");
  return 1;
}

static int not_yet(struct mtk_err **err)
{
  int r = mtk_err_set(err, MTK_E_GENERIC, "building is not available in this version yet");
  mtk_err_hint(err, "Use --check to parse the Dockerfiles and print what would be built.");
  return r;
}

/* ------------------------------------------------------------ inputs */

static char *display_path(const char *path)
{
  char cwd[4096];
  if (path[0] == '/' && getcwd(cwd, sizeof(cwd))) {
    size_t n = strlen(cwd);
    if (strncmp(path, cwd, n) == 0 && path[n] == '/')
      return mtk_xstrdup(path + n + 1);
  }
  return mtk_xstrdup(path);
}

static char *abs_path(const char *p)
{
  char cwd[4096];
  mtk_autofree char *a = mtk_path_abs(getcwd(cwd, sizeof(cwd)) ? cwd : "/", p);
  return mtk_path_clean(a);
}

/* mtk_file_read with the bare cause as message: the callers name the file. */
static int read_file(const char *path, char **text, size_t *len, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  *text = mtk_file_read(path, MAX_DOCKERFILE, len, &e);
  if (*text)
    return 0;
  int code = e->code;
  mtk_err_free(&e);
  if (code == EFBIG)
    return mtk_err_set(err, EFBIG, "larger than %d bytes", MAX_DOCKERFILE);
  return mtk_err_set(err, code, "%s", strerror(code));
}

/* The Dockerfile's own ignore file beside it, else the context's. */
static struct mtk_ignore *load_ignore(const struct job *j, struct mtk_err **err)
{
  mtk_autofree char *own = j->dockerfile ? mtk_xasprintf("%s.dockerignore", j->dockerfile) : NULL;
  mtk_autofree char *ctx = mtk_path_join(j->context, ".dockerignore");
  const char *paths[] = {own, ctx};
  for (size_t i = 0; i < 2; i++) {
    if (paths[i] == NULL || access(paths[i], F_OK) != 0)
      continue;
    mtk_autofree char *text = NULL;
    size_t len = 0;
    mtk_autofree char *shown = display_path(paths[i]);
    if (read_file(paths[i], &text, &len, err) < 0) {
      (*err)->code = MTK_E_BUILD;
      return mtk_err_wrap(err, "failed to read %s", shown), NULL;
    }
    struct mtk_ignore *m = mtk_ignore_load(text, len, shown, err);
    if (m == NULL)
      (*err)->code = MTK_E_BUILD;
    return m;
  }
  return NULL;
}

static bool remote_context(const char *ctx)
{
  return strstr(ctx, "://") || strncmp(ctx, "git@", 4) == 0 || strncmp(ctx, "github.com/", 11) == 0;
}

/* Reads the Dockerfile of a job whose context and path are set. */
static int load_job(struct job *j, struct mtk_err **err)
{
  struct stat st;
  mtk_autofree char *shown = display_path(j->context);
  if (stat(j->context, &st) < 0)
    return mtk_err_set(err, MTK_E_BUILD, "unable to prepare context: path \"%s\" not found", shown);
  if (!S_ISDIR(st.st_mode))
    return mtk_err_set(err, MTK_E_BUILD,
                       "unable to prepare context: context must be a "
                       "directory: %s",
                       shown);
  if (j->text)
    return 0;
  j->display = display_path(j->dockerfile);
  if (read_file(j->dockerfile, &j->text, &j->len, err) < 0) {
    (*err)->code = MTK_E_BUILD;
    return mtk_err_wrap(err, "failed to read dockerfile: open %s", j->display);
  }
  return 0;
}

static void job_free(struct job *j)
{
  free(j->context);
  free(j->dockerfile);
  free(j->display);
  free(j->text);
  mtk_strmap_free(&j->args);
}

/* ------------------------------------------------------------ text output */

static void print_step(const char *file, const struct mtk_plan_step *s, int line)
{
  printf("  %s:%d  %s%s\n", file, line, s->onbuild ? "ONBUILD " : "", s->text);
  for (size_t i = 0; i < s->n_notes; i++)
    printf("  %s:%d: note: %s\n", file, line, s->notes[i]);
}

static void print_stage(const struct mtk_plan *p, const struct mtk_plan_stage *st)
{
  printf("stage %zu", st->index);
  if (st->name)
    printf(" [%s]", st->name);
  printf(" FROM %s", st->base);
  if (st->base_stage >= 0)
    printf(" (stage %d)", st->base_stage);
  if (st->platform)
    printf(" [%s]", st->platform);
  printf("\n");
  for (size_t i = 0; i < st->n_steps; i++) {
    const struct mtk_plan_step *s = &st->steps[i];
    print_step(p->file, s, s->onbuild ? st->line : s->instr->start_line);
  }
}

static size_t print_plan(const struct mtk_plan *p)
{
  size_t n = 0;
  for (size_t i = 0; i < p->n_order; i++) {
    print_stage(p, &p->stages[p->order[i]]);
    n += p->stages[p->order[i]].n_steps;
  }
  for (size_t i = 0; i < p->n_stages; i++)
    if (!p->stages[i].reachable)
      printf("stage %zu%s%s%s skipped: not needed for the target\n", i,
             p->stages[i].name ? " [" : "", p->stages[i].name ? p->stages[i].name : "",
             p->stages[i].name ? "]" : "");
  for (size_t i = 0; i < p->proxy.len; i++)
    printf("note: --build-arg %s is given to every RUN as a proxy setting (not stored in the "
           "image)\n",
           p->proxy.keys[i]);
  /* Notes come from base images whose ENV is unknown: say how to make it known. */
  for (size_t i = 0; i < p->n_order; i++) {
    const struct mtk_plan_stage *st = &p->stages[p->order[i]];
    for (size_t k = 0; k < st->n_steps; k++)
      if (st->steps[k].n_notes) {
        printf("note: base images pulled with 'mtk image pull' (for the target platform) let "
               "--check read their ENV\n");
        return n;
      }
  }
  return n;
}

static void print_warnings(struct mtk_check *lint)
{
  for (size_t i = 0; i < mtk_check_count(lint); i++) {
    const struct mtk_check_warning *w = mtk_check_warning(lint, i);
    const struct mtk_check_rule_info *r = mtk_check_rule_info(w->rule);
    printf("%s:%d: WARN %s: %s\n  %s\n", mtk_check_file(lint), w->line, r->name, w->detail, r->url);
  }
}

static void print_error(const struct mtk_err *e)
{
  mtk_autofree char *text = mtk_err_format(e);
  fflush(stdout);
  fprintf(stderr, "mtk: %s\n", text);
  if (e->hint)
    fprintf(stderr, "hint: %s\n", e->hint);
}

/* ------------------------------------------------------------ JSON output */

static json_t *strv_json(char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *kvs_json(const struct mtk_instr *in)
{
  json_t *o = json_object();
  for (size_t i = 0; i < in->n_kvs; i++)
    json_object_set_new(o, in->kvs[i].key,
                        in->kvs[i].value ? json_string(in->kvs[i].value) : json_null());
  return o;
}

static void instr_details(json_t *o, const struct mtk_plan_step *s)
{
  const struct mtk_instr *in = s->instr;
  if (s->exec)
    json_object_set_new(o, "exec", strv_json(s->exec, s->n_exec));
  if (s->ports)
    json_object_set_new(o, "ports", strv_json(s->ports, s->n_ports));
  switch (in->kind) {
    case MTK_INSTR_ENV:
      json_object_set_new(o, "env", kvs_json(in));
      break;
    case MTK_INSTR_LABEL:
      json_object_set_new(o, "labels", kvs_json(in));
      break;
    case MTK_INSTR_ARG:
      json_object_set_new(o, "args", kvs_json(in));
      break;
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      json_object_set_new(o, "sources", strv_json(in->args, in->n_args));
      json_object_set_new(o, "dest", json_string(in->dest));
      if (in->from)
        json_object_set_new(o, "from", json_string(in->from));
      break;
    case MTK_INSTR_SHELL:
    case MTK_INSTR_VOLUME:
      json_object_set_new(o, "args", strv_json(in->args, in->n_args));
      break;
    default:
      if (in->value)
        json_object_set_new(o, "value", json_string(in->value));
      break;
  }
}

static json_t *step_json(const struct mtk_plan_stage *st, const struct mtk_plan_step *s)
{
  json_t *o = json_object();
  json_object_set_new(o, "line", json_integer(s->onbuild ? st->line : s->instr->start_line));
  json_object_set_new(o, "end_line", json_integer(s->onbuild ? st->end_line : s->instr->end_line));
  json_object_set_new(o, "instruction", json_string(mtk_instr_kind_name(s->instr->kind)));
  json_object_set_new(o, "text", json_string(s->text));
  json_object_set_new(o, "onbuild", json_boolean(s->onbuild));
  instr_details(o, s);
  json_object_set_new(o, "notes", strv_json(s->notes, s->n_notes));
  return o;
}

static json_t *stage_json(const struct mtk_plan_stage *st)
{
  json_t *o = json_object();
  json_object_set_new(o, "index", json_integer((json_int_t) st->index));
  json_object_set_new(o, "name", st->name ? json_string(st->name) : json_null());
  json_object_set_new(o, "base", json_string(st->base));
  json_object_set_new(o, "image", st->base_ref ? json_string(st->base_ref) : json_null());
  json_object_set_new(o, "base_stage",
                      st->base_stage >= 0 ? json_integer(st->base_stage) : json_null());
  json_object_set_new(o, "platform", st->platform ? json_string(st->platform) : json_null());
  json_object_set_new(o, "line", json_integer(st->line));
  json_object_set_new(o, "built", json_boolean(st->reachable));
  json_object_set_new(o, "checked", json_boolean(st->dispatched));
  json_t *deps = json_array();
  for (size_t i = 0; i < st->n_deps; i++)
    json_array_append_new(deps, json_integer((json_int_t) st->deps[i]));
  json_object_set_new(o, "deps", deps);
  json_object_set_new(o, "images", strv_json(st->images, st->n_images));
  json_t *steps = json_array();
  for (size_t i = 0; i < st->n_steps; i++)
    json_array_append_new(steps, step_json(st, &st->steps[i]));
  json_object_set_new(o, "instructions", steps);
  return o;
}

static json_t *result_json(const struct job *j, const struct mtk_plan *p, struct mtk_check *lint,
                           const struct mtk_err *e)
{
  json_t *o = json_object();
  json_object_set_new(o, "service", j->service ? json_string(j->service) : json_null());
  json_object_set_new(o, "dockerfile", json_string(j->display));
  json_t *ctx = json_string(j->context);
  json_object_set_new(o, "context", ctx);
  json_object_set_new(o, "target", j->target ? json_string(j->target) : json_null());
  json_t *stages = json_array();
  for (size_t i = 0; p && i < p->n_stages; i++)
    json_array_append_new(stages, stage_json(&p->stages[i]));
  json_object_set_new(o, "stages", stages);
  if (p)
    json_object_set_new(o, "platform", json_string(p->target_platform));
  json_t *ws = json_array();
  for (size_t i = 0; i < mtk_check_count(lint); i++) {
    const struct mtk_check_warning *w = mtk_check_warning(lint, i);
    const struct mtk_check_rule_info *r = mtk_check_rule_info(w->rule);
    json_array_append_new(ws, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "ruleName", r->name,
                                        "description", r->description, "url", r->url, "detail",
                                        w->detail, "file", j->display, "line", w->line, "end_line",
                                        w->end_line));
  }
  json_object_set_new(o, "warnings", ws);
  if (e) {
    mtk_autofree char *msg = mtk_err_format(e);
    json_object_set_new(
        o, "error",
        json_pack("{s:s, s:s?, s:i}", "message", msg, "file", e->file, "line", e->line));
  } else {
    json_object_set_new(o, "error", json_null());
  }
  return o;
}

/* ------------------------------------------------------------ checking */

/* image_env for the stage layer: the ENV of a base image that is in the
 * local store for the stage's platform (as BuildKit reads it from the
 * registry); false (unknown) otherwise. */
static bool store_image_env(void *ud, const char *ref, const struct mtk_build_platform *pf,
                            struct mtk_strmap *env)
{
  struct images *im = ud;
  struct mtk_err *e = NULL;
  if (!im->tried) {
    im->tried = true;
    mtk_autofree char *index = mtk_xasprintf("%s/image/index.json", im->root);
    if (access(index, R_OK) == 0 && mtk_store_open(im->root, &im->store, &e) < 0)
      mtk_err_free(&e);
  }
  mtk_autoptr(mtk_store_image) img = NULL;
  if (im->store == NULL || mtk_store_resolve(im->store, ref, &img, &e) < 0) {
    mtk_err_free(&e);
    return false;
  }
  if ((img->os && strcmp(img->os, pf->os) != 0) ||
      (img->architecture && strcmp(img->architecture, pf->arch) != 0))
    return false;
  mtk_autofree char *buf = NULL;
  size_t len = 0;
  mtk_autoptr(mtk_image_config) cfg = NULL;
  if (mtk_store_blob_read(im->store, img->id, MAX_DOCKERFILE, &buf, &len, &e) < 0 ||
      mtk_image_config_parse(buf, len, &cfg, &e) < 0) {
    mtk_err_free(&e);
    return false;
  }
  for (size_t i = 0; i < cfg->n_env; i++) {
    const char *eq = strchr(cfg->env[i], '=');
    mtk_autofree char *k =
        eq ? mtk_xstrndup(cfg->env[i], (size_t) (eq - cfg->env[i])) : mtk_xstrdup(cfg->env[i]);
    mtk_strmap_set(env, k, eq ? eq + 1 : "");
  }
  return true;
}

/* Checks one Dockerfile and prints (or collects) the result; an error is
 * handed back in *err (the caller prints or returns it). */
static void check_job(struct job *j, struct totals *t, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  mtk_autoptr(mtk_plan) p = NULL;
  mtk_autoptr(mtk_check) lint = NULL;
  mtk_autoptr(mtk_ignore) ignore = NULL;
  t->files++;
  if (load_job(j, &e) == 0 && (ignore = load_ignore(j, &e), e == NULL)) {
    struct mtk_stages_opts o = {.build_args = &j->args,
                                .target = j->target,
                                .platform = j->platform,
                                .all_stages = j->target == NULL,
                                .ignore = ignore,
                                .image_env = store_image_env,
                                .image_env_ud = &t->images};
    mtk_check_dockerfile(j->display, j->text, j->len, &o, &p, &lint, &e);
  }
  if (e && e->code != MTK_E_BUILD)
    e->code = MTK_E_BUILD;
  size_t nw = mtk_check_count(lint);
  t->warnings += nw;
  t->errors += e != NULL;
  if (t->docs) {
    json_array_append_new(t->docs, result_json(j, p, lint, e));
  } else {
    if (j->service)
      printf("service %s: %s\n", j->service, j->display ? j->display : "");
    size_t n = p ? print_plan(p) : 0;
    print_warnings(lint);
    if (p && !e)
      printf("%s: %zu stage%s built, %zu instruction%s, %zu warning%s\n", j->display, p->n_order,
             p->n_order == 1 ? "" : "s", n, n == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
    else
      printf("%s: check failed, %zu warning%s\n", j->display ? j->display : j->context, nw,
             nw == 1 ? "" : "s");
  }
  *err = e;
}

static int finish(struct totals *t, struct mtk_err **err)
{
  if (t->docs) {
    json_t *doc = json_pack("{s:o, s:I, s:I}", "dockerfiles", t->docs, "warnings",
                            (json_int_t) t->warnings, "errors", (json_int_t) t->errors);
    mtk_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    printf("%s\n", text);
  } else if (t->files > 1) {
    printf("Checked %zu Dockerfiles: %zu warning%s, %zu error%s\n", t->files, t->warnings,
           t->warnings == 1 ? "" : "s", t->errors, t->errors == 1 ? "" : "s");
  }
  if (t->errors == 0)
    return 0;
  return mtk_err_set(err, MTK_E_BUILD, "build check failed for %zu of %zu Dockerfile%s", t->errors,
                     t->files, t->files == 1 ? "" : "s");
}

/* ------------------------------------------------------------ compose */

static void compose_opts(const struct mtk_cli *cli, struct mtk_compose_opts *co)
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
  co->all_resources = cli->all_resources;
}

/* A service's build section -> job (context, Dockerfile, args, target). */
static void service_job(const char *name, json_t *build, const struct build_opts *o, struct job *j)
{
  memset(j, 0, sizeof(*j));
  j->service = name;
  j->context = mtk_xstrdup(json_string_value(json_object_get(build, "context")) ?: ".");
  const char *inline_df = json_string_value(json_object_get(build, "dockerfile_inline"));
  const char *df = json_string_value(json_object_get(build, "dockerfile"));
  if (inline_df) {
    j->text = mtk_xstrdup(inline_df);
    j->len = strlen(inline_df);
    j->display = mtk_xasprintf("%s (dockerfile_inline)", name);
  } else {
    j->dockerfile =
        df && df[0] == '/' ? mtk_xstrdup(df) : mtk_path_join(j->context, df ? df : "Dockerfile");
  }
  j->target = json_string_value(json_object_get(build, "target"));
  j->platform = json_string_value(json_array_get(json_object_get(build, "platforms"), 0));
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(build, "args"), k, v) if (json_is_string(v))
      mtk_strmap_set(&j->args, k, json_string_value(v));
  mtk_strmap_merge(&j->args, &o->build_args);
}

static int check_project(struct mtk_cli *cli, const struct build_opts *o, struct totals *t,
                         struct mtk_err **err)
{
  struct mtk_compose_opts co;
  compose_opts(cli, &co);
  mtk_autoptr(mtk_project) p = mtk_compose_load(&co, err);
  if (p == NULL)
    return -1;
  json_t *services = json_object_get(p->model, "services");
  for (size_t i = 0; i < o->n_names; i++)
    if (json_object_get(services, o->names[i]) == NULL)
      return mtk_err_set(err, MTK_E_GENERIC, "no such service: %s", o->names[i]);
  mtk_autofree const char **order = mtk_cli_model_service_order(p->model);
  for (size_t i = 0; order[i]; i++) {
    bool wanted = o->n_names == 0;
    for (size_t k = 0; k < o->n_names; k++)
      wanted |= strcmp(o->names[k], order[i]) == 0;
    json_t *build = json_object_get(json_object_get(services, order[i]), "build");
    if (!wanted || !json_is_object(build))
      continue;
    struct job j;
    service_job(order[i], build, o, &j);
    if (remote_context(j.context)) {
      if (!t->docs)
        printf("service %s: remote build context %s: not checked\n", order[i], j.context);
    } else {
      if (t->files > 0 && !t->docs)
        printf("\n");
      struct mtk_err *e = NULL;
      check_job(&j, t, &e);
      if (e && !t->docs)
        print_error(e);
      mtk_err_free(&e);
    }
    job_free(&j);
  }
  if (t->files == 0 && !t->docs)
    printf("No service with a build section to check.\n");
  return 0;
}

int mtk_cli_build(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                  struct mtk_err **err)
{
  struct build_opts o = {0};
  int r = parse_options(cmd, false, argc, argv, &o, err);
  if (r > 0 && !o.check)
    r = not_yet(err);
  if (r > 0) {
    struct totals t = {0, 0, 0, o.json ? json_array() : NULL, {cli->root, NULL, false}};
    r = check_project(cli, &o, &t, err);
    if (r == 0)
      r = finish(&t, err);
    else
      json_decref(t.docs);
    mtk_store_close(t.images.store);
  }
  mtk_strmap_free(&o.build_args);
  return r;
}

int mtk_cli_image_build(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                        struct mtk_err **err)
{
  struct build_opts o = {0};
  int r = parse_options(cmd, true, argc, argv, &o, err);
  if (r > 0 && !o.check)
    r = not_yet(err);
  if (r > 0 && strcmp(o.names[0], "-") == 0)
    r = mtk_err_set(err, MTK_E_USAGE, "a build context from stdin is not supported yet");
  if (r > 0 && remote_context(o.names[0]))
    r = mtk_err_set(err, MTK_E_USAGE, "remote build contexts are not supported yet: %s",
                    o.names[0]);
  if (r > 0) {
    struct totals t = {0, 0, 0, o.json ? json_array() : NULL, {cli->root, NULL, false}};
    struct job j = {0};
    j.context = abs_path(o.names[0]);
    j.dockerfile = o.file ? abs_path(o.file) : mtk_path_join(j.context, "Dockerfile");
    j.target = o.target;
    j.platform = o.platform;
    mtk_strmap_merge(&j.args, &o.build_args);
    struct mtk_err *e = NULL;
    check_job(&j, &t, &e);
    job_free(&j);
    mtk_store_close(t.images.store);
    r = finish(&t, err);
    if (e && !t.docs) {
      /* One Dockerfile: its own error is the one to report. */
      mtk_err_free(err);
      *err = e;
    } else {
      mtk_err_free(&e);
    }
  }
  mtk_strmap_free(&o.build_args);
  return r;
}
