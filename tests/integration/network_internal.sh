#!/usr/bin/env bash
# Outbound access and isolation, with an "outside" that the test makes: a
# namespace behind a veth pair on the host (10.213.31.0/24, not an mtk
# network).  A namespace on a normal network reaches it (forwarding on,
# masqueraded: the outside sees the host's address); one on an --internal
# network has no default route, no masquerade rule, and its packets are
# dropped even with a route the test adds by hand, while its gateway stays
# reachable; two mtk networks do not reach each other.  Afterwards no rule,
# link or mount is left, and IP forwarding is as before.
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
  ip link del "${P}o" 2>/dev/null
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
hasnt() { # name, needle, haystack
  case "$3" in
    *"$2"*) notok "$1: '$2' found in:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
    *) ok "$1" ;;
  esac
}
mkns() { ip netns add "$P$1" && NS+=("$P$1"); }
in_ns() { local x=$1; shift; ip netns exec "$P$x" "$@"; }
conn() { "$MTK" "${G[@]}" network connect --netns "/run/netns/$P$2" "$1" "$2"; }
bridge() {
  "$MTK" "${G[@]}" network inspect "$1" | python3 -c \
    "import json,sys; print(json.load(sys.stdin)[0]['Options']['com.docker.network.bridge.name'])"
}
ping_ok() { in_ns "$1" "$BB" ping -c 1 -W 2 "$2" >/dev/null 2>&1; }
mtk_bridges() { ip -o link show | grep -E '^[0-9]+: mtk[^:]*:.*alias mtk root='; }
# IP forwarding as found, when no mtk network of anyone exists (else mtk may
# already have turned it on, and restores it only when the last one goes).
[ -z "$(mtk_bridges)" ] && fwd_before=$(cat /proc/sys/net/ipv4/ip_forward) || fwd_before=""

# The outside: a namespace behind a veth, 10.213.31.1 on the host side.
mkns out
ip link add "${P}o" type veth peer name eth0 netns "${P}out"
ip addr add 10.213.31.1/24 dev "${P}o" && ip link set "${P}o" up
in_ns out ip addr add 10.213.31.2/24 dev eth0 && in_ns out ip link set eth0 up &&
  in_ns out ip link set lo up
check "the outside namespace is set up" 0 $?

"$MTK" "${G[@]}" network create --subnet 10.213.32.0/24 ext >/dev/null &&
  "$MTK" "${G[@]}" network create --internal --subnet 10.213.33.0/24 int >/dev/null
check "create a normal and an internal network" 0 $?
BE=$(bridge ext)
BI=$(bridge int)
mkns e && mkns i && conn ext e && conn int i
check "connect e to ext, i to int" 0 $?

rules=$(nft list table ip mtk 2>&1)
has "ext masquerades" "ip saddr 10.213.32.0/24 oifname != \"$BE\" masquerade" "$rules"
hasnt "int does not masquerade" "10.213.33.0/24" "$rules"
has "int: forwarded traffic from its bridge is dropped" "iifname \"$BI\" drop" "$rules"
has "int: forwarded traffic to its bridge is dropped" "oifname \"$BI\" drop" "$rules"
has "same-bridge traffic is accepted (br_netfilter)" "iifname \"$BI\" oifname \"$BI\" accept" "$rules"
check "IP forwarding is on" 1 "$(cat /proc/sys/net/ipv4/ip_forward)"
check "int: no default route" "" "$(in_ns i ip route show default)"
has "ext: default route via its gateway" "default via 10.213.32.1" "$(in_ns e ip route)"

# Outbound from ext, masqueraded: the outside has no route back to ext's
# subnet, so its replies arrive only if the source became the host's address.
hasnt "the outside has no route to ext's subnet" "10.213.32" "$(in_ns out ip route)"
if ping_ok e 10.213.31.2; then ok "ext reaches the outside (masqueraded)"; else notok "ext reaches the outside (masqueraded)"; fi

# Internal: even with routes added by hand both ways (so that only mtk's
# rules stand in the way), nothing gets out; the gateway answers.
in_ns out ip route add 10.213.33.0/24 via 10.213.31.1
if ping_ok i 10.213.33.1; then ok "int reaches its gateway"; else notok "int reaches its gateway"; fi
in_ns i ip route add 10.213.31.0/24 via 10.213.33.1
if ping_ok i 10.213.31.2; then notok "int reached the outside"; else ok "int cannot reach the outside"; fi
in_ns i ip route add 10.213.32.0/24 via 10.213.33.1
if ping_ok i 10.213.32.2; then notok "int reached ext"; else ok "int cannot reach another network"; fi
if ping_ok e 10.213.33.2; then notok "ext reached int"; else ok "ext cannot reach int"; fi

# Two normal networks are isolated from each other too.
"$MTK" "${G[@]}" network create --subnet 10.213.34.0/24 ext2 >/dev/null && mkns f && conn ext2 f
if ping_ok f 10.213.32.2; then notok "ext2 reached ext"; else ok "ext2 cannot reach ext"; fi
if ping_ok f 10.213.31.2; then ok "ext2 reaches the outside"; else notok "ext2 reaches the outside"; fi

# Leaving: nothing of ours remains.
for x in e i f; do ip netns del "$P$x"; done
"$MTK" "${G[@]}" network rm ext int ext2 >/dev/null
check "rm all" 0 $?
check "no link of this root" "" "$(ip -o link show | grep -F "path=$ROOT")"
rules=$(nft list table ip mtk 2>/dev/null)
hasnt "no rule of ext" "$BE" "$rules"
hasnt "no rule of int" "$BI" "$rules"
check "no mount under the test dir" "" "$(grep -F " $T/" /proc/self/mountinfo)"
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
