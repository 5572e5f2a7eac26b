/* `mtk container logs` (stdout records to stdout, stderr records to
 * stderr, -t with docker's fixed RFC 3339 nano stamps, --tail, --since,
 * --until, -f until the container stops) and `mtk container inspect`
 * (a JSON array as docker prints it, or -f with a Go template per
 * container). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

#define GETOPT_LOOP(shortopts, longopts)                                                           \
  opterr = 0;                                                                                      \
  optind = 0;                                                                                      \
  for (int c_; (c_ = getopt_long(argc, argv, "+:" shortopts, longopts, NULL)) != -1;)              \
    switch (c_)

static int usage125(struct mtk_cli *cli, int r, struct mtk_err **err)
{
  if (r < 0 && *err && (*err)->code == MTK_E_USAGE) {
    mtk_cli_print_err(cli, *err);
    mtk_err_free(err);
    return MTK_CTR_EXIT_RUN_ERROR;
  }
  return r;
}

/* ------------------------------------------------------------------ logs */

struct log_out {
  bool timestamps;
  int failed_errno; /* a write failed (EPIPE: the reader went away) */
};

/* jsonmessage.RFC3339NanoFixed in UTC: 2006-01-02T15:04:05.000000000Z */
static void stamp(int64_t ns, char out[40])
{
  time_t s = (time_t) (ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 40 - n, ".%09lldZ", (long long) (ns % 1000000000));
}

static int log_record(void *data, int stream, int64_t ts_ns, const char *text, size_t len,
                      bool partial)
{
  struct log_out *o = data;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  if (o->timestamps) {
    char ts[40];
    stamp(ts_ns, ts);
    mtk_strbuf_addf(&sb, "%s ", ts);
  }
  mtk_strbuf_add(&sb, text, len);
  if (!partial)
    mtk_strbuf_addc(&sb, '\n');
  if (mtk_file_write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, mtk_strbuf_str(&sb), sb.len) <
      0) {
    o->failed_errno = errno ? errno : EIO;
    return 1;
  }
  return 0;
}

static int logs_flags(const struct mtk_cli_cmd *cmd, int argc, char **argv,
                      struct mtk_ctr_log_opts *lo, bool *ts, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"follow", no_argument, NULL, 'f'},      {"timestamps", no_argument, NULL, 't'},
      {"tail", required_argument, NULL, 'n'},  {"since", required_argument, NULL, 'S'},
      {"until", required_argument, NULL, 'U'}, {"details", no_argument, NULL, 'D'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  int64_t now = mtk_cli_now_ns();
  char *end;
  GETOPT_LOOP("ftn:h", longopts)
  {
    case 'f':
      lo->follow = true;
      break;
    case 't':
      *ts = true;
      break;
    case 'n':
      if (strcmp(optarg, "all") == 0) {
        lo->tail = -1;
        break;
      }
      lo->tail = strtol(optarg, &end, 10);
      if (!*optarg || *end)
        return mtk_cli_usage_error(cmd, err, "invalid argument \"%s\" for \"-n, --tail\" flag",
                                   optarg);
      if (lo->tail < 0)
        lo->tail = -1;
      break;
    case 'S':
    case 'U':
      if (mtk_ctr_parse_time(optarg, now, c_ == 'S' ? &lo->since : &lo->until, err) < 0) {
        (*err)->code = MTK_E_USAGE;
        return mtk_err_wrap(err, "invalid value for \"--%s\": ", c_ == 'S' ? "since" : "until");
      }
      break;
    case 'D':
      break; /* no log options are attached to records */
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 1;
    default:
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  if (argc - optind != 1)
    return mtk_cli_usage_error(cmd, err, "\"container logs\" requires exactly 1 argument");
  return 0;
}

int mtk_cli_container_logs(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct mtk_ctr_log_opts lo = {.tail = -1};
  struct log_out out = {0};
  int r = logs_flags(cmd, argc, argv, &lo, &out.timestamps, err);
  if (r != 0)
    return usage125(cli, r == 1 ? 0 : r, err);
  mtk_autoptr(mtk_ctr) c = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, argv[optind], &c, err) < 0)
    return -1;
  /* The stamps are written here from each record's time (the callback has
   * it), so the engine is asked for the bare text. */
  lo.timestamps = false;
  fflush(stdout);
  if (mtk_ctr_logs(cli->root, cli->runroot, c, &lo, log_record, &out, err) < 0)
    return -1;
  if (out.failed_errno && out.failed_errno != EPIPE)
    return mtk_err_set(err, out.failed_errno, "writing the logs: %s", strerror(out.failed_errno));
  return 0;
}

/* --------------------------------------------------------------- inspect */

int mtk_cli_container_inspect(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                              char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"size", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  GETOPT_LOOP("f:sh", longopts)
  {
    case 'f':
      format = optarg;
      break;
    case 's':
      break;
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return usage125(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  if (optind >= argc)
    return usage125(cli,
                    mtk_cli_usage_error(cmd, err,
                                        "\"container inspect\" requires at least "
                                        "1 argument"),
                    err);
  if (format && (!*format || strcmp(format, "json") == 0))
    format = NULL;
  json_t *all = json_array();
  int status = 0;
  for (int i = optind; i < argc; i++) {
    mtk_autoptr(mtk_ctr) c = NULL;
    struct mtk_err *e = NULL;
    if (mtk_ctr_load(cli->root, cli->runroot, argv[i], &c, &e) < 0) {
      mtk_cli_print_err(cli, e);
      mtk_err_free(&e);
      status = 1;
      continue;
    }
    json_t *doc = mtk_ctr_inspect(c);
    if (!format) {
      json_array_append_new(all, doc);
      continue;
    }
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    int r = mtk_cli_tmpl_render(format, doc, NULL, &sb, err);
    json_decref(doc);
    if (r < 0) {
      json_decref(all);
      return usage125(cli, r, err);
    }
    printf("%s\n", mtk_strbuf_str(&sb));
  }
  if (!format) {
    mtk_autofree char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "[]");
  }
  json_decref(all);
  return status;
}
