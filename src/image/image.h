/* Images as the cli, the builder and the runtime use them: pull an image from
 * a registry and leave it ready to run (its layers unpacked into snapshots
 * keyed by chain ID, as `podman pull` leaves it), push one, save images to an
 * archive that is at once an OCI image layout and a `docker save` archive,
 * load either kind, import a rootfs tarball as a one-layer image, and the
 * checks `image rm`/`prune` need (which images containers use).
 *
 * Snapshots: snapshots/<ChainID(L1..Ln)>/fs holds the changes of layer n
 * only, in overlayfs form (whiteouts as 0/0 character devices, opaque
 * directories marked with the overlay xattr), so that the rootfs of an image
 * is the overlay mount lowerdir=fs(n):...:fs(1).  Layers unpack independently
 * and in parallel.  See docs/internals/image.md. */
#ifndef MTK_IMAGE_IMAGE_H
#define MTK_IMAGE_IMAGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/progress.h"
#include "image/store.h"
#include "mtk/err.h"

/* Registry access shared by pull and push. */
struct mtk_image_remote_opts {
  const char *auth_config; /* borrowed: config.json path; NULL = $DOCKER_CONFIG or ~/.docker */
  const char *insecure;    /* borrowed: comma-separated registry hosts allowed over plain
                              HTTP / unverified TLS (loopback is always allowed); or NULL */
  const volatile sig_atomic_t *cancel; /* borrowed: non-zero stops the transfer (SIGINT);
                                          the error then has code MTK_E_INTR; may be NULL */
  struct mtk_progress *progress;       /* borrowed: where progress goes; NULL = none */
};

struct mtk_image_ref;
struct mtk_registry;

/* A registry client for ref's registry with o's settings (pull.c; push uses
 * it too); chunk_size: bytes per PATCH of chunked pushes (0 = the client's
 * default).  NULL with *err set on a malformed host. */
struct mtk_registry *mtk_image_registry_new(const struct mtk_image_ref *ref,
                                            const struct mtk_image_remote_opts *o,
                                            int64_t chunk_size, struct mtk_err **err);

/* ------------------------------------------------------------------- pull */

struct mtk_image_pull_opts {
  struct mtk_image_remote_opts remote;
  const char *platform; /* borrowed: "linux/arm64"; NULL = the host's */
  int max_downloads;    /* layers downloaded at once; 0 = 6 */
  int max_unpacks;      /* layers unpacked at once; 0 = number of CPUs (at least 2) */
};

struct mtk_image_pull_result {
  char *ref;       /* owned: the fully qualified reference, "docker.io/library/busybox:latest" */
  char *digest;    /* owned: what the registry served for it (index or manifest digest) */
  char *manifest;  /* owned: the platform manifest stored and tagged */
  char *id;        /* owned: the image ID (config digest) */
  bool downloaded; /* something new was fetched or the name moved ("Downloaded newer
                      image") rather than "Image is up to date" */
  char *warning;   /* owned: a platform mismatch worth telling the user, or NULL */
  int64_t bytes;   /* bytes downloaded */
};

void mtk_image_pull_result_free(struct mtk_image_pull_result *r); /* fields only */

/* Pulls ref (any form `docker pull` accepts) into the store: manifest (index
 * -> the platform's manifest), config and layers fetched concurrently with
 * every digest verified, each layer unpacked into its snapshot as soon as its
 * blob is complete, the DiffID checked against the config, and only then the
 * name tagged.  Progress lines are docker's ("latest: Pulling from
 * library/busybox", one row per layer, "Digest:", "Status:").  On failure
 * nothing is tagged and no snapshot temp dir is left (verified blobs stay for
 * a retry; prune removes them).  Errors: MTK_E_PULL with the registry's
 * message and a hint, MTK_E_INTR when cancelled. */
int mtk_image_pull_ex(struct mtk_store *store, const char *ref,
                      const struct mtk_image_pull_opts *opts, struct mtk_image_pull_result *res,
                      struct mtk_err **err);
/* The short form for the builder and the runtime: the pulled image (resolved
 * from the store after tagging), owned by the caller; NULL on error. */
struct mtk_store_image *mtk_image_pull(struct mtk_store *store, const char *ref,
                                       const char *platform, struct mtk_progress *progress,
                                       struct mtk_err **err);

/* Makes sure every layer of the image whose manifest is manifest_digest
 * (stored, with its config and layer blobs; media_type: its descriptor's, or
 * NULL to take it from the document or the tag index) is unpacked into its snapshot,
 * max_workers at a time (0 = CPUs), each DiffID checked against the config.
 * Used by load and import.  progress (may be NULL) gets a row per layer. */
int mtk_image_unpack(struct mtk_store *store, const char *manifest_digest, const char *media_type,
                     int max_workers, struct mtk_progress *progress, struct mtk_err **err);

/* The overlay lowerdir of an image: the snapshot fs paths, top layer first,
 * joined with ':'.  Owned by the caller; NULL (ENOENT) when a snapshot is
 * missing. */
char *mtk_image_lowerdir(struct mtk_store *store, const char *manifest_digest,
                         const char *media_type, struct mtk_err **err);

/* ------------------------------------------------------------------- push */

struct mtk_image_push_opts {
  struct mtk_image_remote_opts remote;
  int64_t chunk_size; /* blobs larger than this go up in PATCH chunks of this size
                         (0 = 8 MiB); smaller ones in one PUT */
};

/* Pushes the local image named ref (a tag; "latest" when none) to its
 * registry: blobs the registry has are skipped, a blob that came from another
 * repository of the same registry is mounted from there, the others uploaded
 * (monolithic, or chunked above chunk_size); then the manifest, as stored,
 * under the tag.  Progress as `docker push`.  *digest_out / *size_out (may be
 * NULL) get the manifest digest and size ("1: digest: sha256:... size: 528").
 * The pushed digest is recorded as the image's repo digest.  Errors:
 * MTK_E_GENERIC with the registry's message. */
int mtk_image_push(struct mtk_store *store, const char *ref, const struct mtk_image_push_opts *opts,
                   char **digest_out, int64_t *size_out, struct mtk_err **err);

/* --------------------------------------------------------- save/load/import */

/* Writes one tar archive with the images named by refs (names, IDs or
 * digests) to fd: an OCI image layout (oci-layout, index.json with
 * io.containerd.image.name and org.opencontainers.image.ref.name annotations,
 * blobs/sha256/) that is also a `docker save` archive (manifest.json with
 * Config/RepoTags/Layers paths into blobs/, and `repositories`), as Docker 25
 * and later write it.  The bytes depend only on the images: entries sorted,
 * mtimes 0, uid/gid 0, no user names. */
int mtk_image_save(struct mtk_store *store, const char *const *refs, size_t n, int fd,
                   struct mtk_err **err);

/* One image brought in by load or import. */
struct mtk_image_loaded {
  char *name;     /* owned: familiar "name:tag" it was tagged with, or NULL (untagged) */
  char *id;       /* owned: image ID "sha256:<hex>" */
  char *manifest; /* owned: manifest digest */
};

/* Reads a `docker save` archive (manifest.json; any Docker version) or an OCI
 * image layout archive (skopeo's oci-archive, BuildKit's), plain or gzip/zstd
 * compressed, from fd; stores every blob verified, unpacks the layers, and
 * names the images as Docker does: RepoTags of manifest.json, else the
 * io.containerd.image.name annotation, else an org.opencontainers.image.ref.name
 * that holds a name and a tag ("team/lab:1"); a bare tag ("latest") names
 * nothing and the image loads untagged.  Index entries pick the host platform
 * (or platform, when not NULL).  *out gets one record per loaded name (or per
 * untagged image), owned by the caller (mtk_image_loaded_free). */
int mtk_image_load(struct mtk_store *store, int fd, const char *platform,
                   struct mtk_progress *progress, struct mtk_image_loaded **out, size_t *n,
                   struct mtk_err **err);
void mtk_image_loaded_free(struct mtk_image_loaded *l, size_t n);

struct mtk_image_import_opts {
  const char *ref;      /* borrowed: name to tag, or NULL (untagged) */
  const char *message;  /* borrowed: history comment; NULL = "Imported from <source>" */
  const char *source;   /* borrowed: what the comment calls the input ("-", a path) */
  const char *platform; /* borrowed: "os/arch[/variant]" of the config; NULL = host */
};

/* `docker import`: the tarball read from fd (plain, gzip, zstd, xz or bzip2)
 * becomes the single layer of a new image (gzip and zstd input is stored as
 * it is, anything else compressed with gzip), unpacked and tagged.  *id gets
 * the image ID, owned by the caller. */
int mtk_image_import(struct mtk_store *store, int fd, const struct mtk_image_import_opts *opts,
                     char **id, struct mtk_err **err);

/* ------------------------------------------------------------ containers */

/* Images containers use, for `image rm` and `prune`: the runtime records each
 * container under <root>/containers/<id>/config (JSON; its "Image" member
 * holds the image ID or manifest digest).  Until the runtime exists the
 * directory is absent and nothing is in use.  *ids (image IDs) and
 * *containers (the container IDs, same order) are owned by the caller; either
 * may be NULL. */
int mtk_image_in_use(const char *root, char ***ids, char ***containers, size_t *n,
                     struct mtk_err **err);
/* Frees a string array of n entries; accepts NULL. */
void mtk_image_strv_free(char **v, size_t n);

#endif
