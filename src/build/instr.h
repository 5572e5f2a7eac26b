/* Typed Dockerfile instructions: one AST node of the parser (dockerfile.h)
 * becomes a struct mtk_instr with BuildKit's meaning and validation
 * (moby/buildkit frontend/dockerfile/instructions: parse.go, commands.go,
 * bflag.go and the RUN --mount/--network/--security hooks).  This layer
 * owns instruction flags (BFlags: unknown, duplicate, boolean and missing
 * values, with BuildKit's texts and "did you mean" suggestions), argument
 * counts, heredoc sources, mount specs, HEALTHCHECK durations and the
 * per-instruction word expansion (which fields each instruction expands,
 * as the Expand/ExpandRaw methods of commands.go).  It does not know about
 * stages, ARG/ENV scope or build checks: see stages.h and check.h. */
#ifndef MTK_BUILD_INSTR_H
#define MTK_BUILD_INSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/dockerfile.h"
#include "mtk/err.h"
#include "util/cleanup.h"

enum mtk_instr_kind {
  MTK_INSTR_ADD,
  MTK_INSTR_ARG,
  MTK_INSTR_CMD,
  MTK_INSTR_COPY,
  MTK_INSTR_ENTRYPOINT,
  MTK_INSTR_ENV,
  MTK_INSTR_EXPOSE,
  MTK_INSTR_FROM,
  MTK_INSTR_HEALTHCHECK,
  MTK_INSTR_LABEL,
  MTK_INSTR_MAINTAINER,
  MTK_INSTR_ONBUILD,
  MTK_INSTR_RUN,
  MTK_INSTR_SHELL,
  MTK_INSTR_STOPSIGNAL,
  MTK_INSTR_USER,
  MTK_INSTR_VOLUME,
  MTK_INSTR_WORKDIR,
};

/* ENV and LABEL pairs; ARG names with an optional default. */
struct mtk_instr_kv {
  char *key;     /* owned */
  char *value;   /* owned; NULL for an ARG without a default */
  bool no_delim; /* ENV/LABEL written in the legacy "KEY value" form */
};

/* A heredoc: an inline file of RUN/CMD/ENTRYPOINT (ShellInlineFile) or a
 * COPY/ADD source (SourceContent). */
struct mtk_instr_file {
  char *name;      /* owned: the delimiter ("EOF") */
  char *data;      /* owned: the body (COPY/ADD: already chomped for "<<-") */
  size_t data_len; /* bytes of data */
  bool chomp;      /* RUN/CMD/ENTRYPOINT: "<<-", tabs are stripped when used */
  bool expand;     /* COPY/ADD: the delimiter was unquoted, the body is expanded */
};

enum mtk_instr_mount_type {
  MTK_INSTR_MOUNT_BIND,
  MTK_INSTR_MOUNT_CACHE,
  MTK_INSTR_MOUNT_TMPFS,
  MTK_INSTR_MOUNT_SECRET,
  MTK_INSTR_MOUNT_SSH,
};

/* One RUN --mount (instructions.Mount). */
struct mtk_instr_mount {
  char *spec;                      /* owned: the flag value (expanded after mtk_instr_expand) */
  enum mtk_instr_mount_type type;  /* default bind */
  char *from;                      /* owned or NULL: stage, image or context name */
  char *source;                    /* owned or NULL */
  char *target;                    /* owned or NULL */
  char *id;                        /* owned or NULL: cache or secret id */
  char *sharing;                   /* owned or NULL: shared, private or locked */
  char *env;                       /* owned or NULL: secret as environment variable */
  bool has_env;                    /* env= was given (may be empty) */
  bool readonly;                   /* resolved (bind/secret/ssh default true) */
  bool required;                   /* secret/ssh */
  int64_t size_limit;              /* tmpfs size= in bytes, 0 when not given */
  bool has_mode, has_uid, has_gid; /* mode=, uid=, gid= given */
  uint32_t mode, uid, gid;         /* their values */
};

/* HEALTHCHECK (dockerspec.HealthcheckConfig). */
struct mtk_instr_health {
  char **test;            /* owned, NULL-terminated: {"NONE"}, {"CMD", argv...} or
                             {"CMD-SHELL", "command"} */
  size_t n_test;          /* entries of test */
  int64_t interval;       /* nanoseconds, 0 = inherit */
  int64_t timeout;        /* nanoseconds, 0 = inherit */
  int64_t start_period;   /* nanoseconds, 0 = inherit */
  int64_t start_interval; /* nanoseconds, 0 = inherit */
  int retries;            /* 0 = inherit */
};

/* A typed instruction.  Fields not used by an instruction are NULL/0. */
struct mtk_instr {
  enum mtk_instr_kind kind;
  char *name;        /* owned: the keyword as written ("RUN", "run") */
  char *code;        /* owned: the instruction as written, continuations joined, trimmed */
  int start_line;    /* 1-based */
  int end_line;      /* 1-based, heredoc bodies included */
  char **comments;   /* owned, NULL-terminated: comments right above it */
  size_t n_comments; /* entries of comments */
  const struct mtk_df_node *node; /* borrowed: the AST node it was parsed from */

  /* FROM */
  char *base;       /* owned: image or stage name, unexpanded */
  char *stage_name; /* owned: the AS name, lower-cased, or NULL */
  char *platform;   /* owned: --platform value, unexpanded, or NULL */

  /* RUN, CMD, ENTRYPOINT, SHELL: the command line (shell form: one word);
   * EXPOSE: ports (sorted, as BuildKit); VOLUME: paths; ADD/COPY: source paths. */
  char **args;                  /* owned, NULL-terminated */
  size_t n_args;                /* entries of args */
  bool prepend_shell;           /* RUN/CMD/ENTRYPOINT in shell form */
  bool json;                    /* the exec (JSON array) form was used */
  struct mtk_instr_file *files; /* owned: heredocs (RUN/CMD/ENTRYPOINT files, COPY/ADD
                                   contents) */
  size_t n_files;               /* entries of files */

  /* RUN */
  struct mtk_instr_mount *mounts; /* owned */
  size_t n_mounts;                /* entries of mounts */
  char *network;                  /* owned: default, none or host */
  char *security;                 /* owned: sandbox or insecure */
  char **flags_used;              /* owned, NULL-terminated: names of the flags given */
  size_t n_flags_used;            /* entries of flags_used */

  /* ENV, LABEL, ARG */
  struct mtk_instr_kv *kvs; /* owned */
  size_t n_kvs;             /* entries of kvs */

  /* ADD, COPY */
  char *dest;        /* owned */
  char *from;        /* owned or NULL: COPY --from */
  char *chown;       /* owned or NULL */
  char *chmod;       /* owned or NULL */
  char *checksum;    /* owned or NULL: ADD --checksum */
  bool link;         /* --link */
  bool parents;      /* COPY --parents */
  int keep_git_dir;  /* ADD --keep-git-dir: -1 not given, else 0/1 */
  int unpack;        /* ADD --unpack: -1 not given, else 0/1 */
  char **excludes;   /* owned, NULL-terminated: --exclude patterns */
  size_t n_excludes; /* entries of excludes */

  /* USER, WORKDIR, STOPSIGNAL, MAINTAINER: the argument; ONBUILD: the trigger
   * expression (the text after ONBUILD, heredoc bodies appended). */
  char *value; /* owned */

  struct mtk_instr_health *health; /* owned: HEALTHCHECK */
};

/* Parses one instruction node of the AST (a child of the root).  Errors are
 * MTK_E_BUILD, positioned at `file` and the node's first line, with
 * BuildKit's texts: "unknown instruction: RUNN (did you mean RUN?)",
 * "unknown flag: --chwn (did you mean chown?)", "COPY requires at least two
 * arguments, but only one was provided. Destination could not be
 * determined", "FROM requires either one or three arguments", ... */
struct mtk_instr *mtk_instr_parse(const struct mtk_df_node *node, const char *file,
                                  struct mtk_err **err);
void mtk_instr_free(struct mtk_instr *in);
MTK_DEFINE_AUTOPTR(mtk_instr, mtk_instr_free)

/* "RUN", "COPY", ... */
const char *mtk_instr_kind_name(enum mtk_instr_kind kind);
/* The kind for a keyword (any case); false when it is not an instruction. */
bool mtk_instr_kind_from_name(const char *keyword, enum mtk_instr_kind *kind);

/* Expands a word (returns an owned string, or NULL with *err). */
typedef char *(*mtk_instr_expand_cb)(void *ud, const char *word, struct mtk_err **err);

/* The Expand and ExpandRaw methods of BuildKit's commands: `word` is called
 * on every field the instruction expands (ENV/LABEL keys and values; ADD
 * --chown --chmod --checksum, sources and destination; COPY --chown --chmod,
 * sources and destination; WORKDIR; USER; VOLUME paths; STOPSIGNAL; RUN
 * --mount values, which are then parsed and validated again), `raw` (may be
 * NULL) on the bodies of unquoted COPY/ADD heredocs.  ARG, EXPOSE and FROM
 * are left alone (the stage layer expands them with their own rules).
 * Errors from the callbacks or from mount validation are returned as is
 * (position them yourself). */
int mtk_instr_expand(struct mtk_instr *in, mtk_instr_expand_cb word, mtk_instr_expand_cb raw,
                     void *ud, struct mtk_err **err);

/* --- Helpers shared with the stage layer and the checks --- */

/* Levenshtein distance in runes (agext/levenshtein with unit costs). */
size_t mtk_instr_levenshtein(const char *a, const char *b);
/* BuildKit's suggest.Search: the option nearest to val (distance < 3, ties
 * to the earlier option), NULL when val equals an option or none is near.
 * Case-insensitive matching returns the option in val's case when val is
 * all lower or all upper case.  Owned result. */
char *mtk_instr_suggest(const char *val, const char *const *options, size_t n, bool case_sensitive);
/* Go's time.ParseDuration; errors as Go's ("time: invalid duration \"x\""). */
int mtk_instr_parse_duration(const char *s, int64_t *ns, struct mtk_err **err);
/* moby/sys/signal.ParseSignal on Linux: 0 when valid ("SIGTERM", "term", "9",
 * "RTMIN+3"), else "invalid signal: X". */
int mtk_instr_check_signal(const char *s, struct mtk_err **err);
/* Go's strconv.ParseBool. */
bool mtk_instr_parse_bool(const char *s, bool *out);
/* A --chmod value as dispatchCopy accepts it (octal <= 07777 or a symbolic
 * mode such as "u+x,g-w"); else BuildKit's error text. */
int mtk_instr_check_chmod(const char *s, struct mtk_err **err);

#endif
