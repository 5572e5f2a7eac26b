#!/usr/bin/env bash
# Environment precedence of the loader through the real binary: OS env over
# .env, --env-file instead of .env (later files win, and see earlier ones),
# COMPOSE_* variables read from .env, discovery from a subdirectory.
set -u
MTK=$(readlink -f "${MTK:?path to mtk}")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then ok "$1"; else notok "$1: expected '$2', got '$3'"; fi
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

mkdir -p "$T/lab/sub/deeper"
cat >"$T/lab/compose.yaml" <<'YAML'
services:
  app:
    image: "app:${TAG:-latest}"
    environment:
      Y: ${Y:-unset}
      FROM_DOTENV: ${FROM_DOTENV:-no}
  debug:
    image: busybox
    profiles: [debug]
YAML
printf 'TAG=dotenv\nFROM_DOTENV=yes\nCOMPOSE_PROJECT_NAME=fromdotenv\nCOMPOSE_PROFILES=debug\n' >"$T/lab/.env"
printf 'X=1\n' >"$T/lab/a.env"
printf 'X=2\nY=$X\n' >"$T/lab/b.env"

out=$(cd "$T/lab" && env -i PATH="$PATH" HOME="$T" "$MTK" config --format json)
check ".env used for interpolation" "app:dotenv" "$(jget '["services"]["app"]["image"]' <<<"$out")"
check "COMPOSE_PROJECT_NAME read from .env" "fromdotenv" "$(jget '["name"]' <<<"$out")"
check "COMPOSE_PROFILES read from .env" "busybox" "$(jget '["services"]["debug"]["image"]' <<<"$out")"

out=$(cd "$T/lab" && env -i PATH="$PATH" HOME="$T" TAG=os "$MTK" config --format json)
check "OS environment wins over .env" "app:os" "$(jget '["services"]["app"]["image"]' <<<"$out")"

out=$(cd "$T/lab" && env -i PATH="$PATH" HOME="$T" "$MTK" --env-file a.env --env-file b.env config --format json)
check "--env-file replaces .env" "no" "$(jget '["services"]["app"]["environment"]["FROM_DOTENV"]' <<<"$out")"
check "a later --env-file sees the values of earlier ones" "2" "$(jget '["services"]["app"]["environment"]["Y"]' <<<"$out")"
check "without .env the name comes from the directory" "lab" "$(jget '["name"]' <<<"$out")"

out=$(cd "$T/lab/sub/deeper" && env -i PATH="$PATH" HOME="$T" "$MTK" config --services)
check "discovery walks up to the parent's compose.yaml" "app debug" "$(echo $out)"

(cd "$T" && env -i PATH="$PATH" HOME="$T" "$MTK" config >/dev/null 2>&1)
check "no compose file: exit 14" "14" "$?"

printf 'services:\n  web:\n    image: x\n    ports: ["80:80:80/tcpx"]\n' >"$T/lab/bad.yaml"
err=$(cd "$T/lab" && env -i PATH="$PATH" HOME="$T" "$MTK" -f bad.yaml config 2>&1 >/dev/null)
rc=$?
check "invalid port: exit 15" "15" "$rc"
case "$err" in
  *bad.yaml:4:*) ok "invalid port error names file and line" ;;
  *) notok "invalid port error names file and line: $err" ;;
esac

echo "1..$n"
exit $fail
