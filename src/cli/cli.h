/* The command line of mtk: the global options every command sees, the
 * command table (top-level project verbs, NOUN VERB pairs, stand-alone
 * commands) and the helpers the command handlers share.  Only cli/ prints:
 * handlers return an exit status or a negative value with *err set, and
 * main() prints the error and maps it to the exit status. */
#ifndef MTK_CLI_H
#define MTK_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mtk/compose.h"
#include "mtk/err.h"

enum mtk_cli_log_level {
  MTK_CLI_LOG_DEBUG,
  MTK_CLI_LOG_INFO,
  MTK_CLI_LOG_WARN,
  MTK_CLI_LOG_ERROR,
};

enum mtk_cli_ansi {
  MTK_CLI_ANSI_AUTO,
  MTK_CLI_ANSI_NEVER,
  MTK_CLI_ANSI_ALWAYS,
};

/* A list of borrowed strings (argv elements or environment values). */
struct mtk_cli_strv {
  const char **v; /* owned array of borrowed strings, NULL-terminated once non-empty */
  size_t n;       /* number of strings */
};

/* What the global options (before the command) said. */
struct mtk_cli {
  struct mtk_cli_strv files;        /* -f/--file, in order */
  struct mtk_cli_strv env_files;    /* --env-file, in order */
  struct mtk_cli_strv profiles;     /* --profile, in order */
  const char *project_name;         /* borrowed: -p, or NULL */
  const char *project_dir;          /* borrowed: --project-directory, or NULL */
  const char *root;                 /* borrowed: --root, MTK_ROOT or the default */
  const char *runroot;              /* borrowed: --runroot, MTK_RUNROOT or the default */
  enum mtk_cli_log_level log_level; /* --log-level (default warn) */
  enum mtk_cli_ansi ansi;           /* --ansi */
  bool all_resources;               /* --all-resources: keep resources no service uses */
  bool color;                       /* colour on stderr, decided from ansi, TTY and NO_COLOR */
};

struct mtk_cli_cmd;

/* A command handler: argv[0] is the command's own name (the verb for
 * NOUN VERB), so that handlers parse their options with getopt_long.
 * Returns the exit status (>= 0) or a negative value with *err set. */
typedef int (*mtk_cli_cmd_cb)(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                              char **argv, struct mtk_err **err);

/* One entry of the command table.  A later issue implements a command by
 * filling `run` (and `options`); nothing else changes. */
struct mtk_cli_cmd {
  const char *parent;             /* for a verb under a noun: the noun ("image"), else NULL */
  const char *name;               /* the word typed: "up", "image", "pull" */
  const char *args;               /* usage after the name: "[OPTIONS] [SERVICE...]" */
  const char *summary;            /* one line for the command lists */
  const char *options;            /* option lines for --help, or NULL */
  mtk_cli_cmd_cb run;             /* handler, NULL = not available in this version yet */
  const struct mtk_cli_cmd *subs; /* a noun's verbs ({NULL}-terminated), or NULL */
  bool standalone;                /* listed under "Commands" (login, version), not a project verb */
  bool hidden;                    /* left out of the command lists and suggestions */
};

/* commands.c: the table and everything that walks it. */
extern const struct mtk_cli_cmd mtk_cli_commands[];
const struct mtk_cli_cmd *mtk_cli_cmd_find(const struct mtk_cli_cmd *table, const char *name);
/* Runs the command argv[0] of table (the top-level table, or a noun's verbs). */
int mtk_cli_cmd_dispatch(struct mtk_cli *cli, const struct mtk_cli_cmd *table, int argc,
                         char **argv, struct mtk_err **err);
/* "image pull" / "config": the full name of a command; caller frees. */
char *mtk_cli_cmd_path(const struct mtk_cli_cmd *cmd);
void mtk_cli_print_main_help(FILE *out);
void mtk_cli_print_cmd_help(FILE *out, const struct mtk_cli_cmd *cmd);
/* Sets *err for a bad option of cmd (exit 16, hint: how to get the usage). */
int mtk_cli_usage_error(const struct mtk_cli_cmd *cmd, struct mtk_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Turns getopt_long's '?' or ':' result into a usage error; argv as given to getopt. */
int mtk_cli_getopt_error(const struct mtk_cli_cmd *cmd, int c, char **argv, struct mtk_err **err);

/* suggest.c: the optimal-string-alignment (restricted Damerau-Levenshtein)
 * distance, and the nearest visible command name within distance 2. */
size_t mtk_cli_edit_distance(const char *a, const char *b);
const char *mtk_cli_suggest(const struct mtk_cli_cmd *table, const char *word);

/* main.c */
void mtk_cli_strv_push(struct mtk_cli_strv *sv, const char *s);
void mtk_cli_strv_free(struct mtk_cli_strv *sv);

/* config.c / version.c: the implemented handlers. */
int mtk_cli_config(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                   struct mtk_err **err);
int mtk_cli_version(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                    struct mtk_err **err);

/* build.c (the handlers of the "build" and "image build" entries). */
int mtk_cli_build(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                  struct mtk_err **err);
int mtk_cli_image_build(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                        struct mtk_err **err);

/* image.c and login.c: the image, login and logout handlers. */
int mtk_cli_image_pull(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                       struct mtk_err **);
int mtk_cli_image_push(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                       struct mtk_err **);
int mtk_cli_image_tag(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                      struct mtk_err **);
int mtk_cli_image_ls(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);
int mtk_cli_image_rm(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);
int mtk_cli_image_inspect(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                          struct mtk_err **);
int mtk_cli_image_prune(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                        struct mtk_err **);
int mtk_cli_image_import(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                         struct mtk_err **);
int mtk_cli_image_save(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                       struct mtk_err **);
int mtk_cli_image_load(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                       struct mtk_err **);
int mtk_cli_login(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);
int mtk_cli_logout(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **, struct mtk_err **);

/* network.c: the handlers of `mtk network VERB`. */
#define MTK_CLI_NETWORK_VERBS(X) X(create) X(ls) X(rm) X(inspect) X(prune) X(connect) X(disconnect)
#define MTK_CLI_NETWORK_DECL(verb)                                                                 \
  int mtk_cli_network_##verb(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,           \
                             struct mtk_err **);
MTK_CLI_NETWORK_VERBS(MTK_CLI_NETWORK_DECL)

/* container*.c: the handlers of `mtk container VERB`.  Their errors follow
 * docker's exit codes: 125 for a bad flag or an error before the container
 * runs, 126/127 when its command cannot run, else the container's own. */
int mtk_cli_container_run(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                          struct mtk_err **);
int mtk_cli_container_create(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                             struct mtk_err **);
int mtk_cli_container_start(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                            struct mtk_err **);
int mtk_cli_container_stop(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_container_restart(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                              struct mtk_err **);
int mtk_cli_container_kill(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_container_rm(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                         struct mtk_err **);
int mtk_cli_container_ps(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                         struct mtk_err **);
int mtk_cli_container_logs(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_container_exec(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_container_inspect(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                              struct mtk_err **);
int mtk_cli_container_top(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                          struct mtk_err **);
int mtk_cli_container_wait(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);
int mtk_cli_container_prune(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                            struct mtk_err **);
int mtk_cli_container_port(struct mtk_cli *, const struct mtk_cli_cmd *, int, char **,
                           struct mtk_err **);

/* container_opts.c: the flags of `container run` / `create`. */
struct mtk_cli_run {
  json_t *req;          /* owned: Docker's ContainerCreate request (src/runtime/container.h) */
  const char *image;    /* borrowed: IMAGE as typed */
  const char *name;     /* borrowed: --name, or NULL */
  const char *pull;     /* borrowed: --pull: "missing" (default), "always" or "never" */
  const char *cidfile;  /* borrowed: --cidfile, or NULL */
  const char *platform; /* borrowed: --platform, or NULL */
  bool detach, quiet;   /* -d, -q */
};
/* Parses argv (argv[0] = the verb) into *out: 0, 1 when --help was printed,
 * or -1 with *err (MTK_E_USAGE: docker exits 125). */
int mtk_cli_run_parse(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct mtk_cli_run *out,
                      struct mtk_err **err);
void mtk_cli_run_clear(struct mtk_cli_run *r);
/* go-units RAMInBytes ("512m", "1.5g", "64MiB"); Go's time.ParseDuration. */
int mtk_cli_parse_ram(const char *s, int64_t *out, struct mtk_err **err);
int mtk_cli_parse_duration(const char *s, int64_t *ns, struct mtk_err **err);

/* container_fmt.c */
/* Go's text/tabwriter as docker sets it up (padding 3, cells separated by
 * tabs; minwidth 10 for lists, 20 for top), one line per element. */
void mtk_cli_tabwrite(FILE *out, char *const *lines, size_t n, size_t minwidth);
/* An RFC 3339 time as Unix ns; false (and 0) for "0001-01-01T00:00:00Z",
 * NULL or a bad text. */
bool mtk_cli_time_parse(const char *s, int64_t *ns);
int64_t mtk_cli_now_ns(void);
struct mtk_ctr;
/* Docker's STATUS column: "Up 3 seconds", "Exited (0) 5 seconds ago", ...  Owned. */
char *mtk_cli_ctr_status_text(const struct mtk_ctr *c);
/* Docker's ParseSignal: a number, or a name with or without SIG in any case
 * ("term", "SIGKILL", "RTMIN+3").  EINVAL "invalid signal: x". */
int mtk_cli_signal_parse(const char *s, int *sig, struct mtk_err **err);
const char *mtk_cli_signal_name(int sig, char buf[16]); /* "SIGTERM" */
/* container_ps.c: whether c passes every `--filter KEY=VALUE` of ps/prune
 * (status, name, id, label, exited, ancestor); EINVAL/usage for a bad one. */
int mtk_cli_ctr_filter(const struct mtk_ctr *c, const char *const *filters, size_t n, bool *match,
                       struct mtk_err **err);
/* The apparent size of every non-directory under path (one file system,
 * links not followed): docker's SizeRw of a writable layer. */
int64_t mtk_cli_du(const char *path);
/* Prints an error as main() does ("mtk: ..." and "hint: ..."). */
void mtk_cli_print_err(const struct mtk_cli *cli, const struct mtk_err *err);

/* container_tmpl.c: Go templates over JSON (see the file for the subset). */
struct mtk_strbuf;
struct mtk_cli_tmpl_hook {
  /* A method call ".Name ARGS" on dot: a new reference, or NULL with *err. */
  json_t *(*method)(void *data, json_t *dot, const char *name, json_t **args, size_t n,
                    struct mtk_err **err);
  void *data;
};
int mtk_cli_tmpl_render(const char *tmpl, json_t *dot, const struct mtk_cli_tmpl_hook *hook,
                        struct mtk_strbuf *out, struct mtk_err **err);
/* Go's %v of a JSON value ("[a b]", "map[k:v]", "<nil>"). */
void mtk_cli_tmpl_print(struct mtk_strbuf *sb, const json_t *v);
int mtk_cli_strcmp_p(const void *a, const void *b); /* qsort of char * */

/* model.c: what `mtk config` does to the loaded model before printing. */
/* Re-escapes every '$' of every string value (not keys) as "$$", in place. */
void mtk_cli_model_escape_dollars(json_t *v);
/* Service names in dependency order (dependencies first, ties by name);
 * returns a NULL-terminated array of borrowed keys; caller frees the array. */
const char **mtk_cli_model_service_order(json_t *model);
/* Keeps only the named services and what they depend on, then (when prune)
 * drops the networks/volumes/secrets/configs no kept service uses.  Names
 * not in the model: "no such service" (MTK_E_GENERIC). */
int mtk_cli_model_select(json_t *model, const char *const *names, size_t n, bool prune,
                         struct mtk_err **err);
/* SHA-256 (lower-case hex, 64 chars + NUL into hex) of the service's canonical
 * JSON; see model.c for what is hashed. */
int mtk_cli_model_service_hash(json_t *service, char hex[65], struct mtk_err **err);

/* jsonout.c / yamlout.c: the model as text (keys sorted, 2-space indent,
 * trailing newline); the caller frees the result. */
char *mtk_cli_json_dump(json_t *v);
char *mtk_cli_yaml_dump(json_t *v, struct mtk_err **err);
/* The shortest decimal text that reads back as d (as Go prints a float64). */
void mtk_cli_format_real(double d, char buf[32]);
/* True when a plain YAML scalar with this text would not load as a string. */
bool mtk_cli_yaml_needs_quotes(const char *s);

/* output.c: writes text to stdout (path NULL or "-") or atomically to a file
 * (temporary file in the same directory, then rename). */
int mtk_cli_write_output(const char *path, const char *text, size_t len, struct mtk_err **err);

#endif
