#!/usr/bin/env bash
# Start latency (by hand): median of N runs of `mtk container run --rm
# busybox true` against `crun run` of a bundle made by `crun spec` for the
# same rootfs and, when podman is installed, `podman run --rm --network none`.
# On a hybrid-cgroup host (MACHINE.md item 1) crun and podman run in a private
# mount namespace without /sys/fs/cgroup/unified, as mtk does by itself; the
# host's mounts are not changed.  Podman gets its configuration (MACHINE.md
# item 5) from a temporary CONTAINERS_CONF and its own --root/--runroot.
# Usage: bench/start.sh [N]   (MTK=path/to/mtk, default build/mtk)
set -eu
N=${1:-20}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MTK=$(readlink -f "${MTK:-$SRC/build/mtk}")
command -v crun >/dev/null || { echo "crun is not installed" >&2; exit 1; }
BB=$(command -v busybox)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp "$BB" "$T/rootfs/bin/busybox"
for x in sh true; do ln -s busybox "$T/rootfs/bin/$x"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
G=(--root "$T/root" --runroot "$T/run")
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null

mkdir -p "$T/bundle"
cp -a "$T/rootfs" "$T/bundle/rootfs"
(cd "$T/bundle" && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)

hybrid=no
[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && hybrid=yes
# Runs "$@" as crun would need it on this host.
quirk() {
  if [ $hybrid = yes ]; then
    unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "$@"
  else
    "$@"
  fi
}

# median_ms CMD...: the median wall time of N runs in milliseconds.
median_ms() {
  local i t0 t1
  for i in $(seq "$N"); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  done | sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f\n", m / 1000}'
}

crun_run() { quirk crun --root "$T/crun-state" run --bundle "$T/bundle" "bench$$"; }

"$MTK" "${G[@]}" container run --rm --network none busybox true # warm the caches
mtk_ms=$(median_ms "$MTK" "${G[@]}" container run --rm --network none busybox true)
# the default network (a veth into the bridge, issue 6) against podman's netavark bridge
"$MTK" "${G[@]}" container run --rm busybox true
bridge_ms=$(median_ms "$MTK" "${G[@]}" container run --rm busybox true)
crun_ms=$(median_ms crun_run)
echo "runs: $N (hybrid cgroups: $hybrid)"
printf '%-44s %8s ms\n' "mtk container run --rm --network none busybox" "$mtk_ms"
printf '%-44s %8s ms\n' "mtk container run --rm busybox (bridge)" "$bridge_ms"
printf '%-44s %8s ms\n' "crun run (crun spec bundle)" "$crun_ms"
printf 'ratio mtk/crun: %.2f\n' "$(echo "$mtk_ms / $crun_ms" | bc -l)"

if command -v podman >/dev/null; then
  cat >"$T/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  P=(podman --root "$T/proot" --runroot "$T/prun" --storage-driver overlay)
  export CONTAINERS_CONF="$T/containers.conf"
  "${P[@]}" import "$T/rootfs.tar" localhost/busybox >/dev/null
  podman_run() { quirk "${P[@]}" run --rm --network none localhost/busybox true; }
  podman_run >/dev/null # warm up
  podman_ms=$(median_ms podman_run)
  printf '%-44s %8s ms\n' "podman run --rm --network none busybox true" "$podman_ms"
  printf 'ratio podman/mtk (none): %.2f\n' "$(echo "$podman_ms / $mtk_ms" | bc -l)"
  podman_bridge() { quirk "${P[@]}" run --rm localhost/busybox true; }
  if podman_bridge >/dev/null 2>&1; then
    podman_bridge_ms=$(median_ms podman_bridge)
    printf '%-44s %8s ms\n' "podman run --rm busybox true (bridge)" "$podman_bridge_ms"
    printf 'ratio podman/mtk (bridge): %.2f\n' "$(echo "$podman_bridge_ms / $bridge_ms" | bc -l)"
  fi
  quirk "${P[@]}" system reset -f >/dev/null 2>&1 || true
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
else
  echo "podman not installed: apt-get install podman"
fi
