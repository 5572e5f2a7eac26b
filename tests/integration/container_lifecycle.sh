#!/usr/bin/env bash
# Detached containers and the verbs around them, on real crun containers
# from a busybox image: run -d (the ID), ps (default, -a, -q, --format table /
# json / template, filters), logs (stdout and stderr apart, -t, --tail, -f
# until the exit), stop of a PID 1 without a SIGTERM handler (SIGKILL at
# once, the note and hint), with a handler that exits (its code) and with one
# that does not (SIGKILL after -t 1), --init (stop forwards SIGTERM, no
# zombies), kill -s, create/start (-a), restart, wait, exec (-e -u -w, exit
# codes), top, inspect (-f), a name in use, rm of a running container, rm -f,
# the restart policy (on-failure:2), kill -9 of the monitor (ps still tells
# the truth, rm -f cleans), prune.  No leaks: mounts, cgroups, processes with
# the container ID, runtime state, <runroot>/containers.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
G=(--root "$T/root" --runroot "$T/run")
cleanup() {
  for id in $("$MTK" "${G[@]}" container ps -aq --no-trunc 2>/dev/null); do
    "$MTK" "${G[@]}" container rm -f "$id" >/dev/null 2>&1
  done
  "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1 # the default network's bridge
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
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi
}
has() { # name, needle, haystack
  case "$3" in
    *"$2"*) ok "$1" ;;
    *) notok "$1: '$2' not in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}
hasnt() { # name, needle, haystack
  case "$3" in
    *"$2"*) notok "$1: '$2' in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
    *) ok "$1" ;;
  esac
}
matches() { # name, ERE, text
  if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else
    notok "$1: no line matches /$2/:"; printf '%s\n' "$3" | sed 's/^/#   /'
  fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Polls (up to $2 tenths of a second) until the command succeeds.
until_ok() { local i; for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/etc"
cp "$BB" "$T/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
  >"$T/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$T/rootfs/etc/group"
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?
M() { "$MTK" "${G[@]}" container "$@"; }
state() { M inspect -f "{{.State.$2}}" "$1" 2>/dev/null; }

# What belongs to this test: mounts under $T, processes of the runroot,
# the runroot's tree, container directories; and per container ID its
# cgroups and processes.
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
procs_with() { # processes whose command line holds $1 (this shell excepted)
  local f p c
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/} p=${p%/cmdline}
    [ "$p" = $$ ] && continue
    { c=$(tr '\0' ' ' <"$f"); } 2>/dev/null || continue
    case "$c" in *"$1"*) echo "$p $c" ;; esac
  done
}
# A field of the state file (<root>/containers/<id>/state, src/runtime/container.h).
state_file() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
    "$T/root/containers/$1/state" "$2" 2>/dev/null
}
gone() { # name, full container ID: no cgroup, process or state of it is left
  local id=$2 left
  left=$(find /sys/fs/cgroup -name "*$id*" 2>/dev/null | head -3)
  check "$1: no cgroup of the container" "" "$left"
  left=$(procs_with "$id")
  check "$1: no process with the ID in its command line" "" "$left"
  check "$1: no runtime state" "" "$(ls "$T/run/runtime" 2>/dev/null | grep -F "$id")"
  check "$1: no bundle" "" "$(ls "$T/run/containers" 2>/dev/null | grep -F "$id")"
}

M run --rm busybox true # creates the runroot skeleton
before=$(snapshot)
noleak() { check "$1: nothing left behind" "$before" "$(snapshot)"; }

# --- run -d, ps, logs
id=$(M run -d --name d1 busybox sh -c 'echo out1; echo err1 >&2; echo out2; sleep 100')
check "run -d: exit 0" 0 $?
matches "run -d prints the full ID" '^[0-9a-f]{64}$' "$id"
check "run -d: running" "running" "$(state d1 Status)"
out=$(M ps)
matches "ps: docker's header" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' \
  "$(echo "$out" | head -1)"
matches "ps: the row (short ID, image, quoted command, Up, name)" \
  "^${id:0:12} +busybox +\"sh -c 'echo out1; e…\" +(Less than a second|[0-9]+ seconds?) ago +Up .* d1$" \
  "$out"
check "ps -q: the short ID" "${id:0:12}" "$(M ps -q)"
check "ps -q --no-trunc: the full ID" "$id" "$(M ps -q --no-trunc)"
matches "ps --format template" '^d1 Up ' "$(M ps --format '{{.Names}} {{.Status}}')"
js=$(M ps --format json)
check "ps --format json: one JSON object, docker's fields" "d1 running busybox" \
  "$(printf '%s' "$js" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o["Names"], o["State"], o["Image"])')"
check "ps --format '{{json .Names}}'" '"d1"' "$(M ps --format '{{json .Names}}')"
matches "ps --format table with a header" '^NAMES +STATUS$' "$(M ps --format 'table {{.Names}}\t{{.Status}}' | head -1)"
until_ok '[ "$(M logs d1 2>/dev/null | wc -l)" = 2 ]' 50
check "logs: stdout records on stdout" "$(printf 'out1\nout2')" "$(M logs d1 2>/dev/null)"
check "logs: stderr records on stderr" "err1" "$(M logs d1 2>&1 >/dev/null)"
check "logs --tail 2: the last two records of both streams" 2 "$(M logs --tail 2 d1 2>&1 | wc -l)"
matches "logs -t: RFC 3339 nano stamps" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z out1$' \
  "$(M logs -t d1 2>/dev/null | head -1)"
check "logs --since 1h" "2" "$(M logs --since 1h d1 2>/dev/null | wc -l)"
check "logs --until of a past time" "" "$(M logs --until 2000-01-01T00:00:00Z d1 2>&1)"

M run -d --name t1 busybox sh -c 'echo a; echo b; echo c; sleep 100' >/dev/null
until_ok '[ "$(M logs t1 | wc -l)" = 3 ]' 50
check "logs --tail 1" "c" "$(M logs --tail 1 t1)"
check "logs --tail 0" "" "$(M logs --tail 0 t1)"
check "logs -n 2" "$(printf 'b\nc')" "$(M logs -n 2 t1)"
M rm -f t1 >/dev/null
out=$(M run -d --name d1 busybox true 2>&1)
check "run -d --name in use: exit 125" 125 $?
has "name in use: message" 'is already in use' "$out"

# --- top, exec, inspect
out=$(M top d1)
matches "top: ps -ef columns" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$' "$(echo "$out" | head -1)"
has "top: the sleep" "sleep 100" "$out"
check "exec: output" "hi" "$(M exec d1 echo hi)"
M exec d1 sh -c 'exit 4'
check "exec: exit code" 4 $?
out=$(M exec d1 no-such-command 2>&1)
check "exec of a missing command: exit 127" 127 $?
check "exec -e -u -w" "V 65534 /tmp" "$(M exec -e X=V -u nobody -w /tmp d1 sh -c 'echo $X $(id -u) $(pwd)')"
check "exec -d: exit 0" 0 "$(M exec -d d1 sh -c 'sleep 0.2; echo late >/tmp/late'; echo $?)"
until_ok '[ "$(M exec d1 cat /tmp/late 2>/dev/null)" = late ]' 30
check "exec -d: the command ran" "late" "$(M exec d1 cat /tmp/late 2>&1)"
check "inspect -f .State.Status" "running" "$(M inspect -f '{{.State.Status}}' d1)"
check "inspect -f .Config.Image" "busybox" "$(M inspect -f '{{.Config.Image}}' d1)"
check "inspect -f with index" "sh" "$(M inspect -f '{{index .Config.Cmd 0}}' d1)"
check "inspect -f with a pipe to json" '"-c"' "$(M inspect -f '{{index .Config.Cmd 1 | json}}' d1)"
check "inspect -f with range" "[sh][-c][echo out1; echo err1 >&2; echo out2; sleep 100]" \
  "$(M inspect -f '{{range .Config.Cmd}}[{{.}}]{{end}}' d1)"
check "inspect: a JSON array of one" "1 $id" \
  "$(M inspect d1 | python3 -c 'import json,sys; a=json.load(sys.stdin); print(len(a), a[0]["Id"])')"
out=$(M inspect d1 nothere 2>&1 >/dev/null)
check "inspect of a missing container: exit 1" 1 "$(M inspect nothere >/dev/null 2>&1; echo $?)"
has "inspect of a missing container: message" "No such container: nothere" "$out"

# --- rm of a running container, rm -f
out=$(M rm d1 2>&1)
check "rm of a running container: exit 1" 1 $?
has "rm of a running container: message" "container is running" "$out"
check "rm -f: prints the ref" "d1" "$(M rm -f d1)"
check "rm -f: gone from ps -a" "" "$(M ps -aq --filter name=d1)"
gone "rm -f" "$id"
check "rm -f of a missing container: exit 0" 0 "$(M rm -f nothere >/dev/null 2>&1; echo $?)"
noleak "run -d / rm -f"

# --- stop: PID 1 without a SIGTERM handler
id=$(M run -d --name s1 busybox sleep 100)
t0=$(now_ms)
err=$(M stop s1 2>&1 >"$T/stop.out")
rc=$?
t1=$(now_ms)
check "stop (no handler): exit 0" 0 $rc
check "stop prints the ref" "s1" "$(cat "$T/stop.out")"
[ $((t1 - t0)) -lt 1000 ] && ok "stop (no handler) took $((t1 - t0)) ms (< 1 s)" ||
  notok "stop (no handler) took $((t1 - t0)) ms"
has "stop (no handler): says SIGKILL went at once" "SIGKILL was sent at once" "$err"
has "stop (no handler): hint --init" "--init" "$err"
has "stop (no handler): hint --stop-signal" "--stop-signal" "$err"
check "stop (no handler): exit code 137" 137 "$(state s1 ExitCode)"
matches "ps -a: Exited (137)" "^${id:0:12} .* Exited \(137\) .* s1$" "$(M ps -a)"
check "ps (running only) no longer shows it" "" "$(M ps -q)"
check "ps -f status=exited" "${id:0:12}" "$(M ps -q -f status=exited)"
check "ps -f exited=137" "${id:0:12}" "$(M ps -q -f exited=137)"
check "ps -f status=running" "" "$(M ps -q -f status=running)"
check "wait of an exited container" 137 "$(M wait s1)"
M rm s1 >/dev/null
gone "stop (no handler)" "$id"

# --- stop: a handler that exits
M run -d --name s2 busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' >/dev/null
t0=$(now_ms)
err=$(M stop s2 2>&1 >/dev/null)
t1=$(now_ms)
check "stop (handler exits 3): exit code 3" 3 "$(state s2 ExitCode)"
check "stop (handler exits 3): no note" "" "$err"
[ $((t1 - t0)) -lt 5000 ] && ok "stop (handler exits) took $((t1 - t0)) ms" ||
  notok "stop (handler exits) took $((t1 - t0)) ms"

# --- stop: a handler that does not exit: SIGKILL after -t 1
M run -d --name s3 busybox sh -c 'trap "echo no" TERM; while :; do sleep 0.1; done' >/dev/null
t0=$(now_ms)
M stop -t 1 s3 >/dev/null 2>&1
t1=$(now_ms)
check "stop -t 1 (handler ignores): exit code 137" 137 "$(state s3 ExitCode)"
[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 5000 ] &&
  ok "stop -t 1 waited the grace period ($((t1 - t0)) ms)" ||
  notok "stop -t 1 took $((t1 - t0)) ms"
has "stop -t 1: the handler ran" "no" "$(M logs s3 2>&1)"

# --- start, restart, kill -s, wait
check "start of an exited container prints the ref" "s2" "$(M start s2)"
check "start: running again" "running" "$(state s2 Status)"
started=$(state s2 StartedAt)
sleep 1.1
check "restart prints the ref" "s2" "$(M restart -t 5 s2 2>/dev/null)"
check "restart: running" "running" "$(state s2 Status)"
[ "$(state s2 StartedAt)" != "$started" ] && ok "restart: StartedAt changed" ||
  notok "restart: StartedAt unchanged ($started)"
check "kill -s TERM prints the ref" "s2" "$(M kill -s TERM s2)"
check "wait after kill -s TERM: the trap's exit code" 3 "$(M wait s2)"
out=$(M kill s2 2>&1)
check "kill of a stopped container: exit 1" 1 $?
has "kill of a stopped container: message" "not running" "$out"
M start s3 >/dev/null
check "kill (default KILL) prints the ref" "s3" "$(M kill s3)"
check "wait after kill: 137" 137 "$(M wait s3)"
M run -d --name w1 busybox sh -c 'sleep 0.5; exit 5' >/dev/null
check "wait: the exit code" 5 "$(M wait w1)"
out=$(M stop nothere 2>&1)
check "stop of a missing container: exit 1" 1 $?
has "stop of a missing container: message" "No such container: nothere" "$out"

# --- create / start -a
id=$(M create --name c1 busybox sh -c 'echo created-out; exit 6')
matches "create prints the ID" '^[0-9a-f]{64}$' "$id"
check "create: state created" "created" "$(state c1 Status)"
matches "ps -a: Created" "^${id:0:12} .* Created .* c1$" "$(M ps -a)"
out=$(M start -a c1)
check "start -a: the container's exit code" 6 $?
check "start -a: its output" "created-out" "$out"
check "prune -f" "$(printf 'Deleted Containers:\n')" "$(M prune -f | head -1)"
matches "prune: total reclaimed space" '^Total reclaimed space: [0-9.]+k?M?B$' "$(M prune -f | tail -1)"
check "prune removed every stopped container" "" "$(M ps -aq)"
noleak "stop/start/restart/kill/prune"

# --- --init: stop forwards SIGTERM to the process, orphans are reaped
M run -d --init --name i1 busybox sh -c 'sh -c "sleep 0.1 &"; sleep 100' >/dev/null
check "--init: PID 1 is the init" "docker-init" "$(M exec i1 sh -c 'basename $(readlink /proc/1/exe) 2>/dev/null || head -c 11 /proc/1/cmdline' | head -1)"
sleep 0.5
check "--init: no zombie" "0" "$(M exec i1 sh -c 'cat /proc/[0-9]*/stat | awk "{print \$3}" | grep -c Z')"
err=$(M stop i1 2>&1 >/dev/null)
check "--init: stop without the note" "" "$err"
check "--init: sh died of the forwarded SIGTERM (143)" 143 "$(state i1 ExitCode)"
M rm i1 >/dev/null

# --- the restart policy
M run -d --name r1 --restart on-failure:2 busybox sh -c 'exit 1' >/dev/null
until_ok '[ "$(M inspect -f "{{.RestartCount}}" r1)" = 2 ] && [ "$(state r1 Status)" = exited ]' 150
check "--restart on-failure:2: RestartCount 2" 2 "$(M inspect -f '{{.RestartCount}}' r1)"
check "--restart on-failure:2: exited at last" "exited" "$(state r1 Status)"
check "--restart on-failure:2: exit code 1" 1 "$(state r1 ExitCode)"
M rm r1 >/dev/null
out=$(M run -d --rm --restart always busybox true 2>&1)
check "--rm with --restart: exit 125" 125 $?
has "--rm with --restart: message" "Conflicting options: --restart and --rm" "$out"

# --- kill -9 of the monitor: ps tells the truth, rm -f cleans
id=$(M run -d --name k1 busybox sleep 100)
mon=$(state_file "$id" MonitorPid)
pid=$(state k1 Pid)
if [ -n "$mon" ] && [ "$mon" != 0 ] && [ -n "$pid" ] && [ "$pid" != 0 ]; then
  kill -9 "$mon"
  until_ok '! kill -0 '"$mon"' 2>/dev/null' 50
  check "monitor killed: the container still runs" "running" "$(state k1 Status)"
  kill -9 "$pid"
  until_ok '! kill -0 '"$pid"' 2>/dev/null' 50
  check "monitor killed, PID 1 killed: ps -a says exited" "exited" "$(state k1 Status)"
  matches "monitor killed, PID 1 killed: ps -a row" "^${id:0:12} .* Exited " "$(M ps -a)"
  check "rm -f after the monitor died" "k1" "$(M rm -f k1)"
  gone "kill -9 of the monitor" "$id"
else
  notok "kill -9 of the monitor: the state has no MonitorPid ($mon) or Pid ($pid)"
  M rm -f k1 >/dev/null 2>&1
fi
# the same with the monitor gone and the container still running: rm -f
id=$(M run -d --name k2 busybox sleep 100)
mon=$(state_file "$id" MonitorPid)
[ -n "$mon" ] && [ "$mon" != 0 ] && kill -9 "$mon"
check "rm -f of a running container whose monitor is gone" "k2" "$(M rm -f k2)"
gone "rm -f without a monitor" "$id"
noleak "kill -9 of the monitor"

# --- published ports: port, the PORTS column
M run -d --name p1 -p 127.0.0.1::80 -p 127.0.0.1::81/udp busybox sleep 100 >/dev/null
hp=$(M port p1 80)
matches "port CONTAINER 80: the host side" '^127\.0\.0\.1:[0-9]+$' "$hp"
matches "port CONTAINER: every mapping" "^81/udp -> 127\.0\.0\.1:[0-9]+\$" "$(M port p1)"
has "ps: the PORTS column" "$hp->80/tcp" "$(M ps --format '{{.Ports}}' -f name=p1)"
out=$(M port p1 82 2>&1)
check "port of a port not published: exit 1" 1 $?
has "port of a port not published: message" "no public port '82' published for p1" "$out"
M rm -f p1 >/dev/null

# --- logs -f follows until the exit
M run -d --name f1 busybox sh -c 'for i in 1 2 3; do echo l$i; sleep 0.3; done' >/dev/null
out=$(timeout 20 "$MTK" "${G[@]}" container logs -f f1)
check "logs -f: every line, then returns at the exit" "$(printf 'l1\nl2\nl3')" "$out"
M rm f1 >/dev/null

# --- run --rm -d: removed after the exit
id=$(M run -d --rm busybox sh -c 'sleep 0.3')
until_ok '[ -z "$(M ps -aq --no-trunc | grep '"$id"')" ]' 50
check "run -d --rm: removed after the exit" "" "$(M ps -aq --no-trunc | grep "$id")"
gone "run -d --rm" "$id"
noleak "everything"

echo "1..$n"
exit $fail
