/* Private to the image store files (store*.c): the store handle, the lock
 * helpers and the index.json access shared by tagging, listing and prune. */
#ifndef MTK_IMAGE_STORE_INTERNAL_H
#define MTK_IMAGE_STORE_INTERNAL_H

#include <pthread.h>

#include "image/store.h"

struct mtk_store {
  char *root;         /* owned: --root */
  char *dir;          /* owned: <root>/image */
  int dirfd;          /* owned: O_DIRECTORY on dir */
  int blobsfd;        /* owned: O_DIRECTORY on blobs/sha256 */
  int snapfd;         /* owned: O_DIRECTORY on snapshots */
  int tmpfd;          /* owned: O_DIRECTORY on tmp */
  int gcfd;           /* owned: gc.lock, shared-locked while leases > 0 */
  int leases;         /* leases held through this handle */
  int64_t blob_limit; /* cap for blobs of unknown size */
  pthread_mutex_t mu; /* guards leases */
};

/* Opens a fresh descriptor on <dir>/<name> and flocks it (LOCK_SH or
 * LOCK_EX).  A fresh open file description per call makes the lock exclude
 * other threads of this process too.  Returns the fd (close it to unlock). */
int mtk_store_flock(struct mtk_store *s, const char *name, int op, struct mtk_err **err);

/* index.json as a jansson object (caller holds the lock). */
int mtk_store_index_load(struct mtk_store *s, json_t **out, struct mtk_err **err);
/* Writes index.json atomically: temp file, fsync, rename, fsync of the dir. */
int mtk_store_index_save(struct mtk_store *s, json_t *index, struct mtk_err **err);

/* Writes buf to <dirfd>/<name> atomically (temp + fsync + rename). */
int mtk_store_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                           struct mtk_err **err);
/* n random lowercase hex characters + NUL into out (size >= n + 1). */
void mtk_store_random_hex(char *out, size_t n);

/* Reads (capped, verified) and parses a stored manifest. */
int mtk_store_manifest_load(struct mtk_store *s, const char *digest, const char *media_type,
                            struct mtk_manifest **m, struct mtk_err **err);
/* The string annotation key of an index entry, or NULL (borrowed). */
const char *mtk_store_entry_ann(json_t *entry, const char *key);

/* True when the index entry names an image by tag (not only by digest). */
bool mtk_store_entry_tagged(json_t *entry);

#endif
