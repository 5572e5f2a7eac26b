#!/usr/bin/env bash
# The flags of `mtk container run` seen from inside real containers:
# --env-file (docker's rules), -l/--label-file (inspect), -h/--hostname,
# --add-host, -v (absolute and ./ bind mounts, :ro, a named volume shared by
# two containers, an anonymous volume), --mount (bind, tmpfs), --tmpfs,
# --read-only, --memory/--pids-limit/--cpus (the container's own cgroup
# files), --ulimit, --sysctl, --shm-size, --cap-drop, --security-opt
# no-new-privileges, --stop-signal/--stop-timeout (inspect), --entrypoint "",
# and flag errors: exit 125 with docker's message, before anything is made.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
command -v crun >/dev/null || { echo "1..0 # SKIP crun not installed"; exit 77; }
BB=$(command -v busybox) || { echo "Bail out! busybox-static missing"; exit 1; }
T=$(mktemp -d)
G=(--root "$T/root" --runroot "$T/run")
cleanup() {
  for id in $("$MTK" "${G[@]}" container ps -aq --no-trunc 2>/dev/null); do
    "$MTK" "${G[@]}" container rm -f "$id" >/dev/null 2>&1
  done
  "$MTK" "${G[@]}" network prune -f >/dev/null 2>&1 # the default network's bridge
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
    *) notok "$1: '$2' not in output:"; printf '%s\n' "$3" | sed 's/^/#   /' ;;
  esac
}

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/data"
cp "$BB" "$T/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
"$MTK" "${G[@]}" image import "$T/rootfs.tar" busybox >/dev/null
check "import busybox" 0 $?
M() { "$MTK" "${G[@]}" container "$@"; }
run() { M run --rm "$@"; }
snapshot() {
  grep -F " $T/" /proc/self/mountinfo | awk '{print $5}'
  pgrep -a -f -- "--root $T/run/runtime" || true
  find "$T/run" -not -path "$T/run/seccomp/*" 2>/dev/null | sort
  find "$T/root/containers" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | sort
}
run busybox true
before=$(snapshot)
noleak() { check "$1: nothing left behind" "$before" "$(snapshot)"; }

# --- flag errors: 125, docker's words, nothing created
err125() { # name, needle, args...
  local name=$1 needle=$2 out
  shift 2
  out=$(M run --rm "$@" 2>&1)
  check "$name: exit 125" 125 $?
  has "$name: message" "$needle" "$out"
}
err125 "unknown flag" 'unknown option "--no-such-flag"' --no-such-flag busybox true
err125 "--memory foo" 'invalid argument "foo" for "--memory" flag' --memory foo busybox true
err125 "--memory 1k" 'Minimum memory limit allowed is 6MB' --memory 1k busybox true
err125 "--cpus x" 'invalid argument "x" for "--cpus" flag' --cpus x busybox true
err125 "--restart bogus" "unknown policy 'bogus'" --restart bogus busybox true
err125 "--restart always:3" "maximum retry count can only be used with 'on-failure'" \
  --restart always:3 busybox true
err125 "--ulimit nofile=2:1" "ulimit soft limit must be less than or equal to hard limit: 2 > 1" \
  --ulimit nofile=2:1 busybox true
err125 "--ulimit bogus=1" "invalid ulimit type: bogus" --ulimit bogus=1 busybox true
err125 "--sysctl kernel.hostname" "sysctl 'kernel.hostname=x' is not allowed" \
  --sysctl kernel.hostname=x busybox true
err125 "--stop-signal SIGFOO" "invalid signal: SIGFOO" --stop-signal SIGFOO busybox true
err125 "-v relative/path" 'includes invalid characters for a local volume name' \
  -v rel/path:/x busybox true
err125 "-v with a relative target" "mount path must be absolute" -v /tmp:rel busybox true
err125 "--mount without target" "target is required" --mount type=tmpfs busybox true
err125 "--add-host bad IP" 'invalid IP address in add-host' --add-host a:b busybox true
err125 "-w relative" "it needs to be an absolute path" -w rel busybox true
err125 "--pull sometimes" "invalid pull option: 'sometimes'" --pull sometimes busybox true
err125 "--name with a space" "Invalid container name (a b)" --name 'a b' busybox true
err125 "--ip without a user network" "user specified IP address is supported on user defined" \
  --ip 10.1.2.3 busybox true
err125 "no image" 'requires at least 1 argument'
err125 "--env-file missing" "no-such-env-file" --env-file "$T/no-such-env-file" busybox true
out=$(M run --rm nothere true 2>&1)
check "missing image: exit 125" 125 $?
has "missing image: hint to pull" "mtk image pull nothere" "$out"
out=$(M run --rm --pull never nothere true 2>&1)
check "--pull never, missing image: exit 125" 125 $?
check "flag errors create nothing" "" "$(M ps -aq)"
noleak "flag errors"

# --- environment and labels
printf '# comment\n\n  A=1\nB= two \nPASS\nUNSET_HERE\nC=x=y\nA=2\n' >"$T/env"
out=$(PASS=from-host run --env-file "$T/env" -e B=override busybox \
  sh -c 'echo "$A|$B|$PASS|${UNSET_HERE-unset}|$C"')
check "--env-file then -e (docker's rules, the last value wins)" "2|override|from-host|unset|x=y" "$out"
check "--env-file: a value is kept as it is" "[ two ]" "$(run --env-file "$T/env" busybox sh -c 'echo "[$B]"')"
printf 'bad key=1\n' >"$T/badenv"
out=$(run --env-file "$T/badenv" busybox true 2>&1)
check "--env-file with a space in a name: exit 125" 125 $?
has "--env-file with a space in a name: message" "variable 'bad key' contains whitespaces" "$out"
printf 'from.file=1\nlone\n' >"$T/labels"
M create --name lab -l a=b -l c --label-file "$T/labels" busybox true >/dev/null
check "labels from -l and --label-file" 'map[a:b c: from.file:1 lone:]' \
  "$(M inspect -f '{{.Config.Labels}}' lab)"
check "ps -f label=a=b" "lab" "$(M ps -a --filter label=a=b --format '{{.Names}}')"
check "ps --format .Label" "b" "$(M ps -a --filter name=lab --format '{{.Label "a"}}')"
M rm lab >/dev/null

# --- names, hosts
check "-h sets the hostname" "box1" "$(run -h box1 busybox hostname)"
has "--add-host in /etc/hosts" "10.9.8.7" "$(run --add-host db:10.9.8.7 busybox grep -w db /etc/hosts)"

# --- mounts
mkdir -p "$T/host"
echo from-host >"$T/host/f"
check "-v /abs:/dst" "from-host" "$(run -v "$T/host:/h" busybox cat /h/f)"
out=$(cd "$T" && "$MTK" "${G[@]}" container run --rm -v ./host:/h busybox cat /h/f)
check "-v ./relative:/dst (made absolute as docker)" "from-host" "$out"
out=$(run -v "$T/host:/h:ro" busybox sh -c '{ echo x >/h/g; } 2>/dev/null && echo wrote || echo ro')
check "-v ...:ro is read-only" "ro" "$out"
run -v "$T/host:/h" busybox sh -c 'echo back >/h/g'
check "-v: a write reaches the host" "back" "$(cat "$T/host/g" 2>/dev/null)"
run -v vol1:/data busybox sh -c 'echo kept >/data/k'
check "named volume: data outlives the container" "kept" "$(run -v vol1:/data busybox cat /data/k)"
M run --name av -v /data -v vol1:/named busybox sh -c 'echo x >/data/f' >/dev/null
vol=$(M inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' av)
[ -n "$vol" ] && [ -f "$T/root/volumes/$vol/_data/f" ]
check "-v /data: an anonymous volume holds the data" 0 $?
check "rm -v prints the ref" "av" "$(M rm -v av)"
check "rm -v: the anonymous volume is gone" "no" "$([ -n "$vol" ] && [ -e "$T/root/volumes/$vol" ] && echo yes || echo no)"
check "rm -v: a named volume stays" "kept" "$(cat "$T/root/volumes/vol1/_data/k" 2>/dev/null)"
nvol=$(ls "$T/root/volumes" | wc -l)
run -v /data busybox true
check "run --rm -v /data: its anonymous volume goes with it" "$nvol" "$(ls "$T/root/volumes" | wc -l)"
check "--mount type=bind,readonly" "from-host ro" \
  "$(run --mount "type=bind,source=$T/host,target=/m,readonly" busybox sh -c 'cat /m/f; touch /m/z 2>/dev/null && echo rw || echo ro' | tr '\n' ' ' | sed 's/ $//')"
check "--mount type=tmpfs" "tmpfs" "$(run --mount type=tmpfs,target=/t busybox awk '$2 == "/t" {print $3}' /proc/mounts)"
check "--tmpfs /t" "tmpfs" "$(run --tmpfs /t busybox awk '$2 == "/t" {print $3}' /proc/mounts)"
check "--read-only: / not writable" "ro" "$(run --read-only busybox sh -c 'touch /x 2>/dev/null && echo rw || echo ro')"
check "--read-only --tmpfs /tmp: /tmp writable" "rw" "$(run --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/x && echo rw')"
check "--shm-size 1m" "1024" "$(run --shm-size 1m busybox df -k /dev/shm | awk 'NR == 2 {print $2}')"
noleak "mounts"

# --- limits
cg() { # controller file inside the container's cgroup (v1 or v2)
  run "${@:2}" busybox sh -c "cat /sys/fs/cgroup/$1 2>/dev/null || cat /sys/fs/cgroup/*/$1 2>/dev/null" | head -1
}
if [ -d /sys/fs/cgroup/memory ]; then
  check "--memory 64m (memory.limit_in_bytes)" 67108864 "$(cg memory/memory.limit_in_bytes --memory 64m)"
  check "--pids-limit 10 (pids.max)" 10 "$(cg pids/pids.max --pids-limit 10)"
  check "--cpus 0.5 (cpu.cfs_quota_us)" 50000 "$(cg cpu/cpu.cfs_quota_us --cpus 0.5)"
else
  check "--memory 64m (memory.max)" 67108864 "$(cg memory.max --memory 64m)"
  check "--pids-limit 10 (pids.max)" 10 "$(cg pids.max --pids-limit 10)"
  check "--cpus 0.5 (cpu.max)" "50000 100000" "$(cg cpu.max --cpus 0.5)"
fi
check "--ulimit nofile=100:200" "100 200" "$(run --ulimit nofile=100:200 busybox sh -c 'echo $(ulimit -n) $(ulimit -Hn)')"
check "--sysctl net.ipv4.ip_forward=1" 1 "$(run --network none --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward)"
check "--cap-drop ALL" "0000000000000000" "$(run --cap-drop ALL busybox awk '/^CapEff/ {print $2}' /proc/self/status)"
check "--security-opt no-new-privileges" 1 "$(run --security-opt no-new-privileges busybox awk '/^NoNewPrivs/ {print $2}' /proc/self/status)"
noleak "limits"

# --- a user network: --ip, --network-alias
if "$MTK" "${G[@]}" network create --subnet 10.123.45.0/24 cflags-net >/dev/null 2>&1; then
  check "--network NAME --ip" "10.123.45.7/24" \
    "$(run --network cflags-net --ip 10.123.45.7 busybox ip -4 -o addr show eth0 | awk '{print $4}')"
  M run -d --name al1 --network cflags-net --network-alias web1 busybox sleep 100 >/dev/null
  check "--network-alias in inspect" '["web1"]' \
    "$(M inspect -f '{{json (index .NetworkSettings.Networks "cflags-net").Aliases}}' al1)"
  check "ps: the NETWORKS field" "cflags-net" "$(M ps --format '{{.Networks}}' -f name=al1)"
  M rm -f al1 >/dev/null
  "$MTK" "${G[@]}" network rm cflags-net >/dev/null
else
  notok "network create --subnet 10.123.45.0/24 failed"
fi

# --- what inspect keeps
M create --name insp --stop-signal SIGUSR1 --stop-timeout 3 --entrypoint "" --restart on-failure:4 \
  -e K=V busybox echo x >/dev/null
check "inspect: StopSignal, StopTimeout" "SIGUSR1 3" "$(M inspect -f '{{.Config.StopSignal}} {{.Config.StopTimeout}}' insp)"
check "inspect: RestartPolicy" "on-failure 4" \
  "$(M inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' insp)"
check "inspect: --entrypoint \"\" leaves Path = the command" "echo" "$(M inspect -f '{{.Path}}' insp)"
has "inspect: Env has K=V" "K=V" "$(M inspect -f '{{json .Config.Env}}' insp)"
check "start -a of it: the command without the image's entrypoint" "x" "$(M start -a insp)"
M rm insp >/dev/null
noleak "everything"

echo "1..$n"
exit $fail
