#!/usr/bin/env bash
# Docker's security defaults inside real containers (`mtk container run --rm`
# on crun, the capability check once more on runc): the capability sets
# (bounding = permitted = effective = Docker's 14 defaults, computed here
# from their names; inheritable and ambient empty; all but bounding empty
# for -u 1000), seccomp in filter mode and a syscall it denies (unshare -U,
# which needs no capability), no_new_privs off, masked paths empty, read-only
# paths not writable, /dev/shm a tmpfs, the hostname the short ID.  Cases for
# --cap-add/--cap-drop, --privileged, --security-opt and --init run once
# `container run --help` lists those flags.  After each group: nothing of the
# test left in the mounts, processes or runroot.  Skips (77) only when crun is
# missing or overlayfs cannot be mounted here.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
CAPH=/usr/include/linux/capability.h
[ -r "$CAPH" ] || { echo "Bail out! $CAPH missing (linux-libc-dev)"; exit 1; }
T=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill -INT "$p" 2>/dev/null; done
  sleep 0.5
  for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null; done
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/ov/l" "$T/ov/u" "$T/ov/w" "$T/ov/m"
if ! mount -t overlay overlay -o "lowerdir=$T/ov/l,upperdir=$T/ov/u,workdir=$T/ov/w" "$T/ov/m" \
  2>/dev/null; then
  echo "1..0 # SKIP overlayfs unavailable"
  exit 77
fi
umount "$T/ov/m"
rm -rf "$T/ov"

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi
}
has() { # name, needle, haystack
  case "$3" in
    *"$2"*) ok "$1" ;;
    *) notok "$1: '$2' not in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}

# The busybox image: every applet of busybox-static as a symlink.
mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp "$BB" "$T/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
G=(--root "$T/root" --runroot "$T/run")
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?
run() { "$MTK" "${G[@]}" container run --rm "$@"; }

snapshot() {
  grep -F " $T/" /proc/self/mountinfo | awk '{print $5}'
  # a process of this test (its command line names $T) in a mount namespace
  # that still holds one of our mounts; other tests' runtimes running at the
  # same time may hold a copy of them for a moment, and are not ours
  grep -l -F "$T/" /proc/[0-9]*/mountinfo 2>/dev/null | grep -v -e "/proc/$$/" -e /proc/self/ |
    while read -r f; do
      p=${f#/proc/} p=${p%/mountinfo}
      { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$T/" && echo "process $p"
    done
  pgrep -a -f -- "--root $T/run/runtime" || true
  find "$T/run" 2>/dev/null | sort
  find "$T/root/containers" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | sort
}
run busybox true # creates the runroot skeleton
before=$(snapshot)
noleak() { check "$1: nothing left behind" "$before" "$(snapshot)"; }

# Capability masks from names, with the kernel's numbers from its header.
capnum() { awk -v c="CAP_$1" '$1 == "#define" && $2 == c { print $3 }' "$CAPH"; }
mask_of() { # CAP names (without CAP_) -> 16 hex digits as in /proc/PID/status
  local m=0 c v
  for c in "$@"; do
    v=$(capnum "$c")
    [ -n "$v" ] || { echo "unknown-capability-$c"; return; }
    m=$((m | (1 << v)))
  done
  printf '%016x' "$m"
}
DEFCAPS=(CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP
  NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE)
DEFMASK=$(mask_of "${DEFCAPS[@]}")
ZERO=0000000000000000
# Run first in a container: the /proc/self/status lines of interest as
# KEY=VALUE, and t NAME CMD..., which prints "NAME rc=STATUS OUTPUT" on one line.
# A script that also prints its mount table prefixes each line with "mi ".
STATUS='grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|Seccomp|NoNewPrivs):" /proc/self/status |
  sed "s/:[[:space:]]*/=/"
  t() { n=$1; shift; r=$("$@" 2>&1); echo "$n rc=$? $(echo $r)"; }'
field() { printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -1; } # KEY, output
caps_are() { # label, output, Bnd, Prm, Eff (Inh, Amb always empty)
  check "$1: CapBnd" "$3" "$(field CapBnd "$2")"
  check "$1: CapPrm" "$4" "$(field CapPrm "$2")"
  check "$1: CapEff" "$5" "$(field CapEff "$2")"
  check "$1: CapInh" "$ZERO" "$(field CapInh "$2")"
  check "$1: CapAmb" "$ZERO" "$(field CapAmb "$2")"
}
mnt() { # mount point, output with "mi " lines -> "OPTS FSTYPE" of the last mount there
  printf '%s\n' "$2" | awk -v p="$1" '$1 == "mi" && $6 == p {
    for (i = 7; i <= NF; i++) if ($i == "-") { o = $7; t = $(i + 1) } } END { print o, t }'
}

# --- Docker's defaults for root.
MASKED="/proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats
  /proc/sched_debug /proc/scsi /proc/timer_list /proc/timer_stats /sys/devices/virtual/powercap
  /sys/firmware"
READONLY="/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger"
out=$(run busybox sh -c "$STATUS"'
  for p in '"$(echo $MASKED)"'; do
    if [ -d $p ]; then echo "masked $p dir $(ls -A $p | wc -l)"
    elif [ -e $p ]; then echo "masked $p file $(head -c 4096 $p 2>/dev/null | wc -c)"
    else echo "masked $p absent"; fi
  done
  for p in '"$READONLY"'; do [ -e $p ] && echo "exists $p"; done
  t w-sysrq sh -c ": >/proc/sysrq-trigger"
  t w-sys sh -c "echo x >/proc/sys/kernel/hostname"
  t unshare-U unshare -U true
  t unshare-m unshare -m true
  sed "s/^/mi /" /proc/self/mountinfo' 2>&1)
check "defaults: exit 0" 0 $?
caps_are "defaults" "$out" "$DEFMASK" "$DEFMASK" "$DEFMASK"
check "defaults: seccomp in filter mode" 2 "$(field Seccomp "$out")"
check "defaults: no_new_privs off" 0 "$(field NoNewPrivs "$out")"
for p in $MASKED; do
  line=$(printf '%s\n' "$out" | grep "^masked $p ")
  case "$line" in
    "masked $p absent") ok "masked $p: absent" ;;
    "masked $p "*" 0")
      m=$(mnt "$p" "$out")
      case "$m" in
        ro*) ok "masked $p: empty, a read-only mount over it ($m)" ;;
        *) notok "masked $p: empty but no read-only mount over it: '$m'" ;;
      esac
      ;;
    *) notok "masked $p: readable: '$line'" ;;
  esac
done
exists() { printf '%s\n' "$2" | grep -qx "exists $1"; } # path, output
for p in $READONLY; do
  m=$(mnt "$p" "$out")
  case "$m" in
    ro,*) ok "read-only $p: mounted ro ($m)" ;;
    *) if exists "$p" "$out"; then notok "read-only $p: expected a ro mount, got '$m'"
       else ok "read-only $p: absent (not in this kernel)"; fi ;;
  esac
done
line() { printf '%s\n' "$2" | grep "^$1 " | head -1; } # NAME, output: the line of t NAME
failed_with() { # label, NAME, message, output: t NAME failed (rc != 0) with message
  case "$(line "$2" "$4")" in
    "$2 rc=0 "*) notok "$1: succeeded: '$(line "$2" "$4")'" ;;
    "$2 rc="*"$3"*) ok "$1" ;;
    *) notok "$1: expected '$3', got '$(line "$2" "$4")'" ;;
  esac
}
if exists /proc/sysrq-trigger "$out"; then
  failed_with "read-only /proc/sysrq-trigger: cannot be opened for writing" w-sysrq \
    "Read-only file system" "$out"
else
  skip "read-only /proc/sysrq-trigger: cannot be opened for writing" "no sysrq in this kernel"
fi
failed_with "read-only /proc/sys: kernel/hostname cannot be written" w-sys \
  "Read-only file system" "$out"
# unshare(CLONE_NEWUSER) needs no capability (it works on the host): only the
# seccomp profile denies it.
if "$BB" unshare -U true 2>/dev/null; then
  failed_with "seccomp denies unshare -U (allowed on the host) with EPERM" unshare-U \
    "Operation not permitted" "$out"
else
  skip "seccomp denies unshare -U" "user namespaces unavailable on this host"
fi
failed_with "unshare -m fails with EPERM" unshare-m "Operation not permitted" "$out"
shm=$(mnt /dev/shm "$out")
case "$shm" in
  *" tmpfs") ok "/dev/shm is a tmpfs ($shm)" ;;
  *) notok "/dev/shm: expected a tmpfs, got '$shm'" ;;
esac
has "/dev/shm: nosuid,nodev,noexec" "rw,nosuid,nodev,noexec" "$shm"
noleak "defaults"

# --- The hostname is the container's short ID (and $HOSTNAME says so).
run busybox sh -c 'echo "$(hostname) $HOSTNAME"; sleep 1' >"$T/host.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -s "$T/host.out" ] && break; sleep 0.1; done
read -r h henv <"$T/host.out"
ids=$(find "$T/root" "$T/run" -name "${h:-none}*" 2>/dev/null | grep -E "/${h:-none}[0-9a-f]{52}$" |
  sed 's|.*/||' | sort -u)
wait "$pid"
check "hostname: 12 hex digits" 1 "$(printf '%s' "$h" | grep -cE '^[0-9a-f]{12}$')"
check "hostname: \$HOSTNAME is the hostname" "$h" "$henv"
check "hostname: the short form of the container's ID" 1 "$(printf '%s' "$ids" | grep -c .)"
noleak "hostname"

# --- A non-root user keeps the bounding set only (what execve leaves).
out=$(run -u 1000 busybox sh -c "$STATUS" 2>&1)
check "-u 1000: exit 0" 0 $?
caps_are "-u 1000" "$out" "$DEFMASK" "$ZERO" "$ZERO"
check "-u 1000: seccomp in filter mode" 2 "$(field Seccomp "$out")"

# --- runc: the same capability sets and seccomp.
if command -v runc >/dev/null; then
  out=$(run --runtime runc busybox sh -c "$STATUS" 2>&1)
  check "runc: exit 0" 0 $?
  caps_are "runc" "$out" "$DEFMASK" "$DEFMASK" "$DEFMASK"
  check "runc: seccomp in filter mode" 2 "$(field Seccomp "$out")"
  noleak "runc"
else
  skip "runc: capabilities" "runc not installed"
fi

HELP=$("$MTK" container run --help 2>&1)
flag() { printf '%s\n' "$HELP" | grep -q -- "$1"; }

# --- --cap-add / --cap-drop (moby's TweakCapabilities).
if flag --cap-add; then
  mapfile -t caps < <(printf '%s\n' "${DEFCAPS[@]}" | grep -vx CHOWN)
  m=$(mask_of "${caps[@]}" SYS_ADMIN)
  out=$(run --cap-add SYS_ADMIN --cap-drop chown busybox sh -c "$STATUS"'
    t unshare-m unshare -m true' 2>&1)
  check "--cap-add SYS_ADMIN --cap-drop chown: exit 0" 0 $?
  caps_are "--cap-add SYS_ADMIN --cap-drop chown" "$out" "$m" "$m" "$m"
  # The seccomp profile follows the capabilities: CAP_SYS_ADMIN allows unshare.
  check "--cap-add SYS_ADMIN: unshare -m allowed" "unshare-m rc=0 " "$(line unshare-m "$out")"
  out=$(run --cap-drop ALL busybox sh -c "$STATUS" 2>&1)
  caps_are "--cap-drop ALL" "$out" "$ZERO" "$ZERO" "$ZERO"
  m=$(mask_of NET_BIND_SERVICE)
  out=$(run --cap-drop ALL --cap-add CAP_NET_BIND_SERVICE busybox sh -c "$STATUS" 2>&1)
  caps_are "--cap-drop ALL --cap-add CAP_NET_BIND_SERVICE" "$out" "$m" "$m" "$m"
  out=$(run --cap-add NO_SUCH_CAP busybox true 2>&1)
  check "--cap-add NO_SUCH_CAP: exit 125" 125 $?
  has "--cap-add NO_SUCH_CAP: message" "NO_SUCH_CAP" "$out"
  noleak "--cap-add/--cap-drop"
else
  skip "--cap-add/--cap-drop" "not in container run --help yet"
fi

# --- --privileged: every capability, no seccomp, nothing masked or read-only.
if flag --privileged; then
  # Docker's "all": every capability of the kernel that its own bounding set
  # still holds (moby oci/caps initCaps), so ours stands for dockerd's here.
  last=$(cat /proc/sys/kernel/cap_last_cap)
  bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
  all=$(printf '%016x' $(((1 << (last + 1)) - 1 & 0x$bnd)))
  out=$(run --privileged busybox sh -c "$STATUS"'; sed "s/^/mi /" /proc/self/mountinfo' 2>&1)
  check "--privileged: exit 0" 0 $?
  caps_are "--privileged" "$out" "$all" "$all" "$all"
  check "--privileged: no seccomp" 0 "$(field Seccomp "$out")"
  check "--privileged: /proc/kcore not masked" " " "$(mnt /proc/kcore "$out")"
  check "--privileged: /proc/sys not read-only" " " "$(mnt /proc/sys "$out")"
  noleak "--privileged"
else
  skip "--privileged" "not in container run --help yet"
fi

# --- --security-opt no-new-privileges, seccomp=unconfined.
if flag --security-opt; then
  for o in no-new-privileges no-new-privileges:true no-new-privileges=true; do
    out=$(run --security-opt "$o" busybox sh -c "$STATUS" 2>&1)
    check "--security-opt $o: no_new_privs on" 1 "$(field NoNewPrivs "$out")"
  done
  out=$(run --security-opt seccomp=unconfined busybox sh -c "$STATUS"'
    t unshare-U unshare -U true' 2>&1)
  if [ $? = 125 ]; then
    skip "--security-opt seccomp=unconfined" "not supported: $(echo $out)"
  else
    check "--security-opt seccomp=unconfined: no seccomp" 0 "$(field Seccomp "$out")"
    check "--security-opt seccomp=unconfined: unshare -U allowed" "unshare-U rc=0 " \
      "$(line unshare-U "$out")"
    caps_are "--security-opt seccomp=unconfined" "$out" "$DEFMASK" "$DEFMASK" "$DEFMASK"
  fi
  noleak "--security-opt"
else
  skip "--security-opt" "not in container run --help yet"
fi

# --- --init: mtk-init (docker-init) as PID 1 reaps orphans and forwards signals.
if flag --init; then
  out=$(run --init busybox sh -c '
    echo "pid1 $(cat /proc/1/comm) $(tr "\0" " " </proc/1/cmdline)"
    o=$(sh -c "sleep 0.2 >/dev/null & echo \$!")
    echo "orphan-parent $(sed -n "s/^PPid:[[:space:]]*//p" /proc/$o/status)"
    sleep 0.6
    if [ -e /proc/$o ]; then echo "orphan $(grep ^State /proc/$o/status)"; else echo "orphan reaped"; fi
    sed "s/^/mi /" /proc/self/mountinfo
    exit 7' 2>&1)
  check "--init: the command's exit code" 7 $?
  has "--init: PID 1 is the init, the command after --" "pid1 docker-init /sbin/docker-init -- sh -c" \
    "$out"
  check "--init: orphans go to PID 1" "orphan-parent 1" \
    "$(printf '%s\n' "$out" | grep '^orphan-parent')"
  check "--init: the orphan is reaped (no zombie)" "orphan reaped" \
    "$(printf '%s\n' "$out" | grep '^orphan ')"
  case "$(mnt /sbin/docker-init "$out")" in
    ro,*) ok "--init: /sbin/docker-init is a read-only bind" ;;
    *) notok "--init: /sbin/docker-init: '$(mnt /sbin/docker-init "$out")'" ;;
  esac
  out=$(run --init busybox no-such-command 2>&1)
  check "--init: missing command: exit 127" 127 $?
  has "--init: missing command: message" "exec no-such-command: No such file or directory" "$out"
  noleak "--init"

  # SIGTERM from outside to a PID 1 without a handler: dropped by the kernel
  # without --init (the shell lives on), forwarded by the init with it (the
  # shell, PID 2 now, dies of it: 143).
  script='echo up; while :; do sleep 0.1; done'
  for init in "" --init; do
    run $init busybox sh -c "$script" "tok-$$$init" >"$T/term.out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do [ -s "$T/term.out" ] && break; sleep 0.1; done
    if [ -n "$init" ]; then
      p1=$(pgrep -f -- "^/sbin/docker-init -- sh -c .* tok-$$$init\$" | head -1)
    else
      p1=$(pgrep -f -- "^sh -c .* tok-$$\$" | head -1)
    fi
    kill -TERM "${p1:-none}" 2>/dev/null
    alive=gone
    for _ in $(seq 20); do sleep 0.1; kill -0 "$pid" 2>/dev/null || break; done
    kill -0 "$pid" 2>/dev/null && alive=running
    [ -n "$p1" ] && [ "$alive" = running ] && kill -KILL "$p1"
    wait "$pid"
    st=$?
    if [ -n "$init" ]; then
      check "--init: SIGTERM to the init stops a command without handler: 143" "gone 143" \
        "$alive $st"
    else
      check "without --init: SIGTERM to a PID 1 without handler is dropped" "running 137" \
        "$alive $st"
    fi
  done
  noleak "--init signals"
else
  skip "--init" "not in container run --help yet"
fi

echo "1..$n"
exit $fail
