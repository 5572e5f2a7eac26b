/* Internal to the stage layer (stages.c resolves stages and the graph,
 * stages_dispatch.c dispatches each stage's instructions): the state of a
 * stage as BuildKit's dispatchState, the resolution context and the helpers
 * both files use.  Not for other modules: include build/stages.h. */
#ifndef MTK_BUILD_STAGES_INT_H
#define MTK_BUILD_STAGES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/check.h"
#include "build/shlex.h"
#include "build/stages.h"
#include "util/strmap.h"

#define NONE SIZE_MAX
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

/* stages.c */
void mtk_stages_strv_push(char ***v, size_t *n, const char *s);
void mtk_stages_strv_free(char **v, size_t n);
bool mtk_stages_strv_has(char *const *v, size_t n, const char *s);
char *mtk_stages_lower_dup(const char *s);
/* Gives *err the position (file, line) when it has none yet; returns -1. */
int mtk_stages_at(struct mtk_err **err, const char *file, int line);
/* mtk_err_set (MTK_E_BUILD) positioned at file:line; returns -1. */
int mtk_stages_fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mtk_stages_tracker_free(struct tracker *t);
void mtk_stages_step_free(struct mtk_plan_step *s);

/* stages_dispatch.c: dispatches every stage to build (reachable ones, or all
 * of them with opts->all_stages) in order, filling each state's steps. */
int mtk_stages_dispatch_all(struct ctx *x, const bool *seen, struct mtk_err **err);

#endif
