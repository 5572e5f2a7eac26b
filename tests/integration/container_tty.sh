#!/usr/bin/env bash
# Standard input and terminals of `mtk container run` and `exec`: -i relays a
# pipe (and EOF), no -i gives /dev/null, -it through a real pty (script(1)
# from util-linux provides the terminal): `tty` says /dev/pts/0, the window
# size follows ours, raw mode lets ^C reach the container's foreground
# process through its own terminal, -it without a terminal is refused (exit
# 1), exec -it, and Ctrl-C (SIGINT to mtk) forwarded in a foreground run
# without a tty.  No leaks afterwards.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
command -v script >/dev/null || { echo "1..0 # SKIP script (util-linux) not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
G=(--root "$T/root" --runroot "$T/run")
cleanup() {
  for id in $("$MTK" "${G[@]}" container ps -aq --no-trunc 2>/dev/null); do
    "$MTK" "${G[@]}" container rm -f "$id" >/dev/null 2>&1
  done
  "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1 # the default network's bridge
  for p in $(jobs -p) ${HOLD:-}; do kill -KILL "$p" 2>/dev/null; done
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
until_ok() { local i; for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp "$BB" "$T/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?
M() { "$MTK" "${G[@]}" container "$@"; }
MQ=$(printf '%q ' "$MTK" "${G[@]}" container)
# Runs a shell command line with a pty as its terminal; output without CRs.
# script's input stays open (at its end script would type an EOF character
# into the terminal, which the container would read).
exec 3< <(exec sleep 600)
HOLD=$!
in_pty() { script -qec "$1" /dev/null <&3 | tr -d '\r'; return "${PIPESTATUS[0]}"; }

snapshot() {
  grep -F " $T/" /proc/self/mountinfo | awk '{print $5}'
  pgrep -a -f -- "--root $T/run/runtime" || true
  find "$T/run" -not -path "$T/run/seccomp/*" 2>/dev/null | sort
  find "$T/root/containers" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | sort
}
M run --rm busybox true
before=$(snapshot)
noleak() { check "$1: nothing left behind" "$before" "$(snapshot)"; }

# --- stdin
check "-i: a pipe reaches the container, EOF ends it" "hi" "$(echo hi | M run --rm -i busybox cat)"
check "-i: several lines" "3" "$(printf 'a\nb\nc\n' | M run --rm -i busybox wc -l | tr -d ' ')"
check "without -i: stdin is /dev/null" "" "$(echo hi | M run --rm busybox cat)"
check "without -i: cat ends at once" 0 "$(echo hi | timeout 10 "$MTK" "${G[@]}" container run --rm busybox cat >/dev/null; echo $?)"
head -c 300000 /dev/urandom >"$T/blob"
check "-i: 300 kB of binary data unchanged" "$(sha256sum <"$T/blob" | cut -d' ' -f1)" \
  "$(M run --rm -i busybox sha256sum <"$T/blob" | cut -d' ' -f1)"

# --- -it through a pty
out=$(in_pty "$MQ run --rm -it busybox tty")
check "-it: exit 0" 0 $?
check "-it: tty inside is /dev/pts/0" "/dev/pts/0" "$out"
out=$(in_pty "stty rows 37 cols 101; $MQ run --rm -it busybox stty size")
check "-it: the window size follows ours" "37 101" "$out"
out=$(in_pty "$MQ run --rm -it busybox sh -c 'exit 5'")
check "-it: the container's exit code" 5 $?
out=$(in_pty "$MQ run --rm -t busybox sh -c 'test -t 0 && echo in-tty; test -t 1 && echo out-tty'")
check "-t: stdout is a terminal inside" "$(printf 'in-tty\nout-tty')" "$out"
# raw mode: ^C is a byte that the container's terminal turns into SIGINT
out=$( (sleep 1.5; printf '\003'; sleep 3) | script -qec "$MQ run --rm -it busybox sh -c 'trap \"echo got-int; exit 9\" INT; echo ready; while :; do sleep 0.1; done'" /dev/null | tr -d '\r')
has "-it: ^C reaches the container through its terminal" "got-int" "$out"
out=$(M run --rm -it busybox true </dev/null 2>&1)
check "-it without a terminal: exit 1" 1 $?
has "-it without a terminal: message" "the input device is not a TTY" "$out"
noleak "-it"

# --- exec -it, exec -i
M run -d --name e1 busybox sleep 100 >/dev/null
out=$(in_pty "$MQ exec -it e1 tty")
case "$out" in /dev/pts/*) ok "exec -it: a pty inside ($out)" ;; *) notok "exec -it: tty says '$out'" ;; esac
check "exec -i: a pipe reaches the command" "hello" "$(echo hello | M exec -i e1 cat)"
M rm -f e1 >/dev/null

# --- Ctrl-C in a foreground run without a tty: SIGINT goes to the container
"$MTK" "${G[@]}" container run --rm busybox sh -c 'trap "exit 42" INT; echo up; while :; do sleep 0.1; done' >"$T/int.out" &
pid=$!
until_ok '[ -s "$T/int.out" ]' 100
kill -INT "$pid"
wait "$pid"
check "SIGINT to mtk: the container's trap runs (exit 42)" 42 $?
"$MTK" "${G[@]}" container run --rm busybox sh -c 'trap "exit 43" TERM; echo up; while :; do sleep 0.1; done' >"$T/term.out" &
pid=$!
until_ok '[ -s "$T/term.out" ]' 100
kill -TERM "$pid"
wait "$pid"
check "SIGTERM to mtk: forwarded (exit 43)" 43 $?
noleak "signals"

echo "1..$n"
exit $fail
