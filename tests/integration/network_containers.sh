#!/usr/bin/env bash
# Networks with real containers (busybox image imported from busybox-static):
# two containers on a user network reach each other by IP (ping, and a TCP
# byte stream), get addresses in order (--ip honoured), see the network's
# gateway as nameserver and default route, and show their endpoint in
# `container inspect`; a running container is connected to a second network
# and disconnected again; `--network bridge` (the default) gets a default
# route and the host's nameservers without loopback ones; an --internal
# network gives no default route.  Afterwards: no link, mount or namespace
# file of this test.  Skips (77) only without crun or overlayfs.
# Traffic: only between the test's containers, on test-made subnets.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
for t in ip nft; do
  command -v $t >/dev/null || { echo "Bail out! $t missing (scripts/install-deps.sh)"; exit 1; }
done
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
G=(--root "$T/root" --runroot "$T/run")
cleanup() {
  "$MTK" "${G[@]}" container rm -f c1 c2 >/dev/null 2>&1
  "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1
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
    *) notok "$1: '$2' not in:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}
hasnt() { # name, needle, haystack
  case "$3" in
    *"$2"*) notok "$1: '$2' found in:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
    *) ok "$1" ;;
  esac
}

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/etc"
cp "$BB" "$T/rootfs/bin/busybox"
for x in sh echo true cat sleep ping nc ip; do ln -s busybox "$T/rootfs/bin/$x"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?
mkdir -p "$T/root"
ROOT=$(readlink -f "$T/root")
mx() { "$MTK" "${G[@]}" "$@"; }
net_ip() { # container network
  mx container inspect "$1" | python3 -c \
    "import json,sys; print(json.load(sys.stdin)[0]['NetworkSettings']['Networks']['$2']['IPAddress'])"
}

# --- two containers on a user network
mx network create --subnet 10.213.60.0/24 app >/dev/null
check "create app" 0 $?
mx container run -d --name c1 --network app busybox sleep 300 >/dev/null
check "run c1 on app" 0 $?
mx container run -d --name c2 --network app --ip 10.213.60.20 busybox \
  sh -c 'echo hello from c2 | nc -l -p 8080; sleep 300' >/dev/null
check "run c2 on app --ip 10.213.60.20" 0 $?
check "c1 got the first address" 10.213.60.2 "$(net_ip c1 app)"
check "c2 got the one it asked for" 10.213.60.20 "$(net_ip c2 app)"
has "c1's eth0" "inet 10.213.60.2/24" "$(mx container exec c1 ip -o addr show eth0)"
has "c1's default route" "default via 10.213.60.1" "$(mx container exec c1 ip route)"
check "c1's nameserver is the network's gateway" "nameserver 10.213.60.1" \
  "$(mx container exec c1 cat /etc/resolv.conf | grep '^nameserver')"
out=$(mx container exec c1 ping -c 1 -W 2 10.213.60.20 2>&1)
has "c1 pings c2 by IP" "1 packets received" "$out"
got=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  got=$(mx container exec c1 nc -w 2 10.213.60.20 8080 </dev/null 2>/dev/null) && [ -n "$got" ] && break
  sleep 0.3
done
check "c1 reads c2's TCP stream" "hello from c2" "$got"

# --- connect a running container to a second network, then disconnect
mx network create --internal --subnet 10.213.61.0/24 back >/dev/null
mx network connect --alias side back c1
check "connect c1 to back" 0 $?
has "c1 got eth1 on back" "inet 10.213.61.2/24" "$(mx container exec c1 ip -o addr show eth1 2>&1)"
check "c1's state lists back" 10.213.61.2 "$(net_ip c1 back)"
check "c1's default route is unchanged" "default via 10.213.60.1 dev eth0" \
  "$(mx container exec c1 ip route | grep '^default' | sed 's/ *$//')"
mx network disconnect back c1
check "disconnect c1 from back" 0 $?
check "eth1 is gone" "" "$(mx container exec c1 ip -o link show 2>&1 | grep eth1)"
out=$(mx network disconnect back c1 2>&1)
has "disconnecting again says it is not connected" "container c1 is not connected to network back" "$out"
out=$(mx network rm app 2>&1)
has "app cannot go while c1/c2 run" "has active endpoints" "$out"

# --- the default network and an internal one
out=$(mx container run --rm busybox sh -c 'ip route; cat /etc/resolv.conf')
has "bridge: a default route" "default via " "$out"
bid=$(mx network inspect bridge | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['Id'][:12])")
check "bridge: its bridge and veth left with the container" "" \
  "$(ip -o link show | grep -F "path=$ROOT" | grep -F "net=$bid")"
hasnt "bridge: no loopback nameserver" "nameserver 127." "$out"
out=$(mx container run --rm --network back busybox ip route)
hasnt "internal: no default route" "default" "$out"
has "internal: its subnet" "10.213.61.0/24" "$out"

# --- the end: nothing of this test remains
mx container rm -f c1 c2 >/dev/null
check "rm -f c1 c2" 0 $?
mx network rm app back >/dev/null
check "rm app back" 0 $?
check "no link of this root" "" "$(ip -o link show | grep -F "path=$ROOT")"
check "no mount under the test dir" "" "$(grep -F " $T/" /proc/self/mountinfo)"
check "no namespace file" "" "$(ls "$T/run/netns" 2>/dev/null)"
rules=$(nft list table ip mtk 2>/dev/null)
hasnt "no rule of app" "10.213.60.0/24" "$rules"
echo "1..$n"
exit $fail
