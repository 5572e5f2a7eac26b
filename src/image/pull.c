/* `mtk image pull`: the orchestration of a pull (manifest, platform, config,
 * concurrent layer downloads, unpacking into snapshots, tagging last) and the
 * unpack worker pool that load and import share (mtk_image_unpack).
 *
 * Data path, chosen for speed: each layer is streamed once from the network
 * into the store's blob writer (hashed on the way, page cache only); the
 * moment its last byte arrives the blob is committed (digest verified) and an
 * unpack worker reads it back from the page cache, decompresses it and writes
 * the files.  Layers download concurrently on one curl multi handle and unpack
 * concurrently in worker threads, each into its own overlay snapshot, so a
 * layer's unpacking overlaps the other layers' downloads.  A tee (decompress
 * while downloading) would make the single curl thread wait for the slowest
 * decompressor, stalling every other transfer, or buffer without bound; the
 * second read costs a memcpy from the page cache, and the unpacker only ever
 * sees bytes whose digest was verified.  See docs/internals/image.md. */
#include "config.h"

#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/registry.h"
#include "image/unpack.h"
#include "util/strbuf.h"

#define DEFAULT_DOWNLOADS 6

/* ------------------------------------------------------------ the plan */

struct blob;

struct layer {
  const struct mtk_descriptor *desc; /* borrowed from the manifest */
  const char *diff_id;               /* borrowed from the config */
  char chain[MTK_DIGEST_SIZE];       /* ChainID(L1..Li) */
  char parent[MTK_DIGEST_SIZE];      /* ChainID(L1..Li-1), "" for the base */
  bool unpack;                       /* the snapshot is missing */
  struct blob *blob;                 /* borrowed: the blob it unpacks from */
};

struct blob {
  const char *digest;              /* borrowed */
  int64_t size;                    /* descriptor size */
  char id[13];                     /* short digest: the progress row */
  bool fetch;                      /* missing from the store: download it */
  struct mtk_store_blob_writer *w; /* owned: while downloading */
  int64_t done;                    /* bytes written */
  int pending;                     /* unpacks of this blob not finished (pool lock) */
  struct unpacker *u;              /* borrowed */
};

/* The worker pool: COMMIT jobs verify and store a downloaded blob, then queue
 * the unpacks of its layers; UNPACK jobs fill one snapshot. */
enum job_kind { JOB_COMMIT, JOB_UNPACK };

struct job {
  enum job_kind kind;
  size_t index; /* blob or layer index */
};

struct unpacker {
  struct mtk_store *store;       /* borrowed */
  struct mtk_progress *progress; /* borrowed, may be NULL */
  struct layer *layers;          /* owned */
  size_t n_layers;
  struct blob *blobs; /* owned: unique digests */
  size_t n_blobs;
  pthread_mutex_t mu; /* guards everything below */
  pthread_cond_t cv;
  struct job *queue; /* owned: FIFO */
  size_t q_head, q_len, q_cap;
  bool closing;                        /* no more jobs will come */
  volatile sig_atomic_t stop;          /* a job failed or the user cancelled */
  const volatile sig_atomic_t *cancel; /* borrowed: the user's flag, or NULL */
  struct mtk_err *err;                 /* owned: the first failure */
  pthread_t *threads;
  int n_threads;
  bool rootless;
};

static void short_id(const char *digest, char out[13])
{
  const char *hex = mtk_digest_hex(digest);
  snprintf(out, 13, "%s", hex ? hex : digest);
}

static void fail_locked(struct unpacker *u, struct mtk_err **e)
{
  if (!u->err && e && *e)
    u->err = mtk_steal_ptr(e);
  mtk_err_free(e);
  u->stop = 1;
  pthread_cond_broadcast(&u->cv);
}

static void push_job_locked(struct unpacker *u, enum job_kind kind, size_t index)
{
  if (u->q_len == u->q_cap) {
    size_t cap = u->q_cap ? u->q_cap * 2 : 16;
    struct job *q = mtk_xcalloc(cap, sizeof(*q));
    for (size_t i = 0; i < u->q_len; i++)
      q[i] = u->queue[(u->q_head + i) % u->q_cap];
    free(u->queue);
    u->queue = q;
    u->q_cap = cap;
    u->q_head = 0;
  }
  u->queue[(u->q_head + u->q_len++) % u->q_cap] = (struct job){kind, index};
  pthread_cond_signal(&u->cv);
}

static void push_job(struct unpacker *u, enum job_kind kind, size_t index)
{
  pthread_mutex_lock(&u->mu);
  push_job_locked(u, kind, index);
  pthread_mutex_unlock(&u->mu);
}

/* ------------------------------------------------------------ the jobs */

/* One layer into its snapshot; the DiffID must be the config's. */
static int unpack_layer(struct unpacker *u, struct layer *l, struct mtk_err **err)
{
  if (mtk_store_snapshot_has(u->store, l->chain))
    return 0; /* another process was faster */
  mtk_autoptr(mtk_store_snapshot_tx) tx = NULL;
  if (mtk_store_snapshot_begin(u->store, l->chain, &tx, err) < 0)
    return -1;
  mtk_autoclose int fd = mtk_store_blob_open(u->store, l->desc->digest, err);
  if (fd < 0)
    return -1;
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  struct mtk_unpack_opts o = {.mode = MTK_UNPACK_OVERLAY, .rootless = u->rootless};
  char got[MTK_DIGEST_SIZE];
  if (mtk_layer_unpack(fd, mtk_store_snapshot_tx_fd(tx), &o, got, err) < 0)
    return mtk_err_wrap(err, "layer %s", l->desc->digest);
  if (strcmp(got, l->diff_id) != 0)
    return mtk_err_set(err, MTK_E_INVALID,
                       "layer %s: its content does not match the image config: DiffID %s "
                       "expected, %s unpacked",
                       l->desc->digest, l->diff_id, got);
  if (mtk_store_snapshot_commit(mtk_steal_ptr(&tx), l->diff_id, l->parent[0] ? l->parent : NULL,
                                err) < 0)
    return -1;
  return 0;
}

static void blob_done_locked(struct unpacker *u, struct blob *b)
{
  if (--b->pending <= 0)
    mtk_progress_update(u->progress, b->id, MTK_PROGRESS_PULL_COMPLETE, 0, 0, NULL);
}

static int run_job(struct unpacker *u, struct job j, struct mtk_err **err)
{
  if (j.kind == JOB_COMMIT) {
    struct blob *b = &u->blobs[j.index];
    mtk_progress_update(u->progress, b->id, MTK_PROGRESS_VERIFYING, 0, 0, NULL);
    struct mtk_store_blob_writer *w = b->w;
    b->w = NULL;
    if (mtk_store_blob_commit(w, NULL, err) < 0)
      return -1;
    mtk_progress_update(u->progress, b->id, MTK_PROGRESS_DOWNLOADED, 0, 0, NULL);
    pthread_mutex_lock(&u->mu);
    bool any = false;
    for (size_t i = 0; i < u->n_layers; i++)
      if (u->layers[i].blob == b && u->layers[i].unpack) {
        push_job_locked(u, JOB_UNPACK, i);
        any = true;
      }
    if (!any)
      blob_done_locked(u, b);
    pthread_mutex_unlock(&u->mu);
    return 0;
  }
  struct layer *l = &u->layers[j.index];
  mtk_progress_update(u->progress, l->blob->id, MTK_PROGRESS_EXTRACTING, 0, 0, NULL);
  if (unpack_layer(u, l, err) < 0)
    return -1;
  pthread_mutex_lock(&u->mu);
  blob_done_locked(u, l->blob);
  pthread_mutex_unlock(&u->mu);
  return 0;
}

static void *worker(void *arg)
{
  struct unpacker *u = arg;
  pthread_mutex_lock(&u->mu);
  for (;;) {
    while (u->q_len == 0 && !u->closing && !u->stop) {
      /* Wake up now and then to notice the user's Ctrl-C. */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 100 * 1000 * 1000;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&u->cv, &u->mu, &ts);
      if (u->cancel && *u->cancel)
        u->stop = 1;
    }
    if (u->stop || u->q_len == 0)
      break;
    struct job j = u->queue[u->q_head];
    u->q_head = (u->q_head + 1) % u->q_cap;
    u->q_len--;
    pthread_mutex_unlock(&u->mu);
    struct mtk_err *e = NULL;
    int r = run_job(u, j, &e);
    pthread_mutex_lock(&u->mu);
    if (r < 0)
      fail_locked(u, &e);
  }
  pthread_cond_broadcast(&u->cv);
  pthread_mutex_unlock(&u->mu);
  return NULL;
}

static int default_workers(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 2 ? 2 : n > 16 ? 16 : (int) n;
}

static int pool_start(struct unpacker *u, int n, struct mtk_err **err)
{
  u->threads = mtk_xcalloc((size_t) n, sizeof(*u->threads));
  for (int i = 0; i < n; i++) {
    int e = pthread_create(&u->threads[i], NULL, worker, u);
    if (e != 0) {
      pthread_mutex_lock(&u->mu);
      u->stop = 1;
      pthread_cond_broadcast(&u->cv);
      pthread_mutex_unlock(&u->mu);
      return mtk_err_set(err, e, "starting unpack workers: %s", strerror(e));
    }
    u->n_threads++;
  }
  return 0;
}

/* Waits for the queued work (or stops it after a failure: stop = true) and
 * returns the first error. */
static int pool_finish(struct unpacker *u, bool stop, struct mtk_err **err)
{
  pthread_mutex_lock(&u->mu);
  u->closing = true;
  if (stop)
    u->stop = 1;
  pthread_cond_broadcast(&u->cv);
  pthread_mutex_unlock(&u->mu);
  for (int i = 0; i < u->n_threads; i++)
    pthread_join(u->threads[i], NULL);
  u->n_threads = 0;
  if (u->err) {
    *err = mtk_steal_ptr(&u->err);
    return -1;
  }
  if (u->stop && u->cancel && *u->cancel)
    return mtk_err_set(err, MTK_E_INTR, "interrupted");
  if (u->q_len > 0 && !stop)
    return mtk_err_set(err, EIO, "unpack workers stopped with work left");
  return 0;
}

static void unpacker_free(struct unpacker *u)
{
  for (size_t i = 0; i < u->n_blobs; i++)
    mtk_store_blob_abort(u->blobs[i].w);
  free(u->blobs);
  free(u->layers);
  free(u->queue);
  free(u->threads);
  mtk_err_free(&u->err);
  pthread_mutex_destroy(&u->mu);
  pthread_cond_destroy(&u->cv);
}

/* Builds the plan from a manifest and its config: chain IDs, which snapshots
 * are missing, which blobs must be fetched (unique digests). */
static int plan(struct unpacker *u, const struct mtk_manifest *m, const struct mtk_image_config *c,
                struct mtk_err **err)
{
  if (c->n_diff_ids != m->n_layers)
    return mtk_err_set(err, MTK_E_INVALID,
                       "the image config lists %zu layers (rootfs.diff_ids), the manifest %zu",
                       c->n_diff_ids, m->n_layers);
  u->layers = mtk_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*u->layers));
  u->blobs = mtk_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*u->blobs));
  u->n_layers = m->n_layers;
  for (size_t i = 0; i < m->n_layers; i++) {
    struct layer *l = &u->layers[i];
    l->desc = &m->layers[i];
    l->diff_id = c->diff_ids[i];
    if (!mtk_layer_compression(l->desc->media_type))
      return mtk_err_set(err, MTK_E_INVALID, "layer %s: unsupported media type \"%s\"",
                         l->desc->digest, l->desc->media_type);
    if (mtk_store_chain_id(i ? u->layers[i - 1].chain : NULL, l->diff_id, l->chain, err) < 0)
      return -1;
    if (i)
      memcpy(l->parent, u->layers[i - 1].chain, MTK_DIGEST_SIZE);
    l->unpack = !mtk_store_snapshot_has(u->store, l->chain);
    struct blob *b = NULL;
    for (size_t k = 0; k < u->n_blobs && !b; k++)
      if (strcmp(u->blobs[k].digest, l->desc->digest) == 0)
        b = &u->blobs[k];
    if (!b) {
      b = &u->blobs[u->n_blobs++];
      b->digest = l->desc->digest;
      b->size = l->desc->size;
      b->u = u;
      short_id(b->digest, b->id);
      b->fetch = !mtk_store_blob_has(u->store, b->digest);
    } else if (b->size != l->desc->size) {
      return mtk_err_set(err, MTK_E_INVALID, "layer %s listed twice with different sizes",
                         b->digest);
    }
    l->blob = b;
    b->pending += l->unpack;
  }
  return 0;
}

static void unpacker_init(struct unpacker *u, struct mtk_store *s, struct mtk_progress *p,
                          const volatile sig_atomic_t *cancel)
{
  memset(u, 0, sizeof(*u));
  u->store = s;
  u->progress = p;
  u->cancel = cancel;
  u->rootless = geteuid() != 0;
  pthread_mutex_init(&u->mu, NULL);
  pthread_cond_init(&u->cv, NULL);
}

/* Queues the unpacks that need no download and draws the first rows. */
static void queue_local(struct unpacker *u)
{
  for (size_t i = 0; i < u->n_blobs; i++) {
    struct blob *b = &u->blobs[i];
    if (b->fetch)
      mtk_progress_update(u->progress, b->id, MTK_PROGRESS_PULLING_FS, 0, 0, NULL);
    else if (b->pending == 0)
      mtk_progress_update(u->progress, b->id, MTK_PROGRESS_EXISTS, 0, 0, NULL);
    else
      mtk_progress_update(u->progress, b->id, MTK_PROGRESS_WAITING, 0, 0, NULL);
  }
  pthread_mutex_lock(&u->mu);
  for (size_t i = 0; i < u->n_layers; i++)
    if (u->layers[i].unpack && !u->layers[i].blob->fetch)
      push_job_locked(u, JOB_UNPACK, i);
  pthread_mutex_unlock(&u->mu);
}

/* ------------------------------------------------------------ downloads */

static int sink(void *ud, const void *buf, size_t n, struct mtk_err **err)
{
  struct blob *b = ud;
  struct unpacker *u = b->u;
  if (u->cancel && *u->cancel)
    return mtk_err_set(err, MTK_E_INTR, "interrupted");
  if (u->stop)
    return mtk_err_set(err, MTK_E_INTR, "stopped after an unpack failure");
  if (mtk_store_blob_write(b->w, buf, n, err) < 0)
    return -1;
  b->done += (int64_t) n;
  mtk_progress_update(u->progress, b->id, MTK_PROGRESS_DOWNLOADING, b->done, b->size, NULL);
  if (b->done == b->size)
    push_job(u, JOB_COMMIT, (size_t) (b - u->blobs));
  return 0;
}

/* Downloads the missing blobs into writers; completed ones go to the pool. */
static int download(struct unpacker *u, struct mtk_registry *r, const char *repo, int parallel,
                    int64_t *bytes, struct mtk_err **err)
{
  size_t n = 0;
  mtk_autofree struct mtk_registry_blob_req *reqs =
      mtk_xcalloc(u->n_blobs ? u->n_blobs : 1, sizeof(*reqs));
  for (size_t i = 0; i < u->n_blobs; i++) {
    struct blob *b = &u->blobs[i];
    if (!b->fetch)
      continue;
    if (mtk_store_blob_writer_new(u->store, b->digest, b->size, &b->w, err) < 0)
      return -1;
    if (b->size == 0) {
      push_job(u, JOB_COMMIT, i); /* nothing to download: the commit checks the digest */
      continue;
    }
    reqs[n++] = (struct mtk_registry_blob_req){
        .digest = b->digest, .size = b->size, .sink = sink, .sink_ud = b, .sink_verifies = true};
    *bytes += b->size;
  }
  if (n == 0)
    return 0;
  return mtk_registry_get_blobs(r, repo, reqs, n, parallel, NULL, NULL, err);
}

/* ------------------------------------------------------------ unpack API */

/* Reads a stored image: its manifest (media_type: the descriptor's, needed
 * when the document has no mediaType field; NULL = ask the tag index) and
 * config. */
static int load_image(struct mtk_store *s, const char *manifest_digest, const char *media_type,
                      struct mtk_manifest **m, struct mtk_image_config **c, struct mtk_err **err)
{
  mtk_autofree char *body = NULL, *cbody = NULL;
  size_t len = 0, clen = 0;
  mtk_autoptr(mtk_store_image) img = NULL;
  if (!media_type) {
    struct mtk_err *e = NULL;
    if (mtk_store_resolve(s, manifest_digest, &img, &e) == 0)
      media_type = img->media_type;
    mtk_err_free(&e);
  }
  if (mtk_store_blob_read(s, manifest_digest, MTK_STORE_MANIFEST_MAX, &body, &len, err) < 0)
    return -1;
  if (mtk_manifest_parse(body, len, media_type, m, err) < 0)
    return mtk_err_wrap(err, "manifest %s", manifest_digest);
  if ((*m)->kind != MTK_MANIFEST_IMAGE)
    return mtk_err_set(err, EINVAL, "%s is an index, not an image manifest", manifest_digest);
  if (mtk_store_blob_read(s, (*m)->config.digest, MTK_STORE_CONFIG_MAX, &cbody, &clen, err) < 0 ||
      mtk_image_config_parse(cbody, clen, c, err) < 0)
    return mtk_err_wrap(err, "config %s", (*m)->config.digest);
  return 0;
}

int mtk_image_unpack(struct mtk_store *store, const char *manifest_digest, const char *media_type,
                     int max_workers, struct mtk_progress *progress, struct mtk_err **err)
{
  mtk_autoptr(mtk_manifest) m = NULL;
  mtk_autoptr(mtk_image_config) c = NULL;
  if (load_image(store, manifest_digest, media_type, &m, &c, err) < 0)
    return -1;
  struct unpacker u;
  unpacker_init(&u, store, progress, NULL);
  int r = plan(&u, m, c, err);
  for (size_t i = 0; r == 0 && i < u.n_blobs; i++)
    if (u.blobs[i].fetch)
      r = mtk_err_set(err, ENOENT, "layer %s is not in the store", u.blobs[i].digest);
  if (r == 0) {
    queue_local(&u);
    int n = max_workers > 0 ? max_workers : default_workers();
    if (n > (int) u.n_layers)
      n = u.n_layers ? (int) u.n_layers : 1;
    r = pool_start(&u, n, err);
    struct mtk_err *perr = NULL;
    if (pool_finish(&u, r < 0, &perr) < 0 && r == 0) {
      *err = mtk_steal_ptr(&perr);
      r = -1;
    }
    mtk_err_free(&perr);
  }
  unpacker_free(&u);
  return r;
}

char *mtk_image_lowerdir(struct mtk_store *store, const char *manifest_digest,
                         const char *media_type, struct mtk_err **err)
{
  mtk_autoptr(mtk_manifest) m = NULL;
  mtk_autoptr(mtk_image_config) c = NULL;
  if (load_image(store, manifest_digest, media_type, &m, &c, err) < 0)
    return NULL;
  char chain[MTK_DIGEST_SIZE] = "";
  mtk_autofree char **paths = mtk_xcalloc(c->n_diff_ids + 1, sizeof(char *));
  for (size_t i = 0; i < c->n_diff_ids; i++) {
    char next[MTK_DIGEST_SIZE];
    if (mtk_store_chain_id(i ? chain : NULL, c->diff_ids[i], next, err) < 0)
      break;
    memcpy(chain, next, sizeof(chain));
    if (!mtk_store_snapshot_has(store, chain)) {
      mtk_err_set(err, ENOENT, "layer %zu of %s is not unpacked (snapshot %s)", i + 1,
                  manifest_digest, chain);
      break;
    }
    paths[i] = mtk_store_snapshot_path(store, chain);
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  bool ok = !err || !*err;
  for (size_t i = c->n_diff_ids; i-- > 0;) {
    if (ok)
      mtk_strbuf_addf(&sb, "%s%s", sb.len ? ":" : "", paths[i]);
    free(paths[i]);
  }
  if (!ok)
    return NULL;
  return sb.buf ? mtk_strbuf_steal(&sb) : mtk_xstrdup("");
}

/* ------------------------------------------------------------ pull */

void mtk_image_pull_result_free(struct mtk_image_pull_result *r)
{
  if (!r)
    return;
  free(r->ref);
  free(r->digest);
  free(r->manifest);
  free(r->id);
  free(r->warning);
  memset(r, 0, sizeof(*r));
}

/* True when host is one of the comma-separated names of list. */
static bool host_listed(const char *list, const char *host)
{
  size_t n = strlen(host);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t) (e - p) : strlen(p);
    while (len && (*p == ' ')) {
      p++;
      len--;
    }
    while (len && p[len - 1] == ' ')
      len--;
    if (len == n && strncmp(p, host, n) == 0)
      return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

struct mtk_registry *mtk_image_registry_new(const struct mtk_image_ref *ref,
                                            const struct mtk_image_remote_opts *o,
                                            int64_t chunk_size, struct mtk_err **err)
{
  struct mtk_registry_opts ro = {
      .host = ref->domain,
      .chunk_size = chunk_size,
      .insecure = host_listed(o ? o->insecure : NULL, ref->domain),
      .auth_config = o ? o->auth_config : NULL,
      .cancel = o ? o->cancel : NULL,
  };
  return mtk_registry_new(&ro, err);
}

/* What pull learnt from the registry before the layers. */
struct resolved {
  char *top_digest;           /* owned: what the tag or digest resolved to */
  char *manifest;             /* owned: the platform manifest digest */
  char *media_type;           /* owned: its media type */
  int64_t size;               /* its size */
  bool from_index;            /* picked from an index */
  struct mtk_manifest *m;     /* owned */
  struct mtk_image_config *c; /* owned */
};

static void resolved_free(struct resolved *v)
{
  free(v->top_digest);
  free(v->manifest);
  free(v->media_type);
  mtk_manifest_free(v->m);
  mtk_image_config_free(v->c);
}

/* The manifest for the platform: GET by tag or digest, then the index's entry. */
static int fetch_manifest(struct mtk_store *s, struct mtk_registry *r, const char *repo,
                          const char *want, const char *platform, struct resolved *v,
                          struct mtk_err **err)
{
  mtk_autofree char *body = NULL, *mt = NULL;
  size_t len = 0;
  if (mtk_registry_get_manifest(r, repo, want, &body, &len, &mt, &v->top_digest, err) < 0)
    return -1;
  if (mtk_manifest_parse(body, len, mt, &v->m, err) < 0)
    return -1;
  if (mtk_store_blob_put(s, body, len, NULL, err) < 0)
    return -1;
  if (v->m->kind == MTK_MANIFEST_IMAGE) {
    v->manifest = mtk_xstrdup(v->top_digest);
    v->media_type = mtk_xstrdup(v->m->media_type);
    v->size = (int64_t) len;
    return 0;
  }
  const struct mtk_descriptor *d = NULL;
  if (mtk_platform_match(v->m, platform, &d, err) < 0)
    return -1;
  /* d borrows from the index, which goes now: keep what is needed. */
  v->manifest = mtk_xstrdup(d->digest);
  v->media_type = mtk_xstrdup(d->media_type);
  v->size = d->size;
  v->from_index = true;
  mtk_manifest_free(v->m);
  v->m = NULL;
  free(body);
  free(mt);
  body = mt = NULL;
  if (mtk_registry_get_manifest(r, repo, v->manifest, &body, &len, &mt, NULL, err) < 0)
    return -1;
  if ((int64_t) len != v->size)
    return mtk_err_set(err, MTK_E_PULL, "manifest %s: %zu bytes, the index says %" PRId64,
                       v->manifest, len, v->size);
  if (mtk_manifest_parse(body, len, v->media_type, &v->m, err) < 0)
    return mtk_err_wrap(err, "manifest %s", v->manifest);
  if (v->m->kind != MTK_MANIFEST_IMAGE)
    return mtk_err_set(err, MTK_E_PULL, "manifest %s: an index inside an index is not supported",
                       v->manifest);
  return mtk_store_blob_put(s, body, len, NULL, err);
}

static int fetch_config(struct mtk_store *s, struct mtk_registry *r, const char *repo,
                        struct resolved *v, struct mtk_err **err)
{
  const struct mtk_descriptor *d = &v->m->config;
  mtk_autofree char *buf = NULL;
  size_t len = 0;
  if (d->size > MTK_STORE_CONFIG_MAX)
    return mtk_err_set(err, MTK_E_PULL, "config %s: %" PRId64 " bytes, more than the %d allowed",
                       d->digest, d->size, MTK_STORE_CONFIG_MAX);
  if (mtk_store_blob_has(s, d->digest)) {
    if (mtk_store_blob_read(s, d->digest, MTK_STORE_CONFIG_MAX, &buf, &len, err) < 0)
      return -1;
  } else {
    if (mtk_registry_get_blob_mem(r, repo, d->digest, d->size, MTK_STORE_CONFIG_MAX, &buf, &len,
                                  err) < 0)
      return -1;
    char got[MTK_DIGEST_SIZE];
    if (mtk_store_blob_put(s, buf, len, got, err) < 0)
      return -1;
    if (strcmp(got, d->digest) != 0)
      return mtk_err_set(err, MTK_E_PULL, "config %s: digest mismatch: got %s", d->digest, got);
  }
  if (mtk_image_config_parse(buf, len, &v->c, err) < 0)
    return mtk_err_wrap(err, "config %s", d->digest);
  return 0;
}

/* A single-platform image must be what --platform asked for; without
 * --platform a mismatch with the host is only a warning (as Docker). */
static int check_platform(const struct resolved *v, const char *platform, char **warning,
                          struct mtk_err **err)
{
  if (v->from_index || !v->c->os || !v->c->architecture)
    return 0;
  struct mtk_platform want = {0}, got = {.os = v->c->os,
                                         .architecture = v->c->architecture,
                                         .variant = v->c->variant};
  if (platform) {
    if (mtk_platform_parse(platform, &want, err) < 0)
      return -1;
  } else {
    mtk_platform_host(&want);
  }
  struct mtk_platform g = {0};
  g.os = mtk_xstrdup(got.os);
  g.architecture = mtk_xstrdup(got.architecture);
  g.variant = got.variant ? mtk_xstrdup(got.variant) : NULL;
  mtk_platform_normalize(&g);
  int r = 0;
  if (strcmp(g.os, want.os) != 0 || strcmp(g.architecture, want.architecture) != 0) {
    mtk_autofree char *w = mtk_platform_format(&want), *a = mtk_platform_format(&g);
    if (platform)
      r = mtk_err_set(err, MTK_E_PULL,
                      "image was found but does not match the specified platform: wanted %s, "
                      "actual: %s",
                      w, a);
    else
      *warning = mtk_xasprintf("The requested image's platform (%s) does not match the detected "
                               "host platform (%s) and no specific platform was requested",
                               a, w);
  }
  mtk_platform_free(&want);
  mtk_platform_free(&g);
  return r;
}

static int pull_layers(struct mtk_store *s, struct mtk_registry *r, const char *repo,
                       const struct resolved *v, const struct mtk_image_pull_opts *o,
                       int64_t *bytes, struct mtk_err **err)
{
  struct unpacker u;
  unpacker_init(&u, s, o->remote.progress, o->remote.cancel);
  int ret = plan(&u, v->m, v->c, err);
  if (ret == 0) {
    queue_local(&u);
    int workers = o->max_unpacks > 0 ? o->max_unpacks : default_workers();
    if (workers > (int) u.n_layers)
      workers = u.n_layers ? (int) u.n_layers : 1;
    ret = pool_start(&u, workers, err);
  }
  if (ret == 0) {
    int par = o->max_downloads > 0 ? o->max_downloads : DEFAULT_DOWNLOADS;
    struct mtk_err *derr = NULL;
    int d = download(&u, r, repo, par, bytes, &derr);
    struct mtk_err *perr = NULL;
    int p = pool_finish(&u, d < 0, &perr);
    /* A worker's failure explains a download stopped because of it. */
    if (p < 0 && perr && (d == 0 || perr->code != MTK_E_INTR)) {
      *err = perr;
      mtk_err_free(&derr);
      ret = -1;
    } else if (d < 0) {
      *err = derr;
      mtk_err_free(&perr);
      ret = -1;
    } else if (p < 0) {
      *err = perr;
      ret = -1;
    }
  } else {
    struct mtk_err *ignored = NULL;
    pool_finish(&u, true, &ignored);
    mtk_err_free(&ignored);
  }
  unpacker_free(&u);
  return ret;
}

/* Adds the reason and what to do to a failed pull. */
static int pull_error(struct mtk_store *s, const char *what, struct mtk_err **err)
{
  if (!err || !*err)
    return -1;
  int code = (*err)->code;
  if (code == ENOSPC || code == EFBIG || code == EDQUOT)
    mtk_err_hint(err,
                 "free space on the file system of %s (`mtk image prune` removes unused "
                 "images), then pull again",
                 mtk_store_dir(s));
  else if (code == EBADMSG || (code == MTK_E_INVALID && !(*err)->hint))
    mtk_err_hint(err, "the registry served content that does not match its digests; pull "
                      "again, or report it to the registry's operator");
  else if (code == MTK_E_PULL && !(*err)->hint && strstr((*err)->msg, "MANIFEST_UNKNOWN"))
    mtk_err_hint(err, "check the name and tag: the registry has no such image");
  if (code != MTK_E_INTR)
    (*err)->code = MTK_E_PULL;
  return mtk_err_wrap(err, "pull %s", what);
}

/* The name the image is tagged with: name:tag, or name@digest. */
static char *tag_name(const struct mtk_image_ref *ref)
{
  mtk_autofree char *name = mtk_image_ref_name(ref);
  if (ref->digest)
    return mtk_xasprintf("%s@%s", name, ref->digest);
  return mtk_xasprintf("%s:%s", name, ref->tag);
}

static int pull_resolved(struct mtk_store *s, struct mtk_registry *r,
                         const struct mtk_image_ref *ref, const struct mtk_image_pull_opts *o,
                         struct resolved *v, struct mtk_image_pull_result *res,
                         struct mtk_err **err)
{
  struct mtk_progress *pg = o->remote.progress;
  const char *want = ref->digest ? ref->digest : ref->tag;
  mtk_progress_line(pg, "%s: Pulling from %s", want, ref->path);
  if (fetch_manifest(s, r, ref->path, want, o->platform, v, err) < 0 ||
      fetch_config(s, r, ref->path, v, err) < 0 ||
      check_platform(v, o->platform, &res->warning, err) < 0)
    return -1;
  mtk_autoptr(mtk_store_image) before = NULL;
  struct mtk_err *ignored = NULL;
  if (mtk_store_resolve(s, res->ref, &before, &ignored) < 0)
    mtk_err_free(&ignored);
  if (pull_layers(s, r, ref->path, v, o, &res->bytes, err) < 0)
    return -1;
  if (mtk_store_tag_repo(s, res->ref, v->manifest, v->media_type, v->size, v->top_digest, err) < 0)
    return -1;
  res->downloaded = res->bytes > 0 || !before || strcmp(before->manifest_digest, v->manifest) != 0;
  res->digest = mtk_xstrdup(v->top_digest);
  res->manifest = mtk_xstrdup(v->manifest);
  res->id = mtk_xstrdup(v->m->config.digest);
  mtk_progress_line(pg, "Digest: %s", v->top_digest);
  return 0;
}

int mtk_image_pull_ex(struct mtk_store *store, const char *refstr,
                      const struct mtk_image_pull_opts *opts, struct mtk_image_pull_result *res,
                      struct mtk_err **err)
{
  static const struct mtk_image_pull_opts defaults = {0};
  const struct mtk_image_pull_opts *o = opts ? opts : &defaults;
  memset(res, 0, sizeof(*res));
  mtk_autoimageref ref = {0};
  if (mtk_image_ref_parse(refstr, &ref, err) < 0) {
    (*err)->code = MTK_E_PULL;
    return -1;
  }
  mtk_autofree char *familiar = mtk_image_ref_familiar_string(&ref);
  if (o->platform) {
    struct mtk_platform p = {0};
    int pr = mtk_platform_parse(o->platform, &p, err);
    mtk_platform_free(&p);
    if (pr < 0)
      return pull_error(store, familiar, err);
  }
  mtk_autoptr(mtk_registry) r = mtk_image_registry_new(&ref, &o->remote, 0, err);
  if (!r)
    return pull_error(store, familiar, err);
  res->ref = tag_name(&ref);
  if (mtk_store_lease(store, err) < 0)
    return pull_error(store, familiar, err);
  struct resolved v = {0};
  int ret = pull_resolved(store, r, &ref, o, &v, res, err);
  mtk_store_unlease(store);
  resolved_free(&v);
  if (ret < 0) {
    mtk_image_pull_result_free(res);
    return pull_error(store, familiar, err);
  }
  mtk_autofree char *fam = mtk_image_ref_familiar(&ref);
  mtk_progress_line(o->remote.progress, "Status: %s for %s%s%s",
                    res->downloaded ? "Downloaded newer image" : "Image is up to date", fam,
                    ref.digest ? "@" : ":", ref.digest ? ref.digest : ref.tag);
  return 0;
}

struct mtk_store_image *mtk_image_pull(struct mtk_store *store, const char *ref,
                                       const char *platform, struct mtk_progress *progress,
                                       struct mtk_err **err)
{
  struct mtk_image_pull_opts o = {.platform = platform, .remote = {.progress = progress}};
  struct mtk_image_pull_result res;
  if (mtk_image_pull_ex(store, ref, &o, &res, err) < 0)
    return NULL;
  struct mtk_store_image *img = NULL;
  int r = mtk_store_resolve(store, res.ref, &img, err);
  mtk_image_pull_result_free(&res);
  return r < 0 ? NULL : img;
}
