#!/usr/bin/env bash
# Benchmark: pulling a ~100 MB multi-layer image from a local registry with
# `mtk image pull` against `podman pull` (Debian's podman, overlay storage),
# both into fresh storage each run, both downloading, verifying and
# unpacking every layer.  The image is built here from local files with umoci
# (busybox-static plus layers of random and of compressible data and of many
# small files), pushed with skopeo to docker-registry on a free loopback port.
# Prints the time of each run, the medians and the ratio podman/mtk (above 1:
# mtk is faster).  Run by hand, as root:
#   bench/pull.sh [build/mtk] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
MTK=$(readlink -f "${1:-build/mtk}")
RUNS=${2:-5}
[ -x "$MTK" ] || { echo "build mtk first"; exit 1; }
need=()
for t in docker-registry:docker-registry skopeo:skopeo umoci:umoci podman:podman jq:jq bc:bc \
  busybox:busybox-static; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export REG_WORK
REG_WORK=$(mktemp -d /var/tmp/mtk-bench-pull.XXXXXX)
source tests/fixtures/registry/registry.sh
trap 'reg_stop_all' EXIT

# --- the image --------------------------------------------------------------
L=$REG_WORK/oci B=$REG_WORK/bundle
echo "building the image (umoci) ..." >&2
umoci init --layout "$L"
umoci new --image "$L:big"
umoci unpack --image "$L:big" "$B" >/dev/null
mkdir -p "$B/rootfs/bin"
install -m 0755 "$(command -v busybox)" "$B/rootfs/bin/busybox"
umoci repack --refresh-bundle --image "$L:big" "$B" >/dev/null
for i in 1 2 3 4 5; do
  d=$B/rootfs/data$i
  mkdir -p "$d/small"
  head -c $((14 * 1024 * 1024)) /dev/urandom >"$d/random.bin"             # incompressible
  seq 1 2500000 | sed "s/\$/ layer $i: some compressible text/" >"$d/text.txt" # ~30 MB, compresses well
  for k in $(seq 1 600); do printf 'file %d of layer %d\n' "$k" "$i" >"$d/small/f$k"; done
  umoci repack --refresh-bundle --image "$L:big" "$B" >/dev/null
done
umoci config --image "$L:big" --os linux --architecture amd64 --config.cmd /bin/sh
reg_start BENCH open
IMG=$REG_BENCH/bench/big:1
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$L:big" "docker://$IMG"
m=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REG_BENCH/v2/bench/big/manifests/1")
echo "image: $(jq '.layers | length' <<<"$m") layers, $(jq '[.layers[].size] | add' <<<"$m") bytes compressed" >&2

# --- the runs ---------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mtk_times=() podman_times=()
for run in $(seq 1 "$RUNS"); do
  root=$REG_WORK/mtk-$run
  sync
  t0=$(now)
  "$MTK" --root "$root" image pull -q "$IMG" >/dev/null
  t1=$(now)
  mtk_times+=("$(echo "$t1 - $t0" | bc)")
  rm -rf "$root"

  proot=$REG_WORK/podman-$run prun=$REG_WORK/podman-run-$run
  sync
  t0=$(now)
  podman --root "$proot" --runroot "$prun" --storage-driver overlay \
    pull -q --tls-verify=false "$IMG" >/dev/null
  t1=$(now)
  podman_times+=("$(echo "$t1 - $t0" | bc)")
  podman --root "$proot" --runroot "$prun" --storage-driver overlay rmi -a -f >/dev/null 2>&1 || true
  umount "$proot/overlay" 2>/dev/null || true
  rm -rf "$proot" "$prun"
  printf 'run %d: mtk %.3f s, podman %.3f s\n' "$run" "${mtk_times[-1]}" "${podman_times[-1]}"
done
mt=$(printf '%s\n' "${mtk_times[@]}" | median)
pt=$(printf '%s\n' "${podman_times[@]}" | median)
printf 'median: mtk image pull %.3f s, podman pull %.3f s, ratio podman/mtk %.2f\n' \
  "$mt" "$pt" "$(echo "$pt / $mt" | bc -l)"
