#!/usr/bin/env bash
# Quick start on a fresh Debian 12 (as root, or with sudo): installs what the build needs
# (idempotent), builds mtk into build/, then shows the sample lab stack samples/flask-rstudio
# as mtk resolves it. Works from any directory. Until mtk can run containers it prints the
# stack's resolved configuration instead of bringing it up (see STEP below).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sample=samples/flask-rstudio
log=build/quickstart.log

./scripts/install-deps.sh

# Build quietly: the log is kept, and shown when something fails.
mkdir -p build
if ! { cmake -S . -B build && cmake --build build -j"$(nproc)"; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "quickstart: the build failed; full log in $log" >&2
  exit 1
fi

# STEP: once `mtk up` exists, replace this with `build/mtk --project-directory "$sample" up
# --build -d` (and say so in the summary line).
status=0
build/mtk --project-directory "$sample" config || status=$?
if [ "$status" -ne 0 ]; then
  echo "quickstart: built build/mtk, but 'mtk config' on $sample failed (exit $status)" >&2
  exit "$status"
fi
echo "quickstart: dependencies installed, mtk built in build/, config of $sample printed" \
     "above (running containers is not available yet)"
