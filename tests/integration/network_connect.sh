#!/usr/bin/env bash
# Endpoints in network namespaces the test makes itself (`ip netns add`,
# connected with `mtk network connect --netns`): two namespaces on a network
# reach each other by IP (ping and a TCP byte stream with busybox), addresses
# come in order and never twice, also across mtk processes (each command is
# a new one: the IPAM lives in the record), a requested address is checked,
# a network with endpoints cannot be removed, disconnect and prune remove
# veths and endpoints, and nothing is left afterwards.
# Traffic: only between the test's namespaces, on test-made subnets.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
for t in ip nft; do
  command -v $t >/dev/null || { echo "Bail out! $t missing (scripts/install-deps.sh)"; exit 1; }
done
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
P="mtkt$$"
NS=()
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null; done
  for x in "${NS[@]}"; do ip netns del "$x" 2>/dev/null; done
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
mkns() { ip netns add "$P$1" && NS+=("$P$1"); }
in_ns() { local x=$1; shift; ip netns exec "$P$x" "$@"; }
conn() { # network name [options...]
  local net=$1 x=$2; shift 2
  "$MTK" "${G[@]}" network connect --netns "/run/netns/$P$x" "$@" "$net" "$x"
}
ep_ip() { # network name
  "$MTK" "${G[@]}" network inspect "$1" | python3 -c "
import json,sys
for e in json.load(sys.stdin)[0]['Containers'].values():
    if e['Name'] == '$2': print(e['IPv4Address'].split('/')[0])"
}
ping_ok() { in_ns "$1" "$BB" ping -c 1 -W 2 "$2" >/dev/null 2>&1; }

"$MTK" "${G[@]}" network create --subnet 10.213.21.0/24 net >/dev/null
check "create net" 0 $?
BR=$("$MTK" "${G[@]}" network inspect net | python3 -c \
  "import json,sys; print(json.load(sys.stdin)[0]['Options']['com.docker.network.bridge.name'])")
for x in a b c d; do mkns $x; done
conn net a && conn net b
check "connect a and b" 0 $?
check "a got the first address" 10.213.21.2 "$(ep_ip net a)"
check "b got the next" 10.213.21.3 "$(ep_ip net b)"
has "a has eth0 with its address" "inet 10.213.21.2/24" "$(in_ns a ip -o addr show dev eth0)"
has "a's default route is the gateway" "default via 10.213.21.1 dev eth0" "$(in_ns a ip route)"
has "a's MAC follows its address (02:42 + IP)" "02:42:0a:d5:15:02" "$(in_ns a ip -o link show eth0)"
veth_a=$(ip -o link show master "$BR" | grep -c "alias mtk root=")
check "two veths on the bridge, with our alias" 2 "$veth_a"

if ping_ok a 10.213.21.3; then ok "a pings b by IP"; else notok "a pings b by IP"; fi
if ping_ok b 10.213.21.1; then ok "b pings the gateway"; else notok "b pings the gateway"; fi
bnf=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)
echo "# br_netfilter bridge-nf-call-iptables: $bnf"
in_ns b "$BB" nc -l -p 7777 >"$T/got" &
lp=$!
got=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  echo "hello over tcp" | in_ns a "$BB" nc -w 2 10.213.21.3 7777 2>/dev/null && break
  sleep 0.2
done
wait "$lp" 2>/dev/null
check "a sends a TCP stream to b" "hello over tcp" "$(cat "$T/got")"

# --- IPAM: requested addresses, order after the last, never twice
out=$(conn net c --ip 10.213.21.3 2>&1)
check "a requested address in use: exit 1" 1 $?
has "... says so" "10.213.21.3 is already in use" "$out"
out=$(conn net c --ip 10.213.22.3 2>&1)
has "a requested address outside the subnet" "not in the network's subnet 10.213.21.0/24" "$out"
check "failed connects left no veth" 2 "$(ip -o link show master "$BR" | wc -l)"
conn net c --ip 10.213.21.50
check "connect c --ip 10.213.21.50" 10.213.21.50 "$(ep_ip net c)"
"$MTK" "${G[@]}" network disconnect net b
check "disconnect b" 0 $?
check "b's eth0 is gone" "" "$(in_ns b ip -o link show 2>/dev/null | grep eth0)"
conn net d
check "d gets the address after the last one, not b's freed one" 10.213.21.51 "$(ep_ip net d)"
conn net b
check "b again: the next one" 10.213.21.52 "$(ep_ip net b)"
ips=$("$MTK" "${G[@]}" network inspect net | python3 -c \
  "import json,sys; print(' '.join(sorted(e['IPv4Address'] for e in json.load(sys.stdin)[0]['Containers'].values())))")
check "all addresses distinct" 4 "$(echo "$ips" | tr ' ' '\n' | sort -u | wc -l)"
if ping_ok d 10.213.21.52; then ok "d pings b's new address"; else notok "d pings b's new address"; fi
out=$(conn net a 2>&1)
has "connecting twice is refused" "already exists in network net" "$out"

# --- a network in use cannot go
out=$("$MTK" "${G[@]}" network rm net 2>&1)
check "rm with endpoints: exit 1" 1 $?
has "... names them" "has active endpoints (" "$out"

# --- a namespace that dies takes its veth along; rm drops such endpoints
ip netns del "${P}d"
"$MTK" "${G[@]}" network disconnect net a && "$MTK" "${G[@]}" network disconnect net c
check "disconnect a and c" 0 $?
out=$("$MTK" "${G[@]}" network rm net 2>&1)
check "rm still refused while b is connected" 1 $?
ip netns del "${P}b"
"$MTK" "${G[@]}" network rm net >/dev/null
check "rm once every endpoint's namespace is gone" 0 $?

# --- prune: endpoints without a container, networks without endpoints
"$MTK" "${G[@]}" network create --subnet 10.213.23.0/24 p1 >/dev/null
"$MTK" "${G[@]}" network create --subnet 10.213.24.0/24 p2 >/dev/null
conn p1 a
out=$("$MTK" "${G[@]}" network prune -f)
has "prune removes networks" "Deleted Networks:" "$out"
check "prune removed p1 (its endpoint has no container) and p2" "" "$("$MTK" "${G[@]}" network ls -q)"
check "a's eth0 went with it" "" "$(in_ns a ip -o link show 2>/dev/null | grep eth0)"

# --- after a reboot the records remain but the bridge is gone: connect makes it again
"$MTK" "${G[@]}" network create --subnet 10.213.25.0/24 rb >/dev/null
RB=$("$MTK" "${G[@]}" network inspect rb | python3 -c \
  "import json,sys; print(json.load(sys.stdin)[0]['Options']['com.docker.network.bridge.name'])")
ip link del "$RB"
"$MTK" "${G[@]}" network connect --netns "/run/netns/${P}c" rb c
check "connect after the bridge was lost" 0 $?
has "the bridge is back with its gateway" "10.213.25.1/24" "$(ip -o addr show dev "$RB" 2>&1)"
has "its rules are back" "ip saddr 10.213.25.0/24 oifname != \"$RB\" masquerade" \
  "$(nft list table ip mtk 2>&1)"
if ping_ok c 10.213.25.1; then ok "c reaches the new bridge"; else notok "c reaches the new bridge"; fi
"$MTK" "${G[@]}" network disconnect rb c && "$MTK" "${G[@]}" network rm rb >/dev/null
check "disconnect and rm rb" 0 $?

# --- IPv6: a ULA /64 beside the IPv4 subnet, same host part
"$MTK" "${G[@]}" network create --ipv6 --subnet 10.213.26.0/24 v6 >/dev/null
conn v6 a && conn v6 c
check "connect a and c to v6" 0 $?
v6=$("$MTK" "${G[@]}" network inspect v6 | python3 -c "
import json,sys
d=json.load(sys.stdin)[0]
print(d['IPAM']['Config'][1]['Subnet'], ' '.join(e['IPv6Address'] for e in d['Containers'].values()))")
pfx=${v6%%::/64*}
has "a ULA /64" "fd" "${v6:0:2}"
has "endpoints get prefix::2 and ::3" "$pfx::2/64 $pfx::3/64" "$v6"
if in_ns a "$BB" ping -6 -c 1 -W 2 "$pfx::3" >/dev/null 2>&1; then ok "a pings c over IPv6"; else
  notok "a pings c over IPv6"; fi
has "a's IPv6 default route" "default via $pfx::1" "$(in_ns a ip -6 route)"
"$MTK" "${G[@]}" network disconnect v6 a && "$MTK" "${G[@]}" network disconnect v6 c &&
  "$MTK" "${G[@]}" network rm v6 >/dev/null
check "disconnect and rm v6" 0 $?

# --- leaks
check "no link of this root" "" "$(ip -o link show | grep -F "path=$ROOT")"
check "no mount under the test dir" "" "$(grep -F " $T/" /proc/self/mountinfo)"
nftx=$(nft list table ip mtk 2>/dev/null)
case "$nftx" in *"$BR"* | *10.213.2*) notok "rules of removed networks remain" ;; *) ok "no rules left" ;; esac
echo "1..$n"
exit $fail
