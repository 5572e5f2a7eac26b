#!/usr/bin/env bash
# `mtk container run` in the foreground on crun (and runc when installed):
# exit codes (0, 1, 7, 127 for a missing command, 125 for a missing image or
# a name in use), output, -e, -w, -u, SIGINT forwarded to the container, and
# no leaks: after each run the mounts, processes and the runroot that belong
# to this test are what they were before (also when the command fails).
# A busybox image is imported from busybox-static.  Skips (77) only when crun
# is missing or overlayfs cannot be mounted here.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
cleanup() {
  # A test cut short may leave an mtk in the background: let it stop its
  # container (the tests' PID 1s exit on SIGINT), then make sure it is gone.
  for p in $(jobs -p); do kill -INT "$p" 2>/dev/null; done
  sleep 0.5
  for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null; done
  "$MTK" --root "$T/root" --runroot "$T/run" network prune -f >/dev/null 2>&1 # the default bridge
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
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi
}
has() { # name, needle, haystack
  case "$3" in
    *"$2"*) ok "$1" ;;
    *) notok "$1: '$2' not in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp "$BB" "$T/rootfs/bin/busybox"
for x in sh echo true false id cat sleep; do ln -s busybox "$T/rootfs/bin/$x"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
G=(--root "$T/root" --runroot "$T/run")
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?

# What belongs to this test: mounts and processes under $T, the runroot tree.
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
  find "$T/run" -not -path "$T/run/seccomp/*" 2>/dev/null | sort
  find "$T/root/containers" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | sort
}

"$MTK" "${G[@]}" container run --rm busybox true # creates the runroot skeleton
before=$(snapshot)
noleak() { check "$1: nothing left behind" "$before" "$(snapshot)"; }

"$MTK" "${G[@]}" container run --rm busybox true
check "true: exit 0" 0 $?
noleak "true"
"$MTK" "${G[@]}" container run --rm busybox false
check "false: exit 1" 1 $?
"$MTK" "${G[@]}" container run --rm busybox sh -c 'exit 7'
check "sh -c 'exit 7': exit 7" 7 $?
out=$("$MTK" "${G[@]}" container run --rm busybox echo hello)
check "echo hello: output" "hello" "$out"
out=$("$MTK" "${G[@]}" container run --rm -e FOO=bar -e BAZ busybox sh -c 'echo "$FOO/${BAZ-unset}"')
check "-e FOO=bar" "bar/unset" "$out"
out=$(BAZ=fromhost "$MTK" "${G[@]}" container run --rm -e BAZ busybox sh -c 'echo $BAZ')
check "-e BAZ takes ours" "fromhost" "$out"
out=$("$MTK" "${G[@]}" container run --rm -w /tmp busybox sh -c pwd)
check "-w /tmp" "/tmp" "$out"
out=$("$MTK" "${G[@]}" container run --rm -u 1000 busybox id -u)
check "-u 1000" "1000" "$out"
out=$("$MTK" "${G[@]}" container run --rm -u 1000:1001 busybox id -g)
check "-u 1000:1001" "1001" "$out"
out=$("$MTK" "${G[@]}" container run --rm --entrypoint echo busybox a b)
check "--entrypoint echo" "a b" "$out"
out=$("$MTK" "${G[@]}" container run --rm busybox sh -c 'grep -E "^(CapBnd|CapEff|Seccomp):" /proc/self/status')
check "Docker's default capabilities and seccomp filter" \
  "$(printf 'CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nSeccomp:\t2')" "$out"
cgline=$("$MTK" "${G[@]}" container run --rm busybox cat /proc/self/cgroup | grep -E '^[0-9]+:(pids)?:' | head -1)
cg=${cgline#*:*:}
cgdir=/sys/fs/cgroup/pids
[ -d "$cgdir" ] || cgdir=/sys/fs/cgroup
[ -n "$cg" ] && [ "$cg" != / ] && [ ! -e "$cgdir$cg" ]
check "the container's pids cgroup ($cg) is gone afterwards" 0 $?
noleak "successful runs"

out=$("$MTK" "${G[@]}" container run --rm busybox no-such-command 2>&1)
check "missing command: exit 127" 127 $?
has "missing command: message" "no-such-command" "$out"
noleak "missing command"
out=$("$MTK" "${G[@]}" container run --rm -u nobody busybox true 2>&1)
check "unknown user: exit 125" 125 $?
has "unknown user: message" "unable to find user nobody" "$out"
noleak "unknown user"
out=$("$MTK" "${G[@]}" container run --rm nothere true 2>&1)
check "missing image: exit 125" 125 $?
has "missing image: message" "Unable to find image 'nothere' locally" "$out"
has "missing image: hint" "mtk image pull nothere" "$out"
noleak "missing image"

"$MTK" "${G[@]}" container run --name web busybox true
check "--name web (kept): exit 0" 0 $?
out=$("$MTK" "${G[@]}" container run --rm --name web busybox true 2>&1)
check "name in use: exit 125" 125 $?
has "name in use: message" 'name "/web" is already in use' "$out"
out=$("$MTK" "${G[@]}" image rm busybox 2>&1)
check "image rm of an image in use: exit 1" 1 $?
has "image rm of an image in use: message" "is using its referenced image" "$out"
rm -rf "$T/root/containers/"[0-9a-f]*

# SIGINT goes to the container (PID 1 with a trap exits 42).
"$MTK" "${G[@]}" container run --rm busybox sh -c 'trap "exit 42" INT; echo up; while :; do sleep 0.1; done' \
  >"$T/int.out" &
pid=$!
for _ in $(seq 50); do [ -s "$T/int.out" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
check "SIGINT forwarded: exit 42" 42 $?
# A signal that kills PID 1 from outside: 128+9.
# (the container prints its own pids cgroup: other tests may run containers
# at the same time, so the whole cgroup tree is not compared)
"$MTK" "${G[@]}" container run --rm busybox sh -c \
  'grep -E "^[0-9]+:(pids)?:" /proc/self/cgroup | head -1; while :; do sleep 0.1; done' \
  >"$T/kill.out" &
pid=$!
for _ in $(seq 50); do [ -s "$T/kill.out" ] && break; sleep 0.1; done
cpid=$(pgrep -P "$pid" | head -1) # mtk is the container's subreaper: PID 1 is its child
kill -KILL "${cpid:-$pid}"
wait "$pid"
check "PID 1 killed by SIGKILL: exit 137" 137 $?
cgline=$(head -1 "$T/kill.out")
cg=${cgline#*:*:}
[ -n "$cg" ] && [ "$cg" != / ] && [ ! -e "$cgdir$cg" ]
check "no pids cgroup left after the SIGKILL ($cg)" 0 $?
"$MTK" "${G[@]}" container run --rm busybox sh -c 'sleep 5 & exit 3'
check "PID 1 exits with a child still running: exit 3" 3 $?
noleak "signals"

if command -v runc >/dev/null; then
  out=$("$MTK" "${G[@]}" container run --rm --runtime runc busybox sh -c 'echo runc; exit 3')
  check "runc: exit 3" 3 $?
  check "runc: output" "runc" "$out"
  noleak "runc"
fi

echo "1..$n"
exit $fail
