/* Build stages: what BuildKit's dockerfile2llb does with the typed
 * instructions before it builds anything (convert.go toDispatchState,
 * buildMetaArgs, defaultArgs, dispatch of each instruction's words).  This
 * layer owns the ARGs before the first FROM (meta args), the predefined
 * args (BUILDPLATFORM ... TARGETSTAGE) and the proxy args, --build-arg and
 * --target, the expansion of FROM with the global scope and of every other
 * instruction with its stage's ARG/ENV scope (which instructions expand, and
 * ARG and ENV shadowing each other in one ordered environment, as the LLB
 * state's), the graph of stages (FROM <earlier stage>, COPY --from=<stage|
 * index|image>, RUN --mount from=...), reachability from the target, cycle
 * detection, ONBUILD triggers of a base stage, and the build checks that
 * need that scope (UndefinedVar, UndefinedArgInFrom, WorkdirRelativePath,
 * JSONArgsRecommended, ...; reported to a struct mtk_check).
 *
 * A base image's configuration (its ENV) is not read here: for a stage on
 * an image the environment is unknown unless opts->image_env supplies it,
 * and a variable the Dockerfile does not set is then left as written
 * ("$R_HOME") with a note instead of a guess. */
#ifndef MTK_BUILD_STAGES_H
#define MTK_BUILD_STAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "build/dockerfile.h"
#include "build/instr.h"
#include "mtk/err.h"
#include "util/cleanup.h"
#include "util/strmap.h"

struct mtk_check;
struct mtk_ignore;

/* An OCI platform (containerd's platforms.Platform). */
struct mtk_build_platform {
  char os[32];         /* "linux" */
  char arch[32];       /* "amd64" */
  char variant[32];    /* "v7", or "" */
  char os_version[64]; /* "", or "10.0.17763" (Windows) */
};

/* containerd's platforms.Parse (normalised: "x86_64" is amd64, "armhf" arm/v7,
 * a lone architecture gets os "linux").  Errors (MTK_E_BUILD) as containerd's. */
int mtk_build_platform_parse(const char *spec, struct mtk_build_platform *out,
                             struct mtk_err **err);
/* The platform of this machine (linux/amd64, linux/arm64, ...). */
void mtk_build_platform_host(struct mtk_build_platform *out);
/* platforms.Format ("linux/arm/v7"); buf of at least 256 bytes. */
const char *mtk_build_platform_format(const struct mtk_build_platform *p, char *buf, size_t n);

/* Supplies the ENV of a base image's configuration ("KEY=value" entries
 * added to env); returns true when known, false when not (then the stage's
 * environment is unknown). */
typedef bool (*mtk_stages_image_env_cb)(void *ud, const char *image_ref,
                                        const struct mtk_build_platform *platform,
                                        struct mtk_strmap *env);

struct mtk_stages_opts {
  const struct mtk_strmap *build_args; /* borrowed: --build-arg K=V (NULL value: ignored) */
  const char *target;                  /* borrowed: --target, or NULL for the last stage */
  const char *platform;                /* borrowed: --platform (target), NULL = build platform */
  const char *build_platform;          /* borrowed: NULL = this machine */
  bool all_stages;                     /* dispatch (and check) unreachable stages too, as
                                          `docker build --check` without --target */
  struct mtk_check *lint;              /* borrowed: where checks report, or NULL */
  const struct mtk_ignore *ignore;     /* borrowed: the context's .dockerignore, for
                                          CopyIgnoredFile, or NULL */
  mtk_stages_image_env_cb image_env;   /* NULL: base image environments are unknown */
  void *image_env_ud;                  /* passed to image_env */
};

/* One instruction of a stage as the builder will see it. */
struct mtk_plan_step {
  struct mtk_instr *instr; /* owned: parsed, words expanded (ARG: the value in force) */
  char *text;              /* owned: one line, keyword upper-cased ("COPY hello.py /") */
  char **exec;             /* owned, NULL-terminated: RUN/CMD/ENTRYPOINT argv with the shell
                              prepended for the shell form; NULL for other instructions */
  size_t n_exec;           /* entries of exec */
  char **ports;            /* owned, NULL-terminated: EXPOSE as "8000/tcp" */
  size_t n_ports;          /* entries of ports */
  bool onbuild;            /* an ONBUILD trigger of the base stage, run first */
  char **notes;            /* owned, NULL-terminated: what --check cannot know */
  size_t n_notes;          /* entries of notes */
};

struct mtk_plan_stage {
  size_t index;                /* position in the Dockerfile (0-based) */
  char *name;                  /* owned: the AS name (lower-cased), or NULL */
  char *display_name;          /* owned: name, or "stage-N" (NULL for a lone unnamed stage) */
  char *base;                  /* owned: FROM's name, expanded ("python:3-alpine") */
  char *base_ref;              /* owned: normalised image reference, NULL for scratch or a stage */
  int base_stage;              /* index of the stage it starts from, or -1 */
  char *platform;              /* owned: FROM --platform, expanded, or NULL */
  int line;                    /* FROM's first line */
  int end_line;                /* FROM's last line */
  bool reachable;              /* needed for the target */
  bool dispatched;             /* instructions resolved (reachable, or opts->all_stages) */
  bool env_known;              /* the base's environment is known (scratch or image_env) */
  struct mtk_plan_step *steps; /* owned */
  size_t n_steps;              /* entries of steps */
  size_t *deps;                /* owned: stages it copies or mounts from (indexes) */
  size_t n_deps;               /* entries of deps */
  char **images;               /* owned, NULL-terminated: images it copies or mounts from */
  size_t n_images;             /* entries of images */
  struct mtk_strmap env;       /* ARG and ENV values in force at the end of the stage, as known */
};

struct mtk_plan {
  char *file;                    /* owned: the Dockerfile path as given */
  struct mtk_plan_stage *stages; /* owned, in file order */
  size_t n_stages;               /* entries of stages */
  size_t target;                 /* index of the target stage */
  size_t *order;                 /* owned: the stages built, in order (reachable ones) */
  size_t n_order;                /* entries of order */
  struct mtk_strmap global_args; /* predefined args and meta args, after --build-arg */
  struct mtk_strmap proxy;       /* proxy --build-args given to every RUN */
  char *target_platform;         /* owned: "linux/amd64" */
};

/* Resolves the stages of a parsed Dockerfile.  Errors (MTK_E_BUILD) name the
 * file and line, with BuildKit's texts: "unknown instruction: X", "no build
 * stage in current context", "dockerfile contains no stages to build",
 * "target stage \"x\" could not be found", "circular dependency detected on
 * stage: x", "cannot copy from stage \"x\", it needs to be defined before
 * current stage \"y\"", "base name (${X}) should not be blank", expansion
 * errors ("failed to process \"${X:?}\": X: is not allowed to be unset"). */
struct mtk_plan *mtk_stages_resolve(const char *file, const struct mtk_df_result *df,
                                    const struct mtk_stages_opts *opts, struct mtk_err **err);
void mtk_plan_free(struct mtk_plan *p);
MTK_DEFINE_AUTOPTR(mtk_plan, mtk_plan_free)

#endif
