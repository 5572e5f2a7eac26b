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

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "build/check.h"
#include "build/ignore.h"
#include "build/shlex.h"
#include "build/stages_int.h"
#include "image/ref.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------ helpers */

void mtk_stages_strv_push(char ***v, size_t *n, const char *s)
{
  *v = mtk_xrealloc(*v, (*n + 2) * sizeof(**v));
  (*v)[(*n)++] = mtk_xstrdup(s);
  (*v)[*n] = NULL;
}

void mtk_stages_strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

bool mtk_stages_strv_has(char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

char *mtk_stages_lower_dup(const char *s)
{
  char *d = mtk_xstrdup(s);
  for (char *p = d; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  return d;
}

/* Gives *err the position of the instruction when it has none yet. */
int mtk_stages_at(struct mtk_err **err, const char *file, int line)
{
  if (err && *err && (*err)->line == 0) {
    if ((*err)->file == NULL && file)
      (*err)->file = mtk_xstrdup(file);
    (*err)->line = line;
  }
  return -1;
}

int mtk_stages_fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_err_setv(err, MTK_E_BUILD, fmt, ap);
  va_end(ap);
  return mtk_stages_at(err, file, line);
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

void mtk_stages_tracker_free(struct tracker *t)
{
  mtk_stages_strv_free(t->comments, t->n_comments);
}

void mtk_stages_step_free(struct mtk_plan_step *s)
{
  mtk_instr_free(s->instr);
  free(s->text);
  mtk_stages_strv_free(s->exec, s->n_exec);
  mtk_stages_strv_free(s->ports, s->n_ports);
  mtk_stages_strv_free(s->notes, s->n_notes);
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
  mtk_stages_strv_free(d->declared, d->n_declared);
  mtk_stages_strv_free(d->shell, d->n_shell);
  mtk_stages_tracker_free(&d->cmd_t);
  mtk_stages_tracker_free(&d->entrypoint_t);
  mtk_stages_tracker_free(&d->health_t);
  for (size_t i = 0; i < d->n_steps; i++)
    mtk_stages_step_free(&d->steps[i]);
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
  mtk_autofree char *lo = mtk_stages_lower_dup(name);
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
    return mtk_stages_fail_at(err, x->file, in->start_line, "no build stage in current context");
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
  char buf[256];
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
      char all[256];
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
          return mtk_stages_at(err, x->file, in->start_line);
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
    int r = mtk_stages_fail_at(err, x->file, from->start_line,
                               "failed to process arguments for platform "
                               "%s: %s",
                               "", e->msg);
    mtk_err_free(&e);
    return r;
  }
  mtk_autofree char *hint = suggest_any(x, &unmatched);
  if (*v == '\0')
    return mtk_stages_fail_at(err, x->file, from->start_line,
                              "empty platform value from expression %s%s", from->platform, hint);
  if (mtk_build_platform_parse(v, &d->platform, &e) < 0) {
    int r = mtk_stages_fail_at(err, x->file, from->start_line, "failed to parse platform %s: %s%s",
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
    return mtk_stages_at(err, x->file, from->start_line);
  if (*base == '\0')
    return mtk_stages_fail_at(err, x->file, from->start_line, "base name (%s) should not be blank",
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
      return mtk_stages_at(err, x->file, in->start_line);
    if (strcmp(v, in->from) != 0)
      return mtk_stages_fail_at(
          err, x->file, in->start_line,
          "variable expansion is not supported for "
          "--from, define a new stage with FROM using ARG from global scope as a "
          "workaround");
    long long idx;
    size_t s;
    if (go_atoi(in->from, &idx)) {
      if (idx < 0 || (size_t) idx >= x->n_states)
        return mtk_stages_fail_at(err, x->file, in->start_line, "invalid stage index %lld", idx);
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
      return mtk_stages_fail_at(err, x->file, c->start_line,
                                "circular dependency detected on stage: %s",
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
      int r = mtk_stages_fail_at(err, x->file, d->line, "failed to parse stage name \"%s\": %s",
                                 d->base_name, e->msg);
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
  return mtk_stages_at(err, x->file, x->states[di].line);
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

/* ------------------------------------------------------------ plan */

static void plan_deps(struct ctx *x, const struct state *d, struct mtk_plan_stage *ps)
{
  for (size_t i = 0; i < d->n_deps; i++) {
    const struct state *s = &x->states[d->deps[i].state];
    if (s->stage != NONE) {
      ps->deps = mtk_xrealloc(ps->deps, (ps->n_deps + 1) * sizeof(*ps->deps));
      ps->deps[ps->n_deps++] = s->stage;
    } else if (strcmp(s->base_name, "scratch") != 0 &&
               !mtk_stages_strv_has(ps->images, ps->n_images, s->base_name)) {
      mtk_stages_strv_push(&ps->images, &ps->n_images, s->base_name);
    }
  }
}

static void plan_stage(struct ctx *x, struct state *d, const bool *seen, size_t s,
                       struct mtk_plan_stage *ps)
{
  char buf[256];
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
  char buf[256];
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
      mtk_stages_step_free(&s->steps[k]);
    free(s->steps);
    free(s->deps);
    mtk_stages_strv_free(s->images, s->n_images);
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
  return mtk_stages_dispatch_all(x, *seen, err);
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
