#!/usr/bin/env bash
# `mtk image save|load|import` and interop with skopeo: a saved archive is
# read by `skopeo inspect oci-archive:` and `docker-archive:` (and copied by
# skopeo, which verifies digests), its bytes are reproducible, archives made
# by `skopeo copy` (OCI and docker kinds) and a hand-made Docker < 25 archive
# load with Docker's naming rules, damaged archives are refused without
# leaving anything behind, and a busybox rootfs tarball imports as a
# one-layer image.  Prints TAP.
source "${MTK_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fixtures/registry/image-test-lib.sh"
require_tools

reg_start A open || { echo "Bail out! docker-registry did not start"; exit 1; }
reg_build_images "$WORK/oci" || { echo "Bail out! umoci could not build the images"; exit 1; }
reg_push_fixture "$REG_A" test/busybox "$WORK/oci" ||
  { echo "Bail out! could not push the fixture images"; exit 1; }
R=$REG_A/test/busybox
SK=(skopeo --insecure-policy)
mtk image pull -q "$R:oci-amd64" >/dev/null
mtk image pull -q "$R:oci-arm64" >/dev/null
mtk image tag "$R:oci-amd64" team/lab:1
manifest=$(mtk image inspect team/lab:1 | jq -r '.[0].Descriptor.digest')
id=$(mtk image inspect team/lab:1 | jq -r '.[0].Id')
R2=$WORK/root2
mtk2() { "$MTK" --root "$R2" "$@"; }

# --- save -------------------------------------------------------------------
A=$WORK/s.tar
run mtk image save -o "$A" team/lab:1
check "save -o" 0
mtk image save team/lab:1 >"$WORK/s-stdout.tar"
cmp -s "$A" "$WORK/s-stdout.tar" && ok "save is reproducible (same bytes to a file and to stdout)" ||
  not_ok "save is reproducible"
is "entries sorted, Docker 25's layout" "$(tar tf "$A" | tr '\n' ' ')" \
  "blobs/ blobs/sha256/ $(tar tf "$A" | grep '^blobs/sha256/.' | sort | tr '\n' ' ')index.json manifest.json oci-layout repositories "
is "every entry: mtime 0, owner 0/0" "$(tar tvf "$A" | awk '{print $2, $4}' | sort -u)" "0/0 1970-01-01"
is "index.json: containerd's name and the OCI ref name (the tag)" \
  "$(tar xOf "$A" index.json | jq -c '.manifests[] | [.digest, .annotations["io.containerd.image.name"], .annotations["org.opencontainers.image.ref.name"]]')" \
  "[\"$manifest\",\"docker.io/team/lab:1\",\"1\"]"
is "manifest.json: RepoTags and paths into blobs/" \
  "$(tar xOf "$A" manifest.json | jq -c '.[0] | [.RepoTags, (.Config|startswith("blobs/sha256/")), (.Layers|length)]')" \
  '[["team/lab:1"],true,1]'
cfg=$(tar xOf "$A" manifest.json | jq -r '.[0].Config')
is "the config blob hashes to its name" "$(tar xOf "$A" "$cfg" | sha256sum | cut -c1-64)" "${cfg##*/}"
run "${SK[@]}" inspect "oci-archive:$A"
check "skopeo inspect oci-archive: reads it" 0 &&
  is "skopeo sees the manifest digest" "$(jq -r .Digest "$WORK/out")" "$manifest"
run "${SK[@]}" inspect "oci-archive:$A:1"
check "skopeo inspect oci-archive:FILE:TAG (ref.name)" 0
run "${SK[@]}" inspect "docker-archive:$A:team/lab:1"
check "skopeo inspect docker-archive: reads it" 0 &&
  is "skopeo docker-archive: the architecture from the config" "$(jq -r .Architecture "$WORK/out")" amd64
run "${SK[@]}" copy -q "docker-archive:$A" "oci:$WORK/copy1:x"
check "skopeo copy docker-archive: (verifies the layer digests)" 0
run "${SK[@]}" copy -q "oci-archive:$A" "oci:$WORK/copy2:x"
check "skopeo copy oci-archive:" 0

mtk image tag "$R:oci-arm64" team/lab:arm
run mtk image save -o "$WORK/two.tar" team/lab:1 team/lab:arm "$id"
check "save of two images (one named twice, by tag and ID)" 0
is "two manifest.json entries" "$(tar xOf "$WORK/two.tar" manifest.json | jq length)" 2

# --- load -------------------------------------------------------------------
run mtk2 image load -i "$A"
check "load our own archive" 0 stdout '^Loaded image: team/lab:1$'
is "the loaded image has the same ID" "$(mtk2 image inspect team/lab:1 | jq -r '.[0].Id')" "$id"
ld=$(mtk2 image inspect team/lab:1 | jq -r '.[0].GraphDriver.Data.LowerDir')
cmp -s "$ld/bin/busybox" "$(command -v busybox)" && ok "load unpacks the layers" ||
  not_ok "load unpacks the layers" "lowerdir $ld"
run mtk2 image load -i "$WORK/two.tar"
check "load two images" 0 stdout '^Loaded image: team/lab:1$' stdout '^Loaded image: team/lab:arm$'

"${SK[@]}" copy -q --src-tls-verify=false "docker://$R:oci-amd64" "oci-archive:$WORK/sk-oci.tar:team/lab:2"
"${SK[@]}" copy -q --src-tls-verify=false "docker://$R:docker-amd64" "docker-archive:$WORK/sk-docker.tar:team/lab:3"
"${SK[@]}" copy -q --src-tls-verify=false "docker://$R:oci-amd64" "oci-archive:$WORK/sk-bare.tar:latest"
run mtk2 image load -i "$WORK/sk-oci.tar"
check "load skopeo's oci-archive: ref.name team/lab:2 names it" 0 stdout '^Loaded image: team/lab:2$'
run mtk2 image load -i "$WORK/sk-docker.tar"
check "load skopeo's docker-archive: RepoTags name it" 0 stdout '^Loaded image: team/lab:3$'
is "docker-archive: same image ID" "$(mtk2 image inspect team/lab:3 | jq -r '.[0].Id')" "$id"
run mtk2 image load <"$WORK/sk-bare.tar"
check "a bare tag (latest) names nothing: loaded untagged, ID printed" 0 \
  stdout "^Loaded image ID: $id\$"
gzip -c "$WORK/sk-docker.tar" >"$WORK/sk-docker.tar.gz"
run mtk2 image load -i "$WORK/sk-docker.tar.gz"
check "load a gzip-compressed archive" 0 stdout '^Loaded image: team/lab:3$'

# A Docker < 25 archive: <id>/layer.tar, a symlinked duplicate layer, <hex>.json config.
L=$WORK/legacy
mkdir -p "$L/rootfs/bin" "$L/a" "$L/b"
cp "$(command -v busybox)" "$L/rootfs/bin/busybox"
tar -C "$L/rootfs" -cf "$L/a/layer.tar" .
ln -s ../a/layer.tar "$L/b/layer.tar"
echo 1.0 >"$L/a/VERSION"
d=sha256:$(sha256sum "$L/a/layer.tar" | cut -c1-64)
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' "$d" "$d" >"$L/cfg.json"
c=$(sha256sum "$L/cfg.json" | cut -c1-64)
mv "$L/cfg.json" "$L/$c.json"
printf '[{"Config":"%s.json","RepoTags":["legacy:1"],"Layers":["a/layer.tar","b/layer.tar"]}]\n' "$c" >"$L/manifest.json"
tar -C "$L" -cf "$WORK/legacy.tar" manifest.json "$c.json" a b
run mtk2 image load -i "$WORK/legacy.tar"
check "load a Docker < 25 archive (symlinked layer.tar)" 0 stdout '^Loaded image: legacy:1$'
is "its ID is its config digest" "$(mtk2 image inspect legacy:1 | jq -r '.[0].Id')" "sha256:$c"

# Damaged archives: refused, nothing named, nothing half-made.
mkdir -p "$WORK/bad"
tar -C "$WORK/bad" -xf "$A"
layer=$(tar xOf "$A" manifest.json | jq -r '.[0].Layers[0]')
printf 'X' | dd of="$WORK/bad/$layer" bs=1 seek=100 conv=notrunc 2>/dev/null
tar -C "$WORK/bad" -cf "$WORK/bad.tar" .
R3=$WORK/root3
run "$MTK" --root "$R3" image load -i "$WORK/bad.tar"
check "a blob that does not match its name is refused" 1 stderr 'digest mismatch'
is "nothing was named" "$("$MTK" --root "$R3" image ls -a -q)" ""
is "the damaged blob was not stored" "$(ls "$R3/image/blobs/sha256" | grep -c "${layer##*/}")" 0
left=$(ROOT=$R3 store_clean) && ok "no temp files left" || not_ok "temp files left" "$left"
head -c 3000 /dev/urandom >"$WORK/garbage"
run mtk2 image load -i "$WORK/garbage"
check "garbage is refused" 1 stderr 'load: reading the archive'
tar -C "$WORK/oci" -cf "$WORK/noimage.tar" oci-layout
run mtk2 image load -i "$WORK/noimage.tar"
check "a tar that holds no image is refused" 1 stderr 'not an image archive'

# --- import -----------------------------------------------------------------
F=$WORK/rootfs
mkdir -p "$F/bin" "$F/etc"
cp "$(command -v busybox)" "$F/bin/busybox"
ln -s busybox "$F/bin/sh"
echo imported >"$F/etc/hostname"
tar -C "$F" -cf "$WORK/rootfs.tar" .
run mtk image import "$WORK/rootfs.tar" imported:1
check "import prints the image ID" 0 stdout '^sha256:[0-9a-f]{64}$'
iid=$(cat "$WORK/out")
is "the ID names the tag" "$(mtk image inspect imported:1 | jq -r '.[0].Id')" "$iid"
cfgj=$(cat "$ROOT/image/blobs/sha256/${iid#sha256:}")
is "config: one layer, the DiffID of the tar" "$(jq -r '.rootfs.diff_ids[0]' <<<"$cfgj")" \
  "sha256:$(sha256sum "$WORK/rootfs.tar" | cut -c1-64)"
is "config: history comment as Docker's" "$(jq -r '.history[0].comment' <<<"$cfgj")" \
  "Imported from $WORK/rootfs.tar"
is "config: the host platform" "$(jq -r '.os + "/" + .architecture' <<<"$cfgj")" \
  "linux/$(mtk image inspect "$R:oci-amd64" | jq -r '.[0].Architecture')"
ld=$(mtk image inspect imported:1 | jq -r '.[0].GraphDriver.Data.LowerDir')
if cmp -s "$ld/bin/busybox" "$F/bin/busybox" && [ "$(readlink "$ld/bin/sh")" = busybox ]; then
  ok "the imported layer is unpacked (file, symlink)"
else not_ok "the imported layer is unpacked" "lowerdir $ld"; fi
m=$(mtk image inspect imported:1 | jq -r '.[0].Descriptor.digest')
is "an uncompressed tarball is stored gzip-compressed" \
  "$(jq -r '.layers[0].mediaType' "$ROOT/image/blobs/sha256/${m#sha256:}")" \
  application/vnd.oci.image.layer.v1.tar+gzip
gzip -n -c "$WORK/rootfs.tar" >"$WORK/rootfs.tar.gz"
run sh -c "'$MTK' --root '$ROOT' image import -m 'from stdin' --platform linux/arm64 - imported:gz <'$WORK/rootfs.tar.gz'"
check "import - (stdin), gzip, -m, --platform" 0
m=$(mtk image inspect imported:gz | jq -r '.[0].Descriptor.digest')
is "a gzip tarball is stored as it is" "$(jq -r '.layers[0].digest' "$ROOT/image/blobs/sha256/${m#sha256:}")" \
  "sha256:$(sha256sum "$WORK/rootfs.tar.gz" | cut -c1-64)"
is "-m and --platform reach the config" \
  "$(mtk image inspect imported:gz | jq -r '.[0].Architecture')" arm64
run mtk image import "$WORK/garbage" bad:1
check "import of something that is not a tar fails" 1 stderr 'import'
run mtk image ls -q bad
is "nothing named after a failed import" "$(cat "$WORK/out")" ""
left=$(store_clean) && ok "no temp files or snapshot temp dirs" || not_ok "temp files left" "$left"
mtk image save -o "$WORK/imp.tar" imported:1
run "${SK[@]}" inspect "docker-archive:$WORK/imp.tar"
check "skopeo reads a saved imported image" 0
finish
