/* `mtk image pull|push|tag|ls|rm|inspect|prune|import|save|load`: option
 * parsing and Docker's output for each (the work is in src/image/).  Names
 * are printed the way docker prints them (familiar forms: "busybox:latest",
 * "rocker/rstudio", "127.0.0.1:5000/team/lab"). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

/* ----------------------------------------------------------- shared */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
  (void) sig;
  interrupted = 1;
}

/* Ctrl-C stops transfers cleanly (no SA_RESTART: blocking calls return). */
static void catch_signals(void)
{
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static int open_store(struct mtk_cli *cli, struct mtk_store **s, struct mtk_err **err)
{
  return mtk_store_open(cli->root, s, err);
}

static void remote_opts(struct mtk_image_remote_opts *o, struct mtk_progress *p)
{
  o->auth_config = NULL;
  o->insecure = getenv("MTK_INSECURE_REGISTRIES");
  o->cancel = &interrupted;
  o->progress = p;
}

/* A bad archive or layer is not a bad compose file: exit 1, not 15. */
static int image_error(struct mtk_err **err)
{
  if (err && *err && (*err)->code == MTK_E_INVALID)
    (*err)->code = MTK_E_GENERIC;
  return -1;
}

/* Parses s as a reference; NULL when it is not one (an ID, a bad name). */
static bool parse_ref(const char *s, struct mtk_image_ref *out)
{
  struct mtk_err *e = NULL;
  if (mtk_image_ref_parse(s, out, &e) < 0) {
    mtk_err_free(&e);
    return false;
  }
  return true;
}

/* "busybox:latest" for "docker.io/library/busybox:latest". */
static char *familiar(const char *full)
{
  mtk_autoimageref r = {0};
  if (!parse_ref(full, &r))
    return mtk_xstrdup(full);
  return mtk_image_ref_familiar_string(&r);
}

/* True for "name" without ":tag" or "@digest" (docker's IsNameOnly). */
static bool name_only(const char *s)
{
  const char *slash = strrchr(s, '/');
  return !strchr(s, '@') && !strchr(slash ? slash : s, ':');
}

static const char *short_hex(const char *digest)
{
  static __thread char buf[13];
  const char *hex = mtk_digest_hex(digest);
  snprintf(buf, sizeof(buf), "%s", hex ? hex : digest);
  return buf;
}

#define GETOPT_LOOP(shortopts, longopts)                                                           \
  opterr = 0;                                                                                      \
  optind = 0;                                                                                      \
  for (int c_; (c_ = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1;)                   \
    switch (c_)

#define HELP_AND_ERRORS                                                                            \
  case 'h':                                                                                        \
    mtk_cli_print_cmd_help(stdout, cmd);                                                           \
    return 0;                                                                                      \
  default:                                                                                         \
    return mtk_cli_getopt_error(cmd, c_, argv, err)

/* ----------------------------------------------------------- pull */

int mtk_cli_image_pull(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"platform", required_argument, NULL, 'P'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *platform = getenv("DOCKER_DEFAULT_PLATFORM");
  bool quiet = false;
  GETOPT_LOOP(":qh", longopts)
  {
    case 'P':
      platform = optarg;
      break;
    case 'q':
      quiet = true;
      break;
      HELP_AND_ERRORS;
  }
  if (platform && !*platform)
    platform = NULL;
  if (argc - optind != 1)
    return mtk_cli_usage_error(cmd, err, "\"image pull\" requires exactly 1 argument");
  const char *ref = argv[optind];
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  if (!quiet && name_only(ref))
    printf("Using default tag: latest\n");
  fflush(stdout);
  catch_signals();
  struct mtk_image_pull_opts o = {.platform = platform};
  struct mtk_progress *p = quiet ? NULL : mtk_progress_new(stdout, isatty(STDOUT_FILENO));
  remote_opts(&o.remote, p);
  struct mtk_image_pull_result res;
  int r = mtk_image_pull_ex(s, ref, &o, &res, err);
  mtk_progress_free(p);
  if (r < 0)
    return -1;
  if (res.warning)
    fprintf(stderr, "WARNING: %s\n", res.warning);
  printf("%s\n", res.ref);
  mtk_image_pull_result_free(&res);
  return 0;
}

/* ----------------------------------------------------------- push */

int mtk_cli_image_push(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool quiet = false;
  GETOPT_LOOP(":qh", longopts)
  {
    case 'q':
      quiet = true;
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind != 1)
    return mtk_cli_usage_error(cmd, err, "\"image push\" requires exactly 1 argument");
  const char *ref = argv[optind];
  mtk_autoimageref parsed = {0};
  if (mtk_image_ref_parse(ref, &parsed, err) < 0)
    return -1;
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  if (!quiet && name_only(ref))
    printf("Using default tag: latest\n");
  fflush(stdout);
  catch_signals();
  struct mtk_image_push_opts o = {0};
  const char *chunk = getenv("MTK_PUSH_CHUNK_SIZE");
  if (chunk && *chunk)
    o.chunk_size = strtoll(chunk, NULL, 10);
  struct mtk_progress *p = quiet ? NULL : mtk_progress_new(stdout, isatty(STDOUT_FILENO));
  remote_opts(&o.remote, p);
  int r = mtk_image_push(s, ref, &o, NULL, NULL, err);
  mtk_progress_free(p);
  if (r < 0)
    return image_error(err);
  if (quiet) {
    mtk_autofree char *full = mtk_image_ref_string(&parsed);
    printf("%s\n", full);
  }
  return 0;
}

/* ----------------------------------------------------------- tag */

int mtk_cli_image_tag(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                      struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  GETOPT_LOOP(":h", longopts)
  {
    HELP_AND_ERRORS;
  }
  if (argc - optind != 2)
    return mtk_cli_usage_error(cmd, err, "\"image tag\" requires exactly 2 arguments");
  const char *src = argv[optind], *dst = argv[optind + 1];
  mtk_autoimageref target = {0};
  if (mtk_image_ref_parse(dst, &target, err) < 0)
    return -1;
  if (target.digest)
    return mtk_err_set(err, EINVAL, "refusing to create a tag with a digest reference");
  mtk_autoptr(mtk_store) s = NULL;
  mtk_autoptr(mtk_store_image) img = NULL;
  if (open_store(cli, &s, err) < 0 || mtk_store_resolve(s, src, &img, err) < 0)
    return -1;
  return mtk_store_tag(s, dst, img->manifest_digest, img->media_type, img->manifest_size, err);
}

/* ----------------------------------------------------------- ls */

struct ls_row {
  const struct mtk_store_image *img; /* borrowed */
  char *repo, *tag, *digest;         /* owned */
};

struct ls_rows {
  struct ls_row *v;
  size_t n;
};

static void add_row(struct ls_rows *rows, const struct mtk_store_image *img, const char *repo,
                    const char *tag, const char *digest)
{
  rows->v = mtk_xrealloc(rows->v, (rows->n + 1) * sizeof(*rows->v));
  rows->v[rows->n++] =
      (struct ls_row){img, mtk_xstrdup(repo), mtk_xstrdup(tag), mtk_xstrdup(digest)};
}

static void rows_free(struct ls_rows *rows)
{
  for (size_t i = 0; i < rows->n; i++) {
    free(rows->v[i].repo);
    free(rows->v[i].tag);
    free(rows->v[i].digest);
  }
  free(rows->v);
}

/* The repo digests of img for repository repo (familiar), in order. */
static size_t repo_digests(const struct mtk_store_image *img, const char *repo, const char **out,
                           size_t max)
{
  size_t k = 0;
  for (size_t i = 0; i < img->n_repo_digests && k < max; i++) {
    mtk_autoimageref r = {0};
    if (!parse_ref(img->repo_digests[i], &r) || !r.digest)
      continue;
    mtk_autofree char *fam = mtk_image_ref_familiar(&r);
    if (strcmp(fam, repo) == 0)
      out[k++] = strchr(img->repo_digests[i], '@') + 1;
  }
  return k;
}

static bool seen_repo(const struct ls_rows *rows, size_t from, size_t to, const char *repo)
{
  for (size_t i = from; i < to; i++)
    if (strcmp(rows->v[i].repo, repo) == 0)
      return true;
  return false;
}

/* Docker's imageFormatTaggedAndDigest: one row per repository:tag (times
 * each digest with --digests), then one row per repository known only by
 * digest (per digest with --digests). */
static void image_rows(struct ls_rows *rows, const struct mtk_store_image *img, bool digests,
                       bool *dangling)
{
  size_t first = rows->n;
  const char *ds[64];
  for (size_t i = 0; i < img->n_refs; i++) {
    mtk_autoimageref r = {0};
    if (!parse_ref(img->refs[i], &r) || r.digest)
      continue;
    mtk_autofree char *repo = mtk_image_ref_familiar(&r);
    size_t nd = digests ? repo_digests(img, repo, ds, 64) : 0;
    if (nd == 0)
      add_row(rows, img, repo, r.tag, "<none>");
    for (size_t k = 0; k < nd; k++)
      add_row(rows, img, repo, r.tag, ds[k]);
  }
  *dangling = rows->n == first;
  size_t tagged = rows->n;
  for (size_t i = 0; i < img->n_repo_digests; i++) {
    mtk_autoimageref r = {0};
    if (!parse_ref(img->repo_digests[i], &r) || !r.digest)
      continue;
    mtk_autofree char *repo = mtk_image_ref_familiar(&r);
    if (seen_repo(rows, first, tagged, repo) ||
        (!digests && seen_repo(rows, tagged, rows->n, repo)))
      continue;
    add_row(rows, img, repo, "<none>", digests ? r.digest : "");
  }
  if (rows->n == first)
    add_row(rows, img, "<none>", "<none>", "<none>");
}

/* The REPOSITORY[:TAG] argument of `image ls`, with glob patterns. */
static bool ls_match(const struct ls_row *row, const char *pattern)
{
  if (!pattern)
    return true;
  mtk_autofree char *pat = mtk_xstrdup(pattern);
  const char *slash = strrchr(pat, '/');
  char *colon = strrchr(slash ? slash : pat, ':');
  const char *tag = NULL;
  if (colon) {
    *colon = '\0';
    tag = colon + 1;
  }
  if (fnmatch(pat, row->repo, FNM_PATHNAME) != 0) {
    /* A fully qualified pattern matches the normalised name too. */
    mtk_autoimageref r = {0};
    mtk_autofree char *full = NULL;
    if (strcmp(row->repo, "<none>") == 0 || !parse_ref(row->repo, &r))
      return false;
    full = mtk_image_ref_name(&r);
    if (fnmatch(pat, full, FNM_PATHNAME) != 0)
      return false;
  }
  return !tag || fnmatch(tag, row->tag, 0) == 0;
}

/* Go's json.Marshal of a string: <, > and & escaped as \u003c ... */
static void go_json_string(struct mtk_strbuf *sb, const char *s)
{
  mtk_strbuf_addc(sb, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if (*p == '"' || *p == '\\')
      mtk_strbuf_addf(sb, "\\%c", *p);
    else if (*p == '\n')
      mtk_strbuf_adds(sb, "\\n");
    else if (*p == '\t')
      mtk_strbuf_adds(sb, "\\t");
    else if (*p == '\r')
      mtk_strbuf_adds(sb, "\\r");
    else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
      mtk_strbuf_addf(sb, "\\u%04x", *p);
    else
      mtk_strbuf_addc(sb, (char) *p);
  }
  mtk_strbuf_addc(sb, '"');
}

/* The fields of one row, by name (Docker's imageContext methods). */
static char *row_field(const struct ls_row *row, const char *name, bool trunc)
{
  const struct mtk_store_image *img = row->img;
  char buf[48];
  if (strcmp(name, "Repository") == 0)
    return mtk_xstrdup(row->repo);
  if (strcmp(name, "Tag") == 0)
    return mtk_xstrdup(row->tag);
  if (strcmp(name, "Digest") == 0)
    return mtk_xstrdup(row->digest);
  if (strcmp(name, "ID") == 0)
    return mtk_xstrdup(trunc ? short_hex(img->id) : img->id);
  if (strcmp(name, "CreatedSince") == 0) {
    int64_t ago = (int64_t) time(NULL) - img->created_unix;
    return mtk_xasprintf("%s ago", mtk_progress_human_duration(ago, buf));
  }
  if (strcmp(name, "CreatedAt") == 0) {
    time_t t = (time_t) img->created_unix;
    struct tm tm;
    char out[64];
    localtime_r(&t, &tm);
    strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    return mtk_xstrdup(out);
  }
  if (strcmp(name, "Size") == 0)
    return mtk_xstrdup(mtk_progress_human_size((double) img->size, 3, buf));
  if (strcmp(name, "Containers") == 0 || strcmp(name, "SharedSize") == 0 ||
      strcmp(name, "UniqueSize") == 0)
    return mtk_xstrdup("N/A");
  return NULL;
}

static const char *const json_fields[] = {
    "Containers", "CreatedAt", "CreatedSince", "Digest",     "ID", "Repository",
    "SharedSize", "Size",      "Tag",          "UniqueSize", NULL};

static void row_json(struct mtk_strbuf *sb, const struct ls_row *row, bool trunc)
{
  mtk_strbuf_addc(sb, '{');
  for (size_t i = 0; json_fields[i]; i++) {
    mtk_autofree char *v = row_field(row, json_fields[i], trunc);
    mtk_strbuf_addf(sb, "%s\"%s\":", i ? "," : "", json_fields[i]);
    go_json_string(sb, v);
  }
  mtk_strbuf_addc(sb, '}');
}

static bool field_known(const char *name)
{
  for (size_t i = 0; json_fields[i]; i++)
    if (strcmp(json_fields[i], name) == 0)
      return true;
  return false;
}

static const char *header_of(const char *field)
{
  static const char *const map[][2] = {
      {"Repository", "REPOSITORY"},
      {"Tag", "TAG"},
      {"Digest", "DIGEST"},
      {"ID", "IMAGE ID"},
      {"CreatedSince", "CREATED"},
      {"CreatedAt", "CREATED AT"},
      {"Size", "SIZE"},
      {"Containers", "CONTAINERS"},
      {"SharedSize", "SHARED SIZE"},
      {"UniqueSize", "UNIQUE SIZE"},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i][0], field) == 0)
      return map[i][1];
  return field;
}

/* Expands a Go-template subset: {{.Field}}, {{json .}}, \t and \n.  header:
 * the column titles instead of the values. */
static int expand(struct mtk_strbuf *sb, const char *tmpl, const struct ls_row *row, bool trunc,
                  bool header, struct mtk_err **err)
{
  for (const char *p = tmpl; *p;) {
    if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
      mtk_strbuf_addc(sb, p[1] == 't' ? '\t' : '\n');
      p += 2;
      continue;
    }
    if (strncmp(p, "{{", 2) != 0) {
      mtk_strbuf_addc(sb, *p++);
      continue;
    }
    const char *end = strstr(p, "}}");
    if (!end)
      return mtk_err_set(err, MTK_E_USAGE, "template parsing error: unclosed action");
    mtk_autofree char *act = mtk_xstrndup(p + 2, (size_t) (end - p - 2));
    char *a = act;
    while (*a == ' ')
      a++;
    for (char *e = a + strlen(a); e > a && e[-1] == ' ';)
      *--e = '\0';
    mtk_autofree char *v = NULL;
    if (strcmp(a, "json .") == 0) {
      struct mtk_strbuf js = MTK_STRBUF_INIT;
      if (!header)
        row_json(&js, row, trunc);
      v = js.buf ? mtk_strbuf_steal(&js) : mtk_xstrdup("");
    } else if (a[0] == '.' && field_known(a + 1)) {
      v = header ? mtk_xstrdup(header_of(a + 1)) : row_field(row, a + 1, trunc);
    } else {
      return mtk_err_set(err, MTK_E_USAGE,
                         "template: unsupported action \"{{%s}}\" (fields: .Repository .Tag "
                         ".Digest .ID .CreatedSince .CreatedAt .Size; or json)",
                         a);
    }
    mtk_strbuf_adds(sb, v);
    p = end + 2;
  }
  return 0;
}

/* Go's text/tabwriter with docker's settings (minwidth 10, padding 3). */
static void tabwrite(FILE *out, char **lines, size_t n)
{
  size_t widths[32] = {0};
  for (size_t i = 0; i < n; i++) {
    size_t col = 0, len = 0;
    for (const char *p = lines[i]; *p; p++) {
      if (*p == '\t') {
        if (col < 32 && len + 3 > widths[col])
          widths[col] = len + 3;
        col++;
        len = 0;
      } else if (((unsigned char) *p & 0xc0) != 0x80) {
        len++;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    size_t col = 0, len = 0;
    for (const char *p = lines[i]; *p; p++) {
      if (*p == '\t') {
        size_t w = col < 32 ? (widths[col] < 10 ? 10 : widths[col]) : len + 3;
        for (; len < w; len++)
          fputc(' ', out);
        col++;
        len = 0;
        continue;
      }
      fputc(*p, out);
      if (((unsigned char) *p & 0xc0) != 0x80)
        len++;
    }
    fputc('\n', out);
  }
}

static int ls_print(const struct ls_rows *rows, const char *format, bool quiet, bool digests,
                    bool trunc, const char *match, struct mtk_err **err)
{
  const char *tmpl;
  bool table = false;
  if (quiet)
    tmpl = "{{.ID}}";
  else if (!format || strcmp(format, "table") == 0)
    tmpl = digests ? "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                   : "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
    table = true;
  else if (strcmp(format, "json") == 0)
    tmpl = "{{json .}}";
  else if (strncmp(format, "table", 5) == 0)
    tmpl = format + 5, table = true;
  else
    tmpl = format;
  while (table && *tmpl == ' ')
    tmpl++;
  size_t n = 0;
  mtk_autofree char **lines = mtk_xcalloc(rows->n + 2, sizeof(char *));
  int r = 0;
  if (table) {
    struct mtk_strbuf sb = MTK_STRBUF_INIT;
    r = expand(&sb, tmpl, NULL, trunc, true, err);
    lines[n++] = sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
  }
  for (size_t i = 0; r == 0 && i < rows->n; i++) {
    if (!ls_match(&rows->v[i], match))
      continue;
    struct mtk_strbuf sb = MTK_STRBUF_INIT;
    r = expand(&sb, tmpl, &rows->v[i], trunc, false, err);
    lines[n++] = sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
  }
  if (r == 0 && table)
    tabwrite(stdout, lines, n);
  else if (r == 0)
    for (size_t i = 0; i < n; i++)
      printf("%s\n", lines[i]);
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  return r;
}

int mtk_cli_image_ls(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                     struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},
      {"quiet", no_argument, NULL, 'q'},
      {"digests", no_argument, NULL, 'D'},
      {"no-trunc", no_argument, NULL, 'T'},
      {"format", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool all = false, quiet = false, digests = false, trunc = true;
  const char *format = NULL;
  GETOPT_LOOP(":aqh", longopts)
  {
    case 'a':
      all = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 'D':
      digests = true;
      break;
    case 'T':
      trunc = false;
      break;
    case 'F':
      format = optarg;
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind > 1)
    return mtk_cli_usage_error(cmd, err, "\"image ls\" accepts at most 1 argument");
  const char *match = optind < argc ? argv[optind] : NULL;
  mtk_autoptr(mtk_store) s = NULL;
  struct mtk_store_image *imgs = NULL;
  size_t n = 0;
  if (open_store(cli, &s, err) < 0 || mtk_store_list(s, &imgs, &n, err) < 0)
    return -1;
  struct ls_rows rows = {0};
  bool need_digests = digests || (format && strstr(format, "{{.Digest}}"));
  for (size_t i = 0; i < n; i++) {
    size_t before = rows.n;
    bool dangling;
    image_rows(&rows, &imgs[i], need_digests, &dangling);
    if (dangling && !all) {
      for (size_t k = before; k < rows.n; k++) {
        free(rows.v[k].repo);
        free(rows.v[k].tag);
        free(rows.v[k].digest);
      }
      rows.n = before;
    }
  }
  int r = ls_print(&rows, format, quiet, digests, trunc, match, err);
  rows_free(&rows);
  mtk_store_images_free(imgs, n);
  return r;
}

/* ----------------------------------------------------------- inspect */

static json_t *strv_json(char *const *v, size_t n, bool digest_refs)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    if (!digest_refs && strchr(v[i], '@'))
      continue;
    mtk_autofree char *f = familiar(v[i]);
    json_array_append_new(a, json_string(f));
  }
  return a;
}

static json_t *config_str(const struct mtk_image_config *c, const char *key)
{
  json_t *v = json_object_get(c->json, key);
  return json_string(json_is_string(v) ? json_string_value(v) : "");
}

static json_t *inspect_one(struct mtk_store *s, const struct mtk_store_image *img,
                           struct mtk_err **err)
{
  mtk_autofree char *cbody = NULL;
  size_t clen = 0;
  mtk_autoptr(mtk_image_config) c = NULL;
  if (mtk_store_blob_read(s, img->id, MTK_STORE_CONFIG_MAX, &cbody, &clen, err) < 0 ||
      mtk_image_config_parse(cbody, clen, &c, err) < 0)
    return NULL;
  json_t *o = json_object();
  json_object_set_new(o, "Id", json_string(img->id));
  json_object_set_new(o, "RepoTags", strv_json(img->refs, img->n_refs, false));
  json_object_set_new(o, "RepoDigests", strv_json(img->repo_digests, img->n_repo_digests, true));
  json_object_set_new(o, "Parent", json_string(""));
  json_object_set_new(o, "Comment", config_str(c, "comment"));
  json_object_set_new(o, "Created", config_str(c, "created"));
  json_object_set_new(o, "DockerVersion", config_str(c, "docker_version"));
  json_object_set_new(o, "Author", config_str(c, "author"));
  json_object_set(o, "Config", c->config ? c->config : json_null());
  json_object_set_new(o, "Architecture", json_string(img->architecture ? img->architecture : ""));
  if (img->variant)
    json_object_set_new(o, "Variant", json_string(img->variant));
  json_object_set_new(o, "Os", json_string(img->os ? img->os : ""));
  json_object_set_new(o, "Size", json_integer(img->size));
  struct mtk_err *e = NULL;
  mtk_autofree char *lower = mtk_image_lowerdir(s, img->manifest_digest, img->media_type, &e);
  mtk_err_free(&e);
  json_t *data = json_object();
  if (lower)
    json_object_set_new(data, "LowerDir", json_string(lower));
  json_object_set_new(o, "GraphDriver", json_pack("{s:o,s:s}", "Data", data, "Name", "overlay"));
  json_t *layers = json_array();
  for (size_t i = 0; i < c->n_diff_ids; i++)
    json_array_append_new(layers, json_string(c->diff_ids[i]));
  json_object_set_new(o, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers));
  json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z"));
  json_object_set_new(o, "Descriptor",
                      json_pack("{s:s,s:s,s:I}", "mediaType", img->media_type, "digest",
                                img->manifest_digest, "size", (json_int_t) img->manifest_size));
  return o;
}

/* The value at ".A.B" of o (borrowed), or NULL. */
static json_t *json_path(json_t *o, const char *path)
{
  mtk_autofree char *p = mtk_xstrdup(path);
  char *save = NULL;
  for (char *k = strtok_r(p, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
    o = json_object_get(o, k);
  return o;
}

/* `inspect --format` with a subset of Go templates: {{.Field.Sub}} (strings
 * and numbers as text, the rest as JSON), {{json .Field}} and {{json .}}. */
static int inspect_template(json_t *o, const char *tmpl, struct mtk_err **err)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (const char *p = tmpl; *p;) {
    const char *end = strncmp(p, "{{", 2) == 0 ? strstr(p, "}}") : NULL;
    if (!end) {
      if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't')) {
        mtk_strbuf_addc(&sb, p[1] == 'n' ? '\n' : '\t');
        p += 2;
      } else {
        mtk_strbuf_addc(&sb, *p++);
      }
      continue;
    }
    mtk_autofree char *act = mtk_xstrndup(p + 2, (size_t) (end - p - 2));
    char *a = act + strspn(act, " ");
    for (char *e = a + strlen(a); e > a && e[-1] == ' ';)
      *--e = '\0';
    bool as_json = strncmp(a, "json ", 5) == 0;
    if (as_json)
      a += 5 + strspn(a + 5, " ");
    if (a[0] != '.')
      return mtk_err_set(err, MTK_E_USAGE,
                         "template: unsupported action \"{{%s}}\" ({{.Field}} and {{json .Field}} "
                         "are)",
                         act);
    json_t *v = a[1] ? json_path(o, a + 1) : o;
    if (!v)
      return mtk_err_set(err, MTK_E_USAGE, "template: no field \"%s\"", a);
    if (!as_json && json_is_string(v)) {
      mtk_strbuf_adds(&sb, json_string_value(v));
    } else {
      mtk_autofree char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
      mtk_strbuf_adds(&sb, t);
    }
    p = end + 2;
  }
  printf("%s\n", sb.buf ? sb.buf : "");
  return 0;
}

int mtk_cli_image_inspect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  GETOPT_LOOP(":f:h", longopts)
  {
    case 'f':
      format = optarg;
      break;
      HELP_AND_ERRORS;
  }
  if (format && (!*format || strcmp(format, "json") == 0))
    format = NULL;
  if (argc - optind < 1)
    return mtk_cli_usage_error(cmd, err, "\"image inspect\" requires at least 1 argument");
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  json_t *arr = json_array();
  struct mtk_err *missing = NULL;
  for (int i = optind; i < argc; i++) {
    mtk_autoptr(mtk_store_image) img = NULL;
    struct mtk_err *e = NULL;
    json_t *o = NULL;
    if (mtk_store_resolve(s, argv[i], &img, &e) == 0)
      o = inspect_one(s, img, &e);
    if (o)
      json_array_append_new(arr, o);
    else if (!missing)
      missing = e;
    else
      mtk_err_free(&e);
  }
  int r = 0;
  if (format) {
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) if (r == 0) r = inspect_template(o, format, err);
  } else {
    mtk_autofree char *text = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
  }
  json_decref(arr);
  if (r < 0) {
    mtk_err_free(&missing);
    return -1;
  }
  if (missing) {
    *err = missing;
    return -1;
  }
  return 0;
}

/* ----------------------------------------------------------- rm */

struct in_use {
  char **ids;  /* owned: image IDs or manifest digests */
  char **cids; /* owned: the containers using them */
  size_t n;
};

static void in_use_free(struct in_use *u)
{
  mtk_image_strv_free(u->ids, u->n);
  mtk_image_strv_free(u->cids, u->n);
}

static bool same_digest(const char *a, const char *b)
{
  const char *ha = mtk_digest_hex(a), *hb = mtk_digest_hex(b);
  return strcmp(ha ? ha : a, hb ? hb : b) == 0;
}

static const char *container_using(const struct in_use *u, const struct mtk_store_image *img)
{
  for (size_t i = 0; i < u->n; i++)
    if (same_digest(u->ids[i], img->id) || same_digest(u->ids[i], img->manifest_digest))
      return u->cids[i];
  return NULL;
}

static void print_untagged(const char *full)
{
  mtk_autofree char *f = familiar(full);
  printf("Untagged: %s\n", f);
}

/* Removes a name; prints it.  ENOENT (a digest that only annotates a tag)
 * is not an error. */
static int untag_print(struct mtk_store *s, const char *full, bool quiet_missing,
                       struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  if (mtk_store_untag(s, full, NULL, &e) < 0) {
    if (e->code == ENOENT && quiet_missing) {
      mtk_err_free(&e);
      return 0;
    }
    *err = e;
    return -1;
  }
  print_untagged(full);
  return 0;
}

/* After the names went: the image itself, unless a container keeps it. */
static int finish_rm(struct mtk_store *s, const struct mtk_store_image *img, const char *cid,
                     struct mtk_err **err)
{
  mtk_autoptr(mtk_store_image) still = NULL;
  struct mtk_err *e = NULL;
  bool exists = mtk_store_resolve(s, img->manifest_digest, &still, &e) == 0;
  mtk_err_free(&e);
  if (cid) {
    if (!exists)
      return mtk_store_tag(s, NULL, img->manifest_digest, img->media_type, img->manifest_size, err);
    return 0;
  }
  if (exists && still->n_refs == 0 && mtk_store_remove(s, img->manifest_digest, err) < 0)
    return -1;
  if (!exists || still->n_refs == 0)
    printf("Deleted: %s\n", img->id);
  return 0;
}

static bool has_name(const struct mtk_store_image *img, const char *full)
{
  for (size_t i = 0; i < img->n_refs; i++)
    if (strcmp(img->refs[i], full) == 0)
      return true;
  for (size_t i = 0; i < img->n_repo_digests; i++)
    if (strcmp(img->repo_digests[i], full) == 0)
      return true;
  return false;
}

static int rm_by_name(struct mtk_store *s, const struct mtk_store_image *img,
                      const struct mtk_image_ref *r, const char *cid, bool force,
                      struct mtk_err **err)
{
  mtk_autofree char *name = mtk_image_ref_name(r);
  mtk_autofree char *full =
      r->digest ? mtk_xasprintf("%s@%s", name, r->digest) : mtk_xasprintf("%s:%s", name, r->tag);
  if (!r->digest && img->n_refs > 1)
    return untag_print(s, full, false, err); /* other names keep the image */
  if (cid && !force) {
    mtk_autofree char *fam = mtk_image_ref_familiar(r);
    return mtk_err_set(err, MTK_E_GENERIC,
                       "conflict: unable to remove repository reference \"%s\" (must force) - "
                       "container %.12s is using its referenced image %s",
                       fam, cid, short_hex(img->id));
  }
  if (untag_print(s, full, false, err) < 0)
    return -1;
  /* The last tag of a repository takes its digest references along (as Docker). */
  for (size_t i = 0; !r->digest && i < img->n_repo_digests; i++)
    if (strncmp(img->repo_digests[i], name, strlen(name)) == 0 &&
        img->repo_digests[i][strlen(name)] == '@') {
      struct mtk_err *e = NULL;
      if (mtk_store_untag(s, img->repo_digests[i], NULL, &e) < 0 && e->code != ENOENT) {
        *err = e;
        return -1;
      }
      mtk_err_free(&e);
      print_untagged(img->repo_digests[i]);
    }
  return finish_rm(s, img, cid, err);
}

static int rm_by_id(struct mtk_store *s, const struct mtk_store_image *img, const char *arg,
                    const char *cid, bool force, struct mtk_err **err)
{
  for (size_t i = 1; !force && i < img->n_refs; i++) {
    mtk_autoimageref a = {0}, b = {0};
    if (parse_ref(img->refs[0], &a) && parse_ref(img->refs[i], &b) &&
        (strcmp(a.domain, b.domain) != 0 || strcmp(a.path, b.path) != 0))
      return mtk_err_set(err, MTK_E_GENERIC,
                         "conflict: unable to delete %s (must be forced) - image is referenced in "
                         "multiple repositories",
                         short_hex(img->id));
  }
  if (cid && !force)
    return mtk_err_set(err, MTK_E_GENERIC,
                       "conflict: unable to delete %s (must be forced) - image is being used by "
                       "stopped container %.12s",
                       short_hex(img->id), cid);
  for (size_t i = 0; i < img->n_refs; i++)
    if (untag_print(s, img->refs[i], true, err) < 0)
      return -1;
  for (size_t i = 0; i < img->n_repo_digests; i++) {
    struct mtk_err *e = NULL;
    if (mtk_store_untag(s, img->repo_digests[i], NULL, &e) < 0 && e->code != ENOENT) {
      *err = e;
      return -1;
    }
    mtk_err_free(&e);
    print_untagged(img->repo_digests[i]);
  }
  (void) arg;
  return finish_rm(s, img, cid, err);
}

static int rm_one(struct mtk_store *s, const struct in_use *u, const char *arg, bool force,
                  struct mtk_err **err)
{
  mtk_autoptr(mtk_store_image) img = NULL;
  if (mtk_store_resolve(s, arg, &img, err) < 0)
    return -1;
  const char *cid = container_using(u, img);
  mtk_autoimageref r = {0};
  if (parse_ref(arg, &r)) {
    mtk_autofree char *name = mtk_image_ref_name(&r);
    mtk_autofree char *full =
        r.digest ? mtk_xasprintf("%s@%s", name, r.digest) : mtk_xasprintf("%s:%s", name, r.tag);
    if (has_name(img, full))
      return rm_by_name(s, img, &r, cid, force, err);
  }
  return rm_by_id(s, img, arg, cid, force, err);
}

int mtk_cli_image_rm(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                     struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"no-prune", no_argument, NULL, 'N'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false;
  GETOPT_LOOP(":fh", longopts)
  {
    case 'f':
      force = true;
      break;
    case 'N':
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind < 1)
    return mtk_cli_usage_error(cmd, err, "\"image rm\" requires at least 1 argument");
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  struct in_use u = {0};
  if (mtk_image_in_use(cli->root, &u.ids, &u.cids, &u.n, err) < 0)
    return -1;
  struct mtk_err *first = NULL;
  bool fatal = false;
  for (int i = optind; i < argc; i++) {
    struct mtk_err *e = NULL;
    if (rm_one(s, &u, argv[i], force, &e) == 0)
      continue;
    fatal |= e->code != ENOENT;
    if (!first) {
      first = e;
    } else {
      mtk_autofree char *text = mtk_err_format(e);
      fflush(stdout);
      fprintf(stderr, "mtk: %s\n", text);
      mtk_err_free(&e);
    }
  }
  in_use_free(&u);
  if (first && force && !fatal) {
    /* As docker: with -f, missing images are reported but not an error. */
    mtk_autofree char *text = mtk_err_format(first);
    fflush(stdout);
    fprintf(stderr, "mtk: %s\n", text);
    mtk_err_free(&first);
  }
  if (first) {
    *err = first;
    return -1;
  }
  return 0;
}

/* ----------------------------------------------------------- prune */

static bool confirm(const char *message)
{
  printf("%s [y/N] ", message);
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof(line), stdin))
    return false;
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  return (p[0] == 'y' || p[0] == 'Y') &&
         (p[1] == '\n' || p[1] == '\0' || p[1] == ' ' || p[1] == '\r');
}

static bool listed(const struct mtk_store_image *imgs, size_t n, const char *manifest)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(imgs[i].manifest_digest, manifest) == 0)
      return true;
  return false;
}

/* prune -a: every name of every image no container uses goes first. */
static int untag_unused(struct mtk_store *s, const struct mtk_store_image *imgs, size_t n,
                        const struct in_use *u, struct mtk_strbuf *out, struct mtk_err **err)
{
  for (size_t i = 0; i < n; i++) {
    if (container_using(u, &imgs[i]))
      continue;
    for (size_t k = 0; k < imgs[i].n_refs; k++) {
      if (mtk_store_untag(s, imgs[i].refs[k], NULL, err) < 0)
        return -1;
      mtk_autofree char *f = familiar(imgs[i].refs[k]);
      mtk_strbuf_addf(out, "untagged: %s\n", f);
    }
    for (size_t k = 0; k < imgs[i].n_repo_digests; k++) {
      struct mtk_err *e = NULL;
      if (mtk_store_untag(s, imgs[i].repo_digests[k], NULL, &e) < 0 && e->code != ENOENT) {
        *err = e;
        return -1;
      }
      mtk_err_free(&e);
      mtk_autofree char *f = familiar(imgs[i].repo_digests[k]);
      mtk_strbuf_addf(out, "untagged: %s\n", f);
    }
  }
  return 0;
}

int mtk_cli_image_prune(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                        struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},
      {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool all = false, force = false;
  GETOPT_LOOP(":afh", longopts)
  {
    case 'a':
      all = true;
      break;
    case 'f':
      force = true;
      break;
      HELP_AND_ERRORS;
  }
  if (optind < argc)
    return mtk_cli_usage_error(cmd, err, "\"image prune\" accepts no arguments");
  if (!force && !confirm(all ? "WARNING! This will remove all images without at least one "
                               "container associated to them.\nAre you sure you want to "
                               "continue?"
                             : "WARNING! This will remove all dangling images.\nAre you sure "
                               "you want to continue?"))
    return mtk_err_set(err, MTK_E_GENERIC, "image prune has been cancelled");
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  struct in_use u = {0};
  struct mtk_store_image *before = NULL, *after = NULL;
  size_t nb = 0, na = 0;
  mtk_autostrbuf out = MTK_STRBUF_INIT;
  int64_t freed = 0;
  int r = mtk_image_in_use(cli->root, &u.ids, &u.cids, &u.n, err);
  if (r == 0)
    r = mtk_store_list(s, &before, &nb, err);
  if (r == 0 && all)
    r = untag_unused(s, before, nb, &u, &out, err);
  if (r == 0)
    r = mtk_store_prune(s, (const char *const *) u.ids, u.n, &freed, err);
  if (r == 0)
    r = mtk_store_list(s, &after, &na, err);
  for (size_t i = 0; r == 0 && i < nb; i++)
    if (!listed(after, na, before[i].manifest_digest))
      mtk_strbuf_addf(&out, "deleted: %s\n", before[i].id);
  if (r == 0) {
    char buf[32];
    if (out.len)
      printf("Deleted Images:\n%s\n", out.buf);
    printf("Total reclaimed space: %s\n", mtk_progress_human_size((double) freed, 4, buf));
  }
  mtk_store_images_free(before, nb);
  mtk_store_images_free(after, na);
  in_use_free(&u);
  return r;
}

/* ----------------------------------------------------------- save, load, import */

/* Writes to a temp file next to path, renamed over it only when complete. */
static int save_to_file(struct mtk_store *s, const char *path, const char *const *refs, size_t n,
                        struct mtk_err **err)
{
  struct mtk_file_atomic a;
  if (mtk_file_atomic_open(&a, path, (mode_t) -1, err) < 0)
    return -1;
  if (mtk_image_save(s, refs, n, a.fd, err) < 0) {
    mtk_file_atomic_abort(&a);
    return -1;
  }
  return mtk_file_atomic_commit(&a, err);
}

int mtk_cli_image_save(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *output = NULL;
  GETOPT_LOOP(":o:h", longopts)
  {
    case 'o':
      output = optarg;
      break;
      HELP_AND_ERRORS;
  }
  if (argc - optind < 1)
    return mtk_cli_usage_error(cmd, err, "\"image save\" requires at least 1 argument");
  if ((!output || strcmp(output, "-") == 0) && isatty(STDOUT_FILENO))
    return mtk_cli_usage_error(cmd, err,
                               "cowardly refusing to save to a terminal. Use the -o "
                               "flag or redirect");
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  const char *const *refs = (const char *const *) argv + optind;
  size_t n = (size_t) (argc - optind);
  if (output && strcmp(output, "-") != 0)
    return save_to_file(s, output, refs, n, err) < 0 ? image_error(err) : 0;
  fflush(stdout);
  return mtk_image_save(s, refs, n, STDOUT_FILENO, err) < 0 ? image_error(err) : 0;
}

static int open_input(const char *path, struct mtk_err **err)
{
  if (!path || strcmp(path, "-") == 0)
    return dup(STDIN_FILENO);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mtk_err_set(err, errno, "open %s: %s", path, strerror(errno));
  return fd;
}

int mtk_cli_image_load(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"input", required_argument, NULL, 'i'},
      {"quiet", no_argument, NULL, 'q'},
      {"platform", required_argument, NULL, 'P'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *input = NULL, *platform = NULL;
  bool quiet = false;
  GETOPT_LOOP(":i:qh", longopts)
  {
    case 'i':
      input = optarg;
      break;
    case 'q':
      quiet = true;
      break;
    case 'P':
      platform = optarg;
      break;
      HELP_AND_ERRORS;
  }
  if (optind < argc)
    return mtk_cli_usage_error(cmd, err, "\"image load\" accepts no arguments");
  if ((!input || strcmp(input, "-") == 0) && isatty(STDIN_FILENO))
    return mtk_err_set(err, MTK_E_USAGE, "requested load from stdin, but stdin is empty");
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  mtk_autoclose int fd = open_input(input, err);
  if (fd < 0)
    return -1;
  struct mtk_image_loaded *l = NULL;
  size_t n = 0;
  /* As docker: layer rows only on a terminal. */
  bool tty = isatty(STDOUT_FILENO);
  struct mtk_progress *p = quiet || !tty ? NULL : mtk_progress_new(stdout, true);
  int r = mtk_image_load(s, fd, platform, p, &l, &n, err);
  mtk_progress_free(p);
  if (r < 0)
    return image_error(err);
  for (size_t i = 0; i < n; i++) {
    if (l[i].name)
      printf("Loaded image: %s\n", l[i].name);
    else
      printf("Loaded image ID: %s\n", l[i].id);
  }
  mtk_image_loaded_free(l, n);
  return 0;
}

int mtk_cli_image_import(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"message", required_argument, NULL, 'm'},
      {"platform", required_argument, NULL, 'P'},
      {"change", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct mtk_image_import_opts o = {0};
  GETOPT_LOOP(":m:c:h", longopts)
  {
    case 'm':
      o.message = optarg;
      break;
    case 'P':
      o.platform = optarg;
      break;
    case 'c':
      return mtk_cli_usage_error(cmd, err, "--change is not supported yet");
      HELP_AND_ERRORS;
  }
  if (argc - optind < 1 || argc - optind > 2)
    return mtk_cli_usage_error(cmd, err, "\"image import\" requires 1 or 2 arguments");
  o.source = argv[optind];
  o.ref = optind + 1 < argc ? argv[optind + 1] : NULL;
  if (strstr(o.source, "://"))
    return mtk_err_set(err, EINVAL, "import from a URL is not supported: download %s first",
                       o.source);
  if (o.ref) {
    mtk_autoimageref r = {0};
    if (mtk_image_ref_parse(o.ref, &r, err) < 0)
      return -1;
    if (r.digest)
      return mtk_err_set(err, EINVAL, "refusing to create a tag with a digest reference");
  }
  mtk_autoptr(mtk_store) s = NULL;
  if (open_store(cli, &s, err) < 0)
    return -1;
  mtk_autoclose int fd = open_input(o.source, err);
  if (fd < 0)
    return -1;
  mtk_autofree char *id = NULL;
  if (mtk_image_import(s, fd, &o, &id, err) < 0)
    return image_error(err);
  printf("%s\n", id);
  return 0;
}
