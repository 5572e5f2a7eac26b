/* Unit tests for the stage layer (src/build/stages.c): meta args and
 * --build-arg, the predefined platform args, ARG/ENV scope and shadowing,
 * which words expand, the stage graph (FROM <stage>, COPY --from by name,
 * index and image, RUN --mount from=), reachability from the target,
 * cycles, ONBUILD triggers, unknown base-image environments, platforms, and
 * BuildKit's error texts with their lines.  The tutorial's two Dockerfiles
 * (samples/flask-rstudio) are resolved as a reader expects. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/check.h"
#include "build/stages.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

static struct mtk_plan *resolve(const char *text, const struct mtk_stages_opts *opts,
                                struct mtk_err **err)
{
  static const struct mtk_stages_opts none = {0};
  mtk_autoptr(mtk_df_result) df = mtk_dockerfile_parse("Dockerfile", text, strlen(text), err);
  if (df == NULL)
    return NULL;
  return mtk_stages_resolve("Dockerfile", df, opts ? opts : &none, err);
}

/* "LINE:message" of the error resolving text, or "" when it resolves. */
static char *error_of(const char *text, const struct mtk_stages_opts *opts)
{
  struct mtk_err *err = NULL;
  struct mtk_plan *p = resolve(text, opts, &err);
  mtk_plan_free(p);
  if (err == NULL)
    return mtk_xstrdup("");
  char *r = mtk_xasprintf("%d:%s", err->line, err->msg);
  if (err->code != MTK_E_BUILD)
    r[0] = '?';
  mtk_err_free(&err);
  return r;
}

#define ASSERT_ERR(text, opts, want)                                                               \
  do {                                                                                             \
    mtk_autofree char *got_ = error_of(text, opts);                                                \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

/* The texts of the steps of stage i, joined by " | ". */
static char *steps(const struct mtk_plan *p, size_t i)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  for (size_t k = 0; k < p->stages[i].n_steps; k++)
    mtk_strbuf_addf(&sb, "%s%s", k ? " | " : "", p->stages[i].steps[k].text);
  return mtk_strbuf_steal(&sb);
}

static char *read_sample(const char *rel)
{
  /* __FILE__ is tests/unit/test_build_stages.c under the source tree. */
  const char *slash = strrchr(__FILE__, '/');
  mtk_autofree char *path =
      mtk_xasprintf("%.*s/../../samples/flask-rstudio/%s", slash ? (int) (slash - __FILE__) : 1,
                    slash ? __FILE__ : ".", rel);
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    mtk_strbuf_add(&sb, buf, n);
  fclose(f);
  return mtk_strbuf_steal(&sb);
}

static int test_tutorial_flask(void)
{
  mtk_autofree char *text = read_sample("flask/Dockerfile");
  MTK_ASSERT(text != NULL);
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve(text, NULL, &err);
  MTK_ASSERT(p != NULL);
  MTK_ASSERT_EQ(p->n_stages, 1);
  MTK_ASSERT_EQ(p->n_order, 1);
  const struct mtk_plan_stage *s = &p->stages[0];
  MTK_ASSERT_STREQ(s->base, "python:3-alpine");
  MTK_ASSERT_STREQ(s->base_ref, "docker.io/library/python:3-alpine");
  mtk_autofree char *t = steps(p, 0);
  MTK_ASSERT_STREQ(t, "RUN apk update && apk add --no-cache python3 py3-pip | "
                      "RUN pip install flask | COPY hello.py / | ENV FLASK_APP=hello | "
                      "EXPOSE 8000 | CMD [\"flask\", \"run\", \"--host\", \"0.0.0.0\", "
                      "\"--port\", \"8000\"]");
  MTK_ASSERT_EQ(s->steps[0].instr->start_line, 5);
  MTK_ASSERT_STREQ(s->steps[0].exec[0], "/bin/sh");
  MTK_ASSERT_STREQ(s->steps[0].exec[2], "apk update && apk add --no-cache python3 py3-pip");
  MTK_ASSERT_STREQ(s->steps[4].ports[0], "8000/tcp");
  MTK_ASSERT_EQ(s->steps[5].n_exec, 6);
  MTK_ASSERT_STREQ(mtk_strmap_get(&s->env, "FLASK_APP", NULL), "hello");
  for (size_t i = 0; i < s->n_steps; i++)
    MTK_ASSERT_EQ(s->steps[i].n_notes, 0);
  return 0;
}

static int test_tutorial_rstudio(void)
{
  mtk_autofree char *text = read_sample("rstudio/Dockerfile");
  MTK_ASSERT(text != NULL);
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve(text, NULL, &err);
  MTK_ASSERT(p != NULL);
  const struct mtk_plan_stage *s = &p->stages[0];
  MTK_ASSERT_STREQ(s->base, "rocker/rstudio:latest");
  MTK_ASSERT(!s->env_known);
  MTK_ASSERT_EQ(s->n_steps, 7);
  /* The continuation lines are joined; comments between them are gone. */
  MTK_ASSERT_STREQ(s->steps[1].text, "RUN apt-get update   && apt-get install -y "
                                     "--no-install-recommends     git libgit2-dev  && "
                                     "apt-get clean");
  MTK_ASSERT_EQ(s->steps[1].instr->start_line, 9);
  MTK_ASSERT_EQ(s->steps[1].instr->end_line, 12);
  /* $R_HOME comes from the base image: left for the builder, with a note. */
  MTK_ASSERT_STREQ(s->steps[2].text, "COPY docker/.Rprofile $R_HOME/etc/Rprofile.site");
  MTK_ASSERT_EQ(s->steps[2].n_notes, 1);
  MTK_ASSERT_CONTAINS(s->steps[2].notes[0], "$R_HOME is not set by this Dockerfile");
  MTK_ASSERT_CONTAINS(s->steps[2].notes[0], "rocker/rstudio:latest");
  MTK_ASSERT_STREQ(s->steps[6].text,
                   "RUN R -q -e 'remotes::install_github(\"inbo/INBOmd\", dependencies = TRUE)'");
  return 0;
}

static int test_unknown_env_notes(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve("FROM alpine AS base\nARG VERSION=1\n"
                                    "COPY a$VERSON b${HOME:-/root} $VERSION /\n"
                                    "ENV PATH=/opt/bin:$PATH\nFROM base\nEXPOSE $PORT\n",
                                    NULL, &err);
  MTK_ASSERT(p != NULL);
  const struct mtk_plan_step *c = &p->stages[0].steps[1];
  MTK_ASSERT_STREQ(c->text, "COPY a$VERSON b${HOME:-/root} 1 /");
  MTK_ASSERT_EQ(c->n_notes, 2);
  MTK_ASSERT_CONTAINS(c->notes[0], "$VERSON is not set by this Dockerfile");
  MTK_ASSERT_CONTAINS(c->notes[0], "did you mean $VERSION?");
  MTK_ASSERT_CONTAINS(c->notes[1], "$HOME is not set");
  /* PATH always exists: kept as written, without a note. */
  MTK_ASSERT_STREQ(p->stages[0].steps[2].text, "ENV PATH=\"/opt/bin:$PATH\"");
  MTK_ASSERT_EQ(p->stages[0].steps[2].n_notes, 0);
  /* A stage on that stage inherits the unknown environment. */
  MTK_ASSERT(!p->stages[1].env_known);
  MTK_ASSERT_STREQ(p->stages[1].steps[0].text, "EXPOSE $PORT");
  MTK_ASSERT_EQ(p->stages[1].steps[0].n_notes, 1);
  MTK_ASSERT_CONTAINS(p->stages[1].steps[0].notes[0], "base image alpine may set it");
  return 0;
}

static bool r_home_env(void *ud, const char *ref, const struct mtk_build_platform *pf,
                       struct mtk_strmap *env)
{
  (void) pf;
  mtk_strmap_set(ud, "ref", ref);
  if (strcmp(ref, "docker.io/rocker/rstudio:latest") != 0)
    return false;
  mtk_strmap_set(env, "R_HOME", "/usr/local/lib/R");
  return true;
}

static int test_known_image_env(void)
{
  mtk_autostrmap seen = MTK_STRMAP_INIT;
  struct mtk_stages_opts o = {.image_env = r_home_env, .image_env_ud = &seen};
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p =
      resolve("FROM rocker/rstudio\nCOPY a $R_HOME/etc/\nENV P=$PATH\n", &o, &err);
  MTK_ASSERT(p != NULL);
  MTK_ASSERT_STREQ(mtk_strmap_get(&seen, "ref", NULL), "docker.io/rocker/rstudio:latest");
  MTK_ASSERT(p->stages[0].env_known);
  MTK_ASSERT_STREQ(p->stages[0].steps[0].text, "COPY a /usr/local/lib/R/etc/");
  MTK_ASSERT_EQ(p->stages[0].steps[0].n_notes, 0);
  /* A known image without PATH gets BuildKit's default one. */
  MTK_ASSERT_STREQ(p->stages[0].steps[1].instr->kvs[0].value,
                   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return 0;
}

static int test_meta_args(void)
{
  mtk_autostrmap args = MTK_STRMAP_INIT;
  mtk_strmap_set(&args, "V", "3.20");
  mtk_strmap_set(&args, "UNUSED", "x");
  mtk_strmap_set(&args, "HTTP_PROXY", "http://p:3128");
  struct mtk_stages_opts o = {
      .build_args = &args, .platform = "linux/arm/v7", .build_platform = "linux/amd64"};
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve("ARG V=3.19\nARG IMG=alpine:${V}\nFROM $IMG\n"
                                    "ARG TARGETPLATFORM TARGETARCH TARGETVARIANT BUILDARCH V\n"
                                    "ARG UNDECLARED\n",
                                    &o, &err);
  MTK_ASSERT(p != NULL);
  MTK_ASSERT_STREQ(p->stages[0].base, "alpine:3.20");
  MTK_ASSERT_STREQ(mtk_strmap_get(&p->global_args, "IMG", NULL), "alpine:3.20");
  MTK_ASSERT_STREQ(mtk_strmap_get(&p->global_args, "BUILDPLATFORM", NULL), "linux/amd64");
  MTK_ASSERT_STREQ(mtk_strmap_get(&p->global_args, "TARGETSTAGE", NULL), "default");
  MTK_ASSERT_STREQ(p->stages[0].steps[0].text, "ARG TARGETPLATFORM=linux/arm/v7 TARGETARCH=arm "
                                               "TARGETVARIANT=v7 BUILDARCH=amd64 V=3.20");
  MTK_ASSERT_STREQ(p->stages[0].steps[1].text, "ARG UNDECLARED");
  MTK_ASSERT_STREQ(p->target_platform, "linux/arm/v7");
  MTK_ASSERT_STREQ(mtk_strmap_get(&p->proxy, "HTTP_PROXY", NULL), "http://p:3128");
  /* Predefined args are overridable with --build-arg too. */
  mtk_strmap_set(&args, "TARGETARCH", "riscv64");
  mtk_autoptr(mtk_plan) p2 =
      resolve("FROM scratch\nARG TARGETARCH\nCOPY a-$TARGETARCH /\n", &o, &err);
  MTK_ASSERT(p2 != NULL);
  MTK_ASSERT_STREQ(p2->stages[0].steps[1].text, "COPY a-riscv64 /");
  return 0;
}

static int test_scope(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve("FROM scratch\nARG A=arg\nENV B=$A\nENV A=env\nARG A\n"
                                    "ENV C=$A X=1 Y=$X\nARG A=again D=${A}2\nENV E=$A\n"
                                    "WORKDIR /w/$D\nUSER ${NOPE:-nobody}\nRUN echo $A\n",
                                    NULL, &err);
  MTK_ASSERT(p != NULL);
  mtk_autofree char *t = steps(p, 0);
  MTK_ASSERT_STREQ(t, "ARG A=arg | ENV B=arg | ENV A=env | ARG A | ENV C=env X=1 Y=\"\" | "
                      "ARG A=again D=again2 | ENV E=again | WORKDIR /w/again2 | USER nobody | "
                      "RUN echo $A");
  const struct mtk_plan_stage *s = &p->stages[0];
  MTK_ASSERT_STREQ(mtk_strmap_get(&s->env, "A", NULL), "again");
  MTK_ASSERT_STREQ(mtk_strmap_get(&s->env, "PATH", NULL),
                   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  MTK_ASSERT(s->env_known);
  /* A stage on a stage inherits ARG and ENV values (the LLB state's env). */
  mtk_autoptr(mtk_plan) p2 = resolve("FROM scratch AS base\nARG V=1\nENV E=2\n"
                                     "FROM base\nCOPY $V$E /\n",
                                     NULL, &err);
  MTK_ASSERT(p2 != NULL);
  MTK_ASSERT_EQ(p2->stages[1].base_stage, 0);
  MTK_ASSERT_STREQ(p2->stages[1].steps[0].text, "COPY 12 /");
  return 0;
}

static int test_graph(void)
{
  struct mtk_err *err = NULL;
  const char *df = "FROM alpine AS build\nRUN make\n"
                   "FROM busybox AS tools\n"
                   "FROM alpine AS unused\nRUN true\n"
                   "FROM build AS final\nCOPY --from=tools /bin/x /x\nCOPY --from=1 /y /y\n"
                   "COPY --from=nginx:1 /etc/nginx /n\n"
                   "RUN --mount=from=build,target=/b true\n";
  mtk_autoptr(mtk_plan) p = resolve(df, NULL, &err);
  MTK_ASSERT(p != NULL);
  MTK_ASSERT_EQ(p->target, 3);
  MTK_ASSERT_EQ(p->n_order, 3);
  MTK_ASSERT_EQ(p->order[0], 0);
  MTK_ASSERT_EQ(p->order[1], 1);
  MTK_ASSERT_EQ(p->order[2], 3);
  MTK_ASSERT(!p->stages[2].reachable);
  MTK_ASSERT(!p->stages[2].dispatched); /* opts.all_stages not set */
  const struct mtk_plan_stage *f = &p->stages[3];
  MTK_ASSERT_EQ(f->base_stage, 0);
  MTK_ASSERT_EQ(f->n_deps, 2); /* tools (by name and by index: once), build (mount) */
  MTK_ASSERT_EQ(f->deps[0], 1);
  MTK_ASSERT_EQ(f->deps[1], 0);
  MTK_ASSERT_EQ(f->n_images, 1);
  MTK_ASSERT_STREQ(f->images[0], "nginx:1");
  /* --target picks a stage; all_stages checks the others too. */
  struct mtk_stages_opts o = {.target = "Unused", .all_stages = true};
  mtk_autoptr(mtk_plan) p2 = resolve(df, &o, &err);
  MTK_ASSERT(p2 != NULL);
  MTK_ASSERT_EQ(p2->target, 2);
  MTK_ASSERT_EQ(p2->n_order, 1);
  MTK_ASSERT(p2->stages[3].dispatched && !p2->stages[3].reachable);
  MTK_ASSERT_STREQ(mtk_strmap_get(&p2->global_args, "TARGETSTAGE", NULL), "Unused");
  /* A FROM naming a later stage is an image reference, as in BuildKit. */
  mtk_autoptr(mtk_plan) p3 = resolve("FROM later AS first\nFROM alpine AS later\n", NULL, &err);
  MTK_ASSERT(p3 != NULL);
  MTK_ASSERT_EQ(p3->stages[0].base_stage, -1);
  MTK_ASSERT_STREQ(p3->stages[0].base_ref, "docker.io/library/later:latest");
  return 0;
}

static int test_graph_errors(void)
{
  ASSERT_ERR("FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nCOPY --from=a /y /y\n", NULL,
             "2:circular dependency detected on stage: a");
  struct mtk_stages_opts ta = {.target = "a"};
  ASSERT_ERR("FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\n", &ta,
             "2:cannot copy from stage \"b\", it needs to be defined before current stage \"a\"");
  ASSERT_ERR("FROM alpine AS a\nRUN --mount=from=b,target=/m x\nFROM alpine AS b\n", &ta,
             "2:cannot mount from stage \"b\" to \"/m\", stage needs to be defined before "
             "current command");
  ASSERT_ERR("FROM alpine\nCOPY --from=7 /x /x\n", NULL, "2:invalid stage index 7");
  ASSERT_ERR(
      "FROM alpine\nCOPY --from=$S /x /x\n", NULL,
      "2:variable expansion is not supported "
      "for --from, define a new stage with FROM using ARG from global scope as a workaround");
  struct mtk_stages_opts tb = {.target = "bulid"};
  ASSERT_ERR("FROM alpine AS build\nFROM alpine AS test\n", &tb,
             "0:target stage \"bulid\" could not be found (did you mean build?)");
  ASSERT_ERR("FROM alpine AS build\nFROM Build\n", NULL,
             "2:failed to parse stage name \"Build\": invalid reference format: repository name "
             "(library/Build) must be lowercase");
  ASSERT_ERR("ARG X\nFROM $X\n", NULL, "2:base name ($X) should not be blank");
  ASSERT_ERR("RUN x\nFROM a\n", NULL, "1:no build stage in current context");
  ASSERT_ERR("ARG A=1\n# just a comment\n", NULL, "0:dockerfile contains no stages to build");
  ASSERT_ERR("FROM --platform=$P alpine\n", NULL, "1:empty platform value from expression $P");
  ASSERT_ERR("FROM --platform=linux/a/b/c alpine\n", NULL,
             "1:failed to parse platform "
             "linux/a/b/c: \"linux/a/b/c\": cannot parse platform specifier: invalid argument");
  /* Go's SplitN(s, "/", 4): the fourth part keeps its slashes and fails the regexp. */
  ASSERT_ERR("FROM --platform=linux/a/b/c/d alpine\n", NULL,
             "1:failed to parse platform "
             "linux/a/b/c/d: \"c/d\" is an invalid component of \"linux/a/b/c/d\": platform "
             "specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument");
  ASSERT_ERR("FROM scratch\nENV A=${B:?required}\n", NULL,
             "2:failed to process \"${B:?required}\": B: required");
  ASSERT_ERR("FROM scratch\nSTOPSIGNAL $S\n", NULL, "2:invalid signal: ");
  ASSERT_ERR("FROM scratch\nEXPOSE 80:90-91\n", NULL,
             "2:invalid ranges specified for "
             "container and host Ports: 90-91 and 80");
  ASSERT_ERR("FROM scratch\nCOPY https://example.com/x /x\n", NULL,
             "2:source can't be a URL for COPY");
  ASSERT_ERR("FROM scratch\nADD --checksum=sha256:00 a /x\n", NULL,
             "2:checksum requires HTTP(S) or Git sources");
  return 0;
}

static int test_onbuild(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve("FROM alpine AS base\nONBUILD COPY --from=helper /x /x\n"
                                    "ONBUILD ENV A=1\nFROM busybox AS helper\n"
                                    "FROM base\nENV B=$A\n",
                                    NULL, &err);
  MTK_ASSERT(p != NULL);
  MTK_ASSERT_EQ(p->n_order, 3); /* helper is needed by the trigger */
  const struct mtk_plan_stage *s = &p->stages[2];
  MTK_ASSERT_EQ(s->n_steps, 3);
  MTK_ASSERT(s->steps[0].onbuild && s->steps[1].onbuild && !s->steps[2].onbuild);
  MTK_ASSERT_STREQ(s->steps[0].text, "COPY --from=helper /x /x");
  MTK_ASSERT_STREQ(s->steps[2].text, "ENV B=1");
  MTK_ASSERT_EQ(s->n_deps, 1);
  MTK_ASSERT_EQ(s->deps[0], 1);
  return 0;
}

static int test_heredoc_and_shell(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_plan) p = resolve("FROM scratch\nENV N=world\nCOPY <<EOF /greeting\nhello "
                                    "$N\nEOF\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
                                    "RUN <<EOF\n#!/bin/sh\necho hi\nEOF\nCMD echo \"$N\"\n",
                                    NULL, &err);
  MTK_ASSERT(p != NULL);
  const struct mtk_plan_stage *s = &p->stages[0];
  MTK_ASSERT_STREQ(s->steps[1].instr->files[0].data, "hello world\n");
  MTK_ASSERT_EQ(s->steps[3].n_exec, 5);
  MTK_ASSERT_STREQ(s->steps[3].exec[0], "/bin/bash");
  MTK_ASSERT_STREQ(s->steps[3].exec[4], "/dev/pipes/EOF");
  MTK_ASSERT_STREQ(s->steps[4].exec[4], "echo \"$N\""); /* CMD is not expanded */
  return 0;
}

static int test_platform_parse(void)
{
  struct mtk_build_platform pf;
  struct mtk_err *err = NULL;
  char buf[160];
  MTK_ASSERT(mtk_build_platform_parse("linux/x86_64", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/amd64");
  MTK_ASSERT(mtk_build_platform_parse("linux/arm", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/arm");
  MTK_ASSERT(mtk_build_platform_parse("linux/arm/7", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/arm/v7");
  MTK_ASSERT(mtk_build_platform_parse("linux/aarch64", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/arm64");
  /* containerd: three parts with arm64 keep (or get) the v8 variant. */
  MTK_ASSERT(mtk_build_platform_parse("linux/aarch64/8", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/arm64/v8");
  MTK_ASSERT(mtk_build_platform_parse("armhf", &pf, &err) == 0);
  MTK_ASSERT_STREQ(mtk_build_platform_format(&pf, buf, sizeof(buf)), "linux/arm");
  MTK_ASSERT(mtk_build_platform_parse("windows(10.0.17763)/amd64", &pf, &err) == 0);
  MTK_ASSERT_STREQ(pf.os_version, "10.0.17763");
  MTK_ASSERT(mtk_build_platform_parse("MacOS/arm64", &pf, &err) == 0);
  MTK_ASSERT_STREQ(pf.os, "darwin");
  MTK_ASSERT(mtk_build_platform_parse("toaster", &pf, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "\"toaster\": unknown operating system or architecture: invalid "
                             "argument");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_build_platform_parse("linux/*", &pf, &err) < 0);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_build_platform_parse("linux/a b", &pf, &err) < 0);
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"tutorial flask Dockerfile", test_tutorial_flask},
      {"tutorial rstudio Dockerfile", test_tutorial_rstudio},
      {"unknown base environment: left as written, with notes", test_unknown_env_notes},
      {"base image environment from image_env", test_known_image_env},
      {"meta args, build args, predefined args, proxies", test_meta_args},
      {"ARG/ENV scope and shadowing", test_scope},
      {"stage graph, target, reachability", test_graph},
      {"graph and expansion errors", test_graph_errors},
      {"ONBUILD triggers", test_onbuild},
      {"heredocs and SHELL", test_heredoc_and_shell},
      {"platform parsing", test_platform_parse},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
