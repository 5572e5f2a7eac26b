#!/usr/bin/env bash
# Published-port throughput (by hand, not in CI): wrk through mtk's userland
# proxy against wrk straight at the server, in the same run, alternating the
# two for R rounds and comparing the medians (the goal: proxy >= 90% of
# direct).  The server is bench/httpd.c (epoll, keep-alive, a fixed "hello"),
# built here with `cc -O2 -static`.
#
#   bench/proxy.sh container   (default) httpd in a busybox container made by
#                              `mtk image import`, run with -p 127.0.0.1::8080:
#                              wrk at <container ip>:8080 vs 127.0.0.1:<published>
#   bench/proxy.sh host        httpd on 127.0.0.1:A, the proxy alone
#                              (bench/proxy_host.c with src/net/proxy.c, built
#                              here) on 127.0.0.1:B -> A; no container needed
#
# Environment: MTK (container mode; default build/mtk),
# R rounds (5), D seconds per wrk run (5), T wrk threads (1), C connections
# (32), WORKERS httpd processes (1), CLOSE=1 for a new connection per request
# (sets net.ipv4.tcp_tw_reuse=1 while it runs and restores it: MACHINE.md
# item 3), BULK=1 to also compare one 2 GB download (curl) both ways.
set -eu
MODE=${1:-container}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MTK=$(readlink -f "${MTK:-$SRC/build/mtk}")
R=${R:-5} D=${D:-5} T=${T:-1} C=${C:-32} WORKERS=${WORKERS:-1} CLOSE=${CLOSE:-0} BULK=${BULK:-0}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v cc >/dev/null || { echo "cc is not installed" >&2; exit 1; }
T_DIR=$(mktemp -d)
PIDS=()
CTR=""
G=(--root "$T_DIR/root" --runroot "$T_DIR/run")
TW_OLD=$(sysctl -n net.ipv4.tcp_tw_reuse)

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$CTR" ]; then
    "$MTK" "${G[@]}" container rm -f "$CTR" >/dev/null 2>&1 || true
    "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1 || true
  fi
  sysctl -qw net.ipv4.tcp_tw_reuse="$TW_OLD" || true
  rm -rf "$T_DIR"
}
trap cleanup EXIT

cc -O2 -static -o "$T_DIR/httpd" "$SRC/bench/httpd.c"

WRK_ARGS=(-t"$T" -c"$C" -d"${D}s")
if [ "$CLOSE" = 1 ]; then
  WRK_ARGS+=(-H "Connection: close")
  sysctl -qw net.ipv4.tcp_tw_reuse=1
fi

# rps URL: requests per second of one wrk run.
rps() { wrk "${WRK_ARGS[@]}" "$1" | awk '/^Requests\/sec:/ {print $2}'; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
wait_http() {
  for _ in $(seq 100); do
    curl -sf -m 1 -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

case "$MODE" in
  host)
    # the proxy's own sources, built here: no mtk build needed
    printf '#define _GNU_SOURCE 1\n' >"$T_DIR/config.h"
    cc -O2 -I"$T_DIR" -I"$SRC/include" -I"$SRC/src" -o "$T_DIR/proxy_host" \
      "$SRC/bench/proxy_host.c" "$SRC/src/net/proxy.c" "$SRC/src/net/ports.c" \
      "$SRC/src/util/cleanup.c" "$SRC/src/util/err.c" $(pkg-config --cflags --libs libuv jansson)
    APORT=$((20000 + RANDOM % 20000))
    "$T_DIR/httpd" 127.0.0.1 "$APORT" "$WORKERS" &
    PIDS+=($!)
    "$T_DIR/proxy_host" 0 127.0.0.1 "$APORT" >"$T_DIR/port" &
    PIDS+=($!)
    for _ in $(seq 50); do [ -s "$T_DIR/port" ] && break; sleep 0.1; done
    DIRECT=http://127.0.0.1:$APORT/
    PROXY=http://127.0.0.1:$(cat "$T_DIR/port")/
    ;;
  container)
    [ -x "$MTK" ] || { echo "$MTK not found (set MTK)" >&2; exit 1; }
    BB=$(command -v busybox)
    mkdir -p "$T_DIR/rootfs/bin"
    cp "$BB" "$T_DIR/rootfs/bin/busybox"
    ln -s busybox "$T_DIR/rootfs/bin/sh"
    cp "$T_DIR/httpd" "$T_DIR/rootfs/httpd"
    tar -C "$T_DIR/rootfs" -cf "$T_DIR/rootfs.tar" .
    "$MTK" "${G[@]}" image import "$T_DIR/rootfs.tar" mtk-bench-httpd >/dev/null
    CTR=mtk-bench-proxy-$$
    "$MTK" "${G[@]}" container run -d --name "$CTR" -p 127.0.0.1::8080 mtk-bench-httpd \
      /httpd 0.0.0.0 8080 "$WORKERS" >/dev/null
    HOSTPORT=$("$MTK" "${G[@]}" container port "$CTR" 8080 | head -n1)
    IP=$("$MTK" "${G[@]}" container inspect -f '{{.NetworkSettings.IPAddress}}' "$CTR")
    [ -n "$IP" ] && [ -n "$HOSTPORT" ] || { echo "no address ($IP) or port ($HOSTPORT)" >&2; exit 1; }
    DIRECT=http://$IP:8080/
    PROXY=http://$HOSTPORT/
    ;;
  *)
    echo "usage: $0 [container|host]" >&2
    exit 2
    ;;
esac

wait_http "$DIRECT"
wait_http "$PROXY"
rps "$DIRECT" >/dev/null # warm up both paths
rps "$PROXY" >/dev/null
echo "mode: $MODE, wrk ${WRK_ARGS[*]}, $R rounds, httpd workers: $WORKERS, $(nproc) CPUs"
echo "direct: $DIRECT   proxy: $PROXY"
: >"$T_DIR/direct"
: >"$T_DIR/proxy"
for i in $(seq "$R"); do
  d=$(rps "$DIRECT")
  p=$(rps "$PROXY")
  echo "$d" >>"$T_DIR/direct"
  echo "$p" >>"$T_DIR/proxy"
  printf 'round %d: direct %10.0f req/s   proxy %10.0f req/s   %5.1f%%\n' "$i" "$d" "$p" \
    "$(echo "100 * $p / $d" | bc -l)"
done
dm=$(median <"$T_DIR/direct")
pm=$(median <"$T_DIR/proxy")
printf 'median:  direct %10.0f req/s   proxy %10.0f req/s   ratio %.1f%%\n' "$dm" "$pm" \
  "$(echo "100 * $pm / $dm" | bc -l)"

if [ "$BULK" = 1 ]; then
  for u in "$DIRECT" "$PROXY"; do
    curl -s -o /dev/null -w "bulk 2 GB from $u: %{speed_download} bytes/s\n" "${u}bytes/2000000000"
  done
fi
