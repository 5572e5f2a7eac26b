#!/usr/bin/env bash
# Registries with authentication: htpasswd Basic auth and Bearer tokens from
# the fixture's token issuer.  `mtk login` checks the credentials before it
# stores them (config.json, mode 0600), pull and push then use them, and
# `mtk logout` removes them.  Prints TAP.
source "${MTK_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fixtures/registry/image-test-lib.sh"
require_tools

reg_start H htpasswd && reg_start T token || { echo "Bail out! docker-registry did not start"; exit 1; }
reg_build_images "$WORK/oci" || { echo "Bail out! umoci could not build the images"; exit 1; }
SK=(skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "$REG_USER:$REG_PASS")
for r in "$REG_H" "$REG_T"; do
  "${SK[@]}" "oci:$WORK/oci:busybox-amd64" "docker://$r/test/busybox:1" ||
    { echo "Bail out! skopeo could not push to $r"; exit 1; }
done
CFG=$DOCKER_CONFIG/config.json

# --- Basic auth (htpasswd) --------------------------------------------------
run mtk image pull "$REG_H/test/busybox:1"
check "htpasswd: pull without credentials fails with a login hint" 18 \
  stderr '(unauthorized|UNAUTHORIZED|authentication required)' stderr "^hint: .*mtk login $REG_H"

run sh -c "echo wrong | '$MTK' login -u $REG_USER --password-stdin $REG_H"
check "login with a wrong password fails" 1 stderr 'incorrect username or password'
is "nothing stored after a failed login" "$(jq -r ".auths[\"$REG_H\"] // \"none\"" "$CFG" 2>/dev/null || echo none)" none

run sh -c "echo $REG_PASS | '$MTK' login -u $REG_USER --password-stdin $REG_H"
check "login --password-stdin" 0 stdout '^Login Succeeded$'
is "config.json has mode 0600" "$(stat -c %a "$CFG")" 600
is "config.json: auths[host].auth = base64(user:password)" \
  "$(jq -r ".auths[\"$REG_H\"].auth" "$CFG" | base64 -d)" "$REG_USER:$REG_PASS"

run mtk image pull "$REG_H/test/busybox:1"
check "htpasswd: pull after login" 0 stdout 'Pull complete'
mtk image tag "$REG_H/test/busybox:1" "$REG_H/team/lab:1"
run mtk image push "$REG_H/team/lab:1"
check "htpasswd: push after login" 0 stdout '^1: digest: sha256:'
run skopeo inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" "docker://$REG_H/team/lab:1"
check "skopeo reads what mtk pushed" 0

run mtk logout "$REG_H"
check "logout" 0 stdout "^Removing login credentials for $REG_H\$"
is "the entry is gone" "$(jq -r ".auths[\"$REG_H\"] // \"none\"" "$CFG")" none
run "$MTK" --root "$WORK/fresh" image pull "$REG_H/test/busybox:1"
check "pull after logout fails again" 18 stderr 'hint: .*mtk login'
run mtk logout "$REG_H"
check "logout when not logged in" 0 stdout "^Not logged in to $REG_H\$"

run sh -c "printf '%s\n%s\n' $REG_USER $REG_PASS | '$MTK' login $REG_H"
check "login reading Username and Password from stdin" 0 stdout '^Username: ' \
  stdout 'Login Succeeded'

# --- Bearer tokens ----------------------------------------------------------
run mtk image pull "$REG_T/test/busybox:1"
check "token: anonymous pull (the issuer grants pull to anyone)" 0 stdout "^Status: Downloaded newer image for $REG_T"
grep -q 'GET /token' "$REG_WORK/T/token.log" && ok "token: the token server was asked" ||
  not_ok "token: the token server was asked"
mtk image tag "$REG_T/test/busybox:1" "$REG_T/team/lab:1"
run mtk image push "$REG_T/team/lab:1"
check "token: anonymous push is refused with a login hint" 1 stderr 'hint: .*mtk login'
run mtk login -u "$REG_USER" -p "$REG_PASS" "$REG_T"
check "token: login -p (with Docker's warning)" 0 stdout 'Login Succeeded' \
  stderr '^WARNING! Using --password via the CLI is insecure'
run mtk image push "$REG_T/team/lab:1"
check "token: push after login" 0 stdout '^1: digest: sha256:'
run skopeo inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" "docker://$REG_T/team/lab:1"
check "token: skopeo reads what mtk pushed" 0
run mtk login -u "$REG_USER" -p nope "$REG_T"
check "token: a wrong password is refused by the token server" 1 \
  stderr 'incorrect username or password'
finish
