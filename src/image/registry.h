/* The OCI distribution client (libcurl): manifests and blobs from and to a
 * registry, the Basic and Bearer token auth flows, credentials from
 * ~/.docker/config.json (and docker-credential-* helpers), 307 redirects to
 * blob storage, resumed downloads, concurrent blob fetches (curl multi),
 * monolithic/chunked uploads and cross-repository mounts, and `login`/
 * `logout` (config.json writing).  Protocol notes: ../shared/design/IMAGES.md
 * §2 and §5; threats: SECURITY.md §1.4, §2.8-2.10.
 *
 * One struct mtk_registry talks to one registry host; it is not thread safe
 * (concurrency comes from curl multi inside mtk_registry_get_blobs).  No
 * function prints; errors carry the registry's own code and message, e.g.
 * "manifest unknown (MANIFEST_UNKNOWN)", for the caller to prefix with what
 * it was doing ("pull 127.0.0.1:5000/team/lab:1: ..."). */
#ifndef MTK_IMAGE_REGISTRY_H
#define MTK_IMAGE_REGISTRY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"
#include "util/cleanup.h"

/* Hard caps on what a registry or token server may make us hold in memory. */
#define MTK_REGISTRY_MANIFEST_MAX (4 * 1024 * 1024)
#define MTK_REGISTRY_TOKEN_MAX (1024 * 1024)
#define MTK_REGISTRY_ERROR_MAX (64 * 1024)

/* The Accept list of manifest requests (never empty: without it distribution
 * converts schema2 to schema1 on the fly, IMAGES.md §1.1-4). */
#define MTK_REGISTRY_ACCEPT                                                                        \
  "application/vnd.oci.image.index.v1+json, "                                                      \
  "application/vnd.docker.distribution.manifest.list.v2+json, "                                    \
  "application/vnd.oci.image.manifest.v1+json, "                                                   \
  "application/vnd.docker.distribution.manifest.v2+json"

struct mtk_registry_opts {
  const char *host;        /* borrowed: "127.0.0.1:5000", "registry-1.docker.io"; "docker.io"
                              and "index.docker.io" mean registry-1.docker.io */
  bool insecure;           /* plain HTTP (after HTTPS failed) and unverified TLS allowed;
                              implied for localhost, 127.0.0.0/8 and [::1] */
  const char *auth_config; /* borrowed: config.json path; NULL = $DOCKER_CONFIG/config.json
                              or ~/.docker/config.json */
  const char *user_agent;  /* borrowed: NULL = "mtk/<version>" */
  const char *ca_file;     /* borrowed: extra CA bundle (PEM) for TLS, NULL = system store */
  int64_t chunk_size;      /* chunked pushes: bytes per PATCH; 0 = 8 MiB (raised to the
                              registry's OCI-Chunk-Min-Length) */
  int max_attempts;        /* attempts per request/blob without progress; 0 = 5 */
  int backoff_ms;          /* first retry delay, doubled each time (max 5 s); 0 = 250 */
  const volatile sig_atomic_t *cancel; /* borrowed: when non-zero, transfers stop with
                                          MTK_E_INTR; may be NULL */
};

struct mtk_registry; /* opaque */

/* A client for o->host.  Nothing is sent yet (the first request pings /v2/,
 * picks https or, for insecure hosts only, http, and learns the auth scheme).
 * EINVAL for a malformed host. */
struct mtk_registry *mtk_registry_new(const struct mtk_registry_opts *o, struct mtk_err **err);
void mtk_registry_free(struct mtk_registry *r); /* accepts NULL */
/* The host requests go to ("registry-1.docker.io" for docker.io); borrowed. */
const char *mtk_registry_host(const struct mtk_registry *r);
/* "http" or "https" once the first request went out, else NULL; borrowed. */
const char *mtk_registry_scheme(const struct mtk_registry *r);

/* Counters, for tests and benchmarks. */
struct mtk_registry_stats {
  int64_t requests;      /* HTTP requests sent (registry, token server and redirect targets) */
  int64_t token_fetches; /* token requests sent to the realm */
  int64_t retries;       /* requests/transfers repeated after a transient failure */
  int64_t resumes;       /* blob transfers continued with a Range request */
  int64_t redirects;     /* redirects followed */
  int64_t bytes_in;      /* blob bytes delivered to sinks */
};
void mtk_registry_get_stats(const struct mtk_registry *r, struct mtk_registry_stats *out);

/* ---------------------------------------------------------------- manifests */

/* GETs a manifest or index by tag or digest with MTK_REGISTRY_ACCEPT.  The
 * body (at most MTK_REGISTRY_MANIFEST_MAX) is verified: by digest, sha256 of
 * the body must equal ref; by tag, Docker-Content-Digest (when it is a sha256
 * digest) must equal sha256 of the body.  The media type is the Content-Type
 * (parameters dropped) or, when that is missing or generic, the body's
 * `mediaType`; both present and different is an error (CVE-2021-41190).
 * Outputs are owned by the caller; *body is NUL-terminated; any output may be
 * NULL.  Errors: MTK_E_PULL ("manifest unknown (MANIFEST_UNKNOWN)"), with a
 * `mtk login` hint on 401/403. */
int mtk_registry_get_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                              char **body, size_t *len, char **media_type, char **digest,
                              struct mtk_err **err);
/* HEAD of a manifest (does not count as a pull on Docker Hub): its digest
 * (Docker-Content-Digest; validated), media type and size.  Outputs may be
 * NULL.  A registry that sends no (valid) digest is an error (MTK_E_PULL). */
int mtk_registry_head_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                               char **media_type, char **digest, int64_t *size,
                               struct mtk_err **err);
/* PUTs a manifest (exact bytes, Content-Type media_type) under ref (tag or
 * digest) and checks that the registry's Docker-Content-Digest equals sha256
 * of body.  *digest_out (may be NULL) receives it, owned by the caller. */
int mtk_registry_put_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                              const char *media_type, const void *body, size_t len,
                              char **digest_out, struct mtk_err **err);

/* -------------------------------------------------------------------- blobs */

/* Receives the next n verified-so-far bytes of a blob.  Returns 0, or
 * negative with *err set to abort every transfer. */
typedef int (*mtk_registry_sink_cb)(void *ud, const void *buf, size_t n, struct mtk_err **err);
/* done of total bytes of digest have reached the sink (called on every write
 * and once at the end with done == total). */
typedef void (*mtk_registry_progress_cb)(void *ud, const char *digest, int64_t done, int64_t total);

struct mtk_registry_blob_req {
  const char *digest;        /* borrowed: "sha256:<64 hex>", validated before use */
  int64_t size;              /* the descriptor's size: more bytes are refused at once,
                                fewer are resumed */
  mtk_registry_sink_cb sink; /* where the bytes go, in order, each byte exactly once */
  void *sink_ud;             /* borrowed: passed to sink */
  bool sink_verifies;        /* the sink hashes and checks the digest itself (the store's
                                blob writer): skip the second SHA-256 here */
};

/* Downloads n blobs of repo, at most max_parallel at a time (0 = 3), each into
 * its sink.  Redirects (307 and friends) are followed by hand: to another
 * origin without the registry's Authorization, never from https to http, at
 * most 5 hops.  A dropped connection is resumed with `Range: bytes=<done>-`
 * (a 200 answer is skipped up to what the sink already has), 429/5xx and
 * network errors are retried with exponential backoff, max_attempts times in
 * a row without progress.  Size is enforced while streaming and the digest
 * checked at the end ("blob sha256:...: digest mismatch: got sha256:..."); on
 * any failure every transfer stops and the error is returned: the caller
 * discards what its sinks received.  progress may be NULL. */
int mtk_registry_get_blobs(struct mtk_registry *r, const char *repo,
                           const struct mtk_registry_blob_req *reqs, size_t n, int max_parallel,
                           mtk_registry_progress_cb progress, void *pud, struct mtk_err **err);
/* One small blob (a config) into memory: at most max bytes, *buf NUL-terminated
 * and owned by the caller; size -1 = unknown (then max caps it). */
int mtk_registry_get_blob_mem(struct mtk_registry *r, const char *repo, const char *digest,
                              int64_t size, size_t max, char **buf, size_t *len,
                              struct mtk_err **err);
/* HEAD of a blob: 1 exists (200, or a redirect), 0 absent (404), negative on
 * error.  *size (may be NULL) gets Content-Length when known, else -1. */
int mtk_registry_blob_exists(struct mtk_registry *r, const char *repo, const char *digest,
                             int64_t *size, struct mtk_err **err);

enum mtk_registry_push_result {
  MTK_REGISTRY_PUSHED = 0,  /* uploaded */
  MTK_REGISTRY_EXISTS = 1,  /* the registry had it (HEAD) */
  MTK_REGISTRY_MOUNTED = 2, /* cross-repository mount from mount_from */
};

/* Pushes the blob digest of size bytes read from fd (with pread, from offset
 * 0; fd is not moved or closed).  HEAD first (skip if present); with
 * mount_from ("team/base", same registry) a mount is tried, falling back to
 * an upload.  Monolithic: POST + PUT ?digest=.  Chunked: POST + PATCH of
 * opts.chunk_size bytes each (Content-Range start-end) + PUT ?digest=; a
 * failed PATCH is resumed from the registry's upload status (GET <Location>,
 * Range: 0-<last>), or restarted with a new session when that is gone
 * (distribution 2.8 ignores Content-Range and cancels a session addressed by
 * a stale Location: IMAGES.md §1.1-2,3).  The Location of the latest response
 * is always used (relative ones resolved).  Returns an mtk_registry_push_result
 * (>= 0) or negative. */
int mtk_registry_push_blob(struct mtk_registry *r, const char *repo, const char *digest,
                           int64_t size, int fd, const char *mount_from, bool chunked,
                           struct mtk_err **err);

/* -------------------------------------------------------- login and logout */

/* The config.json key of a registry host: "https://index.docker.io/v1/" for
 * docker.io, index.docker.io and registry-1.docker.io, else host. Borrowed/static. */
const char *mtk_registry_auth_key(const char *host);
/* The config.json path used for opts (auth_config, $DOCKER_CONFIG, ~/.docker).
 * Owned by the caller. */
char *mtk_registry_config_path(const char *auth_config);

/* `docker login`: checks username/password against o->host (GET /v2/ with
 * Basic, or a token request with them for Bearer registries; 401 ->
 * MTK_E_GENERIC "unauthorized: incorrect username or password"), then stores
 * them: through the credential helper configured for the host (credHelpers,
 * credsStore; a missing helper is an error and nothing is written), else as
 * base64 `auth` under auths[<key>] in config.json, written atomically with
 * mode 0600, other keys kept. */
int mtk_registry_login(const struct mtk_registry_opts *o, const char *username,
                       const char *password, struct mtk_err **err);
/* `docker logout`: erases the host's credentials (helper `erase` and/or the
 * auths entry).  Returns 1 when something was removed, 0 when not logged in. */
int mtk_registry_logout(const struct mtk_registry_opts *o, struct mtk_err **err);

MTK_DEFINE_AUTOPTR(mtk_registry, mtk_registry_free)

#endif
