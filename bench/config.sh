#!/usr/bin/env bash
# Benchmark: loading a compose project (`mtk config`) against the peers that
# run on this machine: Debian's docker-compose (v1, Python) and, when
# present, `docker compose` (v2).  podman-compose 1.0.3 (Debian 12) has no
# `config` command, so it cannot be compared here.  Prints mean times and
# the ratio peer/mtk (above 1: mtk is faster).  Run by hand:
#   bench/config.sh [build/mtk]
set -euo pipefail
cd "$(dirname "$0")/.."
MTK=${1:-build/mtk}
[ -x "$MTK" ] || { echo "build mtk first (scripts/quickstart.sh)"; exit 1; }
MTK=$(readlink -f "$MTK")
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The sample lab stack (without `name:`, which compose v1 does not know).
mkdir -p "$work/lab"
cp -r samples/flask-rstudio/. "$work/lab/"
sed -i '/^name:/d' "$work/lab/compose.yaml"
# 2. A large project: 200 services with ports, volumes, env, healthchecks, depends_on.
mkdir -p "$work/big"
{
  echo 'x-common: &common'
  echo '  restart: unless-stopped'
  echo '  environment: {LOG_LEVEL: "${LOG_LEVEL:-info}", REGION: eu}'
  echo 'services:'
  for i in $(seq 1 200); do
    echo "  svc$i:"
    echo "    <<: *common"
    echo "    image: \"registry.example/team/svc$i:\${TAG:-1.0}\""
    echo "    ports: [\"$((10000 + i)):80\", \"127.0.0.1:$((20000 + i)):443/tcp\"]"
    echo "    volumes: [\"data$i:/var/lib/data\", \"./conf/svc$i:/etc/svc:ro\"]"
    echo "    healthcheck: {test: [\"CMD\", \"true\"], interval: 30s, timeout: 5s, retries: 3}"
    [ "$i" -gt 1 ] && echo "    depends_on: [svc$((i - 1))]"
  done
  echo 'volumes:'
  for i in $(seq 1 200); do echo "  data$i: {}"; done
} >"$work/big/compose.yaml"

peers=()
command -v docker-compose >/dev/null && peers+=("docker-compose (v1)|docker-compose")
if docker compose version >/dev/null 2>&1; then peers+=("docker compose (v2)|docker compose"); fi

for proj in lab big; do
  echo "== $proj: $(grep -c '^  [a-z]' "$work/$proj/compose.yaml" || true) top-level entries"
  cmds=("$MTK --project-directory $work/$proj config")
  names=("mtk")
  for p in "${peers[@]}"; do
    names+=("${p%%|*}")
    cmds+=("${p#*|} --project-directory $work/$proj config")
  done
  json="$work/$proj.json"
  hyperfine -N --warmup 3 --min-runs 10 --export-json "$json" "${cmds[@]}" >/dev/null 2>&1 ||
    hyperfine --warmup 3 --min-runs 10 --export-json "$json" "${cmds[@]}" >/dev/null
  python3 - "$json" "${names[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
names = sys.argv[2:]
base = res[0]["mean"]
for name, r in zip(names, res):
    ratio = r["mean"] / base
    print(f"  {name:22s} {r['mean']*1000:9.2f} ms  ± {r['stddev']*1000:6.2f}   ratio {ratio:6.1f}x")
PY
done
