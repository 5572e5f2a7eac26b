#!/usr/bin/env bash
# The command line of mtk, driven through the real binary: help, unknown
# commands and options, commands not available yet, exit statuses, colour,
# and `mtk config` (formats, lists, -o, -q, the YAML round trip).
# Env: MTK = the mtk binary, MTK_SOURCE_DIR = the source tree. Prints TAP.
set -u

MTK=${MTK:?MTK must name the mtk binary}
SRC=${MTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtk-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Nothing from the caller's environment may steer the loader.
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES NO_COLOR

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
  shift
  for line in "$@"; do echo "#   $line"; done
  [ -s "$WORK/err" ] && sed 's/^/#   stderr: /' "$WORK/err" | head -5
}
# run CMD...: runs with stdout in $WORK/out, stderr in $WORK/err, status in $rc.
run() { "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; }
# check NAME EXPECTED_RC [stdout|stderr GREP-PATTERN]...
check() {
  local name=$1 want=$2
  shift 2
  if [ "$rc" -ne "$want" ]; then
    not_ok "$name" "exit status $rc, expected $want"
    return
  fi
  while [ $# -ge 2 ]; do
    local file=$WORK/out
    [ "$1" = stderr ] && file=$WORK/err
    if ! grep -qE -- "$2" "$file"; then
      not_ok "$name" "$1 does not match /$2/" "$1: $(head -c 300 "$file")"
      return
    fi
    shift 2
  done
  ok "$name"
}

# absent NAME stdout|stderr GREP-PATTERN: passes when the stream does not match.
absent() {
  local file=$WORK/out
  [ "$2" = stderr ] && file=$WORK/err
  if grep -qE -- "$3" "$file"; then not_ok "$1" "$2 matches /$3/"; else ok "$1"; fi
}

# --- help -------------------------------------------------------------------
run "$MTK" --help
check "mtk --help exits 0 with the usage" 0 stdout '^Usage: +mtk' stdout 'config' stdout 'image'
run "$MTK" -h
check "mtk -h exits 0" 0 stdout '^Usage:'
run "$MTK" config --help
check "mtk config --help" 0 stdout 'mtk .*config' stdout '--format'
run "$MTK" push --help
check "mtk push --help (not available yet) exits 0" 0 stdout 'mtk .*push' stdout '[Nn]ot available'
run "$MTK" image --help
check "mtk image --help lists the verbs" 0 stdout 'pull' stdout 'prune'
run "$MTK" image pull --help
check "mtk image pull --help" 0 stdout 'image pull'
run "$MTK" help network ls
check "mtk help network ls" 0 stdout 'network ls'

# --- unknown commands and bad options -----------------------------------------
run "$MTK" cnofig
check "unknown command: exit 16 with a suggestion" 16 \
  stderr '^mtk: unknown command "cnofig"' stderr 'Did you mean "config"\?'
run "$MTK" image lss
check "unknown verb of a noun: suggestion" 16 stderr 'unknown command "lss"' \
  stderr 'Did you mean "ls"\?'
run "$MTK" zzzzzzzz
check "unknown command far from any: exit 16, no suggestion" 16 stderr 'unknown command'
absent "no suggestion for a far word" stderr 'Did you mean'
run "$MTK" --bogus version
check "unknown global option: exit 16" 16 stderr 'unknown option "--bogus"' stderr 'hint:'
run "$MTK" config --bogus
check "unknown config option: exit 16" 16 stderr 'unknown option "--bogus"'
run "$MTK" config -f compose.yaml
check "global option after the command: exit 16 with a hint" 16 stderr 'global option'
run "$MTK" config --format xml
check "bad --format value: exit 16" 16 stderr 'xml'
run "$MTK" --ansi=sometimes version
check "bad --ansi value: exit 16" 16 stderr 'sometimes'
run "$MTK" --log-level loud version
check "bad --log-level value: exit 16" 16 stderr 'loud'
run "$MTK" -f
check "missing option value: exit 16" 16 stderr 'needs a value'

# --- not yet available ----------------------------------------------------------
run "$MTK" push
check "mtk push: exit 1, not available yet" 1 \
  stderr "^mtk: 'push' is not available in this version yet" stderr '^hint: '
run "$MTK" container pause x
check "mtk container pause: exit 1, not available yet" 1 stderr "'container pause' is not available"

# --- version, global option forms, colour -----------------------------------------
run "$MTK" version
check "mtk version" 0 stdout '^mtk version [0-9]+\.[0-9]+'
run "$MTK" version --format json
check "mtk version --format json" 0 stdout '^\{"Version": ?"[0-9]+\.[0-9]+[^"]*"\}$'
run "$MTK" -v
check "mtk -v" 0 stdout '^mtk version '
run "$MTK" --log-level=debug --ansi never --root="$WORK/root" --runroot "$WORK/run" version
check "--opt=value and --opt value forms" 0 stdout '^mtk version '
run "$MTK" --ansi always cnofig
check "--ansi always colours errors" 16 stderr $'\033\\['
run "$MTK" --ansi never cnofig
absent "--ansi never: no colour" stderr $'\033'
run "$MTK" cnofig # stderr is a file: auto means no colour
absent "--ansi auto, no TTY: no colour" stderr $'\033'
if command -v script >/dev/null 2>&1; then
  # script(1) gives the command a terminal: auto colours unless NO_COLOR is set.
  run script -qec "'$MTK' cnofig" /dev/null
  check "--ansi auto on a TTY: colour" 16 stdout $'\033\\['
  run env NO_COLOR=1 script -qec "'$MTK' cnofig" /dev/null
  absent "--ansi auto on a TTY with NO_COLOR: no colour" stdout $'\033'
else
  ok "--ansi auto on a TTY: colour # SKIP script(1) not installed"
  ok "--ansi auto on a TTY with NO_COLOR: no colour # SKIP script(1) not installed"
fi

# --- mtk config ----------------------------------------------------------------
mkdir -p "$WORK/empty"
run bash -c "cd '$WORK/empty' && exec '$MTK' config"
check "no compose file: exit 14" 14 stderr '^mtk: '

mkdir -p "$WORK/bad"
printf 'services:\n  web:\n    image: nginx\n   ports: [\n' >"$WORK/bad/compose.yaml"
run bash -c "cd '$WORK/bad' && exec '$MTK' config"
check "invalid YAML: exit 15 with file:line:col" 15 stderr 'compose\.yaml:[0-9]+:[0-9]+: '

P=$WORK/proj
mkdir -p "$P"
cat >"$P/compose.yaml" <<'EOF'
services:
  web:
    image: nginx:1.25
    command: ["sh", "-c", "echo $$HOME && echo ${GREETING:-hi}"]
    ports:
      - "8000:8000"
    environment:
      YES_WORD: "yes"
      BOOL_WORD: "true"
      NUMBER_WORD: "8080"
      FLOAT_WORD: "1.5"
      COLON: "a: b"
      EMPTY: ""
      MULTI: "line one\nline two\n"
      HASH: "#x"
      DASH: "- x"
    depends_on:
      - db
    volumes:
      - data:/data
    profiles: []
  db:
    image: postgres:16
    environment:
      PASS: "p$$w0rd"
  app:
    build: .
    depends_on: [web]
  debug:
    image: busybox
    profiles: [tools]
volumes:
  data: {}
EOF
printf 'FROM busybox\n' >"$P/Dockerfile"
cfg() { run bash -c "cd '$P' && exec '$MTK' -p demo $*"; }

cfg config --format json
cp "$WORK/out" "$WORK/a.json"
check "config --format json" 0 stdout '^\{$' stdout '^  "name": "demo",$' \
  stdout '"echo \$\$HOME && echo hi"' stdout '"PASS": "p\$\$w0rd"'
cfg config
cp "$WORK/out" "$WORK/a.yaml"
check "config (yaml)" 0 stdout '^name: demo$' stdout '^services:$' \
  stdout 'YES_WORD: "yes"' stdout 'NUMBER_WORD: "8080"' stdout 'BOOL_WORD: "true"'
cp "$WORK/a.yaml" "$P/out.yaml"
run bash -c "cd '$P' && exec '$MTK' -p demo -f out.yaml config --format json"
if [ "$rc" -eq 0 ] && cmp -s "$WORK/out" "$WORK/a.json"; then
  ok "yaml output loads back to the same model (json)"
else
  not_ok "yaml output loads back to the same model (json)" "rc=$rc" \
    "$(diff "$WORK/a.json" "$WORK/out" | head -10 | tr '\n' '|')"
fi
run bash -c "cd '$P' && exec '$MTK' -p demo -f out.yaml config"
if [ "$rc" -eq 0 ] && cmp -s "$WORK/out" "$WORK/a.yaml"; then
  ok "yaml output loads back unchanged (yaml)"
else
  not_ok "yaml output loads back unchanged (yaml)" "rc=$rc"
fi
rm -f "$P/out.yaml"

cfg config -o "$WORK/saved.yaml"
if [ "$rc" -eq 0 ] && [ ! -s "$WORK/out" ] && cmp -s "$WORK/saved.yaml" "$WORK/a.yaml"; then
  ok "config -o writes the file, nothing on stdout"
else
  not_ok "config -o writes the file, nothing on stdout" "rc=$rc"
fi
if ls -A "$WORK" | grep -q '^\.saved'; then not_ok "config -o leaves no temporary file"; else
  ok "config -o leaves no temporary file"; fi
cfg config -q
if [ "$rc" -eq 0 ] && [ ! -s "$WORK/out" ]; then ok "config -q prints nothing"; else
  not_ok "config -q prints nothing" "rc=$rc"; fi

cfg config --services
if [ "$rc" -eq 0 ] && [ "$(tr '\n' ' ' <"$WORK/out")" = "db web app " ]; then
  ok "config --services: dependency order"
else
  not_ok "config --services: dependency order" "got: $(tr '\n' ' ' <"$WORK/out")"
fi
cfg config --volumes
check "config --volumes" 0 stdout '^data$'
cfg config --images
check "config --images: image or <project>-<service>" 0 stdout '^demo-app$' \
  stdout '^nginx:1\.25$' stdout '^postgres:16$'
cfg config --profiles
check "config --profiles" 0 stdout '^tools$'
cfg config --hash "'*'"
check "config --hash '*'" 0 stdout '^app [0-9a-f]{64}$' stdout '^db [0-9a-f]{64}$' \
  stdout '^web [0-9a-f]{64}$'
cfg config --hash nope
check "config --hash of an unknown service: exit 1" 1 stderr 'no such service: nope'
cfg config db --format json
if [ "$rc" -eq 0 ] && grep -q '"db"' "$WORK/out" && ! grep -q '"web"' "$WORK/out"; then
  ok "config SERVICE keeps only the service and its dependencies"
else
  not_ok "config SERVICE keeps only the service and its dependencies" "rc=$rc"
fi
absent "config SERVICE drops the volumes only other services use" stdout '"data"'
run bash -c "cd '$P' && exec '$MTK' -p demo --all-resources config db --format json"
check "--all-resources keeps them" 0 stdout '"data"'
cfg config debug --images
check "config SERVICE enables a service of an inactive profile" 0 stdout '^busybox$'
absent "config SERVICE prints only the selection" stdout 'nginx'
cfg config --no-interpolate --format json
check "config --no-interpolate keeps \${VAR} and single \$" 0 stdout '\$\{GREETING:-hi\}'

SAMPLE=$SRC/samples/flask-rstudio
if [ -f "$SAMPLE/compose.yaml" ] || [ -f "$SAMPLE/docker-compose.yml" ] ||
   [ -f "$SAMPLE/compose.yml" ] || [ -f "$SAMPLE/docker-compose.yaml" ]; then
  run "$MTK" --project-directory "$SAMPLE" config --services
  services=$(cat "$WORK/out")
  run "$MTK" --project-directory "$SAMPLE" config
  all=1
  for s in $services; do grep -q "^  $s:$" "$WORK/out" || all=0; done
  if [ "$rc" -eq 0 ] && [ -n "$services" ] && [ $all -eq 1 ]; then
    ok "config --services lists the sample's services ($(echo $services))"
  else
    not_ok "config --services lists the sample's services" "rc=$rc services=$services"
  fi
else
  ok "config --services on samples/flask-rstudio # SKIP sample not present"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
