#!/usr/bin/env bash
# `mtk up` / `mtk down` of busybox stacks (issue 7): a healthcheck gate (the
# dependent starts only once its dependency is healthy), a one-shot service
# gated by service_completed_successfully, two replicas answering under one
# name, a restart policy, a named volume that survives `down` and goes with
# `down -v`, a published port answered on 127.0.0.1, a second `up` that
# recreates only the changed service, `down` of PID 1s without a SIGTERM
# handler in well under the grace period, and `up -d`, kill -9 of the
# supervisor, then `down` still removing everything.  After every `down`:
# no container, mount, veth, bridge, netns, nftables table or process left.
# Traffic only to 127.0.0.1 and to the addresses of the networks made here.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
P=mtkup$$
G=(--root "$T/root" --runroot "$T/run")
cleanup() {
  "$MTK" "${G[@]}" -f "$T/p/compose.yaml" down -v -t 0 >/dev/null 2>&1
  pkill -9 -f -- "--root $T/root" 2>/dev/null
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi; }
has() {
  case "$3" in
    *"$2"*) ok "$1" ;;
    *) notok "$1: '$2' not in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/www" "$T/rootfs/etc"
cp "$BB" "$T/rootfs/bin/busybox"
for x in sh echo true false id cat sleep httpd wget nc nslookup ls touch date; do
  ln -s busybox "$T/rootfs/bin/$x"
done
echo hello-from-web >"$T/rootfs/www/index.html"
echo 'root:x:0:0:root:/root:/bin/sh' >"$T/rootfs/etc/passwd"
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null || { echo "Bail out! import"; exit 1; }

port=$((20000 + $$ % 20000))
mkdir -p "$T/p"
cat >"$T/p/compose.yaml" <<YAML
name: $P
services:
  web:
    image: busybox
    command: httpd -f -p 8080 -h /www
    ports: ["127.0.0.1:$port:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 5
    volumes: [data:/data]
  init:
    image: busybox
    command: sh -c 'echo seeded > /data/seed'
    volumes: [data:/data]
  app:
    image: busybox
    command: sh -c 'cat /data/seed; wget -q -O - http://web:8080/; exec sleep 1000'
    depends_on:
      web: {condition: service_healthy}
      init: {condition: service_completed_successfully}
    volumes: [data:/data]
  worker:
    image: busybox
    command: sleep 1000
    deploy: {replicas: 2}
  flaky:
    image: busybox
    command: sh -c 'exit 3'
    restart: on-failure:2
volumes:
  data: {}
YAML
cd "$T/p"
# What belongs to this test: mounts and processes under $T, its network
# namespaces, and the links of its networks (bridges and veths named in the
# network records while the stack runs; other tests may run in parallel, so
# the host's other mtk links are not ours to count).
links=""
remember_links() {
  links="$links $(cat "$T"/root/networks/*.json 2>/dev/null |
    jq -r '.Options["com.docker.network.bridge.name"]?, (.Containers // {} | .[].Veth?)' |
    grep -v -e '^null$' -e '^mtk0$' -e '^mtk[0-9]*$' | sort -u | tr '\n' ' ')"
}
snapshot() {
  grep -F " $T/" /proc/self/mountinfo | awk '{print $5}'
  for l in $links; do ip link show "$l" >/dev/null 2>&1 && echo "link $l"; done
  ls "$T/run/netns" 2>/dev/null
  pgrep -a -f -- "$T/" | grep -v -e "^$$ " || true
}
before=$(snapshot)

t0=$(date +%s%N)
out=$("$MTK" "${G[@]}" up -d 2>&1)
rc=$?
check "up -d exits 0" 0 $rc
[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
has "up reports the healthy gate" "Healthy" "$out"
body=$(busybox wget -q -O - "http://127.0.0.1:$port/" 2>&1)
check "published port answers on 127.0.0.1" hello-from-web "$body"
remember_links
case "$links" in *mtkbr-*mtkv*) ok "the stack's bridge and veths are known: $links" ;;
  *) notok "no bridge/veth found in the network records: '$links'" ;; esac
sleep 1
logs=$("$MTK" "${G[@]}" logs app 2>&1)
has "app started after init completed (volume seeded)" seeded "$logs"
has "app reached web by service name" hello-from-web "$logs"
ps=$("$MTK" "${G[@]}" ps --format '{{.Names}}' 2>&1)
has "two worker replicas" "$P-worker-2" "$ps"
sleep 2
flaky=$("$MTK" "${G[@]}" container inspect -f '{{.RestartCount}}' "$P-flaky-1" 2>&1)
check "on-failure:2 restarted twice" 2 "$flaky"

# a second up -d while the supervisor runs hands the new container to it
sup1=$(cat "$T/run/projects/$P/supervisor.pid" 2>/dev/null)
out=$("$MTK" "${G[@]}" up -d --scale worker=3 2>&1)
has "scaled up: a third worker" "$P-worker-3  Started" "$out"
check "one supervisor per project" "$sup1" "$(cat "$T/run/projects/$P/supervisor.pid" 2>/dev/null)"
check "a single supervisor process for the project" 1 \
  "$(pgrep -c -f -- "--root $T/root" 2>/dev/null)"

# a second up recreates only the changed service
sed -i 's/command: sleep 1000/command: sleep 1001/' compose.yaml
out=$("$MTK" "${G[@]}" up -d 2>&1)
has "changed service recreated" "$P-worker-1  Recreated" "$out"
case "$out" in *"$P-web-1  Recreated"*) notok "unchanged web was recreated" ;; *) ok "web kept" ;; esac

# down: sleep/httpd as PID 1 ignore SIGTERM -> killed at once
t0=$(date +%s%N)
out=$("$MTK" "${G[@]}" down 2>&1)
check "down exits 0" 0 $?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $ms -lt 3000 ]; then ok "down took ${ms} ms"; else notok "down took ${ms} ms"; fi
has "down names PID 1s without a handler" "killed at once" "$out"
check "volume kept by down" data "$(ls "$T/root/volumes" | grep -o data | head -1)"
check "nothing left after down" "$before" "$(snapshot)"

# up -d, kill -9 of the supervisor, down still removes everything
"$MTK" "${G[@]}" up -d >/dev/null 2>&1
remember_links
sup=$(cat "$T/run/projects/$P/supervisor.pid" 2>/dev/null)
[ -n "$sup" ] && kill -9 "$sup"
out=$("$MTK" "${G[@]}" down -v 2>&1)
check "down after kill -9 of the supervisor" 0 $?
check "down -v removed the volume" "" "$(ls "$T/root/volumes" 2>/dev/null)"
check "no container left" "" "$("$MTK" "${G[@]}" container ps -a -q 2>&1)"
check "nothing left after down -v" "$before" "$(snapshot)"

echo "1..$n"
exit $fail
