/* `mtk login` and `mtk logout`, as `docker login`/`docker logout`: the
 * server defaults to Docker Hub, credentials are checked against the
 * registry before they are stored (config.json mode 0600, or the configured
 * credential helper; src/image/registry_creds.c). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/ref.h"
#include "image/registry.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* "https://host:5000/v2/" -> "host:5000"; NULL or "" -> docker.io. */
static char *server_host(const char *server)
{
  if (!server || !*server)
    return mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_DOMAIN);
  const char *p = server;
  if (strncmp(p, "https://", 8) == 0)
    p += 8;
  else if (strncmp(p, "http://", 7) == 0)
    p += 7;
  char *h = mtk_xstrndup(p, strcspn(p, "/"));
  if (strcmp(h, "index.docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0) {
    free(h);
    h = mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_DOMAIN);
  }
  return h;
}

/* What docker prints for a server: the Hub's config key, else the host. */
static const char *display_name(const char *host)
{
  return strcmp(host, MTK_IMAGE_REF_DEFAULT_DOMAIN) == 0 ? MTK_IMAGE_REF_HUB_AUTH_KEY : host;
}

static char *read_line(FILE *in)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  int c;
  while ((c = fgetc(in)) != EOF && c != '\n')
    mtk_strbuf_addc(&sb, (char) c);
  if (c == EOF && sb.len == 0)
    return NULL;
  if (sb.len && sb.buf[sb.len - 1] == '\r')
    sb.buf[--sb.len] = '\0';
  return sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
}

/* Everything on stdin, without the trailing newline (--password-stdin). */
static char *read_all_stdin(void)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    mtk_strbuf_add(&sb, buf, n);
  while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
    sb.buf[--sb.len] = '\0';
  return sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
}

static char *prompt_password(void)
{
  struct termios old, quiet;
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  fprintf(stdout, "Password: ");
  fflush(stdout);
  if (tty) {
    quiet = old;
    quiet.c_lflag &= (tcflag_t) ~ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char *p = read_line(stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stdout);
  }
  return p;
}

int mtk_cli_login(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                  struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"username", required_argument, NULL, 'u'},
      {"password", required_argument, NULL, 'p'},
      {"password-stdin", no_argument, NULL, 'S'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *user = NULL, *pass = NULL;
  bool from_stdin = false;
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":u:p:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'u':
        user = optarg;
        break;
      case 'p':
        pass = optarg;
        break;
      case 'S':
        from_stdin = true;
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 0;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (argc - optind > 1)
    return mtk_cli_usage_error(cmd, err, "\"login\" accepts at most 1 argument");
  if (from_stdin && pass)
    return mtk_cli_usage_error(cmd, err, "--password and --password-stdin are mutually exclusive");
  if (from_stdin && !user)
    return mtk_cli_usage_error(cmd, err, "Must provide --username with --password-stdin");
  if (pass)
    fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  mtk_autofree char *host = server_host(optind < argc ? argv[optind] : NULL);
  mtk_autofree char *u = user ? mtk_xstrdup(user) : NULL, *pw = NULL;
  if (!u) {
    printf("Username: ");
    fflush(stdout);
    u = read_line(stdin);
  }
  if (!u || !*u)
    return mtk_err_set(err, MTK_E_USAGE, "Error: Non-null Username Required");
  pw = from_stdin ? read_all_stdin() : pass ? mtk_xstrdup(pass) : prompt_password();
  if (!pw || !*pw)
    return mtk_err_set(err, MTK_E_USAGE, "Error: Password Required");
  struct mtk_registry_opts o = {.host = host};
  const char *ins = getenv("MTK_INSECURE_REGISTRIES");
  o.insecure = ins && strstr(ins, host) != NULL;
  int r = mtk_registry_login(&o, u, pw, err);
  explicit_bzero(pw, strlen(pw));
  if (r < 0)
    return -1;
  printf("Login Succeeded\n");
  (void) cli;
  return 0;
}

int mtk_cli_logout(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                   struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    }
    return mtk_cli_getopt_error(cmd, c, argv, err);
  }
  if (argc - optind > 1)
    return mtk_cli_usage_error(cmd, err, "\"logout\" accepts at most 1 argument");
  mtk_autofree char *host = server_host(optind < argc ? argv[optind] : NULL);
  struct mtk_registry_opts o = {.host = host};
  int r = mtk_registry_logout(&o, err);
  if (r < 0)
    return -1;
  if (r == 0)
    printf("Not logged in to %s\n", display_name(host));
  else
    printf("Removing login credentials for %s\n", display_name(host));
  (void) cli;
  return 0;
}
