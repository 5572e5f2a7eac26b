/* The supervisor's parts shared between its files (not for cli/): the
 * reaper (one SIGCHLD handle, a pid table and an early-exit cache), the
 * k8s-file log writer and the line splitter, Docker's restart back-off, the
 * terminal helpers (console socket, raw mode, window size) and the fd relay. */
#ifndef MTK_SUP_INTERNAL_H
#define MTK_SUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <uv.h>

#include "mtk/err.h"
#include "net/net.h"
#include "runtime/container.h"
#include "runtime/runtime.h"
#include "sup/sup.h"
#include "util/strbuf.h"

/* ----------------------------------------------------------------- reaper */

/* Called with the raw wait status of a child that exited. */
typedef void (*mtk_sup_exit_fn)(void *data, pid_t pid, int status);

/* How many exits of unwatched children are remembered (oldest dropped):
 * the orphans the runtime leaves (its double fork) fill it too. */
#define MTK_SUP_REAPER_CACHE 64

struct mtk_sup_watch {
  pid_t pid;
  mtk_sup_exit_fn cb;
  void *data;
  bool ready; /* the exit came from the cache: delivered by the replay timer */
  int status;
};

struct mtk_sup_reaper {
  uv_signal_t sigchld;
  uv_timer_t replay;       /* delivers cached exits outside of watch() */
  struct mtk_sup_watch *w; /* owned: the pid table */
  size_t n_w, cap_w;
  struct {
    pid_t pid;
    int status;
  } cache[MTK_SUP_REAPER_CACHE]; /* exits nobody watched yet: a ring */
  size_t cache_head, cache_n;
  size_t handles;                           /* open uv handles (2 after init) */
  void (*closed)(struct mtk_sup_reaper *r); /* called once both handles closed, or NULL */
};

/* Installs the SIGCHLD handle (and reaps what already exited). */
int mtk_sup_reaper_init(struct mtk_sup_reaper *r, uv_loop_t *loop, struct mtk_err **err);
/* Calls cb once `pid` exited, from the loop, never from inside this call
 * (an exit already reaped is taken from the cache and delivered by a timer). */
void mtk_sup_reaper_watch(struct mtk_sup_reaper *r, pid_t pid, mtk_sup_exit_fn cb, void *data);
/* Forgets a watch (its exit, if it comes, goes to the cache). */
void mtk_sup_reaper_unwatch(struct mtk_sup_reaper *r, pid_t pid);
/* waitpid(-1, WNOHANG) until nothing is left: watched exits are dispatched,
 * others cached.  The SIGCHLD handle calls it; callable any time. */
void mtk_sup_reaper_reap(struct mtk_sup_reaper *r);
/* Takes a cached exit of pid; false when none. */
bool mtk_sup_reaper_take(struct mtk_sup_reaper *r, pid_t pid, int *status);
/* Closes the handles; r->closed (if set) runs when they are closed. */
void mtk_sup_reaper_close(struct mtk_sup_reaper *r);

/* A wait status as Docker's exit code: the status, or 128+signal. */
int mtk_sup_exit_code(int status);

/* -------------------------------------------------------------------- log */

/* `ts` as the log's time: RFC 3339 in UTC with 9 fraction digits. */
void mtk_sup_log_ts(const struct timespec *ts, char out[40]);

/* Appends the k8s-file records of one read chunk to sb: one record per line
 * ("<ts> <stdout|stderr> F <text>\n"), the text after the last newline as a
 * partial record ("P"); an empty chunk adds nothing.  stream 1 = stdout,
 * 2 = stderr. */
void mtk_sup_log_format(struct mtk_strbuf *sb, const char *ts, int stream, const char *buf,
                        size_t len);

struct mtk_sup_log {
  int fd;               /* O_APPEND, or -1 */
  struct mtk_strbuf sb; /* the records of the chunk being written */
  int error;            /* the first write errno (the log then stops, the container does not) */
};

/* Opens (creates, appends to) the log at path. */
int mtk_sup_log_open(struct mtk_sup_log *l, const char *path, struct mtk_err **err);
/* Writes the chunk's records with one timestamp (now) in one write. */
void mtk_sup_log_write(struct mtk_sup_log *l, int stream, const char *buf, size_t len);
/* fsync and close (the exit path calls it before the state says exited). */
void mtk_sup_log_close(struct mtk_sup_log *l);

/* Whole lines out of chunks, for callbacks; a line longer than the cap is
 * cut into pieces of the cap. */
#define MTK_SUP_LINE_MAX 16384
typedef void (*mtk_sup_line_fn)(void *data, const char *line, size_t len);
struct mtk_sup_lines {
  struct mtk_strbuf partial; /* the text after the last newline */
};
void mtk_sup_lines_feed(struct mtk_sup_lines *l, const char *buf, size_t len, mtk_sup_line_fn fn,
                        void *data);
/* Emits what is left (a last line without newline) and empties. */
void mtk_sup_lines_flush(struct mtk_sup_lines *l, mtk_sup_line_fn fn, void *data);
void mtk_sup_lines_free(struct mtk_sup_lines *l);

/* ---------------------------------------------------------------- restart */

enum mtk_sup_restart {
  MTK_SUP_RESTART_NO,
  MTK_SUP_RESTART_ALWAYS,
  MTK_SUP_RESTART_UNLESS_STOPPED,
  MTK_SUP_RESTART_ON_FAILURE,
};

/* HostConfig.RestartPolicy.Name ("" and NULL = no); -1 for an unknown name. */
int mtk_sup_restart_parse(const char *name);
/* Docker's back-off: the delay before the next restart given the previous
 * one (0 = none yet) and how long the container ran: 100 ms, doubling up to
 * 1 min, back to 100 ms after a run of 10 s or more. */
uint64_t mtk_sup_restart_delay(uint64_t prev_ms, uint64_t ran_ms);
/* Whether the policy restarts: never after a manual stop; on-failure only
 * for a non-zero exit and while restart_count < max_retry (0 = no limit). */
bool mtk_sup_restart_should(enum mtk_sup_restart policy, long max_retry, long restart_count,
                            int exit_code, bool manual_stop);

/* ------------------------------------------------------------------- tty */

/* A console socket for the runtime: a listening AF_UNIX stream socket at a
 * path short enough for sun_path (in dir when it fits, else in a private
 * directory under /tmp). */
struct mtk_sup_console {
  int fd;       /* the listening socket, or -1 */
  char *path;   /* owned: its path */
  char *tmpdir; /* owned: the private directory made for it, or NULL */
};
int mtk_sup_console_open(struct mtk_sup_console *c, const char *dir, const char *name,
                         struct mtk_err **err);
/* The pty master the runtime sent (SCM_RIGHTS), CLOEXEC and non-blocking;
 * the runtime already exited, so a connection is waiting or never came. */
int mtk_sup_console_recv(struct mtk_sup_console *c, struct mtk_err **err);
/* Closes and unlinks everything; accepts a zeroed or closed c. */
void mtk_sup_console_close(struct mtk_sup_console *c);

/* Our terminal in raw mode while attached. */
struct mtk_sup_raw {
  int fd;               /* the terminal made raw, or -1 */
  struct termios saved; /* its mode before */
};
/* Makes fd raw when it is a terminal (else does nothing). */
int mtk_sup_raw_enter(struct mtk_sup_raw *r, int fd, struct mtk_err **err);
/* Restores the saved mode; idempotent. */
void mtk_sup_raw_leave(struct mtk_sup_raw *r);
/* Copies the window size of from (a terminal) onto the pty master. */
void mtk_sup_winsize_copy(int from, int master);

/* ----------------------------------------------------------------- relay */

/* Copies bytes from a pollable fd to another fd with a bounded buffer: the
 * source is read only while the buffer has room, the destination written
 * non-blockingly (poll for writable when full).  At EOF of the source,
 * `on_eof` runs (the owner closes the destination or not). */
struct mtk_sup_relay {
  uv_poll_t src_poll, dst_poll;
  int src, dst; /* borrowed: src our stdin; dst the container's stdin (owned by the owner) */
  char buf[16384];
  size_t len, off;
  bool src_open, dst_polling, eof;
  int handles; /* open uv handles */
  void (*on_eof)(struct mtk_sup_relay *r);
  void (*closed)(struct mtk_sup_relay *r); /* once both handles are closed */
  void *data;
};
/* Starts the relay; on failure (a libuv error) it is closed already.  In
 * every case r->closed runs once, after mtk_sup_relay_close or the failure. */
int mtk_sup_relay_start(struct mtk_sup_relay *r, uv_loop_t *loop, int src, int dst);
void mtk_sup_relay_close(struct mtk_sup_relay *r);
/* Whether epoll can watch fd (not for regular files or /dev/null: those
 * are handed to the container as its stdin instead of being relayed). */
bool mtk_sup_fd_pollable(int fd);

/* ------------------------------------------------------------ containers */

/* One output stream of a running container: a pipe, or the pty master. */
struct mtk_sup_stream {
  uv_poll_t poll;
  int fd;     /* owned: our read end, or -1 once at EOF */
  int stream; /* 1 = stdout, 2 = stderr */
  bool polling;
  struct mtk_sup_lines lines;
  struct mtk_sup_ctr *c; /* borrowed: back pointer */
};

/* A stop waiting for the exit to be recorded. */
struct mtk_sup_stop_wait {
  mtk_sup_done_cb done;
  void *data;
};

enum mtk_sup_phase {
  MTK_SUP_IDLE,       /* not started, or exited for good */
  MTK_SUP_RUNNING,    /* the container's process runs */
  MTK_SUP_DRAINING,   /* it exited; waiting for its output to reach EOF */
  MTK_SUP_RESTARTING, /* waiting for the back-off delay before the next start */
};

/* A container under the supervisor.  Freed from the last close callback of
 * its handles once it is gone for good (STYLE rule 5). */
struct mtk_sup_ctr {
  struct mtk_sup *sup; /* borrowed */
  char id[MTK_CTR_ID_LEN + 1];
  struct mtk_ctr *ctr; /* owned: config and state as saved */
  struct mtk_ctr_bundle bundle;
  struct mtk_runtime *rt; /* owned while prepared */
  enum mtk_sup_phase phase;
  bool gone;   /* exited for good: freed once its handles are closed */
  int handles; /* open uv handles */

  /* the run */
  pid_t pid;
  int status;          /* raw wait status once exited */
  uint64_t started_ms; /* uv_now at start */
  struct mtk_sup_stream out[2];
  int stdin_w; /* owned: the container's stdin (pipe write end or a dup of the
                  pty master), or -1 */
  struct mtk_sup_relay relay;
  bool relay_stdin; /* our stdin is relayed (else handed over, or not used) */
  bool relaying;
  struct mtk_sup_log log;
  char *mem_cgroup;  /* owned: the container's memory cgroup dir, or NULL */
  uint64_t oom_base; /* its oom_kill counter at start */
  struct mtk_net_proxy *proxy;
  char **dns_nets; /* owned: the networks whose DNS responder it holds */
  size_t n_dns_nets;

  /* attached */
  bool attached;
  struct mtk_sup_attach attach;
  struct mtk_sup_raw raw;
  uv_signal_t sig_winch, sig_fwd[4];
  bool sigs_on;
  struct mtk_sup_cbs cbs;
  bool has_cbs;

  /* policies */
  bool tty, open_stdin, auto_remove;
  int policy;
  long max_retry;
  uint64_t delay_ms; /* the last back-off delay */
  uv_timer_t restart_timer, stop_timer, drain_timer;

  /* stop */
  bool manual_stop, stop_killed, stop_not_caught;
  struct mtk_sup_stop_wait *waits; /* owned */
  size_t n_waits;
};

/* One DNS responder shared by the containers of a network. */
struct mtk_sup_dns {
  char *network; /* owned */
  struct mtk_net_dns *dns;
  int refs;
};

struct mtk_sup {
  uv_loop_t *loop; /* borrowed */
  char *root, *runroot;
  struct mtk_sup_reaper reaper;
  struct mtk_sup_ctr **ctrs; /* owned */
  size_t n_ctrs, cap_ctrs;
  struct mtk_sup_dns *dns; /* owned */
  size_t n_dns;
  size_t n_execs; /* execs in flight */
  bool freeing;
  char buf[32768]; /* the read buffer of every stream (one thread) */
};

struct mtk_sup_ctr *mtk_sup_find(struct mtk_sup *s, const char *id);
/* Sends sig to the container's PID 1: it is our child (we are its
 * subreaper) and not yet reaped, so its PID cannot have been reused. */
int mtk_sup_ctr_signal(struct mtk_sup_ctr *c, int sig);
/* Saves c->ctr->state (errors are kept: the loop goes on). */
void mtk_sup_ctr_save(struct mtk_sup_ctr *c);
/* Whether PID 1 of the container catches sig (SigCgt); false for a zombie. */
bool mtk_sup_sig_caught(pid_t pid, int sig);
/* A signal name or number ("SIGTERM", "TERM", "15"); 0 when unknown. */
int mtk_sup_signal_parse(const char *s);
/* Runs the pending stop callbacks of c with its exit code. */
void mtk_sup_stop_done(struct mtk_sup_ctr *c, int exit_code);

/* The container's networks (netwire.c): the port proxies of its published
 * ports (HostConfig.PortBindings, to its first network address; bound
 * ports recorded in state Ports) and the DNS responders of its user
 * networks (shared per network by the supervisor's containers). */
int mtk_sup_net_start(struct mtk_sup_ctr *c, struct mtk_err **err);
void mtk_sup_net_stop(struct mtk_sup_ctr *c);

#endif
