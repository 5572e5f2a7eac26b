#!/usr/bin/env bash
# The default network "bridge" and several roots on one host: "bridge" is
# made on first use (172.17.0.0/16 unless that is routed, else the pool),
# cannot be created or removed, and its Linux bridge exists only while
# something is connected; two roots get distinct bridges and subnets, and
# one root's rm/prune leaves the other's alone; the links of a root whose
# directory was deleted are removed by the next prune of any root.
# Traffic: only between the test's namespaces.
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
G1=(--root "$T/r1" --runroot "$T/run1")
G2=(--root "$T/r2" --runroot "$T/run2")
G3=(--root "$T/r3" --runroot "$T/run3")
cleanup() {
  for x in "${NS[@]}"; do ip netns del "$x" 2>/dev/null; done
  for g in G1 G2 G3; do
    eval "\"\$MTK\" \"\${$g[@]}\" network prune -f" >/dev/null 2>&1
  done
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/r1" "$T/r2" "$T/r3"

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
info() { # root-args... -- network python-expr
  local args=() ; while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  "$MTK" "${args[@]}" network inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print($2)"
}
link_exists() { ip link show "$1" >/dev/null 2>&1 && echo yes || echo no; }

# --- the default network of root 1
mkns a && mkns b
"$MTK" "${G1[@]}" network connect --netns "/run/netns/${P}a" bridge a
check "connecting to bridge creates it" 0 $?
B1=$(info "${G1[@]}" -- bridge "d['Options']['com.docker.network.bridge.name']")
S1=$(info "${G1[@]}" -- bridge "d['IPAM']['Config'][0]['Subnet']")
has "its bridge is mtkN" "mtk" "$(echo "$B1" | grep -E '^mtk[0-9]+$')"
echo "# root 1: bridge $B1, subnet $S1"
check "default options" "true" "$(info "${G1[@]}" -- bridge "d['Options']['com.docker.network.bridge.default_bridge']")"
out=$("$MTK" "${G1[@]}" network rm bridge 2>&1)
check "rm bridge: exit 1" 1 $?
has "rm bridge: refused" "bridge is a pre-defined network and cannot be removed" "$out"

# --- root 2 at the same time: another bridge, another subnet
"$MTK" "${G2[@]}" network connect --netns "/run/netns/${P}b" bridge b
check "root 2 connects to its own bridge network" 0 $?
B2=$(info "${G2[@]}" -- bridge "d['Options']['com.docker.network.bridge.name']")
S2=$(info "${G2[@]}" -- bridge "d['IPAM']['Config'][0]['Subnet']")
echo "# root 2: bridge $B2, subnet $S2"
if [ "$B1" != "$B2" ] && [ "$S1" != "$S2" ]; then ok "distinct bridges and subnets"; else
  notok "roots share $B1/$S1 and $B2/$S2"; fi
ipa=$(info "${G1[@]}" -- bridge "list(d['Containers'].values())[0]['IPv4Address'].split('/')[0]")
ipb=$(info "${G2[@]}" -- bridge "list(d['Containers'].values())[0]['IPv4Address'].split('/')[0]")
if ip netns exec "${P}a" "$BB" ping -c1 -W1 "$ipb" >/dev/null 2>&1; then
  notok "root 1's bridge reached root 2's"; else ok "the two default networks are isolated"; fi
rules=$(nft list table ip mtk 2>&1)
has "root 1's bridge masquerades" "ip saddr $S1 oifname != \"$B1\" masquerade" "$rules"
has "root 2's bridge masquerades" "ip saddr $S2 oifname != \"$B2\" masquerade" "$rules"

# --- root 1's prune keeps root 2's network; disconnect ends root 1's bridge
"$MTK" "${G1[@]}" network disconnect bridge a
check "disconnect a" 0 $?
check "root 1's bridge left with its last endpoint" no "$(link_exists "$B1")"
check "... and so did the veth (no link of root 1)" "" \
  "$(ip -o link show | grep -F "path=$(readlink -f "$T/r1")")"
check "root 1 still has the bridge network" bridge "$("$MTK" "${G1[@]}" network ls --format json | python3 -c 'import json,sys; print(" ".join(json.loads(l)["Name"] for l in sys.stdin))')"
"$MTK" "${G1[@]}" network prune -f >/dev/null
check "root 1's prune: root 2's bridge stays" yes "$(link_exists "$B2")"
check "root 2's endpoint still works" 0 "$(ip netns exec "${P}b" "$BB" ping -c1 -W1 "${S2%.0/*}.1" >/dev/null 2>&1; echo $?)"
"$MTK" "${G1[@]}" network connect --netns "/run/netns/${P}a" bridge a
check "reconnect: the bridge comes back" yes "$(link_exists "$(info "${G1[@]}" -- bridge "d['Options']['com.docker.network.bridge.name']")")"
"$MTK" "${G1[@]}" network disconnect bridge a

# --- a root deleted with a network left: the next prune of another root cleans up
"$MTK" "${G3[@]}" network create --subnet 10.213.41.0/24 orphan >/dev/null
B3=$(info "${G3[@]}" -- orphan "d['Options']['com.docker.network.bridge.name']")
check "root 3's network exists" yes "$(link_exists "$B3")"
rm -rf "$T/r3"
"$MTK" "${G1[@]}" network prune -f >/dev/null
check "prune of root 1 removed the dead root's bridge" no "$(link_exists "$B3")"
check "... but not root 2's live one" yes "$(link_exists "$B2")"

# --- end: root 2's endpoint goes, so does its bridge
ip netns del "${P}b"
"$MTK" "${G2[@]}" network prune -f >/dev/null
check "root 2's bridge is gone after prune" no "$(link_exists "$B2")"
for r in r1 r2; do
  check "no link of $r" "" "$(ip -o link show | grep -F "path=$(readlink -f "$T/$r")")"
done
rules=$(nft list table ip mtk 2>/dev/null)
case "$rules" in *"\"$B1\""* | *"\"$B2\""*) notok "rules of the default bridges remain" ;; *) ok "no rules left" ;; esac
echo "1..$n"
exit $fail
