#!/usr/bin/env bash
# Installs the Debian 12 packages mtk builds and tests with. Idempotent:
# packages already present are not fetched again.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libyaml-dev libcurl4-openssl-dev libarchive-dev libjansson-dev libuv1-dev
      libssl-dev libseccomp-dev libmnl-dev libnftables-dev python3 jq clang-format
      docker-registry umoci skopeo busybox-static apache2-utils openssl curl
      crun runc iproute2 nftables)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
