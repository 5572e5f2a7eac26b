#!/usr/bin/env bash
# `mtk image push` against real registries, read back by skopeo: a blob the
# registry has is skipped, a blob another repository of the same registry
# has is mounted, other blobs are uploaded monolithically or in PATCH chunks
# (MTK_PUSH_CHUNK_SIZE), the manifest keeps its digest, and what mtk pushed
# is accepted by `skopeo inspect` and `skopeo copy` (which verify digests).
# Prints TAP.
source "${MTK_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fixtures/registry/image-test-lib.sh"
require_tools

reg_start A open && reg_start B open && reg_start C open || { echo "Bail out! docker-registry did not start"; exit 1; }
reg_build_images "$WORK/oci" || { echo "Bail out! umoci could not build the images"; exit 1; }
reg_push_fixture "$REG_A" test/busybox "$WORK/oci" ||
  { echo "Bail out! could not push the fixture images"; exit 1; }
SK=(skopeo --insecure-policy)
# Requests of one kind to one repository in a registry's access log.
requests() { grep -c "\"$2 /v2/$3/" "$REG_WORK/$1/registry.log"; }

mtk image pull -q "$REG_A/test/busybox:oci-amd64" >/dev/null
manifest=$(mtk image inspect "$REG_A/test/busybox:oci-amd64" | jq -r '.[0].Descriptor.digest')
layer=$(jq -r '.layers[0].digest' "$ROOT/image/blobs/sha256/${manifest#sha256:}")

mtk image tag "$REG_A/test/busybox:oci-amd64" "$REG_A/team/lab:1"
run mtk image push "$REG_A/team/lab:1"
check "push to the same registry: the layer is mounted from the repository it came from" 0 \
  stdout "^The push refers to repository \[$REG_A/team/lab\]\$" \
  stdout "^${layer:7:12}: Mounted from test/busybox\$" \
  stdout "^1: digest: $manifest size: [0-9]+\$"
is "the registry has the manifest under the tag, same digest" \
  "$("${SK[@]}" inspect --tls-verify=false "docker://$REG_A/team/lab:1" | jq -r .Digest)" \
  "$manifest"
is "the blob was mounted, not uploaded" "$(requests A PATCH team/lab)" 0

run mtk image push "$REG_A/team/lab:1"
check "push again: Layer already exists" 0 stdout "^${layer:7:12}: Layer already exists\$"

mtk image tag "$REG_A/test/busybox:oci-amd64" "$REG_B/team/lab:1"
run mtk image push "$REG_B/team/lab:1"
check "push to an empty registry: Pushed" 0 stdout "^${layer:7:12}: Pushed\$"
is "monolithic upload: no PATCH" "$(requests B PATCH team/lab)" 0
is "monolithic upload: one PUT per blob (layer, config)" "$(requests B PUT team/lab/blobs)" 2
is "the push is recorded as a repo digest" \
  "$(mtk image inspect "$REG_B/team/lab:1" | jq -r '.[0].RepoDigests[]' | grep -c "^$REG_B/team/lab@$manifest\$")" 1

mtk image tag "$REG_A/test/busybox:oci-amd64" "$REG_C/team/chunked:1"
MTK_PUSH_CHUNK_SIZE=262144 run mtk image push "$REG_C/team/chunked:1"
check "chunked push" 0 stdout "^${layer:7:12}: Pushed\$"
is "chunked push: the 1 MB layer went in 256 KiB PATCHes" "$(requests C PATCH team/chunked)" 5
if "${SK[@]}" copy -q --src-tls-verify=false "docker://$REG_C/team/chunked:1" "oci:$WORK/copy:x" \
  >"$WORK/out" 2>"$WORK/err"; then
  ok "skopeo copy of the chunked push verifies every digest"
else
  not_ok "skopeo copy of the chunked push verifies every digest"
fi
is "skopeo's copy has the same manifest" \
  "$(jq -r '.manifests[0].digest' "$WORK/copy/index.json")" "$manifest"

# An image made locally (import): every blob is new to the registry.
tar -C "$WORK/oci" -cf "$WORK/rootfs.tar" oci-layout
id=$(mtk image import "$WORK/rootfs.tar" "$REG_B/team/imported:1")
run mtk image push "$REG_B/team/imported:1"
check "push an imported image" 0 stdout 'Pushed$' stdout '^1: digest: '
is "skopeo inspect reads the pushed config" \
  "$("${SK[@]}" inspect --tls-verify=false --config "docker://$REG_B/team/imported:1" | jq -r '.rootfs.diff_ids | length')" 1
rm -rf "$WORK/root2"
run "$MTK" --root "$WORK/root2" image pull "$REG_B/team/imported:1"
check "pull it back into a fresh store" 0 stdout 'Pull complete'
is "same image ID after the round trip" \
  "$("$MTK" --root "$WORK/root2" image inspect "$REG_B/team/imported:1" | jq -r '.[0].Id')" "$id"

run mtk image push "$REG_B/team/nothing:1"
check "push of an image that is not here: exit 1 and a hint" 1 \
  stderr 'No such image' stderr '^hint: .*mtk image tag'
run mtk image push "$REG_B/team/lab@$manifest"
check "push of a digest reference is refused" 1 stderr 'push a tag'
finish
