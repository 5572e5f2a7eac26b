#!/usr/bin/env bash
# `up -d` to the first HTTP 200 and `down` of a two-service busybox stack
# (by hand): web = busybox httpd published on 127.0.0.1, worker = a sh loop
# depending on web; both PID 1s without a SIGTERM handler (the peers wait
# the whole grace period on `down`).  mtk against podman-compose in the same
# script (podman configured as bench/start.sh does; on a hybrid-cgroup host
# it runs in a private mount namespace without /sys/fs/cgroup/unified).
# Prints medians, the ratios, and the RSS of mtk's supervisor.
# Usage: bench/up.sh [N]   (MTK=path/to/mtk, default build/mtk)
set -eu
N=${1:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MTK=$(readlink -f "${MTK:-$SRC/build/mtk}")
BB=$(command -v busybox)
T=$(mktemp -d)
PORT=${PORT:-18080}
cleanup() {
  "$MTK" --root "$T/root" --runroot "$T/run" -f "$T/p/compose.yaml" down -t 0 >/dev/null 2>&1 || true
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/rootfs/bin" "$T/rootfs/www" "$T/p"
cp "$BB" "$T/rootfs/bin/busybox"
for x in sh httpd sleep true; do ln -s busybox "$T/rootfs/bin/$x"; done
echo ok >"$T/rootfs/www/index.html"
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
G=(--root "$T/root" --runroot "$T/run")
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
write_compose() { # image
  cat >"$T/p/compose.yaml" <<YAML
name: benchup
services:
  web:
    image: $1
    command: httpd -f -p 8080 -h /www
    ports: ["127.0.0.1:$PORT:8080"]
  worker:
    image: $1
    command: sh -c 'while :; do sleep 1; done'
    depends_on: [web]
YAML
}
median() { tr -d '*' | sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f\n", m}'; }
first200() { # ms until 127.0.0.1:$PORT answers (or, after 30 s without an answer, the
  # time the up command itself took, marked with a '*')
  local t0=$1 t_up=$2 end=$(($(date +%s) + 30))
  until curl -sf -m 1 -o /dev/null "http://127.0.0.1:$PORT/"; do
    [ "$(date +%s)" -ge $end ] && { echo "$t_up*"; return; }
    sleep 0.005
  done
  echo $((($(date +%s%N) - t0) / 1000000))
}
run_tool() { # name, up command..., separated from down by --
  local name=$1; shift
  local up=() down=()
  while [ "$1" != -- ]; do up+=("$1"); shift; done; shift
  down=("$@")
  local u d i t0
  for i in $(seq "$N"); do
    t0=$(date +%s%N)
    "${up[@]}" >/dev/null 2>&1
    first200 "$t0" $((($(date +%s%N) - t0) / 1000000)) >>"$T/$name.up"
    if [ "$name" = mtk ] && [ "$i" = 1 ]; then
      pids=$(pgrep -f -- "--root $T/root" || true)
      rss=0
      for p in $pids; do rss=$((rss + $(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0))); done
      echo "$rss" >"$T/mtk.rss"
    fi
    t0=$(date +%s%N)
    "${down[@]}" >/dev/null 2>&1
    echo $((($(date +%s%N) - t0) / 1000000)) >>"$T/$name.down"
  done
}
cd "$T/p"
write_compose busybox
run_tool mtk "$MTK" "${G[@]}" up -d -- "$MTK" "${G[@]}" down
mu=$(median <"$T/mtk.up"); md=$(median <"$T/mtk.down")
echo "runs: $N"
printf '%-40s up->200 %8s ms   down %8s ms\n' mtk "$mu" "$md"
echo "mtk supervisor + helpers RSS: $(cat "$T/mtk.rss") KiB"
if command -v podman-compose >/dev/null; then
  cat >"$T/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$T/containers.conf"
  hybrid=no
  [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && hybrid=yes
  PC="podman --root $T/proot --runroot $T/prun --storage-driver overlay"
  $PC import "$T/rootfs.tar" localhost/busybox >/dev/null
  write_compose localhost/busybox
  q() {
    if [ $hybrid = yes ]; then
      unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "$@"
    else "$@"; fi
  }
  pc() { q podman-compose --podman-path "$T/podman.sh" "$@"; }
  printf '#!/bin/sh\nexec podman --root %s/proot --runroot %s/prun --storage-driver overlay "$@"\n' "$T" "$T" >"$T/podman.sh"
  chmod +x "$T/podman.sh"
  run_tool podman-compose pc up -d -- pc down
  pu=$(median <"$T/podman-compose.up"); pd=$(median <"$T/podman-compose.down")
  printf '%-40s up->200 %8s ms   down %8s ms\n' podman-compose "$pu" "$pd"
  grep -q '[*]' "$T/podman-compose.up" &&
    echo "(podman's published port never answered on 127.0.0.1 here: its 'up' is the time of" \
      "'podman-compose up -d' alone, a lower bound)"
  printf 'ratio podman-compose/mtk: up %.1f  down %.1f\n' "$(echo "$pu / $mu" | bc -l)" "$(echo "$pd / $md" | bc -l)"
  q $PC system reset -f >/dev/null 2>&1 || true
else
  echo "podman-compose not installed"
fi
