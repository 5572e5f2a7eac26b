#!/usr/bin/env bash
# mtk network create/ls/inspect/rm: records, bridges with their gateway, the
# subnet pool (skips a range a test-made interface routes, and ranges of
# other networks), errors (duplicate name, overlapping or malformed subnet,
# pre-defined names, unknown network), and no leak after rm: no bridge, no
# route, no nftables rule of ours, IP forwarding as it was.
# Traffic: none.  Needs root, iproute2 and nft (to observe only).
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
for t in ip nft; do
  command -v $t >/dev/null || { echo "Bail out! $t missing (scripts/install-deps.sh)"; exit 1; }
done
T=$(mktemp -d)
DUMMY="mtkt$$d"
cleanup() {
  ip link del "$DUMMY" 2>/dev/null
  "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
G=(--root "$T/root" --runroot "$T/run")
mkdir -p "$T/root"
ROOT=$(readlink -f "$T/root")

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
field() { # network, jq expression
  "$MTK" "${G[@]}" network inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print($2)"
}
overlaps() { # cidr cidr -> exit 0 when they overlap
  python3 -c "import ipaddress,sys; sys.exit(0 if ipaddress.ip_network('$1').overlaps(ipaddress.ip_network('$2')) else 1)"
}
mtk_bridges() { ip -o link show | grep -E '^[0-9]+: mtk[^:]*:.*alias mtk root='; }
# IP forwarding as found, when no mtk network of anyone exists (else mtk may
# already have turned it on, and restores it only when the last one goes).
[ -z "$(mtk_bridges)" ] && fwd_before=$(cat /proc/sys/net/ipv4/ip_forward) || fwd_before=""

# --- create, ls, inspect
id1=$("$MTK" "${G[@]}" network create n1)
check "create prints the ID" 1 "$(echo "$id1" | grep -cE '^[0-9a-f]{64}$')"
br1=$(field n1 "d['Options']['com.docker.network.bridge.name']")
sn1=$(field n1 "d['IPAM']['Config'][0]['Subnet']")
gw1=$(field n1 "d['IPAM']['Config'][0]['Gateway']")
check "bridge name mtkbr-<id:8>" "mtkbr-${id1:0:8}" "$br1"
has "the bridge has the gateway address" "$gw1/${sn1#*/}" "$(ip -o addr show dev "$br1" 2>&1)"
has "the bridge is up" "UP" "$(ip -o link show dev "$br1" 2>&1)"
has "the bridge's route is the subnet" "$sn1 dev $br1" "$(ip route)"
has "the bridge says whose it is (alias)" "path=$ROOT" "$(ip -o link show dev "$br1")"
has "a non-internal network masquerades" "ip saddr $sn1 oifname != \"$br1\" masquerade" \
  "$(nft list table ip mtk 2>&1)"
check "IP forwarding on while it exists" 1 "$(cat /proc/sys/net/ipv4/ip_forward)"
check "inspect by ID prefix" "n1" "$(field "${id1:0:5}" "d['Name']")"
check "inspect: driver, scope" "bridge local" "$(field n1 "d['Driver'] + ' ' + d['Scope']")"
hasnt "inspect hides mtk's bookkeeping" "Mtk" "$("$MTK" "${G[@]}" network inspect n1)"

id2=$("$MTK" "${G[@]}" network create --subnet 10.213.5.0/24 --gateway 10.213.5.254 \
  --label team=a --label solo n2)
check "create n2 --subnet --gateway --label" 0 $?
check "n2 subnet/gateway" "10.213.5.0/24 10.213.5.254" \
  "$(field n2 "d['IPAM']['Config'][0]['Subnet'] + ' ' + d['IPAM']['Config'][0]['Gateway']")"
check "n2 labels" "{'team': 'a', 'solo': ''}" "$(field n2 "d['Labels']")"
ls=$("$MTK" "${G[@]}" network ls)
has "ls header" "NETWORK ID     NAME   DRIVER   SCOPE" "$ls"
has "ls lists n1" "${id1:0:12}   n1" "$ls"
has "ls lists n2" "${id2:0:12}   n2" "$ls"
check "ls -q" "$(printf '%s\n%s' "${id1:0:12}" "${id2:0:12}")" "$("$MTK" "${G[@]}" network ls -q)"
check "ls --filter label=team=a" "${id2:0:12}" "$("$MTK" "${G[@]}" network ls -q --filter label=team=a)"
js=$("$MTK" "${G[@]}" network ls --format json)
check "ls --format json: one object per network" "n1 n2" \
  "$(printf '%s\n' "$js" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["Name"] for l in sys.stdin))')"

# --- the pool: what the next network would get, taken by a test-made route (on a
# veth: this kernel has no dummy links), is skipped
id3=$("$MTK" "${G[@]}" network create probe) && sn3=$(field probe "d['IPAM']['Config'][0]['Subnet']")
"$MTK" "${G[@]}" network rm probe >/dev/null
if overlaps "$sn3" "$sn1"; then notok "pool: a second network overlaps n1 ($sn3)"; else ok "pool: no overlap with n1"; fi
ip link add "$DUMMY" type veth peer name "${DUMMY}p" && ip addr add "${sn3%.0/*}.9/24" dev "$DUMMY" && ip link set "$DUMMY" up
id4=$("$MTK" "${G[@]}" network create n4)
sn4=$(field n4 "d['IPAM']['Config'][0]['Subnet']")
if overlaps "$sn4" "${sn3%.0/*}.0/24"; then
  notok "pool skips a range routed on the host ($sn4 vs ${sn3%.0/*}.0/24)"
else ok "pool skips a range routed on the host ($sn4)"; fi
out=$("$MTK" "${G[@]}" network create --subnet "${sn3%.0/*}.0/26" n5 2>&1)
check "a subnet on a host route: exit 1" 1 $?
has "... names the host route" "overlaps with the host route ${sn3%.0/*}.0/24 on $DUMMY" "$out"
ip link del "$DUMMY"

# --- errors
out=$("$MTK" "${G[@]}" network create n1 2>&1)
check "duplicate name: exit 1" 1 $?
has "duplicate name: message" "network with name n1 already exists" "$out"
out=$("$MTK" "${G[@]}" network create --subnet 10.213.5.128/25 n6 2>&1)
has "overlapping subnet names the network" "overlaps with network n2" "$out"
out=$("$MTK" "${G[@]}" network create --subnet 10.213.6.1/24 n6 2>&1)
has "host bits set" "it should be 10.213.6.0/24" "$out"
out=$("$MTK" "${G[@]}" network create --subnet 10.213.6.0/24 --gateway 10.213.7.1 n6 2>&1)
has "gateway outside the subnet" "not a host address of subnet 10.213.6.0/24" "$out"
out=$("$MTK" "${G[@]}" network create bridge 2>&1)
has "bridge is pre-defined" "bridge is a pre-defined network" "$out"
out=$("$MTK" "${G[@]}" network create 'a b' 2>&1)
has "invalid name" "invalid network name" "$out"
check "failed creates left no record" 3 "$("$MTK" "${G[@]}" network ls -q | wc -l)"
out=$("$MTK" "${G[@]}" network rm nope 2>&1)
check "rm unknown: exit 1" 1 $?
has "rm unknown: message" "network nope not found" "$out"
"$MTK" "${G[@]}" network rm -f nope >/dev/null 2>&1
check "rm -f unknown: exit 0" 0 $?

# --- removal leaves nothing
out=$("$MTK" "${G[@]}" network rm n1 n2 n4)
check "rm prints the names" "$(printf 'n1\nn2\nn4')" "$out"
check "no network left" "" "$("$MTK" "${G[@]}" network ls -q)"
check "no link of this root" "" "$(ip -o link show | grep -F "path=$ROOT")"
hasnt "no route of the removed networks" "mtkbr-${id1:0:8}" "$(ip route)"
hasnt "no rule for the removed bridges" "${id1:0:8}" "$(nft list table ip mtk 2>/dev/null)"
hasnt "no rule for n2" "10.213.5.0/24" "$(nft list table ip mtk 2>/dev/null)"
if [ -z "$(mtk_bridges)" ]; then
  hasnt "no mtk bridge on the host: no table ip mtk" "table ip mtk" "$(nft list tables)"
  if [ -n "$fwd_before" ]; then
    check "IP forwarding back to what it was" "$fwd_before" "$(cat /proc/sys/net/ipv4/ip_forward)"
  else
    check "IP forwarding restored (no saved value left)" no \
      "$([ -e /run/mtk-net/ip_forward ] && echo yes || echo no)"
  fi
else
  ok "# SKIP table/forwarding checks: other mtk networks exist on this host"
  ok "# SKIP"
fi
echo "1..$n"
exit $fail
