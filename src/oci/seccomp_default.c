/* Docker's default seccomp profile (moby/profiles seccomp/default.json at cd3bed8) as a C
 * table, and its rendering for one container (what seccomp_linux.go setupSeccomp does): a rule
 * is kept only when its includes (arch, capabilities in the bounding set, minimum kernel) match
 * and its excludes do not.  Default action: ERRNO(EPERM). */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "oci/spec.h"

struct sc_arg {
  unsigned index;
  uint64_t value, value_two;
  const char *op;
};

struct sc_rule {
  const char *const *names;
  const char *action;
  int errno_ret; /* -1: none */
  const struct sc_arg *args;
  size_t n_args;
  /* space-separated lists, NULL when absent */
  const char *inc_arches, *inc_caps, *exc_arches, *exc_caps;
  const char *inc_min_kernel;
};

static const char *const names_0[] = {"accept",
                                      "accept4",
                                      "access",
                                      "adjtimex",
                                      "alarm",
                                      "bind",
                                      "brk",
                                      "cachestat",
                                      "capget",
                                      "capset",
                                      "chdir",
                                      "chmod",
                                      "chown",
                                      "chown32",
                                      "clock_adjtime",
                                      "clock_adjtime64",
                                      "clock_getres",
                                      "clock_getres_time64",
                                      "clock_gettime",
                                      "clock_gettime64",
                                      "clock_nanosleep",
                                      "clock_nanosleep_time64",
                                      "close",
                                      "close_range",
                                      "connect",
                                      "copy_file_range",
                                      "creat",
                                      "dup",
                                      "dup2",
                                      "dup3",
                                      "epoll_create",
                                      "epoll_create1",
                                      "epoll_ctl",
                                      "epoll_ctl_old",
                                      "epoll_pwait",
                                      "epoll_pwait2",
                                      "epoll_wait",
                                      "epoll_wait_old",
                                      "eventfd",
                                      "eventfd2",
                                      "execve",
                                      "execveat",
                                      "exit",
                                      "exit_group",
                                      "faccessat",
                                      "faccessat2",
                                      "fadvise64",
                                      "fadvise64_64",
                                      "fallocate",
                                      "fanotify_mark",
                                      "fchdir",
                                      "fchmod",
                                      "fchmodat",
                                      "fchmodat2",
                                      "fchown",
                                      "fchown32",
                                      "fchownat",
                                      "fcntl",
                                      "fcntl64",
                                      "fdatasync",
                                      "fgetxattr",
                                      "flistxattr",
                                      "flock",
                                      "fork",
                                      "fremovexattr",
                                      "fsetxattr",
                                      "fstat",
                                      "fstat64",
                                      "fstatat64",
                                      "fstatfs",
                                      "fstatfs64",
                                      "fsync",
                                      "ftruncate",
                                      "ftruncate64",
                                      "futex",
                                      "futex_requeue",
                                      "futex_time64",
                                      "futex_wait",
                                      "futex_waitv",
                                      "futex_wake",
                                      "futimesat",
                                      "getcpu",
                                      "getcwd",
                                      "getdents",
                                      "getdents64",
                                      "getegid",
                                      "getegid32",
                                      "geteuid",
                                      "geteuid32",
                                      "getgid",
                                      "getgid32",
                                      "getgroups",
                                      "getgroups32",
                                      "getitimer",
                                      "getpeername",
                                      "getpgid",
                                      "getpgrp",
                                      "getpid",
                                      "getppid",
                                      "getpriority",
                                      "getrandom",
                                      "getresgid",
                                      "getresgid32",
                                      "getresuid",
                                      "getresuid32",
                                      "getrlimit",
                                      "get_robust_list",
                                      "getrusage",
                                      "getsid",
                                      "getsockname",
                                      "getsockopt",
                                      "get_thread_area",
                                      "gettid",
                                      "gettimeofday",
                                      "getuid",
                                      "getuid32",
                                      "getxattr",
                                      "getxattrat",
                                      "inotify_add_watch",
                                      "inotify_init",
                                      "inotify_init1",
                                      "inotify_rm_watch",
                                      "io_cancel",
                                      "ioctl",
                                      "io_destroy",
                                      "io_getevents",
                                      "io_pgetevents",
                                      "io_pgetevents_time64",
                                      "ioprio_get",
                                      "ioprio_set",
                                      "io_setup",
                                      "io_submit",
                                      "ipc",
                                      "kill",
                                      "landlock_add_rule",
                                      "landlock_create_ruleset",
                                      "landlock_restrict_self",
                                      "lchown",
                                      "lchown32",
                                      "lgetxattr",
                                      "link",
                                      "linkat",
                                      "listen",
                                      "listmount",
                                      "listxattr",
                                      "listxattrat",
                                      "llistxattr",
                                      "_llseek",
                                      "lremovexattr",
                                      "lseek",
                                      "lsetxattr",
                                      "lstat",
                                      "lstat64",
                                      "madvise",
                                      "map_shadow_stack",
                                      "membarrier",
                                      "memfd_create",
                                      "memfd_secret",
                                      "mincore",
                                      "mkdir",
                                      "mkdirat",
                                      "mknod",
                                      "mknodat",
                                      "mlock",
                                      "mlock2",
                                      "mlockall",
                                      "mmap",
                                      "mmap2",
                                      "mprotect",
                                      "mq_getsetattr",
                                      "mq_notify",
                                      "mq_open",
                                      "mq_timedreceive",
                                      "mq_timedreceive_time64",
                                      "mq_timedsend",
                                      "mq_timedsend_time64",
                                      "mq_unlink",
                                      "mremap",
                                      "mseal",
                                      "msgctl",
                                      "msgget",
                                      "msgrcv",
                                      "msgsnd",
                                      "msync",
                                      "munlock",
                                      "munlockall",
                                      "munmap",
                                      "name_to_handle_at",
                                      "nanosleep",
                                      "newfstatat",
                                      "_newselect",
                                      "open",
                                      "openat",
                                      "openat2",
                                      "pause",
                                      "pidfd_open",
                                      "pidfd_send_signal",
                                      "pipe",
                                      "pipe2",
                                      "pkey_alloc",
                                      "pkey_free",
                                      "pkey_mprotect",
                                      "poll",
                                      "ppoll",
                                      "ppoll_time64",
                                      "prctl",
                                      "pread64",
                                      "preadv",
                                      "preadv2",
                                      "prlimit64",
                                      "process_mrelease",
                                      "pselect6",
                                      "pselect6_time64",
                                      "pwrite64",
                                      "pwritev",
                                      "pwritev2",
                                      "read",
                                      "readahead",
                                      "readlink",
                                      "readlinkat",
                                      "readv",
                                      "recv",
                                      "recvfrom",
                                      "recvmmsg",
                                      "recvmmsg_time64",
                                      "recvmsg",
                                      "remap_file_pages",
                                      "removexattr",
                                      "removexattrat",
                                      "rename",
                                      "renameat",
                                      "renameat2",
                                      "restart_syscall",
                                      "riscv_hwprobe",
                                      "rmdir",
                                      "rseq",
                                      "rt_sigaction",
                                      "rt_sigpending",
                                      "rt_sigprocmask",
                                      "rt_sigqueueinfo",
                                      "rt_sigreturn",
                                      "rt_sigsuspend",
                                      "rt_sigtimedwait",
                                      "rt_sigtimedwait_time64",
                                      "rt_tgsigqueueinfo",
                                      "sched_getaffinity",
                                      "sched_getattr",
                                      "sched_getparam",
                                      "sched_get_priority_max",
                                      "sched_get_priority_min",
                                      "sched_getscheduler",
                                      "sched_rr_get_interval",
                                      "sched_rr_get_interval_time64",
                                      "sched_setaffinity",
                                      "sched_setattr",
                                      "sched_setparam",
                                      "sched_setscheduler",
                                      "sched_yield",
                                      "seccomp",
                                      "select",
                                      "semctl",
                                      "semget",
                                      "semop",
                                      "semtimedop",
                                      "semtimedop_time64",
                                      "send",
                                      "sendfile",
                                      "sendfile64",
                                      "sendmmsg",
                                      "sendmsg",
                                      "sendto",
                                      "setfsgid",
                                      "setfsgid32",
                                      "setfsuid",
                                      "setfsuid32",
                                      "setgid",
                                      "setgid32",
                                      "setgroups",
                                      "setgroups32",
                                      "setitimer",
                                      "setpgid",
                                      "setpriority",
                                      "setregid",
                                      "setregid32",
                                      "setresgid",
                                      "setresgid32",
                                      "setresuid",
                                      "setresuid32",
                                      "setreuid",
                                      "setreuid32",
                                      "setrlimit",
                                      "set_robust_list",
                                      "setsid",
                                      "setsockopt",
                                      "set_thread_area",
                                      "set_tid_address",
                                      "setuid",
                                      "setuid32",
                                      "setxattr",
                                      "setxattrat",
                                      "shmat",
                                      "shmctl",
                                      "shmdt",
                                      "shmget",
                                      "shutdown",
                                      "sigaltstack",
                                      "signalfd",
                                      "signalfd4",
                                      "sigprocmask",
                                      "sigreturn",
                                      "socketcall",
                                      "socketpair",
                                      "splice",
                                      "stat",
                                      "stat64",
                                      "statfs",
                                      "statfs64",
                                      "statmount",
                                      "statx",
                                      "symlink",
                                      "symlinkat",
                                      "sync",
                                      "sync_file_range",
                                      "syncfs",
                                      "sysinfo",
                                      "tee",
                                      "tgkill",
                                      "time",
                                      "timer_create",
                                      "timer_delete",
                                      "timer_getoverrun",
                                      "timer_gettime",
                                      "timer_gettime64",
                                      "timer_settime",
                                      "timer_settime64",
                                      "timerfd_create",
                                      "timerfd_gettime",
                                      "timerfd_gettime64",
                                      "timerfd_settime",
                                      "timerfd_settime64",
                                      "times",
                                      "tkill",
                                      "truncate",
                                      "truncate64",
                                      "ugetrlimit",
                                      "umask",
                                      "uname",
                                      "unlink",
                                      "unlinkat",
                                      "uretprobe",
                                      "utime",
                                      "utimensat",
                                      "utimensat_time64",
                                      "utimes",
                                      "vfork",
                                      "vmsplice",
                                      "wait4",
                                      "waitid",
                                      "waitpid",
                                      "write",
                                      "writev",
                                      NULL};
static const char *const names_1[] = {"process_vm_readv", "process_vm_writev", "ptrace", NULL};
static const char *const names_2[] = {"socket", NULL};
static const struct sc_arg args_2[] = {
    {0, 38ULL, 0ULL, "SCMP_CMP_LT"},
};
static const char *const names_3[] = {"socket", NULL};
static const struct sc_arg args_3[] = {
    {0, 39ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_4[] = {"socket", NULL};
static const struct sc_arg args_4[] = {
    {0, 40ULL, 0ULL, "SCMP_CMP_GT"},
};
static const char *const names_5[] = {"personality", NULL};
static const struct sc_arg args_5[] = {
    {0, 0ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_6[] = {"personality", NULL};
static const struct sc_arg args_6[] = {
    {0, 8ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_7[] = {"personality", NULL};
static const struct sc_arg args_7[] = {
    {0, 131072ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_8[] = {"personality", NULL};
static const struct sc_arg args_8[] = {
    {0, 131080ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_9[] = {"personality", NULL};
static const struct sc_arg args_9[] = {
    {0, 4294967295ULL, 0ULL, "SCMP_CMP_EQ"},
};
static const char *const names_10[] = {"sync_file_range2", "swapcontext", NULL};
static const char *const names_11[] = {"arm_fadvise64_64",
                                       "arm_sync_file_range",
                                       "sync_file_range2",
                                       "breakpoint",
                                       "cacheflush",
                                       "set_tls",
                                       NULL};
static const char *const names_12[] = {"arch_prctl", NULL};
static const char *const names_13[] = {"modify_ldt", NULL};
static const char *const names_14[] = {"s390_pci_mmio_read", "s390_pci_mmio_write",
                                       "s390_runtime_instr", NULL};
static const char *const names_15[] = {"riscv_flush_icache", NULL};
static const char *const names_16[] = {"open_by_handle_at", NULL};
static const char *const names_17[] = {"bpf",
                                       "clone",
                                       "clone3",
                                       "fanotify_init",
                                       "fsconfig",
                                       "fsmount",
                                       "fsopen",
                                       "fspick",
                                       "lookup_dcookie",
                                       "lsm_get_self_attr",
                                       "lsm_list_modules",
                                       "lsm_set_self_attr",
                                       "mount",
                                       "mount_setattr",
                                       "move_mount",
                                       "open_tree",
                                       "perf_event_open",
                                       "quotactl",
                                       "quotactl_fd",
                                       "setdomainname",
                                       "sethostname",
                                       "setns",
                                       "syslog",
                                       "umount",
                                       "umount2",
                                       "unshare",
                                       NULL};
static const char *const names_18[] = {"clone", NULL};
static const struct sc_arg args_18[] = {
    {0, 2114060288ULL, 0ULL, "SCMP_CMP_MASKED_EQ"},
};
static const char *const names_19[] = {"clone", NULL};
static const struct sc_arg args_19[] = {
    {1, 2114060288ULL, 0ULL, "SCMP_CMP_MASKED_EQ"},
};
static const char *const names_20[] = {"clone3", NULL};
static const char *const names_21[] = {"reboot", NULL};
static const char *const names_22[] = {"chroot", NULL};
static const char *const names_23[] = {"delete_module", "init_module", "finit_module", NULL};
static const char *const names_24[] = {"acct", NULL};
static const char *const names_25[] = {
    "kcmp",   "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
    "ptrace", NULL};
static const char *const names_26[] = {"iopl", "ioperm", NULL};
static const char *const names_27[] = {"settimeofday", "stime", "clock_settime", "clock_settime64",
                                       NULL};
static const char *const names_28[] = {"vhangup", NULL};
static const char *const names_29[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                       "set_mempolicy_home_node", NULL};
static const char *const names_30[] = {"syslog", NULL};
static const char *const names_31[] = {"bpf", NULL};
static const char *const names_32[] = {"perf_event_open", NULL};

static const struct sc_rule rules[] = {
    {names_0, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, NULL, NULL, NULL, NULL},
    {names_1, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, NULL, NULL, NULL, "4.8"},
    {names_2, "SCMP_ACT_ALLOW", -1, args_2, 1, NULL, NULL, NULL, NULL, NULL},
    {names_3, "SCMP_ACT_ALLOW", -1, args_3, 1, NULL, NULL, NULL, NULL, NULL},
    {names_4, "SCMP_ACT_ALLOW", -1, args_4, 1, NULL, NULL, NULL, NULL, NULL},
    {names_5, "SCMP_ACT_ALLOW", -1, args_5, 1, NULL, NULL, NULL, NULL, NULL},
    {names_6, "SCMP_ACT_ALLOW", -1, args_6, 1, NULL, NULL, NULL, NULL, NULL},
    {names_7, "SCMP_ACT_ALLOW", -1, args_7, 1, NULL, NULL, NULL, NULL, NULL},
    {names_8, "SCMP_ACT_ALLOW", -1, args_8, 1, NULL, NULL, NULL, NULL, NULL},
    {names_9, "SCMP_ACT_ALLOW", -1, args_9, 1, NULL, NULL, NULL, NULL, NULL},
    {names_10, "SCMP_ACT_ALLOW", -1, NULL, 0, "ppc64le", NULL, NULL, NULL, NULL},
    {names_11, "SCMP_ACT_ALLOW", -1, NULL, 0, "arm arm64", NULL, NULL, NULL, NULL},
    {names_12, "SCMP_ACT_ALLOW", -1, NULL, 0, "amd64 x32", NULL, NULL, NULL, NULL},
    {names_13, "SCMP_ACT_ALLOW", -1, NULL, 0, "amd64 x32 x86", NULL, NULL, NULL, NULL},
    {names_14, "SCMP_ACT_ALLOW", -1, NULL, 0, "s390 s390x", NULL, NULL, NULL, NULL},
    {names_15, "SCMP_ACT_ALLOW", -1, NULL, 0, "riscv64", NULL, NULL, NULL, NULL},
    {names_16, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_DAC_READ_SEARCH", NULL, NULL, NULL},
    {names_17, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_ADMIN", NULL, NULL, NULL},
    {names_18, "SCMP_ACT_ALLOW", -1, args_18, 1, NULL, NULL, "s390 s390x", "CAP_SYS_ADMIN", NULL},
    {names_19, "SCMP_ACT_ALLOW", -1, args_19, 1, "s390 s390x", NULL, NULL, "CAP_SYS_ADMIN", NULL},
    {names_20, "SCMP_ACT_ERRNO", 38, NULL, 0, NULL, NULL, NULL, "CAP_SYS_ADMIN", NULL},
    {names_21, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_BOOT", NULL, NULL, NULL},
    {names_22, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_CHROOT", NULL, NULL, NULL},
    {names_23, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_MODULE", NULL, NULL, NULL},
    {names_24, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_PACCT", NULL, NULL, NULL},
    {names_25, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_PTRACE", NULL, NULL, NULL},
    {names_26, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_RAWIO", NULL, NULL, NULL},
    {names_27, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_TIME", NULL, NULL, NULL},
    {names_28, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_TTY_CONFIG", NULL, NULL, NULL},
    {names_29, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYS_NICE", NULL, NULL, NULL},
    {names_30, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_SYSLOG", NULL, NULL, NULL},
    {names_31, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_BPF", NULL, NULL, NULL},
    {names_32, "SCMP_ACT_ALLOW", -1, NULL, 0, NULL, "CAP_PERFMON", NULL, NULL, NULL},
};

/* The profile's archMap entry for the architecture we were compiled for, and
 * its name in the profile's includes/excludes (Go's GOARCH mapped as
 * seccomp_linux.go goToNative does). */
#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE_ARCH "x32"
#define SECCOMP_ARCHES "SCMP_ARCH_X32"
#elif defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#define SECCOMP_ARCHES "SCMP_ARCH_X86_64 SCMP_ARCH_X86 SCMP_ARCH_X32"
#elif defined(__i386__)
#define NATIVE_ARCH "x86"
#define SECCOMP_ARCHES "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#define SECCOMP_ARCHES "SCMP_ARCH_AARCH64 SCMP_ARCH_ARM"
#elif defined(__arm__)
#define NATIVE_ARCH "arm"
#define SECCOMP_ARCHES "SCMP_ARCH_ARM"
#elif defined(__s390x__)
#define NATIVE_ARCH "s390x"
#define SECCOMP_ARCHES "SCMP_ARCH_S390X SCMP_ARCH_S390"
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "riscv64"
#define SECCOMP_ARCHES "SCMP_ARCH_RISCV64"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "ppc64le"
#define SECCOMP_ARCHES "SCMP_ARCH_PPC64LE"
#elif defined(__loongarch64)
#define NATIVE_ARCH "loong64"
#define SECCOMP_ARCHES "SCMP_ARCH_LOONGARCH64"
#else
#define NATIVE_ARCH "unknown"
#define SECCOMP_ARCHES ""
#endif

/* Is `word` one of the space-separated words of `list`? */
static bool in_list(const char *list, const char *word)
{
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t) (e - p) : strlen(p);
    if (len == n && memcmp(p, word, n) == 0)
      return true;
    if (!e)
      break;
    p = e + 1;
  }
  return false;
}

static bool has_cap(const char *const *caps, size_t n_caps, const char *cap)
{
  for (size_t i = 0; i < n_caps; i++)
    if (strcmp(caps[i], cap) == 0)
      return true;
  return false;
}

/* Every word of `list` in caps (all) / any of them (!all). */
static bool caps_match(const char *list, const char *const *caps, size_t n_caps, bool all)
{
  char word[64];
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t) (e - p) : strlen(p);
    snprintf(word, sizeof word, "%.*s", (int) len, p);
    if (has_cap(caps, n_caps, word) != all)
      return !all;
    if (!e)
      break;
    p = e + 1;
  }
  return all;
}

/* uname release >= "major.minor" (kernelGreaterEqualThan). */
static bool kernel_at_least(const char *want)
{
  struct utsname u;
  int have_major = 0, have_minor = 0, want_major = 0, want_minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &have_major, &have_minor) < 1)
    return false;
  if (sscanf(want, "%d.%d", &want_major, &want_minor) < 1)
    return false;
  return have_major > want_major || (have_major == want_major && have_minor >= want_minor);
}

static bool rule_applies(const struct sc_rule *r, const char *const *caps, size_t n_caps)
{
  if (r->exc_arches && in_list(r->exc_arches, NATIVE_ARCH))
    return false;
  if (r->exc_caps && caps_match(r->exc_caps, caps, n_caps, false))
    return false;
  if (r->inc_arches && !in_list(r->inc_arches, NATIVE_ARCH))
    return false;
  if (r->inc_caps && !caps_match(r->inc_caps, caps, n_caps, true))
    return false;
  if (r->inc_min_kernel && !kernel_at_least(r->inc_min_kernel))
    return false;
  return true;
}

static json_t *rule_json(const struct sc_rule *r)
{
  json_t *names = json_array();
  for (const char *const *n = r->names; *n; n++)
    json_array_append_new(names, json_string(*n));
  json_t *o = json_pack("{s:o, s:s}", "names", names, "action", r->action);
  if (r->errno_ret >= 0)
    json_object_set_new(o, "errnoRet", json_integer(r->errno_ret));
  if (r->n_args > 0) {
    json_t *args = json_array();
    for (size_t i = 0; i < r->n_args; i++) {
      const struct sc_arg *a = &r->args[i];
      json_array_append_new(args, json_pack("{s:I, s:I, s:I, s:s}", "index", (json_int_t) a->index,
                                            "value", (json_int_t) a->value, "valueTwo",
                                            (json_int_t) a->value_two, "op", a->op));
    }
    json_object_set_new(o, "args", args);
  }
  return o;
}

json_t *mtk_oci_seccomp_default(const char *const *caps, size_t n_caps)
{
  json_t *arches = json_array();
  const char *p = SECCOMP_ARCHES;
  while (*p) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t) (e - p) : strlen(p);
    json_array_append_new(arches, json_stringn(p, len));
    p += len + (e ? 1 : 0);
  }
  json_t *syscalls = json_array();
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if (rule_applies(&rules[i], caps, n_caps))
      json_array_append_new(syscalls, rule_json(&rules[i]));
  return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", 1,
                   "architectures", arches, "syscalls", syscalls);
}
