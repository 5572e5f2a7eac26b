#!/bin/bash
# Self-test of `mtk-conformance compose` (tests/conformance/compose_suite.c): runs the runner
# against fake mtk binaries that print a case's expected model (escaped like `docker compose
# config`), then against mutated models, and checks each verdict follows the comparison rules
# of shared/conformance/compose/README.md.  TAP output; exit 77 (skip) without the runner or
# the vectors.  Env: MTK (the real mtk, used only to locate the build dir),
# MTK_CONFORMANCE_DIR; MTK_CONFORMANCE_RUNNER overrides the runner path.
set -u

RUNNER=${MTK_CONFORMANCE_RUNNER:-$(dirname "${MTK:-.}")/tests/mtk-conformance}
CDIR=${MTK_CONFORMANCE_DIR:-}/compose
CASES=$CDIR/cases
if [ ! -x "$RUNNER" ] || [ ! -d "$CASES" ]; then
  echo "1..0 # SKIP runner ($RUNNER) or vectors ($CASES) missing"
  exit 77
fi
JQ=$(command -v jq || true)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# make_fake NAME [JQ_FILTER [MODE]]: a fake mtk printing expected.json (placeholders replaced,
# JQ_FILTER applied, every `$` doubled) for success cases, and expected-error.txt on stderr
# with exit 1 for error cases.  MODE overrides parts of that behaviour (see the case below).
make_fake() {
  local name=$1 filter=${2:-.} mode=${3:-}
  printf '%s\n' "$filter" >"$T/$name.jq"
  {
    echo '#!/bin/bash'
    echo "MODE='$mode'"
    echo "JQ='$JQ'"
    echo "FILTER='$T/$name.jq'"
    cat <<'EOF'
case $MODE in
  segv) kill -SEGV $$ ;;
  hang) exec sleep 20 ;;
  exit1) echo "boom" >&2; exit 1 ;;
  notjson) echo "this is not json"; exit 0 ;;
  env) [ -z "${COMPOSE_LEAK+x}" ] && [ "$HOME" = /home/compose-test ] &&
         [ "${TAG-}" = from-os ] || { echo "env leaked or incomplete" >&2; exit 3; } ;;
esac
if [ -f expected.json ]; then
  [ "$MODE" = big ] && { head -c 3000000 /dev/zero | tr '\0' ' '; head -c 3000000 /dev/zero |
                         tr '\0' x >&2; }
  model() {
    sed -e "s|@CASE_DIR@|$PWD|g" -e "s|@HOME@|$HOME|g" expected.json |
      if [ -n "$JQ" ]; then "$JQ" -f "$FILTER"; else cat; fi
  }
  if [ "$MODE" = quadruple ]; then model | sed -e 's/\$/$$$$/g'; else model | sed -e 's/\$/$$/g'; fi
  [ "$MODE" = segv-after ] && kill -SEGV $$
  exit 0
fi
case $MODE in
  wrongmsg) echo "something else went wrong" >&2; exit 1 ;;
  exit0) exit 0 ;;
esac
{ printf 'error: '; cat expected-error.txt; } >&2
exit 1
EOF
  } >"$T/$name"
  chmod +x "$T/$name"
}

# run_runner FAKE ARGS... : runs the runner, leaves output in $out and status in $rc.
run_runner() {
  local fake=$1
  shift
  out=$("$RUNNER" compose --mtk "$T/$fake" "$@" 2>&1)
  rc=$?
}

# expect_verdict DESC WANT(pass|fail) FAKE CASE [PATTERN] [RUNNER OPTS...]
expect_verdict() {
  local desc=$1 want=$2 fake=$3 case=$4 pat=${5:-}
  shift 5 2>/dev/null || shift $#
  run_runner "$fake" "$@" "$CASES/$case"
  local got=fail
  [ $rc -eq 0 ] && grep -q '^1 passed, 0 failed$' <<<"$out" && got=pass
  if [ "$got" = "$want" ] && { [ -z "$pat" ] || grep -qF -- "$pat" <<<"$out"; }; then
    ok "$desc"
  else
    notok "$desc (wanted $want${pat:+ with '$pat'}, rc=$rc)"
    sed 's/^/#   /' <<<"$out"
  fi
}

need_jq() {
  if [ -z "$JQ" ]; then
    skip "$1" "jq not installed"
    return 1
  fi
}

# --- a perfect fake passes every case ---
make_fake perfect
ncases=$(find "$CASES" -mindepth 2 -maxdepth 2 -name case.json | wc -l)
run_runner perfect "$CASES" "$CDIR/vectors/full-example"
if [ $rc -eq 0 ] && grep -q "^$((ncases + 1)) passed, 0 failed\$" <<<"$out"; then
  ok "perfect fake passes all $ncases cases and full-example"
else
  notok "perfect fake passes all cases (rc=$rc)"
  sed 's/^/#   /' <<<"$out" | head -20
fi

# --- argv and environment given to mtk ---
cat >"$T/recorder" <<EOF
#!/bin/bash
printf '[%s]' "\$@" >"$T/argv.txt"
exec "$T/perfect" "\$@"
EOF
chmod +x "$T/recorder"
run_runner recorder "$CASES/merge-override-basic"
want="[-f][compose.yaml][-f][override.yaml][config][--format][json]"
if [ "$(cat "$T/argv.txt")" = "$want" ]; then
  ok "argv for -f files"
else
  notok "argv for -f files: $(cat "$T/argv.txt")"
fi
run_runner recorder "$CASES/profiles-one-active"
[ "$(cat "$T/argv.txt")" = "[--profile][debug][config][--format][json]" ] &&
  ok "argv for --profile" || notok "argv for --profile: $(cat "$T/argv.txt")"
run_runner recorder "$CDIR/vectors/full-example"
[ "$(cat "$T/argv.txt")" = \
  "[--all-resources][-f][full-example.yml][config][--format][json][--no-normalize][--no-consistency][--keep-env-files]" ] &&
  ok "argv for loader_options" || notok "argv for loader_options: $(cat "$T/argv.txt")"
make_fake envcheck . env
out=$(COMPOSE_LEAK=1 HOME=/root "$RUNNER" compose --mtk "$T/envcheck" \
  "$CASES/interp-dotenv-precedence" 2>&1)
[ $? -eq 0 ] && ok "environment is exactly env + HOME + PATH" ||
  { notok "environment is exactly env + HOME + PATH"; sed 's/^/#   /' <<<"$out"; }
out=$(MTK="$T/perfect" "$RUNNER" compose "$CASES/depends-on-forms" 2>&1)
[ $? -eq 0 ] && ok "MTK env var names the binary" || notok "MTK env var names the binary"

# --- success cases: the comparison rules ---
if need_jq "mutations"; then
  make_fake wrongval '.services.a.image = "zzz"'
  expect_verdict "wrong value fails" fail wrongval healthcheck-durations \
    'FAIL healthcheck-durations: services.a.image: expected "a", got "zzz"'
  make_fake missing 'del(.services.a.healthcheck.retries)'
  expect_verdict "missing key fails" fail missing healthcheck-durations \
    'services.a.healthcheck.retries: expected 5, got (absent)'
  make_fake extrafalse '.services.a.privileged = false | .services.a.tty = false |
    .services.a.cap_add = [] | .services.a.labels = {}'
  expect_verdict "extra false booleans / empty list / empty map pass" pass extrafalse \
    healthcheck-durations
  make_fake extratrue '.services.a.privileged = true'
  expect_verdict "extra true boolean fails" fail extratrue healthcheck-durations \
    'services.a.privileged: expected (absent), got true'
  make_fake extranull '.services.a.labels = null'
  expect_verdict "extra null map fails (null is not {})" fail extranull healthcheck-durations
  make_fake dur '.services.a.healthcheck.interval = "90s" |
    .services.a.healthcheck.start_period = "60m" | .services.a.healthcheck.start_interval = "0.5s" |
    .services.e.stop_grace_period = "1m30.0s"'
  expect_verdict "durations compared as lengths" pass dur healthcheck-durations
  make_fake baddur '.services.a.healthcheck.interval = "91s"'
  expect_verdict "different duration fails" fail baddur healthcheck-durations \
    'services.a.healthcheck.interval: expected "1m30s", got "91s"'
  make_fake pubnum '(.. | objects | select(has("published")) | .published) |= tonumber'
  expect_verdict "published as number passes" pass pubnum ports-short-syntax
  make_fake pubwrong '(.. | objects | select(has("published")) | .published) |= tonumber + 1'
  expect_verdict "published off by one fails" fail pubwrong ports-short-syntax 'published'
  make_fake bytes '.services.app.shm_size |= tonumber'
  expect_verdict "byte size as integer passes" pass bytes interp-typed-values
  make_fake defaults 'walk(if type == "object" then
      with_entries(select(
        (.key == "ipam" and .value == {}) or
        ((.key == "command" or .key == "entrypoint") and .value == null) or
        (.key == "required" and .value == true) or (.key == "bind" and .value == {})
        | not))
    else . end)'
  expect_verdict "omitted defaults (ipam, command/entrypoint null, required true) pass" pass \
    defaults depends-on-forms
  expect_verdict "omitted bind {} passes" pass defaults volumes-short-syntax
  make_fake chp '(.. | objects | select(has("bind")) | .bind.create_host_path) = true'
  expect_verdict "create_host_path: true passes" pass chp volumes-short-syntax
  make_fake chpf '(.. | objects | select(has("bind")) | .bind.create_host_path) = false'
  expect_verdict "create_host_path: false fails" fail chpf volumes-short-syntax 'create_host_path'
  make_fake chpdel 'del(.. | objects | select(has("create_host_path")) | .create_host_path)'
  expect_verdict "dropping create_host_path: false fails" fail chpdel volumes-long-syntax \
    'create_host_path: expected false, got (absent)'
  make_fake reqfalse 'del(.services.web.depends_on.cache.required)'
  expect_verdict "dropping depends_on required: false fails" fail reqfalse depends-on-forms \
    'services.web.depends_on.cache.required: expected false, got (absent)'
  make_fake reqflip '.services.migrate.depends_on.db.required = false'
  expect_verdict "required: true -> false fails" fail reqflip depends-on-forms
  make_fake restartf '.services |= map_values(if .depends_on then .depends_on |=
    map_values(if has("restart") then . else .restart = false end) else . end)'
  expect_verdict "depends_on restart: false passes" pass restartf depends-on-forms
  make_fake envreq '.services.foo.env_file[0].required = true'
  expect_verdict "env_file required: true passes" pass envreq "../vectors/full-example"
  make_fake envreqf '.services.foo.env_file[0].required = false'
  expect_verdict "env_file required: false fails" fail envreqf "../vectors/full-example" \
    'services.foo.env_file[0].required: expected (absent), got false'
  make_fake netobj '.services.a.networks.default = {}'
  expect_verdict "networks default null vs {} fails" fail netobj healthcheck-durations \
    'services.a.networks.default: expected null, got {}'
  make_fake svcext '.services.a["x-custom"] = {"k": 1} | .services.b["x-y"] = "z"'
  expect_verdict "service-level x-* ignored" pass svcext healthcheck-durations
  make_fake topext '.["x-top"] = 1'
  expect_verdict "top-level x-* compared" fail topext healthcheck-durations 'x-top'
  make_fake order 'walk(if type == "object" then (to_entries | reverse | from_entries) else . end)'
  expect_verdict "key order irrelevant" pass order depends-on-forms
  make_fake arrorder '.services.a.healthcheck.test |= reverse'
  expect_verdict "array order matters" fail arrorder healthcheck-durations 'test[0]'
  make_fake arrlong '.services.a.healthcheck.test += ["extra"]'
  expect_verdict "extra array item fails" fail arrlong healthcheck-durations \
    'services.a.healthcheck.test[2]: expected (absent), got "extra"'
  make_fake many '.services.a.image = "1" | .services.b.image = "2" | .services.c.image = "3" |
    .services.d.image = "4" | .services.e.image = "5"'
  run_runner many "$CASES/healthcheck-durations"
  lines=$(grep -c '^FAIL' <<<"$out")
  [ "$lines" = 1 ] && grep -q '(+2 more)' <<<"$out" &&
    ok "one FAIL line per case, first few diffs" ||
    { notok "one FAIL line per case"; sed 's/^/#   /' <<<"$out"; }
  make_fake labels '.services.app.environment["a.b"] = "x"'
  expect_verdict "odd keys are quoted in paths" fail labels interp-escape-dollar \
    'services.app.environment["a.b"]: expected (absent), got "x"'
fi
make_fake quad . quadruple
expect_verdict "\$ escaped twice fails" fail quad interp-escape-dollar 'expected "echo $HOME"'
make_fake big . big
expect_verdict "big stdout+stderr do not deadlock" pass big healthcheck-durations
make_fake exit1 . exit1
expect_verdict "non-zero exit on a success case fails" fail exit1 healthcheck-durations \
  'exit status 1, expected success; stderr: boom'
make_fake notjson . notjson
expect_verdict "non-JSON stdout fails" fail notjson healthcheck-durations 'not JSON'
make_fake segvafter . segv-after
expect_verdict "crash after valid output fails" fail segvafter healthcheck-durations 'signal 11'

# --- error cases ---
expect_verdict "error case with the right message passes" pass perfect interp-required-unset-error
make_fake wrongmsg . wrongmsg
expect_verdict "missing error substring fails" fail wrongmsg interp-required-unset-error \
  'FAIL interp-required-unset-error: error message lacks "required variable REGISTRY is missing'\
' a value: registry must be set"; got: something else went wrong'
expect_verdict "--lenient-errors turns it into a warning" pass wrongmsg \
  interp-required-unset-error 'WARN interp-required-unset-error: error message lacks' \
  --lenient-errors
make_fake exit0 . exit0
expect_verdict "exit 0 on an error case fails" fail exit0 invalid-empty-file 'exit status 0'
make_fake segv . segv
expect_verdict "crash on an error case fails" fail segv invalid-empty-file 'killed by signal 11'
make_fake hang . hang
start=$(date +%s)
expect_verdict "timeout kills and fails" fail hang invalid-empty-file 'timed out after 1 s' \
  --timeout 1
[ $(($(date +%s) - start)) -lt 10 ] && ok "timeout is prompt" || notok "timeout is prompt"

# --- counting, -v and usage ---
run_runner wrongmsg "$CASES/interp-required-unset-error" "$CASES/healthcheck-durations" -v
if [ $rc -eq 1 ] && grep -q '^1 passed, 1 failed$' <<<"$out" &&
  grep -q '^PASS healthcheck-durations$' <<<"$out"; then
  ok "mixed run: counts, exit 1, -v prints passes"
else
  notok "mixed run (rc=$rc)"
  sed 's/^/#   /' <<<"$out"
fi
"$RUNNER" compose --mtk "$T/perfect" >/dev/null 2>&1
[ $? -eq 2 ] && ok "no case folder: exit 2" || notok "no case folder: exit 2"
"$RUNNER" compose --mtk "$T/perfect" "$T/nonexistent" >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing folder: exit 2" || notok "missing folder: exit 2"
"$RUNNER" compose --mtk "$T/none" "$CASES" >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing mtk: exit 2" || notok "missing mtk: exit 2"
"$RUNNER" compose --bogus --mtk "$T/perfect" "$CASES" >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown option: exit 2" || notok "unknown option: exit 2"

echo "1..$n"
[ $failed -eq 0 ]
