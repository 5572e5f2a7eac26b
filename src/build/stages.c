/* Build stages after BuildKit's dockerfile2llb (convert.go, platform.go,
 * validations.go, convert_copy.go, convert_expose.go): typed instructions
 * are grouped into stages, ARGs before the first FROM become the global
 * scope (with the predefined platform args and --build-arg), FROM names and
 * platforms are expanded in that scope, stages are linked (FROM <stage>,
 * COPY --from, RUN --mount from=), the target's reachable stages are found,
 * cycles are refused, and each dispatched stage's instructions are expanded
 * with the stage's environment exactly where BuildKit expands them.  The
 * checks that need that environment report to the linter (check.h).  The
 * result is a plan: per stage, each instruction as the builder will see it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "build/check.h"
#include "build/ignore.h"
#include "build/shlex.h"
#include "build/stages.h"
#include "image/ref.h"
#include "util/strbuf.h"

#define NONE SIZE_MAX
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------------ helpers */

static void strv_push(char ***v, size_t *n, const char *s)
{
  *v = mtk_xrealloc(*v, (*n + 2) * sizeof(**v));
  (*v)[(*n)++] = mtk_xstrdup(s);
  (*v)[*n] = NULL;
}

static void strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

static char *lower_dup(const char *s)
{
  char *d = mtk_xstrdup(s);
  for (char *p = d; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  return d;
}

/* Gives *err the position of the instruction when it has none yet. */
static int at(struct mtk_err **err, const char *file, int line)
{
  if (err && *err && (*err)->line == 0) {
    if ((*err)->file == NULL && file)
      (*err)->file = mtk_xstrdup(file);
    (*err)->line = line;
  }
  return -1;
}

static int fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_err_setv(err, MTK_E_BUILD, fmt, ap);
  va_end(ap);
  return at(err, file, line);
}

/* ------------------------------------------------------------ platforms */

static bool platform_chars(const char *s, const char *extra)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char) *s) && !strchr(extra, *s))
      return false;
  return true;
}

static void normalize_arch(char *arch, char *variant)
{
  for (char *p = arch; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  for (char *p = variant; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  if (strcmp(arch, "i386") == 0) {
    strcpy(arch, "386"), variant[0] = '\0';
  } else if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64") || !strcmp(arch, "amd64")) {
    strcpy(arch, "amd64");
    if (strcmp(variant, "v1") == 0)
      variant[0] = '\0';
  } else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
    strcpy(arch, "arm64");
    if (!strcmp(variant, "8") || !strcmp(variant, "v8") || !strcmp(variant, "v8.0"))
      variant[0] = '\0';
    else if (!strcmp(variant, "9") || !strcmp(variant, "9.0") || !strcmp(variant, "v9.0"))
      strcpy(variant, "v9");
  } else if (strcmp(arch, "armhf") == 0) {
    strcpy(arch, "arm"), strcpy(variant, "v7");
  } else if (strcmp(arch, "armel") == 0) {
    strcpy(arch, "arm"), strcpy(variant, "v6");
  } else if (strcmp(arch, "arm") == 0) {
    if (variant[0] == '\0' || strcmp(variant, "7") == 0)
      strcpy(variant, "v7");
    else if (!strcmp(variant, "5") || !strcmp(variant, "6") || !strcmp(variant, "8"))
      memmove(variant + 1, variant, strlen(variant) + 1), variant[0] = 'v';
  }
}

static bool known(const char *s, const char *list)
{
  size_t n = strlen(s);
  for (const char *p = list; (p = strstr(p, s)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
      return true;
  return false;
}

static const char known_os[] = "aix android darwin dragonfly freebsd hurd illumos ios js linux "
                               "nacl netbsd openbsd plan9 solaris windows zos";
static const char known_arch[] = "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 "
                                 "mips mipsle mips64 mips64le mips64p32 mips64p32le ppc riscv "
                                 "riscv64 s390 s390x sparc sparc64 wasm";

static int bad_platform(const char *spec, const char *what, struct mtk_err **err)
{
  return mtk_err_set(err, MTK_E_BUILD, "\"%s\": %s: invalid argument", spec, what);
}

/* The OS component: name, optionally "(version)". */
static int platform_os(const char *spec, const char *part, size_t n, struct mtk_build_platform *out,
                       struct mtk_err **err)
{
  const char *paren = memchr(part, '(', n);
  size_t name_len = paren ? (size_t) (paren - part) : n;
  mtk_autofree char *name = mtk_xstrndup(part, name_len);
  bool ok = platform_chars(name, "_-") && name_len < sizeof(out->os);
  if (ok && paren) {
    mtk_autofree char *ver = mtk_xstrndup(paren + 1, n - name_len - 1);
    size_t vl = strlen(ver);
    ok = vl > 0 && ver[vl - 1] == ')' && vl - 1 < sizeof(out->os_version);
    if (ok) {
      ver[vl - 1] = '\0';
      char *plus = strchr(ver, '+');
      if (plus)
        *plus = '\0'; /* OS features are not kept */
      ok = ver[0] == '\0' || platform_chars(ver, "_.%-");
      snprintf(out->os_version, sizeof(out->os_version), "%s", ver);
    }
  }
  if (!ok)
    return mtk_err_set(err, MTK_E_BUILD,
                       "\"%.*s\" is an invalid OS component of \"%s\": "
                       "OSAndVersion specifier component must match \"^([A-Za-z0-9_-]+)(?:\\\\("
                       "([A-Za-z0-9_.%%-]*)((?:\\\\+[A-Za-z0-9_.%%-]+)*)\\\\))?$\": invalid "
                       "argument",
                       (int) n, part, spec);
  for (char *p = name; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  snprintf(out->os, sizeof(out->os), "%s", strcmp(name, "macos") == 0 ? "darwin" : name);
  return 0;
}

int mtk_build_platform_parse(const char *spec, struct mtk_build_platform *out, struct mtk_err **err)
{
  struct mtk_build_platform host;
  char *parts[4] = {0};
  size_t np = 0;
  memset(out, 0, sizeof(*out));
  mtk_build_platform_host(&host);
  if (strchr(spec, '*'))
    return bad_platform(spec, "wildcards not yet supported", err);
  mtk_autofree char *copy = mtk_xstrdup(spec);
  for (char *p = copy; np < 4; np++) {
    parts[np] = p;
    char *slash = np < 3 ? strchr(p, '/') : NULL;
    if (!slash) {
      np++;
      break;
    }
    *slash = '\0';
    p = slash + 1;
  }
  if (platform_os(spec, parts[0], strlen(parts[0]), out, err) < 0)
    return -1;
  for (size_t i = 1; i < np; i++)
    if (!platform_chars(parts[i], "_.-") || strlen(parts[i]) >= sizeof(out->arch))
      return mtk_err_set(err, MTK_E_BUILD,
                         "\"%s\" is an invalid component of \"%s\": platform "
                         "specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument",
                         parts[i], spec);
  if (np == 1) {
    if (known(out->os, known_os)) {
      snprintf(out->arch, sizeof(out->arch), "%s", host.arch);
      return 0;
    }
    snprintf(out->arch, sizeof(out->arch), "%s", parts[0]);
    normalize_arch(out->arch, out->variant);
    if (strcmp(out->arch, "arm") == 0 && strcmp(out->variant, "v7") == 0)
      out->variant[0] = '\0';
    if (!known(out->arch, known_arch))
      return bad_platform(spec, "unknown operating system or architecture", err);
    snprintf(out->os, sizeof(out->os), "%s", host.os);
    out->os_version[0] = '\0';
    return 0;
  }
  snprintf(out->arch, sizeof(out->arch), "%s", parts[1]);
  if (np == 3)
    snprintf(out->variant, sizeof(out->variant), "%s", parts[2]);
  normalize_arch(out->arch, out->variant);
  if (np == 2 && strcmp(out->arch, "arm") == 0 && strcmp(out->variant, "v7") == 0)
    out->variant[0] = '\0';
  if (np == 3 && strcmp(out->arch, "arm64") == 0 && out->variant[0] == '\0')
    strcpy(out->variant, "v8");
  if (np == 4)
    return bad_platform(spec, "cannot parse platform specifier", err);
  return 0;
}

void mtk_build_platform_host(struct mtk_build_platform *out)
{
  struct utsname u;
  memset(out, 0, sizeof(*out));
  strcpy(out->os, "linux");
  size_t n = uname(&u) == 0 ? strlen(u.machine) : 0;
  if (n == 0 || n >= sizeof(out->arch)) {
    strcpy(out->arch, "amd64");
    return;
  }
  memcpy(out->arch, u.machine, n + 1);
  if (strncmp(out->arch, "armv", 4) == 0) {
    out->variant[0] = 'v', out->variant[1] = out->arch[4];
    strcpy(out->arch, "arm");
  } else if (strcmp(out->arch, "i686") == 0 || strcmp(out->arch, "i586") == 0) {
    strcpy(out->arch, "386");
  }
  normalize_arch(out->arch, out->variant);
  if (strcmp(out->arch, "arm") == 0 && strcmp(out->variant, "v7") == 0)
    out->variant[0] = '\0';
}

const char *mtk_build_platform_format(const struct mtk_build_platform *p, char *buf, size_t n)
{
  if (p->os[0] == '\0')
    snprintf(buf, n, "unknown");
  else if (p->variant[0])
    snprintf(buf, n, "%s/%s/%s", p->os, p->arch, p->variant);
  else
    snprintf(buf, n, "%s/%s", p->os, p->arch);
  return buf;
}

/* platforms.FormatAll: with "(os version)" after the OS. */
static const char *format_all(const struct mtk_build_platform *p, char *buf, size_t n)
{
  if (p->os_version[0] == '\0')
    return mtk_build_platform_format(p, buf, n);
  snprintf(buf, n, "%s(%s)/%s%s%s", p->os, p->os_version, p->arch, p->variant[0] ? "/" : "",
           p->variant);
  return buf;
}

/* ------------------------------------------------------------ state */

struct cmd {
  struct mtk_instr *in; /* borrowed from ctx->instrs, or owned (ONBUILD trigger) */
  bool owned;
  bool onbuild;
  size_t *sources; /* state indexes (NONE: no source) */
  size_t n_sources;
};

struct dep {
  size_t state;
  const struct mtk_instr *cmd; /* the instruction that needs it (last one) */
};

struct tracker {
  bool set;
  int line, end_line;
  char **comments;
  size_t n_comments;
};

/* BuildKit's dispatchState. */
struct state {
  size_t stage;       /* index into ctx->srcs / plan stages; NONE for a source image */
  char *base_name;    /* owned: expanded base ("python:3-alpine") or COPY --from image */
  char *name;         /* owned: lower-cased stage name, or NULL */
  char *stage_name;   /* owned: name, "stage-N", or "" */
  char *base_ref;     /* owned: normalised image reference, or NULL */
  int line, end_line; /* FROM (or the COPY naming a source image) */
  size_t base;        /* state it starts from, or NONE */
  bool unregistered, dispatched, resolved, onbuild_init, has_platform;
  struct mtk_build_platform platform;
  struct cmd *cmds;
  size_t n_cmds;
  struct dep *deps;
  size_t n_deps;
  /* what dispatch tracks */
  struct mtk_strmap env;  /* the LLB state's environment (ARG and ENV) as known */
  bool env_known;         /* false: the base image's ENV is unknown */
  const char *root_image; /* borrowed: the image at the root of the base chain */
  char **declared;        /* ARG names declared in scope (d.buildArgs) */
  size_t n_declared;
  char **shell; /* image config Shell */
  size_t n_shell;
  bool workdir_set;
  struct tracker cmd_t, entrypoint_t, health_t;
  struct mtk_plan_step *steps;
  size_t n_steps;
};

/* A stage as parsed: its FROM and its commands. */
struct src {
  struct mtk_instr *from;  /* borrowed */
  struct mtk_instr **cmds; /* owned array of borrowed */
  size_t n_cmds;
};

struct ctx {
  const char *file;
  const struct mtk_df_result *df;
  const struct mtk_stages_opts *o;
  struct mtk_check *lint;
  struct mtk_shlex *lex;
  struct mtk_shlex *raw_lex;
  struct mtk_instr **instrs; /* owned: every parsed instruction */
  size_t n_instrs;
  struct mtk_instr **meta; /* borrowed: ARGs before the first FROM */
  size_t n_meta;
  struct src *srcs;
  size_t n_srcs;
  struct state *states;
  size_t n_states;
  size_t target;
  struct mtk_strmap global;   /* dctx.globalArgs */
  struct mtk_strmap all_args; /* outline.allArgs: meta ARG definitions (keys) */
  struct mtk_strmap build_args;
  struct mtk_build_platform build_pf, target_pf;
  struct mtk_df_result **triggers; /* owned: parsed ONBUILD expressions */
  size_t n_triggers;
};

static void tracker_free(struct tracker *t)
{
  strv_free(t->comments, t->n_comments);
}

static void step_free(struct mtk_plan_step *s)
{
  mtk_instr_free(s->instr);
  free(s->text);
  strv_free(s->exec, s->n_exec);
  strv_free(s->ports, s->n_ports);
  strv_free(s->notes, s->n_notes);
}

static void state_free(struct state *d)
{
  free(d->base_name);
  free(d->name);
  free(d->stage_name);
  free(d->base_ref);
  for (size_t i = 0; i < d->n_cmds; i++) {
    if (d->cmds[i].owned)
      mtk_instr_free(d->cmds[i].in);
    free(d->cmds[i].sources);
  }
  free(d->cmds);
  free(d->deps);
  mtk_strmap_free(&d->env);
  strv_free(d->declared, d->n_declared);
  strv_free(d->shell, d->n_shell);
  tracker_free(&d->cmd_t);
  tracker_free(&d->entrypoint_t);
  tracker_free(&d->health_t);
  for (size_t i = 0; i < d->n_steps; i++)
    step_free(&d->steps[i]);
  free(d->steps);
}

static void ctx_free(struct ctx *x)
{
  for (size_t i = 0; i < x->n_instrs; i++)
    mtk_instr_free(x->instrs[i]);
  free(x->instrs);
  free(x->meta);
  for (size_t i = 0; i < x->n_srcs; i++)
    free(x->srcs[i].cmds);
  free(x->srcs);
  for (size_t i = 0; i < x->n_states; i++)
    state_free(&x->states[i]);
  free(x->states);
  mtk_strmap_free(&x->global);
  mtk_strmap_free(&x->all_args);
  mtk_strmap_free(&x->build_args);
  for (size_t i = 0; i < x->n_triggers; i++)
    mtk_df_result_free(x->triggers[i]);
  free(x->triggers);
  if (x->lex)
    mtk_shlex_free(x->lex);
  if (x->raw_lex)
    mtk_shlex_free(x->raw_lex);
}

static size_t add_state(struct ctx *x)
{
  x->states = mtk_xrealloc(x->states, (x->n_states + 1) * sizeof(*x->states));
  struct state *d = &x->states[x->n_states];
  memset(d, 0, sizeof(*d));
  d->stage = d->base = NONE;
  return x->n_states++;
}

/* dispatchStates.addState: the base is the named stage whose (lower-cased)
 * name equals the expanded base name exactly, among those added before. */
static void register_state(struct ctx *x, size_t i)
{
  struct state *d = &x->states[i];
  for (size_t j = i; j-- > 0;)
    if (x->states[j].name && strcmp(x->states[j].name, d->base_name) == 0) {
      d->base = j;
      break;
    }
}

static size_t find_state_by_name(const struct ctx *x, const char *name)
{
  mtk_autofree char *lo = lower_dup(name);
  /* statesByName: a later stage of the same name replaces an earlier one. */
  for (size_t j = x->n_states; j-- > 0;)
    if (x->states[j].name && strcmp(x->states[j].name, lo) == 0)
      return j;
  return NONE;
}

/* ------------------------------------------------------------ parsing */

static int collect(struct ctx *x, struct mtk_instr *in, struct mtk_err **err)
{
  if (x->n_srcs == 0 && in->kind == MTK_INSTR_ARG) {
    x->meta = mtk_xrealloc(x->meta, (x->n_meta + 1) * sizeof(*x->meta));
    x->meta[x->n_meta++] = in;
    return 0;
  }
  if (in->kind == MTK_INSTR_FROM) {
    x->srcs = mtk_xrealloc(x->srcs, (x->n_srcs + 1) * sizeof(*x->srcs));
    x->srcs[x->n_srcs++] = (struct src){in, NULL, 0};
    return 0;
  }
  if (x->n_srcs == 0)
    return fail_at(err, x->file, in->start_line, "no build stage in current context");
  struct src *s = &x->srcs[x->n_srcs - 1];
  s->cmds = mtk_xrealloc(s->cmds, (s->n_cmds + 1) * sizeof(*s->cmds));
  s->cmds[s->n_cmds++] = in;
  return 0;
}

/* instructions.Parse with the linter. */
static int parse_all(struct ctx *x, struct mtk_err **err)
{
  const struct mtk_df_node *root = x->df->ast;
  for (size_t i = 0; i < root->n_children; i++) {
    const struct mtk_df_node *node = root->children[i];
    mtk_check_node(x->lint, node);
    struct mtk_instr *in = mtk_instr_parse(node, x->file, err);
    if (in == NULL)
      return -1;
    x->instrs = mtk_xrealloc(x->instrs, (x->n_instrs + 1) * sizeof(*x->instrs));
    x->instrs[x->n_instrs++] = in;
    if (in->kind == MTK_INSTR_FROM || in->kind == MTK_INSTR_ARG)
      mtk_check_definition(x->lint, in);
    if (collect(x, in, err) < 0)
      return -1;
  }
  if (x->n_srcs == 0)
    return mtk_err_set(err, MTK_E_BUILD, "dockerfile contains no stages to build");
  size_t n = 0;
  mtk_autofree struct mtk_instr **all = mtk_xcalloc(x->n_instrs + 1, sizeof(*all));
  for (size_t i = 0; i < x->n_srcs; i++) {
    all[n++] = x->srcs[i].from;
    for (size_t j = 0; j < x->srcs[i].n_cmds; j++)
      all[n++] = x->srcs[i].cmds[j];
  }
  mtk_check_casing_and_names(x->lint, all, n);
  return 0;
}

/* ------------------------------------------------------------ global args */

static void set_platform_args(struct ctx *x, const char *target_name)
{
  char buf[160];
  const struct mtk_build_platform *bp = &x->build_pf, *tp = &x->target_pf;
  const char *kv[][2] = {
      {"BUILDPLATFORM", mtk_build_platform_format(bp, buf, sizeof(buf))},
      {"BUILDOS", bp->os},
      {"BUILDOSVERSION", bp->os_version},
      {"BUILDARCH", bp->arch},
      {"BUILDVARIANT", bp->variant},
      {"TARGETPLATFORM", NULL},
      {"TARGETOS", tp->os},
      {"TARGETOSVERSION", tp->os_version},
      {"TARGETARCH", tp->arch},
      {"TARGETVARIANT", tp->variant},
      {"TARGETSTAGE", target_name},
  };
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
    bool found;
    const char *ov = mtk_strmap_get(&x->build_args, kv[i][0], &found);
    if (found) {
      mtk_strmap_set(&x->global, kv[i][0], ov);
    } else if (kv[i][1] == NULL) {
      char all[160];
      mtk_strmap_set(&x->global, kv[i][0], format_all(tp, all, sizeof(all)));
    } else {
      mtk_strmap_set(&x->global, kv[i][0], kv[i][1]);
    }
    if (i == 0)
      mtk_strmap_set(&x->global, kv[0][0],
                     found ? ov : mtk_build_platform_format(bp, buf, sizeof(buf)));
  }
}

/* buildMetaArgs: the ARGs before FROM in order; --build-arg wins, a default
 * is expanded with what came before.  build_args NULL: defaults only. */
static int meta_args(struct ctx *x, struct mtk_strmap *args, const struct mtk_strmap *build_args,
                     struct mtk_strmap *all, struct mtk_err **err)
{
  for (size_t i = 0; i < x->n_meta; i++) {
    const struct mtk_instr *in = x->meta[i];
    for (size_t j = 0; j < in->n_kvs; j++) {
      const struct mtk_instr_kv *kv = &in->kvs[j];
      bool given = false;
      const char *bv = build_args ? mtk_strmap_get(build_args, kv->key, &given) : NULL;
      if (given) {
        mtk_strmap_set(args, kv->key, bv);
      } else if (kv->value) {
        mtk_autofree char *v = mtk_shlex_word_ex(x->lex, kv->value, args, NULL, NULL, err);
        if (v == NULL)
          return at(err, x->file, in->start_line);
        mtk_strmap_set(args, kv->key, v);
      }
      if (all)
        mtk_strmap_set(all, kv->key, NULL);
    }
  }
  return 0;
}

/* validateBaseImagesWithDefaultArgs: InvalidDefaultArgInFrom. */
static void check_default_bases(struct ctx *x)
{
  mtk_autostrmap args = MTK_STRMAP_INIT;
  struct mtk_err *e = NULL;
  mtk_strmap_merge(&args, &x->global);
  if (meta_args(x, &args, NULL, NULL, &e) < 0) {
    mtk_err_free(&e);
    return;
  }
  for (size_t i = 0; i < x->n_srcs; i++) {
    const struct mtk_instr *from = x->srcs[i].from;
    mtk_autofree char *v = mtk_shlex_word_ex(x->lex, from->base, &args, NULL, NULL, &e);
    if (v == NULL) {
      mtk_err_free(&e);
      return;
    }
    struct mtk_image_ref ref;
    if (mtk_image_ref_parse(v, &ref, &e) < 0) {
      mtk_err_free(&e);
      mtk_check_report(x->lint, MTK_CHECK_INVALID_DEFAULT_ARG_IN_FROM, NULL, 0, from->start_line,
                       from->end_line,
                       "Default value for ARG %s results in empty or invalid "
                       "base image name",
                       from->base);
    } else {
      mtk_image_ref_free(&ref);
    }
  }
}

/* ------------------------------------------------------------ FROM */

static void undefined_args_in_from(struct ctx *x, const struct mtk_instr *from,
                                   const struct mtk_strmap *unmatched)
{
  mtk_autofree const char **keys = mtk_xcalloc(x->all_args.len + x->global.len + 1, sizeof(*keys));
  size_t n = 0;
  for (size_t i = 0; i < x->all_args.len; i++)
    keys[n++] = x->all_args.keys[i];
  for (size_t i = 0; i < x->global.len; i++)
    if (!mtk_strmap_has(&x->all_args, x->global.keys[i]))
      keys[n++] = x->global.keys[i];
  for (size_t i = 0; i < unmatched->len; i++) {
    const char *arg = unmatched->keys[i];
    if (mtk_strmap_has(&x->all_args, arg) || mtk_strmap_has(&x->global, arg))
      continue;
    mtk_autofree char *s = mtk_instr_suggest(arg, keys, n, true);
    mtk_check_report(x->lint, MTK_CHECK_UNDEFINED_ARG_IN_FROM, from->comments, from->n_comments,
                     from->start_line, from->end_line, "FROM argument '%s' is not declared%s%s%s",
                     arg, s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
  }
}

/* wrapSuggestAny: " (did you mean X?)" for the first unmatched name near a global arg. */
static char *suggest_any(struct ctx *x, const struct mtk_strmap *unmatched)
{
  for (size_t i = 0; i < unmatched->len; i++) {
    char *s = mtk_instr_suggest(unmatched->keys[i], (const char *const *) x->global.keys,
                                x->global.len, true);
    if (s) {
      char *r = mtk_xasprintf(" (did you mean %s?)", s);
      free(s);
      return r;
    }
  }
  return mtk_xstrdup("");
}

static void platform_checks(struct ctx *x, const struct mtk_instr *from, const char *result,
                            const struct mtk_strmap *matched, const struct mtk_strmap *unmatched)
{
  char *const *cm = from->comments;
  size_t nc = from->n_comments;
  if (matched->len == 1 && unmatched->len == 0 && strcmp(matched->keys[0], "TARGETPLATFORM") == 0) {
    const char *tp = mtk_strmap_get(&x->global, "TARGETPLATFORM", NULL);
    if (tp && strcmp(tp, result) == 0)
      mtk_check_report(x->lint, MTK_CHECK_REDUNDANT_TARGET_PLATFORM, cm, nc, from->start_line,
                       from->end_line,
                       "Setting platform to predefined %s in FROM is redundant "
                       "as this is the default behavior",
                       from->platform);
  }
  if (matched->len > 0 || unmatched->len > 0)
    return;
  struct mtk_build_platform p;
  struct mtk_err *e = NULL;
  if (mtk_build_platform_parse(result, &p, &e) < 0) {
    mtk_err_free(&e);
    return;
  }
  const char *name = from->stage_name ? from->stage_name : "";
  if (strstr(name, p.os) || strstr(name, p.arch))
    return;
  mtk_check_report(x->lint, MTK_CHECK_FROM_PLATFORM_FLAG_CONST_DISALLOWED, cm, nc, from->start_line,
                   from->end_line, "FROM --platform flag should not use constant value \"%s\"",
                   result);
}

static int from_platform(struct ctx *x, struct state *d, const struct mtk_instr *from,
                         struct mtk_err **err)
{
  mtk_autostrmap matched = MTK_STRMAP_INIT;
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  struct mtk_err *e = NULL;
  mtk_autofree char *v =
      mtk_shlex_word_ex(x->lex, from->platform, &x->global, &matched, &unmatched, &e);
  undefined_args_in_from(x, from, &unmatched);
  if (v)
    platform_checks(x, from, v, &matched, &unmatched);
  if (v == NULL) {
    int r = fail_at(err, x->file, from->start_line,
                    "failed to process arguments for platform "
                    "%s: %s",
                    "", e->msg);
    mtk_err_free(&e);
    return r;
  }
  mtk_autofree char *hint = suggest_any(x, &unmatched);
  if (*v == '\0')
    return fail_at(err, x->file, from->start_line, "empty platform value from expression %s%s",
                   from->platform, hint);
  if (mtk_build_platform_parse(v, &d->platform, &e) < 0) {
    int r = fail_at(err, x->file, from->start_line, "failed to parse platform %s: %s%s",
                    from->platform, e->msg, hint);
    mtk_err_free(&e);
    return r;
  }
  d->has_platform = true;
  return 0;
}

/* buildDispatchStates for stage i: its FROM expanded in the global scope. */
static int stage_state(struct ctx *x, size_t i, struct mtk_err **err)
{
  const struct mtk_instr *from = x->srcs[i].from;
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  mtk_autofree char *base =
      mtk_shlex_word_ex(x->lex, from->base, &x->global, NULL, &unmatched, err);
  undefined_args_in_from(x, from, &unmatched);
  if (base == NULL)
    return at(err, x->file, from->start_line);
  if (*base == '\0')
    return fail_at(err, x->file, from->start_line, "base name (%s) should not be blank",
                   from->base);
  size_t si = add_state(x);
  struct state *d = &x->states[si];
  d->stage = i;
  d->base_name = mtk_steal_ptr(&base);
  d->line = from->start_line;
  d->end_line = from->end_line;
  d->name = from->stage_name ? mtk_xstrdup(from->stage_name) : NULL;
  if (from->platform && from_platform(x, d, from, err) < 0)
    return -1;
  d->stage_name = d->name ? mtk_xstrdup(d->name) : mtk_xasprintf("stage-%zu", i);
  register_state(x, si);
  for (size_t j = 0; j < x->srcs[i].n_cmds; j++) {
    d->cmds = mtk_xrealloc(d->cmds, (d->n_cmds + 1) * sizeof(*d->cmds));
    d->cmds[d->n_cmds++] = (struct cmd){x->srcs[i].cmds[j], false, false, NULL, 0};
  }
  return 0;
}

static int resolve_target(struct ctx *x, struct mtk_err **err)
{
  if (x->o->target == NULL || *x->o->target == '\0') {
    x->target = x->n_states - 1;
    return 0;
  }
  x->target = find_state_by_name(x, x->o->target);
  if (x->target != NONE)
    return 0;
  mtk_autofree const char **names = mtk_xcalloc(x->n_states + 1, sizeof(*names));
  size_t n = 0;
  for (size_t i = 0; i < x->n_states; i++)
    if (x->states[i].stage_name && *x->states[i].stage_name)
      names[n++] = x->states[i].stage_name;
  mtk_autofree char *s = mtk_instr_suggest(x->o->target, names, n, true);
  if (s)
    return mtk_err_set(err, MTK_E_BUILD,
                       "target stage \"%s\" could not be found (did you mean "
                       "%s?)",
                       x->o->target, s);
  return mtk_err_set(err, MTK_E_BUILD, "target stage \"%s\" could not be found", x->o->target);
}

/* ------------------------------------------------------------ dependencies */

static size_t unregistered(struct ctx *x, const char *base, int line, int end_line)
{
  size_t i = add_state(x);
  struct state *d = &x->states[i];
  d->base_name = mtk_xstrdup(base);
  d->stage_name = mtk_xstrdup("");
  d->unregistered = true;
  d->line = line;
  d->end_line = end_line;
  register_state(x, i);
  return i;
}

static void add_source(struct cmd *c, size_t s)
{
  c->sources = mtk_xrealloc(c->sources, (c->n_sources + 1) * sizeof(*c->sources));
  c->sources[c->n_sources++] = s;
}

/* strconv.Atoi */
static bool go_atoi(const char *s, long long *out)
{
  const char *p = s + (*s == '+' || *s == '-');
  if (*p == '\0' || strlen(p) > 18)
    return false;
  for (const char *q = p; *q; q++)
    if (*q < '0' || *q > '9')
      return false;
  *out = strtoll(s, NULL, 10);
  return true;
}

/* toCommand: COPY --from and RUN --mount from= name their sources. */
static int to_command(struct ctx *x, struct cmd *c, struct mtk_err **err)
{
  struct mtk_instr *in = c->in;
  if (in->kind == MTK_INSTR_COPY && in->from) {
    mtk_autostrmap empty = MTK_STRMAP_INIT;
    mtk_autofree char *v = mtk_shlex_word_ex(x->lex, in->from, &empty, NULL, NULL, err);
    if (v == NULL)
      return at(err, x->file, in->start_line);
    if (strcmp(v, in->from) != 0)
      return fail_at(err, x->file, in->start_line,
                     "variable expansion is not supported for "
                     "--from, define a new stage with FROM using ARG from global scope as a "
                     "workaround");
    long long idx;
    size_t s;
    if (go_atoi(in->from, &idx)) {
      if (idx < 0 || (size_t) idx >= x->n_states)
        return fail_at(err, x->file, in->start_line, "invalid stage index %lld", idx);
      s = (size_t) idx;
    } else if ((s = find_state_by_name(x, in->from)) == NONE) {
      s = unregistered(x, in->from, in->start_line, in->end_line);
    }
    add_source(c, s);
  }
  if (in->kind == MTK_INSTR_RUN)
    for (size_t i = 0; i < in->n_mounts; i++) {
      const char *from = in->mounts[i].from ? in->mounts[i].from : "scratch";
      size_t s = find_state_by_name(x, from);
      add_source(c, s != NONE ? s : unregistered(x, from, 0, 0));
    }
  return 0;
}

static void add_dep(struct state *d, size_t s, const struct mtk_instr *cmd)
{
  for (size_t i = 0; i < d->n_deps; i++)
    if (d->deps[i].state == s) {
      d->deps[i].cmd = cmd;
      return;
    }
  d->deps = mtk_xrealloc(d->deps, (d->n_deps + 1) * sizeof(*d->deps));
  d->deps[d->n_deps++] = (struct dep){s, cmd};
}

static void cmd_deps(struct ctx *x, size_t di, size_t ci)
{
  struct cmd *c = &x->states[di].cmds[ci];
  for (size_t k = 0; k < c->n_sources; k++)
    add_dep(&x->states[di], c->sources[k], c->in);
}

/* validateCircularDependency: depth-first over deps; the first state (in
 * order) from which a cycle is reached is named. */
static const struct mtk_instr *visit(struct ctx *x, size_t s, bool *visited, bool *path,
                                     const struct mtk_instr *first)
{
  if (visited[s])
    return NULL;
  visited[s] = path[s] = true;
  struct state *d = &x->states[s];
  for (size_t i = 0; i < d->n_deps; i++) {
    const struct mtk_instr *f = first ? first : d->deps[i].cmd;
    if (path[d->deps[i].state])
      return f;
    const struct mtk_instr *r = visit(x, d->deps[i].state, visited, path, f);
    if (r)
      return r;
  }
  path[s] = false;
  return NULL;
}

static int dependency_graph(struct ctx *x, struct mtk_err **err)
{
  size_t n = x->n_states;
  for (size_t di = 0; di < n; di++)
    for (size_t ci = 0; ci < x->states[di].n_cmds; ci++) {
      if (to_command(x, &x->states[di].cmds[ci], err) < 0)
        return -1;
      cmd_deps(x, di, ci);
    }
  mtk_autofree bool *visited = mtk_xcalloc(x->n_states + 1, sizeof(bool));
  mtk_autofree bool *path = mtk_xcalloc(x->n_states + 1, sizeof(bool));
  for (size_t s = 0; s < x->n_states; s++) {
    const struct mtk_instr *c = visit(x, s, visited, path, NULL);
    if (c)
      return fail_at(err, x->file, c->start_line, "circular dependency detected on stage: %s",
                     x->states[s].stage_name);
  }
  if (x->n_states == 1)
    x->states[0].stage_name[0] = '\0';
  return 0;
}

/* ------------------------------------------------------------ reachability */

static void reach(struct ctx *x, size_t s, bool *seen)
{
  if (seen[s])
    return;
  seen[s] = true;
  if (x->states[s].base != NONE)
    reach(x, x->states[s].base, seen);
  for (size_t i = 0; i < x->states[s].n_deps; i++)
    reach(x, x->states[s].deps[i].state, seen);
}

/* resolveBaseImage without the registry: the name must be a reference. */
static int resolve_bases(struct ctx *x, const bool *seen, struct mtk_err **err)
{
  for (size_t s = 0; s < x->n_states; s++) {
    struct state *d = &x->states[s];
    if (d->base != NONE || d->dispatched || d->resolved)
      continue;
    d->resolved = seen[s] || x->o->all_stages;
    if (d->unregistered)
      d->dispatched = true;
    if (strcmp(d->base_name, "scratch") == 0)
      continue;
    struct mtk_image_ref ref;
    struct mtk_err *e = NULL;
    if (mtk_image_ref_parse(d->base_name, &ref, &e) < 0) {
      int r = fail_at(err, x->file, d->line, "failed to parse stage name \"%s\": %s", d->base_name,
                      e->msg);
      mtk_err_free(&e);
      return r;
    }
    free(d->base_ref); /* an unreachable stage is looked at again after ONBUILD */
    d->base_ref = mtk_image_ref_string(&ref);
    mtk_image_ref_free(&ref);
  }
  return 0;
}

/* initOnBuildTriggers: the base stage's ONBUILD expressions become the
 * first commands of d.  Returns 1 when they add dependencies. */
static int onbuild_triggers(struct ctx *x, size_t di, struct mtk_err **err)
{
  /* to_command may grow x->states: only indexes are kept across it. */
  size_t bi = x->states[di].base;
  struct cmd *trig = NULL;
  size_t nt = 0;
  int newdeps = 0;
  for (size_t i = 0; i < x->states[bi].n_cmds; i++) {
    const struct mtk_instr *ob = x->states[bi].cmds[i].in;
    if (ob->kind != MTK_INSTR_ONBUILD)
      continue;
    const char *expr = ob->value;
    struct mtk_df_result *r = mtk_dockerfile_parse(x->file, expr, strlen(expr), err);
    if (r == NULL)
      goto fail;
    x->triggers = mtk_xrealloc(x->triggers, (x->n_triggers + 1) * sizeof(*x->triggers));
    x->triggers[x->n_triggers++] = r;
    if (r->ast->n_children != 1) {
      mtk_err_set(err, MTK_E_BUILD, "onbuild trigger should be a single expression");
      goto fail;
    }
    struct mtk_df_node *node = r->ast->children[0];
    node->start_line = x->states[di].line;
    node->end_line = x->states[di].end_line;
    node->n_prev_comment = 0;
    trig = mtk_xrealloc(trig, (nt + 1) * sizeof(*trig));
    trig[nt] = (struct cmd){mtk_instr_parse(node, x->file, err), true, true, NULL, 0};
    if (trig[nt].in == NULL)
      goto fail;
    nt++;
    if (to_command(x, &trig[nt - 1], err) < 0)
      goto fail;
    newdeps |= trig[nt - 1].n_sources > 0;
  }
  if (nt == 0)
    return 0;
  struct state *d = &x->states[di];
  d->cmds = mtk_xrealloc(d->cmds, (d->n_cmds + nt + 1) * sizeof(*d->cmds));
  memmove(d->cmds + nt, d->cmds, d->n_cmds * sizeof(*d->cmds));
  memcpy(d->cmds, trig, nt * sizeof(*trig));
  d->n_cmds += nt;
  for (size_t i = 0; i < nt; i++)
    cmd_deps(x, di, i);
  free(trig);
  return newdeps;
fail:
  for (size_t i = 0; i < nt; i++) {
    mtk_instr_free(trig[i].in);
    free(trig[i].sources);
  }
  free(trig);
  return at(err, x->file, x->states[di].line);
}

/* resolveStages: reachability from the target, again after ONBUILD triggers
 * added dependencies.  *seen receives the reachable set. */
static int resolve_stages(struct ctx *x, bool **seen, struct mtk_err **err)
{
  for (;;) {
    free(*seen);
    *seen = mtk_xcalloc(x->n_states + 1, sizeof(bool));
    reach(x, x->target, *seen);
    if (resolve_bases(x, *seen, err) < 0)
      return -1;
    bool newdeps = false;
    for (size_t s = 0; s < x->n_states; s++) {
      if (!(*seen)[s] || x->states[s].base == NONE || x->states[s].onbuild_init)
        continue;
      x->states[s].onbuild_init = true;
      int r = onbuild_triggers(x, s, err);
      if (r < 0)
        return -1;
      newdeps |= r > 0;
    }
    if (!newdeps)
      return 0;
  }
}

/* ------------------------------------------------------------ expansion */

static const char *const non_env_args[] = {"BUILDKIT_SBOM_SCAN_CONTEXT",
                                           "BUILDKIT_SBOM_SCAN_STAGE"};

static bool non_env(const char *k)
{
  return strcmp(k, non_env_args[0]) == 0 || strcmp(k, non_env_args[1]) == 0;
}

struct xp {
  struct ctx *x;
  struct state *d;
  const struct mtk_instr *cmd;
  char ***unknown; /* names left for the builder (unknown base environment) */
  size_t *n_unknown;
};

/* reportUnmatchedVariables */
static void report_undefined(struct xp *p, const struct mtk_strmap *unmatched)
{
  const struct state *d = p->d;
  for (size_t i = 0; i < unmatched->len; i++) {
    const char *k = unmatched->keys[i];
    if (strv_has(d->declared, d->n_declared, k) || non_env(k))
      continue;
    if (!d->env_known) {
      if (strcmp(k, "PATH") != 0 && !strv_has(*p->unknown, *p->n_unknown, k))
        strv_push(p->unknown, p->n_unknown, k);
      continue;
    }
    mtk_autofree char *s =
        mtk_instr_suggest(k, (const char *const *) d->env.keys, d->env.len, true);
    mtk_check_report(p->x->lint, MTK_CHECK_UNDEFINED_VAR, p->cmd->comments, p->cmd->n_comments,
                     p->cmd->start_line, p->cmd->end_line,
                     "Usage of undefined variable '$%s'%s%s%s", k, s ? " (did you mean $" : "",
                     s ? s : "", s ? "?)" : "");
  }
}

static bool left_for_builder(const struct state *d, const struct mtk_strmap *unmatched)
{
  if (d->env_known)
    return false;
  for (size_t i = 0; i < unmatched->len; i++)
    if (!strv_has(d->declared, d->n_declared, unmatched->keys[i]) && !non_env(unmatched->keys[i]))
      return true;
  return false;
}

/* ProcessWord with the stage's environment.  When the base image's ENV is
 * unknown, a name the Dockerfile does not set is kept as written. */
static char *expand_with(struct xp *p, struct mtk_shlex *lex, const char *word,
                         struct mtk_err **err)
{
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  struct mtk_err *e = NULL;
  char *v = mtk_shlex_word_ex(lex, word, &p->d->env, NULL, &unmatched, &e);
  report_undefined(p, &unmatched);
  if (!left_for_builder(p->d, &unmatched)) {
    if (v == NULL)
      *err = e;
    return v;
  }
  free(v);
  mtk_err_free(&e);
  unsigned fl = mtk_shlex_flags(lex);
  mtk_shlex_set_flags(lex, fl | MTK_SHLEX_SKIP_UNSET_ENV);
  v = mtk_shlex_word(lex, word, &p->d->env, err);
  mtk_shlex_set_flags(lex, fl);
  return v;
}

static char *xp_word(void *ud, const char *word, struct mtk_err **err)
{
  struct xp *p = ud;
  return expand_with(p, p->x->lex, word, err);
}

static char *xp_raw(void *ud, const char *word, struct mtk_err **err)
{
  struct xp *p = ud;
  return expand_with(p, p->x->raw_lex, word, err);
}

/* ------------------------------------------------------------ dispatch */

struct disp {
  struct ctx *x;
  struct state *d;
  struct cmd *c;
  struct mtk_plan_step *step;
  char **unknown; /* see struct xp */
  size_t n_unknown;
};

static void report(struct disp *q, enum mtk_check_rule rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct disp *q, enum mtk_check_rule rule, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_autofree char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  const struct mtk_instr *in = q->c->in;
  mtk_check_report(q->x->lint, rule, in->comments, in->n_comments, in->start_line, in->end_line,
                   "%s", msg);
}

static void secret_key(struct disp *q, const char *instruction, const char *key)
{
  if (mtk_check_is_secret_key(key))
    report(q, MTK_CHECK_SECRETS_USED_IN_ARG_OR_ENV,
           "Do not use ARG or ENV instructions for sensitive data (%s \"%s\")", instruction, key);
}

static void dispatch_env(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_kvs; i++) {
    if (in->kvs[i].no_delim)
      report(q, MTK_CHECK_LEGACY_KEY_VALUE_FORMAT,
             "\"%s key=value\" should be used instead of "
             "legacy \"%s key value\" format",
             in->name, in->name);
    if (in->kind == MTK_INSTR_ENV) {
      secret_key(q, "ENV", in->kvs[i].key);
      mtk_strmap_set(&q->d->env, in->kvs[i].key, in->kvs[i].value);
    }
  }
}

/* dispatchArg */
static int dispatch_arg(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  struct state *d = q->d;
  for (size_t i = 0; i < in->n_kvs; i++) {
    struct mtk_instr_kv *kv = &in->kvs[i];
    secret_key(q, "ARG", kv->key);
    bool given = false, global = false;
    const char *bv = mtk_strmap_get(&q->x->build_args, kv->key, &given);
    const char *gv = mtk_strmap_get(&q->x->global, kv->key, &global);
    if (given) {
      free(kv->value);
      kv->value = mtk_xstrdup(bv);
    } else if (kv->value) {
      struct xp p = {q->x, d, in, &q->unknown, &q->n_unknown};
      char *v = expand_with(&p, q->x->lex, kv->value, err);
      if (v == NULL)
        return -1;
      free(kv->value);
      kv->value = v;
    } else if (global) {
      kv->value = mtk_xstrdup(gv);
    }
    if (kv->value && !non_env(kv->key))
      mtk_strmap_set(&d->env, kv->key, kv->value);
    strv_push(&d->declared, &d->n_declared, kv->key);
  }
  return 0;
}

static void used_once(struct disp *q, struct tracker *t)
{
  const struct mtk_instr *in = q->c->in;
  if (t->set)
    mtk_check_report(q->x->lint, MTK_CHECK_MULTIPLE_INSTRUCTIONS_DISALLOWED, t->comments,
                     t->n_comments, t->line, t->end_line,
                     "Multiple %s instructions should not "
                     "be used in the same stage because only the last one will be used",
                     in->name);
  tracker_free(t);
  t->set = true;
  t->line = in->start_line;
  t->end_line = in->end_line;
  t->comments = NULL;
  t->n_comments = 0;
  for (size_t i = 0; i < in->n_comments; i++)
    strv_push(&t->comments, &t->n_comments, in->comments[i]);
}

/* withShell: the image's SHELL (default /bin/sh -c) and the joined command. */
static void with_shell(struct disp *q, char **args, size_t n)
{
  struct mtk_plan_step *s = q->step;
  if (q->d->n_shell) {
    for (size_t i = 0; i < q->d->n_shell; i++)
      strv_push(&s->exec, &s->n_exec, q->d->shell[i]);
  } else {
    strv_push(&s->exec, &s->n_exec, "/bin/sh");
    strv_push(&s->exec, &s->n_exec, "-c");
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_addc(&sb, ' ');
    mtk_strbuf_adds(&sb, args[i]);
  }
  strv_push(&s->exec, &s->n_exec, sb.buf);
}

static void exec_form(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  if (in->prepend_shell) {
    with_shell(q, in->args, in->n_args);
    return;
  }
  for (size_t i = 0; i < in->n_args; i++)
    strv_push(&q->step->exec, &q->step->n_exec, in->args[i]);
  if (q->step->exec == NULL)
    q->step->exec = mtk_xcalloc(1, sizeof(char *));
}

static int dispatch_cmd(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  used_once(q, in->kind == MTK_INSTR_CMD ? &q->d->cmd_t : &q->d->entrypoint_t);
  if (in->prepend_shell && q->d->n_shell == 0)
    report(q, MTK_CHECK_JSON_ARGS_RECOMMENDED,
           "JSON arguments recommended for %s to prevent "
           "unintended behavior related to OS signals",
           in->name);
  exec_form(q);
  return 0;
}

/* dispatchRun: a lone heredoc is the command (or a script, run by path, when
 * it starts with #!); several are handed to the shell with the command. */
static int dispatch_run(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_mounts && i < q->c->n_sources; i++) {
    size_t s = q->c->sources[i];
    if (in->mounts[i].from && s != NONE && !q->x->states[s].dispatched)
      return fail_at(err, q->x->file, in->start_line,
                     "cannot mount from stage \"%s\" to \"%s\", "
                     "stage needs to be defined before current command",
                     in->mounts[i].from, in->mounts[i].target ? in->mounts[i].target : "");
  }
  if (in->n_files == 0) {
    exec_form(q);
    return 0;
  }
  if (in->n_args != 1 || !in->prepend_shell)
    return fail_at(err, q->x->file, in->start_line, "parsing produced an invalid run command");
  struct mtk_df_heredoc h;
  struct mtk_err *e = NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  if (mtk_df_parse_heredoc_word(in->args[0], &h, &e) > 0) {
    free(h.name);
    const struct mtk_instr_file *f = &in->files[0];
    mtk_autofree char *data =
        f->chomp ? mtk_df_heredoc_chomp(f->data, f->data_len, NULL) : mtk_xstrdup(f->data);
    if (strncmp(data, "#!", 2) == 0)
      mtk_strbuf_addf(&sb, "/dev/pipes/%s", f->name);
    else
      mtk_strbuf_adds(&sb, data);
  } else {
    mtk_err_free(&e);
    mtk_strbuf_adds(&sb, in->args[0]);
    for (size_t i = 0; i < in->n_files; i++) {
      mtk_strbuf_addc(&sb, '\n');
      mtk_strbuf_adds(&sb, in->files[i].data);
      mtk_strbuf_adds(&sb, in->files[i].name);
    }
  }
  with_shell(q, &sb.buf, 1);
  return 0;
}

static void dispatch_workdir(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  if (!q->d->workdir_set && in->value[0] != '/')
    report(q, MTK_CHECK_WORKDIR_RELATIVE_PATH,
           "Relative workdir \"%s\" can have unexpected "
           "results if the base image changes",
           in->value);
  q->d->workdir_set = true;
}

/* ------------------------------------------------------------ EXPOSE */

/* parsePortNumber */
static int port_number(const char *s, size_t n, int *out, const char **why)
{
  long v = 0;
  size_t i = 0;
  if (n == 0)
    return *why = "value is empty", -1;
  if (s[0] == '+' || s[0] == '-')
    i = 1;
  if (i == n)
    return *why = "invalid syntax", -1;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return *why = "invalid syntax", -1;
    if (v < 1000000)
      v = v * 10 + (s[i] - '0');
  }
  if (s[0] == '-')
    v = -v;
  if (v < 0 || v > 65535)
    return *why = "value out of range (0\xe2\x80\x93"
                  "65535)",
           -1;
  *out = (int) v;
  return 0;
}

static int port_range(const char *s, int *start, int *end)
{
  const char *why;
  if (*s == '\0')
    return -1;
  const char *dash = strchr(s, '-');
  size_t n1 = dash ? (size_t) (dash - s) : strlen(s);
  if (port_number(s, n1, start, &why) < 0)
    return -1;
  if (!dash || (strlen(dash + 1) == n1 && strncmp(s, dash + 1, n1) == 0)) {
    *end = *start;
    return 0;
  }
  if (port_number(dash + 1, strlen(dash + 1), end, &why) < 0 || *end < *start)
    return -1;
  return 0;
}

static bool valid_ip(const char *ip)
{
  unsigned char buf[16];
  char tmp[64];
  if (ip[0] == '[') {
    size_t n = strlen(ip);
    if (n < 2 || ip[n - 1] != ']' || n - 2 >= sizeof(tmp))
      return false;
    memcpy(tmp, ip + 1, n - 2);
    tmp[n - 2] = '\0';
    ip = tmp;
  }
  return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

/* parsePort: "[ip:][hostPort:]containerPort[/proto]" -> "port/proto" entries. */
static int expose_port(struct disp *q, const char *raw, struct mtk_err **err)
{
  mtk_autofree char *copy = mtk_xstrdup(raw);
  char *last = strrchr(copy, ':'), *host = NULL, *ip = NULL;
  char *container = last ? last + 1 : copy;
  if (last) {
    *last = '\0';
    char *prev = strrchr(copy, ':');
    host = prev ? prev + 1 : copy;
    if (prev)
      *prev = '\0', ip = copy;
  }
  char *slash = strchr(container, '/');
  const char *proto = slash ? slash + 1 : "";
  if (slash)
    *slash = '\0';
  if (*container == '\0')
    return mtk_err_set(err, MTK_E_BUILD, "invalid port: \"%s\": no port specified", raw);
  if (*proto && strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
    return mtk_err_set(err, MTK_E_BUILD, "invalid port: \"%s\": invalid proto: %s", raw, proto);
  mtk_autofree char *lproto = lower_dup(*proto ? proto : "tcp");
  if (strcmp(lproto, *proto ? proto : "tcp") != 0)
    report(q, MTK_CHECK_EXPOSE_PROTO_CASING,
           "Defined protocol '%s' in EXPOSE instruction "
           "should be lowercase",
           raw);
  if ((ip && *ip) || (host && *host))
    report(q, MTK_CHECK_EXPOSE_INVALID_FORMAT,
           "EXPOSE instruction should not define an IP "
           "address or host-port mapping, found '%s'",
           raw);
  if (ip && *ip && !valid_ip(ip))
    return mtk_err_set(err, MTK_E_BUILD, "invalid IP address: %s", ip);
  int s, e, hs, he;
  if (port_range(container, &s, &e) < 0)
    return mtk_err_set(err, MTK_E_BUILD, "invalid containerPort: %s", container);
  if (host && *host) {
    if (port_range(host, &hs, &he) < 0)
      return mtk_err_set(err, MTK_E_BUILD, "invalid hostPort: %s", host);
    if (e - s != he - hs && e != s)
      return mtk_err_set(err, MTK_E_BUILD,
                         "invalid ranges specified for container and host "
                         "Ports: %s and %s",
                         container, host);
  }
  for (int p = s; p <= e; p++) {
    mtk_autofree char *pp = mtk_xasprintf("%d/%s", p, lproto);
    strv_push(&q->step->ports, &q->step->n_ports, pp);
  }
  return 0;
}

/* One EXPOSE word: expanded and split (ProcessWords), each part parsed.
 * With an unknown base environment a word naming an unset variable is kept. */
static int expose_word(struct disp *q, const char *word, char ***words, size_t *nw,
                       struct mtk_err **err)
{
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  mtk_autofree char *w = mtk_shlex_word_ex(q->x->lex, word, &q->d->env, NULL, &unmatched, NULL);
  if (left_for_builder(q->d, &unmatched)) {
    for (size_t k = 0; k < unmatched.len; k++)
      if (!strv_has(q->unknown, q->n_unknown, unmatched.keys[k]))
        strv_push(&q->unknown, &q->n_unknown, unmatched.keys[k]);
    strv_push(words, nw, word);
    return 0;
  }
  size_t n = 0;
  char **ws = mtk_shlex_words(q->x->lex, word, &q->d->env, &n, err);
  if (ws == NULL)
    return -1;
  int rc = 0;
  for (size_t k = 0; k < n && rc == 0; k++)
    if ((rc = expose_port(q, ws[k], err)) == 0)
      strv_push(words, nw, ws[k]);
  mtk_shlex_words_free(ws);
  return rc;
}

static int dispatch_expose(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  char **words = NULL;
  size_t nw = 0;
  for (size_t i = 0; i < in->n_args; i++)
    if (expose_word(q, in->args[i], &words, &nw, err) < 0) {
      strv_free(words, nw);
      return at(err, q->x->file, in->start_line);
    }
  strv_free(in->args, in->n_args);
  in->args = words ? words : mtk_xcalloc(1, sizeof(char *));
  in->n_args = nw;
  return 0;
}

/* ------------------------------------------------------------ COPY / ADD */

static bool is_http(const char *s)
{
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A source BuildKit's dfgitutil takes for a Git repository (the common
 * forms; "github.com/x/y" without a scheme stays a local path). */
static bool is_git(const char *s)
{
  if (strncmp(s, "git://", 6) == 0 || strncmp(s, "git@", 4) == 0 || strncmp(s, "ssh://", 6) == 0)
    return true;
  if (!is_http(s))
    return false;
  const char *frag = strchr(s, '#');
  size_t n = frag ? (size_t) (frag - s) : strlen(s);
  return n > 4 && strncmp(s + n - 4, ".git", 4) == 0;
}

static bool root_ignored(const struct mtk_ignore *m)
{
  for (size_t i = 0; i < mtk_ignore_len(m); i++) {
    bool exc;
    const char *p = mtk_ignore_pattern(m, i, &exc);
    if (!exc && (!strcmp(p, "*") || !strcmp(p, "**") || !strcmp(p, "**/*")))
      return true;
  }
  return false;
}

/* validateCopySourcePath: CopyIgnoredFile. */
static void copy_ignored(struct disp *q, const char *src)
{
  const struct mtk_ignore *m = q->x->o->ignore;
  if (m == NULL || mtk_ignore_has_exceptions(m))
    return;
  const char *what = q->c->in->kind == MTK_INSTR_ADD ? "Add" : "Copy";
  mtk_autofree char *clean = mtk_ignore_clean_path(src);
  bool excluded = false;
  struct mtk_err *e = NULL;
  if (strcmp(clean, ".") == 0)
    excluded = root_ignored(m);
  else if (mtk_ignore_matches(m, clean, &excluded, &e) < 0)
    mtk_err_free(&e), excluded = false;
  if (excluded)
    report(q, MTK_CHECK_COPY_IGNORED_FILE,
           "Attempting to %s file \"%s\" that is excluded by "
           ".dockerignore",
           what, clean);
}

/* digest.Parse for ADD --checksum of a URL. */
static int check_digest(const char *d, struct mtk_err **err)
{
  static const struct {
    const char *alg;
    size_t hex;
  } algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  const char *colon = strchr(d, ':');
  if (colon == NULL || colon == d || colon[1] == '\0')
    return mtk_err_set(err, MTK_E_BUILD, "invalid checksum digest format");
  for (size_t i = 0; i < 3; i++)
    if (strlen(algs[i].alg) == (size_t) (colon - d) &&
        !strncmp(d, algs[i].alg, algs[i].hex ? (size_t) (colon - d) : 0)) {
      if (strlen(colon + 1) != algs[i].hex || strspn(colon + 1, "0123456789abcdef") != algs[i].hex)
        return mtk_err_set(err, MTK_E_BUILD, "invalid checksum digest length");
      return 0;
    }
  return mtk_err_set(err, MTK_E_BUILD, "unsupported digest algorithm");
}

static int copy_sources(struct disp *q, bool add, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_args; i++) {
    const char *src = in->args[i];
    if (is_git(src)) {
      if (!add)
        return mtk_err_set(err, MTK_E_BUILD, "source can't be a git ref for COPY");
    } else if (is_http(src)) {
      if (!add)
        return mtk_err_set(err, MTK_E_BUILD, "source can't be a URL for COPY");
      if (in->checksum && check_digest(in->checksum, err) < 0)
        return -1;
    } else if (q->c->n_sources == 0) {
      copy_ignored(q, src);
    }
  }
  return 0;
}

/* dispatchCopy's checks (what the builder would refuse before copying). */
static int dispatch_copy(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  bool add = in->kind == MTK_INSTR_ADD;
  if (!add && q->c->n_sources) {
    const struct state *src = &q->x->states[q->c->sources[0]];
    if (!src->dispatched)
      return fail_at(err, q->x->file, in->start_line,
                     "cannot copy from stage \"%s\", it needs "
                     "to be defined before current stage \"%s\"",
                     in->from, q->d->stage_name);
  }
  if (in->chmod && mtk_instr_check_chmod(in->chmod, err) < 0)
    return at(err, q->x->file, in->start_line);
  if (in->checksum) {
    if (in->n_args != 1)
      return fail_at(err, q->x->file, in->start_line,
                     "checksum can't be specified for multiple sources");
    if (!is_http(in->args[0]) && !is_git(in->args[0]))
      return fail_at(err, q->x->file, in->start_line, "checksum requires HTTP(S) or Git sources");
  }
  if (copy_sources(q, add, err) < 0)
    return at(err, q->x->file, in->start_line);
  return 0;
}

/* ------------------------------------------------------------ rendering */

static void add_json_str(struct mtk_strbuf *sb, const char *s)
{
  mtk_strbuf_addc(sb, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if (*p == '"' || *p == '\\')
      mtk_strbuf_addf(sb, "\\%c", *p);
    else if (*p == '\n')
      mtk_strbuf_adds(sb, "\\n");
    else if (*p == '\t')
      mtk_strbuf_adds(sb, "\\t");
    else if (*p < 0x20)
      mtk_strbuf_addf(sb, "\\u%04x", *p);
    else
      mtk_strbuf_addc(sb, (char) *p);
  }
  mtk_strbuf_addc(sb, '"');
}

static void add_json_list(struct mtk_strbuf *sb, char *const *v, size_t n)
{
  mtk_strbuf_addc(sb, '[');
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_adds(sb, ", ");
    add_json_str(sb, v[i]);
  }
  mtk_strbuf_addc(sb, ']');
}

/* A value quoted only when it would not read back as one word. */
static void add_word(struct mtk_strbuf *sb, const char *s)
{
  if (*s && !strpbrk(s, " \t\n\"'\\$`"))
    mtk_strbuf_adds(sb, s);
  else
    add_json_str(sb, s);
}

static void add_flag(struct mtk_strbuf *sb, const char *name, const char *v)
{
  if (v)
    mtk_strbuf_addf(sb, " --%s=%s", name, v);
}

static void render_copy(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  add_flag(sb, "from", in->from);
  add_flag(sb, "chown", in->chown);
  add_flag(sb, "chmod", in->chmod);
  add_flag(sb, "checksum", in->checksum);
  if (in->keep_git_dir >= 0)
    mtk_strbuf_addf(sb, " --keep-git-dir=%s", in->keep_git_dir ? "true" : "false");
  if (in->unpack >= 0)
    mtk_strbuf_addf(sb, " --unpack=%s", in->unpack ? "true" : "false");
  if (in->link)
    mtk_strbuf_adds(sb, " --link");
  if (in->parents)
    mtk_strbuf_adds(sb, " --parents");
  for (size_t i = 0; i < in->n_excludes; i++)
    add_flag(sb, "exclude", in->excludes[i]);
  for (size_t i = 0; i < in->n_args; i++)
    mtk_strbuf_addf(sb, " %s", in->args[i]);
  for (size_t i = 0; i < in->n_files; i++)
    mtk_strbuf_addf(sb, " <<%s", in->files[i].name);
  mtk_strbuf_addf(sb, " %s", in->dest);
}

/* summarizeHeredoc: the first line of the body, "..." when there are more. */
static void add_heredoc_summary(struct mtk_strbuf *sb, const struct mtk_instr_file *f)
{
  const char *s = f->data;
  while (isspace((unsigned char) *s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char) s[n - 1]))
    n--;
  size_t first = strcspn(s, "\r\n");
  mtk_strbuf_adds(sb, " (");
  mtk_strbuf_add(sb, s, first < n ? first : n);
  mtk_strbuf_adds(sb, first < n ? "...)" : ")");
}

static void render_command(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  if (in->kind == MTK_INSTR_RUN) {
    for (size_t i = 0; i < in->n_mounts; i++)
      add_flag(sb, "mount", in->mounts[i].spec);
    if (strv_has(in->flags_used, in->n_flags_used, "network"))
      add_flag(sb, "network", in->network);
    if (strv_has(in->flags_used, in->n_flags_used, "security"))
      add_flag(sb, "security", in->security);
  }
  mtk_strbuf_addc(sb, ' ');
  if (in->json)
    add_json_list(sb, in->args, in->n_args);
  else if (in->n_args)
    mtk_strbuf_adds(sb, in->args[0]);
  if (in->n_files == 1)
    add_heredoc_summary(sb, &in->files[0]);
}

static void render_kvs(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  for (size_t i = 0; i < in->n_kvs; i++) {
    mtk_strbuf_addc(sb, ' ');
    add_word(sb, in->kvs[i].key);
    if (in->kvs[i].value) {
      mtk_strbuf_addc(sb, '=');
      add_word(sb, in->kvs[i].value);
    }
  }
}

static void render_health(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  const struct mtk_instr_health *h = in->health;
  if (strcmp(h->test[0], "NONE") == 0) {
    mtk_strbuf_adds(sb, " NONE");
    return;
  }
  for (size_t i = 0; i < in->node->n_flags; i++)
    mtk_strbuf_addf(sb, " %s", in->node->flags[i].s);
  mtk_strbuf_adds(sb, " CMD ");
  if (strcmp(h->test[0], "CMD") == 0)
    add_json_list(sb, h->test + 1, h->n_test - 1);
  else
    mtk_strbuf_adds(sb, h->test[1]);
}

static char *render(const struct mtk_instr *in)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, mtk_instr_kind_name(in->kind));
  switch (in->kind) {
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      render_copy(&sb, in);
      break;
    case MTK_INSTR_RUN:
    case MTK_INSTR_CMD:
    case MTK_INSTR_ENTRYPOINT:
      render_command(&sb, in);
      break;
    case MTK_INSTR_SHELL:
      mtk_strbuf_addc(&sb, ' ');
      add_json_list(&sb, in->args, in->n_args);
      break;
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
    case MTK_INSTR_ARG:
      render_kvs(&sb, in);
      break;
    case MTK_INSTR_EXPOSE:
      for (size_t i = 0; i < in->n_args; i++)
        mtk_strbuf_addf(&sb, " %s", in->args[i]);
      break;
    case MTK_INSTR_VOLUME:
      mtk_strbuf_addc(&sb, ' ');
      if (in->json)
        add_json_list(&sb, in->args, in->n_args);
      else
        for (size_t i = 0; i < in->n_args; i++)
          mtk_strbuf_addf(&sb, "%s%s", i ? " " : "", in->args[i]);
      break;
    case MTK_INSTR_HEALTHCHECK:
      render_health(&sb, in);
      break;
    default:
      mtk_strbuf_addf(&sb, " %s", in->value ? in->value : "");
      break;
  }
  return mtk_strbuf_steal(&sb);
}

/* ------------------------------------------------------------ dispatch loop */

static int dispatch_kind(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  switch (in->kind) {
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
      dispatch_env(q);
      return 0;
    case MTK_INSTR_ARG:
      return dispatch_arg(q, err) < 0 ? at(err, q->x->file, in->start_line) : 0;
    case MTK_INSTR_RUN:
      return dispatch_run(q, err);
    case MTK_INSTR_WORKDIR:
      dispatch_workdir(q);
      return 0;
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      return dispatch_copy(q, err);
    case MTK_INSTR_CMD:
    case MTK_INSTR_ENTRYPOINT:
      return dispatch_cmd(q);
    case MTK_INSTR_HEALTHCHECK:
      used_once(q, &q->d->health_t);
      return 0;
    case MTK_INSTR_EXPOSE:
      return dispatch_expose(q, err);
    case MTK_INSTR_STOPSIGNAL:
      if (mtk_instr_check_signal(in->value, err) < 0)
        return at(err, q->x->file, in->start_line);
      return 0;
    case MTK_INSTR_VOLUME:
      for (size_t i = 0; i < in->n_args; i++)
        if (in->args[i][0] == '\0')
          return fail_at(err, q->x->file, in->start_line,
                         "VOLUME specified can not be an empty string");
      return 0;
    case MTK_INSTR_SHELL:
      strv_free(q->d->shell, q->d->n_shell);
      q->d->shell = NULL, q->d->n_shell = 0;
      for (size_t i = 0; i < in->n_args; i++)
        strv_push(&q->d->shell, &q->d->n_shell, in->args[i]);
      return 0;
    default:
      return 0;
  }
}

static void add_notes(struct disp *q)
{
  struct mtk_plan_step *s = q->step;
  for (size_t i = 0; i < q->n_unknown; i++) {
    mtk_autofree char *note = mtk_xasprintf(
        "$%s is not set by this Dockerfile: left for the builder (the base image %s may set it "
        "with ENV; --check does not read image configurations)",
        q->unknown[i], q->d->root_image ? q->d->root_image : "");
    strv_push(&s->notes, &s->n_notes, note);
  }
}

/* dispatch: expansion (not ARG: dispatchArg expands its defaults itself),
 * then what the instruction does to the stage. */
static int dispatch_one(struct ctx *x, struct state *d, struct cmd *c, struct mtk_err **err)
{
  d->steps = mtk_xrealloc(d->steps, (d->n_steps + 1) * sizeof(*d->steps));
  struct mtk_plan_step *step = &d->steps[d->n_steps++];
  memset(step, 0, sizeof(*step));
  step->onbuild = c->onbuild;
  struct disp q = {x, d, c, step, NULL, 0};
  int rc = 0;
  if (c->in->kind != MTK_INSTR_ARG) {
    struct xp p = {x, d, c->in, &q.unknown, &q.n_unknown};
    if (mtk_instr_expand(c->in, xp_word, xp_raw, &p, err) < 0)
      rc = at(err, x->file, c->in->start_line);
  }
  if (rc == 0)
    rc = dispatch_kind(&q, err);
  add_notes(&q);
  strv_free(q.unknown, q.n_unknown);
  step->text = render(c->in);
  return rc;
}

static void init_state(struct ctx *x, struct state *d)
{
  if (d->base != NONE) {
    const struct state *b = &x->states[d->base];
    mtk_strmap_merge(&d->env, &b->env);
    d->env_known = b->env_known;
    d->root_image = b->root_image;
    for (size_t i = 0; i < b->n_declared; i++)
      strv_push(&d->declared, &d->n_declared, b->declared[i]);
    for (size_t i = 0; i < b->n_shell; i++)
      strv_push(&d->shell, &d->n_shell, b->shell[i]);
    d->workdir_set = b->workdir_set;
    if (!d->has_platform && b->has_platform)
      d->platform = b->platform, d->has_platform = true;
    return;
  }
  if (strcmp(d->base_name, "scratch") == 0) {
    mtk_strmap_set(&d->env, "PATH", DEFAULT_PATH);
    d->env_known = true;
    return;
  }
  d->root_image = d->base_name;
  if (x->o->image_env)
    d->env_known = x->o->image_env(x->o->image_env_ud, d->base_ref ? d->base_ref : d->base_name,
                                   d->has_platform ? &d->platform : &x->target_pf, &d->env);
  if (d->env_known && !mtk_strmap_has(&d->env, "PATH"))
    mtk_strmap_set(&d->env, "PATH", DEFAULT_PATH);
}

static int dispatch_all(struct ctx *x, const bool *seen, struct mtk_err **err)
{
  for (size_t s = 0; s < x->n_states; s++) {
    struct state *d = &x->states[s];
    if (d->unregistered || (!x->o->all_stages && (!seen[s] || d->dispatched)))
      continue;
    init_state(x, d);
    d->dispatched = true;
    for (size_t i = 0; i < d->n_cmds; i++)
      if (dispatch_one(x, d, &d->cmds[i], err) < 0)
        return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ plan */

static void plan_deps(struct ctx *x, const struct state *d, struct mtk_plan_stage *ps)
{
  for (size_t i = 0; i < d->n_deps; i++) {
    const struct state *s = &x->states[d->deps[i].state];
    if (s->stage != NONE) {
      ps->deps = mtk_xrealloc(ps->deps, (ps->n_deps + 1) * sizeof(*ps->deps));
      ps->deps[ps->n_deps++] = s->stage;
    } else if (strcmp(s->base_name, "scratch") != 0 &&
               !strv_has(ps->images, ps->n_images, s->base_name)) {
      strv_push(&ps->images, &ps->n_images, s->base_name);
    }
  }
}

static void plan_stage(struct ctx *x, struct state *d, const bool *seen, size_t s,
                       struct mtk_plan_stage *ps)
{
  char buf[160];
  const struct mtk_instr *from = x->srcs[d->stage].from;
  ps->index = d->stage;
  ps->name = d->name ? mtk_xstrdup(d->name) : NULL;
  ps->display_name = *d->stage_name ? mtk_xstrdup(d->stage_name) : NULL;
  ps->base = mtk_xstrdup(d->base_name);
  ps->base_ref = d->base == NONE && d->base_ref ? mtk_xstrdup(d->base_ref) : NULL;
  ps->base_stage = d->base != NONE ? (int) x->states[d->base].stage : -1;
  ps->platform = d->has_platform && from->platform
                     ? mtk_xstrdup(mtk_build_platform_format(&d->platform, buf, sizeof(buf)))
                     : NULL;
  ps->line = from->start_line;
  ps->end_line = from->end_line;
  ps->reachable = seen[s];
  ps->dispatched = d->dispatched;
  ps->env_known = d->env_known;
  ps->steps = d->steps;
  ps->n_steps = d->n_steps;
  for (size_t i = 0; i < ps->n_steps; i++)
    ps->steps[i].instr = NULL;
  for (size_t i = 0, k = 0; i < d->n_cmds && k < d->n_steps; i++, k++) {
    ps->steps[k].instr = d->cmds[i].in;
    if (d->cmds[i].owned)
      d->cmds[i].owned = false;
    else
      for (size_t j = 0; j < x->n_instrs; j++)
        if (x->instrs[j] == d->cmds[i].in)
          x->instrs[j] = NULL;
    ps->steps[k].instr->node = NULL;
  }
  d->steps = NULL;
  d->n_steps = 0;
  plan_deps(x, d, ps);
  mtk_strmap_merge(&ps->env, &d->env);
}

static struct mtk_plan *make_plan(struct ctx *x, const bool *seen)
{
  char buf[160];
  struct mtk_plan *p = mtk_xcalloc(1, sizeof(*p));
  p->file = mtk_xstrdup(x->file ? x->file : "Dockerfile");
  p->n_stages = x->n_srcs;
  p->stages = mtk_xcalloc(x->n_srcs, sizeof(*p->stages));
  p->order = mtk_xcalloc(x->n_srcs + 1, sizeof(*p->order));
  for (size_t s = 0; s < x->n_states; s++) {
    struct state *d = &x->states[s];
    if (d->stage == NONE)
      continue;
    plan_stage(x, d, seen, s, &p->stages[d->stage]);
    if (seen[s])
      p->order[p->n_order++] = d->stage;
  }
  p->target = x->states[x->target].stage;
  mtk_strmap_merge(&p->global_args, &x->global);
  static const char *const proxies[] = {"http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
                                        "all_proxy"};
  for (size_t i = 0; i < x->build_args.len; i++)
    for (size_t k = 0; k < 5; k++)
      if (strcasecmp(x->build_args.keys[i], proxies[k]) == 0)
        mtk_strmap_set(&p->proxy, x->build_args.keys[i], x->build_args.vals[i]);
  p->target_platform = mtk_xstrdup(format_all(&x->target_pf, buf, sizeof(buf)));
  return p;
}

void mtk_plan_free(struct mtk_plan *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_stages; i++) {
    struct mtk_plan_stage *s = &p->stages[i];
    free(s->name);
    free(s->display_name);
    free(s->base);
    free(s->base_ref);
    free(s->platform);
    for (size_t k = 0; k < s->n_steps; k++)
      step_free(&s->steps[k]);
    free(s->steps);
    free(s->deps);
    strv_free(s->images, s->n_images);
    mtk_strmap_free(&s->env);
  }
  free(p->stages);
  free(p->order);
  free(p->file);
  mtk_strmap_free(&p->global_args);
  mtk_strmap_free(&p->proxy);
  free(p->target_platform);
  free(p);
}

/* ------------------------------------------------------------ resolve */

static int platforms(struct ctx *x, struct mtk_err **err)
{
  if (x->o->build_platform) {
    if (mtk_build_platform_parse(x->o->build_platform, &x->build_pf, err) < 0)
      return mtk_err_wrap(err, "invalid build platform");
  } else {
    mtk_build_platform_host(&x->build_pf);
  }
  x->target_pf = x->build_pf;
  if (x->o->platform && mtk_build_platform_parse(x->o->platform, &x->target_pf, err) < 0)
    return mtk_err_wrap(err, "invalid platform");
  return 0;
}

static int run(struct ctx *x, bool **seen, struct mtk_err **err)
{
  if (parse_all(x, err) < 0 || platforms(x, err) < 0)
    return -1;
  const char *target =
      x->o->target && *x->o->target ? x->o->target : x->srcs[x->n_srcs - 1].from->stage_name;
  set_platform_args(x, target && *target ? target : "default");
  check_default_bases(x);
  if (meta_args(x, &x->global, &x->build_args, &x->all_args, err) < 0)
    return -1;
  for (size_t i = 0; i < x->n_srcs; i++)
    if (stage_state(x, i, err) < 0)
      return -1;
  if (resolve_target(x, err) < 0 || dependency_graph(x, err) < 0 ||
      resolve_stages(x, seen, err) < 0)
    return -1;
  return dispatch_all(x, *seen, err);
}

struct mtk_plan *mtk_stages_resolve(const char *file, const struct mtk_df_result *df,
                                    const struct mtk_stages_opts *opts, struct mtk_err **err)
{
  struct ctx x;
  memset(&x, 0, sizeof(x));
  x.file = file;
  x.df = df;
  x.o = opts;
  x.lint = opts->lint;
  x.lex = mtk_shlex_new(df->escape);
  x.raw_lex = mtk_shlex_new('\\');
  mtk_shlex_set_flags(x.raw_lex, MTK_SHLEX_SKIP_PROCESS_QUOTES);
  if (opts->build_args)
    for (size_t i = 0; i < opts->build_args->len; i++)
      if (opts->build_args->vals[i])
        mtk_strmap_set(&x.build_args, opts->build_args->keys[i], opts->build_args->vals[i]);
  bool *seen = NULL;
  struct mtk_plan *p = NULL;
  if (run(&x, &seen, err) == 0)
    p = make_plan(&x, seen);
  free(seen);
  ctx_free(&x);
  return p;
}
