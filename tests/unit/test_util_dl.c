/* Unit tests for the libraries loaded on first use (src/util/dl.c) and the
 * shims built on it (src/image/curl_dl.c, archive_dl.c, src/net/nft_dl.c):
 * resolving a real library (libz.so.1), the errors for a missing library, a
 * missing symbol and a file that is no library, loading from many threads
 * at once; then the shims with the real libraries hidden (a child in its own
 * mount namespace: the callers' errors name the package to install), and
 * with them present (setopt/getinfo forward each argument type intact). */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "build/context.h"
#include "image/registry.h"
#include "image/unpack.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/dl.h"

typedef const char *(*zlib_version_fn)(void);

static int test_real_library(void)
{
  static const char *const names[] = {"zlibVersion", "crc32"};
  static void (*fns[2])(void);
  static struct mtk_dl_lib z = MTK_DL_LIB_INIT("libz.so.1", "zlib1g", names, fns, 2);
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_dl_ready(&z));
  MTK_ASSERT(fns[0] != NULL && fns[1] != NULL);
  void *handle = z.handle;
  MTK_ASSERT(handle != NULL);
  MTK_ASSERT_STREQ(((zlib_version_fn) fns[0])(), ZLIB_VERSION);
  MTK_ASSERT_EQ(mtk_dl_load(&z, &err), 0); /* loaded once: same handle */
  MTK_ASSERT(err == NULL && z.handle == handle);
  MTK_ASSERT(mtk_dl_lib_error(&z) == NULL);
  MTK_ASSERT(mtk_dl_error("libz.so.1") == NULL);
  return 0;
}

static int test_missing_library(void)
{
  static const char *const names[] = {"whatever"};
  static void (*fns[1])(void);
  static struct mtk_dl_lib lib =
      MTK_DL_LIB_INIT("libmtk-no-such.so.7", "libmtk-no-such7", names, fns, 1);
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_dl_error("libmtk-no-such.so.7") == NULL); /* not tried yet */
  MTK_ASSERT(!mtk_dl_ready(&lib));
  MTK_ASSERT(mtk_dl_load(&lib, &err) < 0);
  MTK_ASSERT(err != NULL);
  MTK_ASSERT_EQ(err->code, ELIBACC);
  MTK_ASSERT_STREQ(err->msg,
                   "libmtk-no-such.so.7 is not installed: apt-get install libmtk-no-such7");
  mtk_err_free(&err);
  MTK_ASSERT_STREQ(mtk_dl_lib_error(&lib),
                   "libmtk-no-such.so.7 is not installed: apt-get install libmtk-no-such7");
  MTK_ASSERT_STREQ(mtk_dl_error("libmtk-no-such.so.7"), mtk_dl_lib_error(&lib));
  MTK_ASSERT(mtk_dl_error(NULL) != NULL);
  MTK_ASSERT(lib.handle == NULL && fns[0] == NULL);
  MTK_ASSERT(mtk_dl_fail("libmtk-no-such.so.7", &err) < 0);
  MTK_ASSERT_CONTAINS(err ? err->msg : NULL, "apt-get install libmtk-no-such7");
  mtk_err_free(&err);
  return 0;
}

static int test_missing_symbol(void)
{
  static const char *const names[] = {"zlibVersion", "mtk_no_such_symbol"};
  static void (*fns[2])(void);
  static struct mtk_dl_lib lib = MTK_DL_LIB_INIT("libz.so.1", "zlib1g", names, fns, 2);
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_dl_load(&lib, &err) < 0);
  MTK_ASSERT_CONTAINS(err ? err->msg : NULL,
                      "libz.so.1 has no symbol mtk_no_such_symbol (too old a version?)");
  MTK_ASSERT_CONTAINS(err->msg, "apt-get install zlib1g");
  mtk_err_free(&err);
  MTK_ASSERT(fns[0] == NULL && fns[1] == NULL); /* nothing half-resolved */
  return 0;
}

static int test_not_a_library(void)
{
  /* Static: a library tried stays listed for mtk_dl_error(). */
  static char path[] = "/tmp/mtk-dl-XXXXXX";
  static const char *const names[] = {"f"};
  static void (*fns[1])(void);
  static struct mtk_dl_lib lib = MTK_DL_LIB_INIT(path, "pkg", names, fns, 1);
  int fd = mkstemp(path);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT(write(fd, "not an ELF file\n", 16) == 16);
  close(fd);
  struct mtk_err *err = NULL;
  int r = mtk_dl_load(&lib, &err);
  unlink(path);
  MTK_ASSERT(r < 0);
  mtk_autofree char *want = mtk_xasprintf("cannot load %s: ", path);
  MTK_ASSERT_CONTAINS(err ? err->msg : NULL, want);
  MTK_ASSERT_CONTAINS(err->msg, "(reinstall it: apt-get install --reinstall pkg)");
  mtk_err_free(&err);
  return 0;
}

static const char *const thread_names[] = {"adler32"};
static void (*thread_fns[1])(void);
static struct mtk_dl_lib thread_lib =
    MTK_DL_LIB_INIT("libz.so.1", "zlib1g", thread_names, thread_fns, 1);

static void *ready_in_thread(void *arg)
{
  (void) arg;
  return mtk_dl_ready(&thread_lib) && thread_fns[0] ? thread_lib.handle : NULL;
}

static int test_threads(void)
{
  pthread_t t[8];
  void *got[8];
  for (int i = 0; i < 8; i++)
    MTK_ASSERT_EQ(pthread_create(&t[i], NULL, ready_in_thread, NULL), 0);
  for (int i = 0; i < 8; i++)
    MTK_ASSERT_EQ(pthread_join(t[i], &got[i]), 0);
  for (int i = 0; i < 8; i++)
    MTK_ASSERT(got[i] != NULL && got[i] == got[0]);
  return 0;
}

static bool mapped(const char *soname)
{
  mtk_autofclose FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  while (f && fgets(line, sizeof(line), f))
    if (strstr(line, soname))
      return true;
  return false;
}

#define CHILD_CHECK(cond)                                                                          \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("#   %s:%d: in the child: %s\n", __FILE__, __LINE__, #cond);                          \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

/* What the callers see when the libraries are missing: their own error
 * paths, naming the package.  Runs in a child whose library directory is
 * hidden under an empty tmpfs. */
static int hidden_child(const char *ctxdir)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_context) ctx = mtk_context_open(ctxdir, NULL, &err);
  CHILD_CHECK(ctx != NULL);
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", "/usr/lib/x86_64-linux-gnu", "tmpfs", 0, NULL) < 0)
    return 77;
  const char *curl_msg = "libcurl.so.4 is not installed: apt-get install libcurl4";
  const char *ar_msg = "libarchive.so.13 is not installed: apt-get install libarchive13";
  CHILD_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_FAILED_INIT);
  CHILD_CHECK(strcmp(curl_easy_strerror(CURLE_FAILED_INIT), curl_msg) == 0);
  CHILD_CHECK(curl_easy_init() == NULL && curl_url() == NULL);
  CHILD_CHECK(curl_easy_setopt(NULL, CURLOPT_URL, "http://x/") == CURLE_FAILED_INIT);
  curl_easy_cleanup(NULL); /* nothing to do, no crash */
  struct mtk_registry_opts o = {.host = "127.0.0.1:5000"};
  CHILD_CHECK(mtk_registry_new(&o, &err) == NULL);
  CHILD_CHECK(err && err->code == ELIBACC && strcmp(err->msg, curl_msg) == 0);
  mtk_err_free(&err);

  CHILD_CHECK(archive_write_new() == NULL && archive_entry_new() == NULL);
  CHILD_CHECK(archive_write_open_fd(NULL, 1) == ARCHIVE_FATAL);
  CHILD_CHECK(archive_errno(NULL) == ELIBACC);
  CHILD_CHECK(strcmp(archive_error_string(NULL), ar_msg) == 0);
  mtk_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  CHILD_CHECK(mtk_context_tar(ctx, devnull, &err) < 0);
  CHILD_CHECK(err && err->code == ELIBACC);
  CHILD_CHECK(strcmp(err->msg, "build context tar: setup: libarchive.so.13 is not installed: "
                               "apt-get install libarchive13") == 0);
  mtk_err_free(&err);
  mtk_autoclose int root = open(ctxdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char diff_id[72];
  CHILD_CHECK(mtk_layer_unpack(devnull, root, NULL, diff_id, &err) < 0);
  CHILD_CHECK(err && err->code == ELIBACC && strcmp(err->msg, ar_msg) == 0);
  mtk_err_free(&err);

  CHILD_CHECK(nft_ctx_new(NFT_CTX_DEFAULT) == NULL);
  CHILD_CHECK(nft_run_cmd_from_buffer(NULL, "list ruleset") == -1);
  CHILD_CHECK(strcmp(mtk_dl_error(MTK_DL_NFTABLES),
                     "libnftables.so.1 is not installed: apt-get install libnftables1") == 0);
  CHILD_CHECK(!mapped("libcurl") && !mapped("libarchive") && !mapped("libnftables"));
  return 0;
}

/* Must run before any shim loads its library in this process. */
static int test_shims_missing(void)
{
  if (geteuid() != 0)
    return 77;
  /* Nothing linked them in: the test binary starts without them. */
  MTK_ASSERT(!mapped("libcurl.so") && !mapped("libarchive.so") && !mapped("libnftables.so"));
  char dir[] = "/tmp/mtk-dl-ctx-XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  fflush(stdout);
  pid_t pid = fork();
  MTK_ASSERT(pid >= 0);
  if (pid == 0) {
    int r = hidden_child(dir);
    fflush(stdout);
    _exit(r);
  }
  int st;
  MTK_ASSERT_EQ(waitpid(pid, &st, 0), pid);
  rmdir(dir);
  MTK_ASSERT(WIFEXITED(st));
  return WEXITSTATUS(st);
}

struct sink {
  char buf[64];
  size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
  struct sink *b = ud;
  size_t len = size * n;
  if (b->len + len >= sizeof(b->buf))
    return 0;
  memcpy(b->buf + b->len, p, len);
  b->len += len;
  return len;
}

/* A file:// transfer through the shims: a long, a string, a function, a
 * data pointer and an off_t option in, a pointer, a long and an off_t out. */
static int test_curl_forwarding(void)
{
  char path[] = "/tmp/mtk-dl-file-XXXXXX";
  int fd = mkstemp(path);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT(write(fd, "hello from file\n", 16) == 16);
  close(fd);
  struct sink got = {{0}, 0};
  MTK_ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  CURL *h = curl_easy_init();
  MTK_ASSERT(h != NULL);
  mtk_autofree char *url = mtk_xasprintf("file://%s", path);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "file"), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_WRITEDATA, &got), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_PRIVATE, path), CURLE_OK);
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) 1 << 40), CURLE_OK);
  /* A long option below -1 is refused by libcurl: the value arrived intact. */
  MTK_ASSERT_EQ(curl_easy_setopt(h, CURLOPT_MAXREDIRS, -2L), CURLE_BAD_FUNCTION_ARGUMENT);
  MTK_ASSERT_EQ(curl_easy_perform(h), CURLE_OK);
  unlink(path);
  MTK_ASSERT_EQ(got.len, 16);
  MTK_ASSERT(memcmp(got.buf, "hello from file\n", 16) == 0);
  char *priv = NULL;
  MTK_ASSERT_EQ(curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv), CURLE_OK);
  MTK_ASSERT(priv == path);
  curl_off_t size = 0;
  MTK_ASSERT_EQ(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
  MTK_ASSERT_EQ(size, 16);
  long code = -1;
  MTK_ASSERT_EQ(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
  MTK_ASSERT_EQ(code, 0);
  double secs = -1;
  MTK_ASSERT_EQ(curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs), CURLE_OK);
  MTK_ASSERT(secs >= 0);
  curl_easy_cleanup(h);
  MTK_ASSERT_STREQ(curl_easy_strerror(CURLE_OK), "No error");
  return 0;
}

static int test_multi_share_forwarding(void)
{
  CURLM *m = curl_multi_init();
  CURLSH *s = curl_share_init();
  MTK_ASSERT(m != NULL && s != NULL);
  MTK_ASSERT_EQ(curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 3L), CURLM_OK);
  MTK_ASSERT_EQ(curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK);
  /* An unknown lock type is refused: the int arrived as given. */
  MTK_ASSERT_EQ(curl_share_setopt(s, CURLSHOPT_SHARE, 4242), CURLSHE_BAD_OPTION);
  MTK_ASSERT_EQ(curl_share_setopt(s, CURLSHOPT_USERDATA, (void *) m), CURLSHE_OK);
  MTK_ASSERT_EQ(curl_multi_cleanup(m), CURLM_OK);
  MTK_ASSERT_EQ(curl_share_cleanup(s), CURLSHE_OK);
  MTK_ASSERT(mapped("libcurl.so.4"));
  return 0;
}

static int test_archive_nft_loaded(void)
{
  MTK_ASSERT(archive_version_number() >= 3000000);
  struct archive *a = archive_write_new();
  MTK_ASSERT(a != NULL);
  archive_set_error(a, EDOM, "custom %s %d", "error", 42);
  MTK_ASSERT_EQ(archive_errno(a), EDOM);
  MTK_ASSERT_STREQ(archive_error_string(a), "custom error 42");
  MTK_ASSERT_EQ(archive_write_free(a), ARCHIVE_OK);
  MTK_ASSERT(mtk_dl_error(MTK_DL_ARCHIVE) == NULL);
  struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
  MTK_ASSERT(n != NULL);
  nft_ctx_set_dry_run(n, true);
  MTK_ASSERT(nft_ctx_get_dry_run(n));
  MTK_ASSERT_EQ(nft_ctx_buffer_error(n), 0);
  MTK_ASSERT(nft_run_cmd_from_buffer(n, "this is not nft syntax") != 0);
  MTK_ASSERT_CONTAINS(nft_ctx_get_error_buffer(n), "syntax error");
  nft_ctx_free(n);
  MTK_ASSERT(mapped("libarchive.so.13") && mapped("libnftables.so.1"));
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"shims with the libraries missing", test_shims_missing},
      {"real library", test_real_library},
      {"missing library", test_missing_library},
      {"missing symbol", test_missing_symbol},
      {"not a library", test_not_a_library},
      {"threads", test_threads},
      {"curl easy forwarding", test_curl_forwarding},
      {"curl multi and share forwarding", test_multi_share_forwarding},
      {"archive and nftables", test_archive_nft_loaded},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
