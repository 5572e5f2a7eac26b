/* The supervisor (sup.h): placeholders until the real loop lands. */
#include "config.h"

#include <errno.h>

#include "sup/sup.h"

struct mtk_sup *mtk_sup_new(uv_loop_t *loop, const char *root, const char *runroot,
                            struct mtk_err **err)
{
  (void) loop;
  (void) root;
  (void) runroot;
  mtk_err_set(err, ENOSYS, "the supervisor (mtk_sup_new) is not available yet");
  return NULL;
}

void mtk_sup_free(struct mtk_sup *s)
{
  (void) s;
}

int mtk_sup_start(struct mtk_sup *s, const char *id, const struct mtk_sup_attach *attach,
                  const struct mtk_sup_cbs *cbs, int *exit_code, struct mtk_err **err)
{
  (void) s;
  (void) id;
  (void) attach;
  (void) cbs;
  if (exit_code)
    *exit_code = 125;
  return mtk_err_set(err, ENOSYS, "mtk_sup_start is not available yet");
}

int mtk_sup_stop(struct mtk_sup *s, const char *id, int sig, int timeout, mtk_sup_done_cb done,
                 void *data, struct mtk_err **err)
{
  (void) s;
  (void) id;
  (void) sig;
  (void) timeout;
  (void) done;
  (void) data;
  return mtk_err_set(err, ENOSYS, "mtk_sup_stop is not available yet");
}

size_t mtk_sup_running(const struct mtk_sup *s)
{
  (void) s;
  return 0;
}

int mtk_sup_exec(struct mtk_sup *s, const char *id, const struct mtk_sup_exec_opts *o,
                 const struct mtk_sup_attach *attach, mtk_sup_exec_cb done, void *data,
                 struct mtk_err **err)
{
  (void) s;
  (void) id;
  (void) o;
  (void) attach;
  (void) done;
  (void) data;
  return mtk_err_set(err, ENOSYS, "mtk_sup_exec is not available yet");
}

int mtk_sup_spawn_monitor(const char *root, const char *runroot, const char *id, int *exit_code,
                          struct mtk_err **err)
{
  (void) root;
  (void) runroot;
  (void) id;
  if (exit_code)
    *exit_code = 125;
  return mtk_err_set(err, ENOSYS, "mtk_sup_spawn_monitor is not available yet");
}

int mtk_sup_run_attached(const char *root, const char *runroot, const char *id, int *exit_code,
                         struct mtk_err **err)
{
  (void) root;
  (void) runroot;
  (void) id;
  if (exit_code)
    *exit_code = 125;
  return mtk_err_set(err, ENOSYS, "mtk_sup_run_attached is not available yet");
}
