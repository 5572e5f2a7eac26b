/* Progress of pulls, pushes and loads, drawn as `docker pull` draws it: on a
 * terminal one line per layer ("fe2a4184b0c5: Downloading [====>   ]
 * 1.2MB/3.4MB  8.1MB/s"), redrawn in place; elsewhere one plain line per layer
 * once it is finished ("fe2a4184b0c5: Pull complete"), so logs stay short.
 *
 * The library reports; the cli decides where the text goes (the stream given
 * to mtk_progress_new) and whether there is any (a NULL progress makes every
 * call a no-op, which is what `pull -q` uses).  Calls are thread safe: the
 * download loop and the unpack workers report at the same time. */
#ifndef MTK_IMAGE_PROGRESS_H
#define MTK_IMAGE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/cleanup.h"

/* The states of a layer row, with Docker's words. */
enum mtk_progress_state {
  MTK_PROGRESS_PULLING_FS = 0, /* "Pulling fs layer" */
  MTK_PROGRESS_WAITING,        /* "Waiting" */
  MTK_PROGRESS_DOWNLOADING,    /* "Downloading" + bar, bytes and speed */
  MTK_PROGRESS_VERIFYING,      /* "Verifying Checksum" */
  MTK_PROGRESS_DOWNLOADED,     /* "Download complete" */
  MTK_PROGRESS_EXTRACTING,     /* "Extracting" + elapsed time */
  MTK_PROGRESS_PULL_COMPLETE,  /* "Pull complete" (final) */
  MTK_PROGRESS_EXISTS,         /* "Already exists" (final) */
  MTK_PROGRESS_PREPARING,      /* "Preparing" */
  MTK_PROGRESS_PUSHING,        /* "Pushing" + bar */
  MTK_PROGRESS_PUSHED,         /* "Pushed" (final) */
  MTK_PROGRESS_LAYER_EXISTS,   /* "Layer already exists" (final) */
  MTK_PROGRESS_MOUNTED,        /* "Mounted from <detail>" (final) */
  MTK_PROGRESS_LOADING,        /* "Loading layer" + bar */
  MTK_PROGRESS_LOADED,         /* "Loading layer" done (final) */
  MTK_PROGRESS_FAILED,         /* "<detail>" or "Failed" (final) */
};

struct mtk_progress; /* opaque */

/* A renderer writing to out (borrowed; flushed after every change).  tty:
 * redraw rows in place with ANSI cursor moves; otherwise plain lines. */
struct mtk_progress *mtk_progress_new(FILE *out, bool tty);
/* Moves the cursor below the rows and frees p; accepts NULL. */
void mtk_progress_free(struct mtk_progress *p);

/* A line that belongs to no row ("latest: Pulling from library/busybox",
 * "Digest: sha256:..."), printed in order with the rows.  p may be NULL. */
void mtk_progress_line(struct mtk_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the state of row id (created on first use, in order; id is shown as
 * given, usually the 12 first hex digits of a digest).  done/total are bytes
 * for the states with a bar (total <= 0: bytes only); detail is the "from"
 * of MOUNTED or the message of FAILED (may be NULL).  p may be NULL. */
void mtk_progress_update(struct mtk_progress *p, const char *id, enum mtk_progress_state state,
                         int64_t done, int64_t total, const char *detail);

/* The words of a state ("Pull complete"), static. */
const char *mtk_progress_state_text(enum mtk_progress_state state);
/* Docker's sizes (go-units): decimal units, precision significant digits
 * ("4.26MB" with 3, "4.261MB" with 4, HumanSize).  Writes into buf. */
const char *mtk_progress_human_size(double bytes, int precision, char buf[32]);
/* go-units HumanDuration: "Less than a second", "About a minute", "3 weeks"...
 * Writes into buf. */
const char *mtk_progress_human_duration(int64_t seconds, char buf[48]);

MTK_DEFINE_AUTOPTR(mtk_progress, mtk_progress_free)

#endif
