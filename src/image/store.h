/* The image store: content-addressed blobs, the tag index, snapshot
 * directories keyed by chain ID, locking and prune, plus the manifest,
 * platform and config parsers that pull, push, load and build share.
 *
 * On disk, under <root>/image/ (root = --root, default /var/lib/mtk), the
 * store is an OCI image layout (ispec image-layout.md) with extra entries:
 *   oci-layout                  {"imageLayoutVersion":"1.0.0"}
 *   index.json                  the tag index (one descriptor per name or untagged image)
 *   blobs/sha256/<hex>          verified content, never half-written
 *   snapshots/<chainid hex>/    unpacked layers (fs/ + the `complete` marker)
 *   tmp/                        blobs being written (O_TMPFILE, or named temp files)
 *   lock                        flock: shared = read the index, exclusive = write it
 *   gc.lock                     flock: shared = a pull/load/build in progress (lease),
 *                               exclusive = prune
 * See docs/internals/image-store.md. */
#ifndef MTK_IMAGE_STORE_H
#define MTK_IMAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"
#include "util/cleanup.h"
#include "util/sha256.h"

/* Media types (ispec media-types.md, Docker manifest-v2-2.md). */
#define MTK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MTK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MTK_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MTK_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MTK_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MTK_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MTK_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define MTK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MTK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MTK_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MTK_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MTK_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Annotations of index.json entries. */
#define MTK_ANN_REF_NAME "org.opencontainers.image.ref.name" /* fully qualified reference */
#define MTK_ANN_REPO_DIGEST "io.mtk.image.repo-digest" /* digest the registry gave for the tag */
#define MTK_ANN_CONFIG "io.mtk.image.config"           /* config digest = image ID (a cache) */

/* Caps (SECURITY.md §2.7). */
#define MTK_STORE_MANIFEST_MAX (4 * 1024 * 1024)
#define MTK_STORE_CONFIG_MAX (8 * 1024 * 1024)

/* ------------------------------------------------------------------ store */

struct mtk_store; /* opaque */

/* Opens (creating it when missing) the store under <root>/image/.  root NULL
 * = MTK_DEFAULT_ROOT.  Checks or writes oci-layout and an empty index.json. */
int mtk_store_open(const char *root, struct mtk_store **out, struct mtk_err **err);
/* Closes the store (drops any lease this handle still holds); accepts NULL. */
void mtk_store_close(struct mtk_store *s);
/* "<root>/image" (borrowed). */
const char *mtk_store_dir(const struct mtk_store *s);
/* Largest blob a writer with unknown size accepts (default 64 GiB); a write
 * past it fails as a full disk would (ENOSPC-like, code EFBIG). */
void mtk_store_set_blob_limit(struct mtk_store *s, int64_t max_bytes);

/* A lease keeps prune away while a pull/load/build writes blobs and
 * snapshots that no tag references yet: shared flock on gc.lock, counted per
 * handle (nested calls are fine).  Writers and snapshot transactions take
 * one implicitly for their own lifetime; a pull takes one from its first
 * blob to its mtk_store_tag. */
int mtk_store_lease(struct mtk_store *s, struct mtk_err **err);
void mtk_store_unlease(struct mtk_store *s);

/* ------------------------------------------------------------------ blobs */

struct mtk_store_blob_writer; /* opaque */

/* Starts a blob.  expected_digest (validated, or NULL when unknown) and
 * expected_size (-1 when unknown) are checked at commit; a known size also
 * caps the writes (one byte more is an error at once). */
int mtk_store_blob_writer_new(struct mtk_store *s, const char *expected_digest,
                              int64_t expected_size, struct mtk_store_blob_writer **out,
                              struct mtk_err **err);
/* Appends n bytes (hashing them).  On error the writer stays valid only for abort. */
int mtk_store_blob_write(struct mtk_store_blob_writer *w, const void *buf, size_t n,
                         struct mtk_err **err);
/* Bytes written so far (where a Range request resumes). */
int64_t mtk_store_blob_written(const struct mtk_store_blob_writer *w);
/* Throws away what was written (a retry from byte 0). */
int mtk_store_blob_reset(struct mtk_store_blob_writer *w, struct mtk_err **err);
/* Verifies size and digest, fsyncs and links the blob at blobs/sha256/<hex>
 * (a blob already there from another process is kept, this copy dropped).
 * On mismatch nothing is stored and the error reads
 * "digest mismatch for <expected>: got <actual>" (or "size mismatch for ...").
 * digest_out (may be NULL) receives the digest.  Frees w in every case. */
int mtk_store_blob_commit(struct mtk_store_blob_writer *w, char digest_out[MTK_DIGEST_SIZE],
                          struct mtk_err **err);
/* Discards an uncommitted blob and frees w; accepts NULL. */
void mtk_store_blob_abort(struct mtk_store_blob_writer *w);

/* True when blobs/sha256/<hex> exists (digest validated first). */
bool mtk_store_blob_has(struct mtk_store *s, const char *digest);
/* Path of a blob (owned by caller), or NULL for an invalid digest.  Existence not checked. */
char *mtk_store_blob_path(struct mtk_store *s, const char *digest);
/* Size of a stored blob, or -1 (ENOENT) with *err set. */
int64_t mtk_store_blob_size(struct mtk_store *s, const char *digest, struct mtk_err **err);
/* Opens a blob read-only (O_CLOEXEC); returns the fd or -1 (ENOENT when absent). */
int mtk_store_blob_open(struct mtk_store *s, const char *digest, struct mtk_err **err);
/* Stores a small blob from memory (manifests, configs); digest_out may be NULL. */
int mtk_store_blob_put(struct mtk_store *s, const void *buf, size_t n,
                       char digest_out[MTK_DIGEST_SIZE], struct mtk_err **err);
/* Reads a blob of at most max bytes and verifies its digest; *buf is
 * NUL-terminated (one byte past *len), owned by caller. */
int mtk_store_blob_read(struct mtk_store *s, const char *digest, size_t max, char **buf,
                        size_t *len, struct mtk_err **err);

/* ------------------------------------------------------------------ images */

struct mtk_store_image {
  char **refs;           /* owned: fully qualified references ("docker.io/library/python:3"),
                            sorted; none for an untagged image */
  size_t n_refs;         /* number of refs */
  char **repo_digests;   /* owned: "docker.io/library/python@sha256:..." (the digest the
                            registry gave, index or manifest), sorted, unique */
  size_t n_repo_digests; /* number of repo_digests */
  char *manifest_digest; /* owned: the platform manifest */
  char *media_type;      /* owned: its media type */
  int64_t manifest_size; /* its size */
  char *id;              /* owned: config digest = image ID ("sha256:<hex>") */
  char *created;         /* owned: config `created` as written (RFC 3339), or NULL */
  int64_t created_unix;  /* the same in seconds since the epoch, 0 when unknown */
  int64_t size;          /* sum of the layer sizes of the manifest */
  char *os;              /* owned: config os, or NULL */
  char *architecture;    /* owned: config architecture, or NULL */
  char *variant;         /* owned: config variant, or NULL */
};

/* Frees one image (and the struct); accepts NULL. */
void mtk_store_image_free(struct mtk_store_image *img);
/* Frees an array from mtk_store_list. */
void mtk_store_images_free(struct mtk_store_image *imgs, size_t n);

/* Points ref (any form mtk_image_ref_parse accepts; normalised; a digest-only
 * ref is allowed) at an image manifest whose blob must already be stored.
 * media_type is its descriptor's (needed when the manifest has no mediaType
 * field, as umoci writes them); size -1 = not checked.  A name
 * that pointed elsewhere moves; the image it left keeps an untagged entry
 * when nothing else names it (a dangling image, as Docker shows <none>).
 * ref NULL records the manifest as an untagged image (`load` of an unnamed
 * image).  Exclusive lock, atomic rewrite of index.json. */
int mtk_store_tag(struct mtk_store *s, const char *ref, const char *manifest_digest,
                  const char *media_type, int64_t size, struct mtk_err **err);
/* Same, also recording repo_digest (the digest the registry served for the
 * tag: the index for a multi-platform image) for `image ls --digests`. */
int mtk_store_tag_repo(struct mtk_store *s, const char *ref, const char *manifest_digest,
                       const char *media_type, int64_t size, const char *repo_digest,
                       struct mtk_err **err);
/* Removes the name ref.  When it was the image's last name the image entry
 * goes too (as `docker rmi name`); its blobs stay until prune.  To keep an
 * image a container still uses (`rmi -f`), re-add it untagged with
 * mtk_store_tag(s, NULL, ...).  ENOENT when no such name.  *removed_id (may
 * be NULL) receives the image ID when the image itself was removed, else
 * NULL; owned by caller. */
int mtk_store_untag(struct mtk_store *s, const char *ref, char **removed_id, struct mtk_err **err);
/* Removes every entry of the image with this manifest digest (`rmi <id>`). */
int mtk_store_remove(struct mtk_store *s, const char *manifest_digest, struct mtk_err **err);

/* Finds an image as `docker inspect` does: by reference (name[:tag] or
 * name@digest, normalised), then by full "sha256:<hex>" or bare 64-hex
 * image ID or manifest digest, then by a unique prefix of the image ID
 * ("3fe2a1", as `docker images` shows).  ENOENT: "No such image: <s>";
 * an ambiguous prefix is EINVAL. *out owned by caller. */
int mtk_store_resolve(struct mtk_store *s, const char *ref_or_id, struct mtk_store_image **out,
                      struct mtk_err **err);
/* Every image (one per manifest digest; untagged ones included), newest first. */
int mtk_store_list(struct mtk_store *s, struct mtk_store_image **out, size_t *n,
                   struct mtk_err **err);

/* Removes untagged images not in keep_ids (image IDs or manifest digests
 * that containers use), then every blob and snapshot that no remaining image
 * references, and temp files older than an hour.  Waits for running
 * leases.  *freed_bytes (may be NULL) gets the bytes removed. */
int mtk_store_prune(struct mtk_store *s, const char *const *keep_ids_in_use, size_t n_keep,
                    int64_t *freed_bytes, struct mtk_err **err);

/* -------------------------------------------------------------- snapshots */

/* ChainID (ispec config.md): ChainID(L1) = DiffID(L1);
 * ChainID(L1..Ln) = sha256(ChainID(L1..Ln-1) + " " + DiffID(Ln)).
 * parent_chain NULL for the first layer.  -1 (EINVAL) on an invalid digest. */
int mtk_store_chain_id(const char *parent_chain, const char *diff_id, char out[MTK_DIGEST_SIZE],
                       struct mtk_err **err);
/* "<root>/image/snapshots/<hex>/fs": the directory overlayfs mounts.  Owned by
 * caller; NULL for an invalid chain ID.  Existence not checked. */
char *mtk_store_snapshot_path(struct mtk_store *s, const char *chain_id);
/* True when the snapshot exists and is complete. */
bool mtk_store_snapshot_has(struct mtk_store *s, const char *chain_id);

struct mtk_store_snapshot_tx; /* opaque */

/* Starts a snapshot: creates snapshots/tmp-<random>/fs for the unpacker to fill. */
int mtk_store_snapshot_begin(struct mtk_store *s, const char *chain_id,
                             struct mtk_store_snapshot_tx **out, struct mtk_err **err);
/* The directory to fill (borrowed, valid until commit/abort) and an
 * O_DIRECTORY fd on it (borrowed, closed at commit/abort). */
const char *mtk_store_snapshot_tx_path(const struct mtk_store_snapshot_tx *tx);
int mtk_store_snapshot_tx_fd(const struct mtk_store_snapshot_tx *tx);
/* Writes the `complete` marker (with the given diff ID and parent chain ID
 * for the record, either may be NULL) last, then renames the temp directory
 * into snapshots/<hex>.  When another process committed the same chain ID
 * first, this copy is removed and the call succeeds.  Frees tx. */
int mtk_store_snapshot_commit(struct mtk_store_snapshot_tx *tx, const char *diff_id,
                              const char *parent_chain, struct mtk_err **err);
/* Removes the temp directory and frees tx; accepts NULL. */
void mtk_store_snapshot_abort(struct mtk_store_snapshot_tx *tx);

/* Removes name under dirfd recursively without following any symlink
 * (snapshot trees hold hostile links).  Missing is not an error.  Adds the
 * bytes freed to *freed (may be NULL). */
int mtk_store_remove_tree(int dirfd, const char *name, int64_t *freed, struct mtk_err **err);

/* ------------------------------------------------- manifests and platforms */

struct mtk_platform {
  char *os;           /* owned: "linux" */
  char *architecture; /* owned: "amd64", "arm64", "arm" */
  char *variant;      /* owned: "v7", or NULL */
  char *os_version;   /* owned: or NULL */
  char **os_features; /* owned: or NULL */
  size_t n_os_features;
};

struct mtk_descriptor {
  char *media_type;              /* owned */
  char *digest;                  /* owned: validated "sha256:<hex>" */
  int64_t size;                  /* >= 0 */
  struct mtk_platform *platform; /* owned: or NULL */
  json_t *annotations;           /* owned reference: object or NULL */
  char **urls;                   /* owned: foreign layers' urls, or NULL */
  size_t n_urls;
  char *artifact_type; /* owned: or NULL */
};

enum mtk_manifest_kind {
  MTK_MANIFEST_IMAGE = 1, /* OCI image manifest or Docker schema2 */
  MTK_MANIFEST_INDEX = 2, /* OCI index or Docker manifest list */
};

struct mtk_manifest {
  enum mtk_manifest_kind kind;
  char *media_type;              /* owned: the effective media type */
  struct mtk_descriptor config;  /* image: the config descriptor */
  struct mtk_descriptor *layers; /* owned: image: the layers, base first */
  size_t n_layers;
  struct mtk_descriptor *manifests; /* owned: index: every entry (unknown types kept) */
  size_t n_manifests;
  struct mtk_descriptor *subject; /* owned: or NULL */
  json_t *annotations;            /* owned reference: or NULL */
  json_t *json;                   /* owned reference: the whole document */
};

/* Parses a manifest or index.  content_type (may be NULL; parameters after
 * ';' ignored) is the HTTP Content-Type or the descriptor's media type.
 * The media type comes from the `mediaType` field, else content_type; both
 * present and different is an error, and so is a document carrying
 * `manifests` together with `config`/`layers` (CVE-2021-41190).  Schema 1
 * and unknown types are refused.  Every digest is validated. */
int mtk_manifest_parse(const void *buf, size_t len, const char *content_type,
                       struct mtk_manifest **out, struct mtk_err **err);
void mtk_manifest_free(struct mtk_manifest *m);
/* True for the four manifest/index media types. */
bool mtk_manifest_media_type_known(const char *media_type);
bool mtk_manifest_media_type_is_index(const char *media_type);
/* Layer media type -> "gzip", "zstd", "" (plain tar), NULL (not a layer type). */
const char *mtk_layer_compression(const char *media_type);

/* "os/arch[/variant]" -> normalised platform (x86_64 -> amd64, aarch64 ->
 * arm64, arm64/v8 -> arm64, arm -> arm/v7 ...); EINVAL when malformed. */
int mtk_platform_parse(const char *s, struct mtk_platform *out, struct mtk_err **err);
/* The host's platform, normalised. */
void mtk_platform_host(struct mtk_platform *out);
/* Normalises in place (containerd platforms.Normalize). */
void mtk_platform_normalize(struct mtk_platform *p);
/* "os/arch[/variant]", owned by caller. */
char *mtk_platform_format(const struct mtk_platform *p);
void mtk_platform_free(struct mtk_platform *p); /* frees the fields; accepts zeroed */
/* Picks the manifest of index for platform ("linux/arm64", NULL = the host)
 * as containerd's default matcher: os and architecture equal after
 * normalisation, variants by the fallback order (amd64 v3>v2>v1, arm
 * v8>v7>v6>v5, arm64 then arm for an arm64 host), the best rank and then the
 * first entry winning; unknown/unknown attestation entries and unknown media
 * types skipped.  *desc borrows from index.  ENOENT names the platforms seen. */
int mtk_platform_match(const struct mtk_manifest *index, const char *platform,
                       const struct mtk_descriptor **desc, struct mtk_err **err);

/* ----------------------------------------------------------- image config */

struct mtk_image_config {
  json_t *json;    /* owned reference: the whole document */
  char **diff_ids; /* owned: rootfs.diff_ids, validated */
  size_t n_diff_ids;
  char *created;        /* owned: or NULL */
  int64_t created_unix; /* 0 when absent or unparseable */
  char *os;             /* owned: or NULL */
  char *architecture;   /* owned: or NULL */
  char *variant;        /* owned: or NULL */
  char *user;           /* owned: config.User or NULL */
  char *working_dir;    /* owned: config.WorkingDir or NULL */
  char *stop_signal;    /* owned: config.StopSignal or NULL */
  char **env;           /* owned: config.Env ("K=V"), or NULL */
  size_t n_env;
  char **entrypoint; /* owned: config.Entrypoint, NULL when null/absent */
  size_t n_entrypoint;
  char **cmd; /* owned: config.Cmd, NULL when null/absent */
  size_t n_cmd;
  json_t *config; /* borrowed from json: the "config" object, or NULL
                     (Labels, ExposedPorts, Volumes, Healthcheck, ...) */
};

/* Parses an image config (Docker and OCI share the format).  Types are
 * checked; diff_ids must be valid sha256 digests. */
int mtk_image_config_parse(const void *buf, size_t len, struct mtk_image_config **out,
                           struct mtk_err **err);
void mtk_image_config_free(struct mtk_image_config *c);
/* RFC 3339 -> seconds since the epoch; -1 when malformed. */
int64_t mtk_image_time_parse(const char *s);

MTK_DEFINE_AUTOPTR(mtk_store, mtk_store_close)
MTK_DEFINE_AUTOPTR(mtk_store_image, mtk_store_image_free)
MTK_DEFINE_AUTOPTR(mtk_store_blob_writer, mtk_store_blob_abort)
MTK_DEFINE_AUTOPTR(mtk_store_snapshot_tx, mtk_store_snapshot_abort)
MTK_DEFINE_AUTOPTR(mtk_manifest, mtk_manifest_free)
MTK_DEFINE_AUTOPTR(mtk_image_config, mtk_image_config_free)

#endif
