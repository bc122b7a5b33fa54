#!/usr/bin/env bash
# Builds the debug preset (ASan + UBSan) and runs every test: unit, integration, interop, corpus
# replays and the layering check. Extra arguments go to ctest (e.g. `-L interop`, `-R ws`).
#
#   scripts/test.sh [ctest args...]
#
# Under CI=true a missing interop peer fails instead of skipping. The ctest log is kept in
# build/debug/Testing/ctest.log (.ci/run reads its summary from there).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/deps.sh build test
cmake --preset debug
cmake --build --preset debug
mkdir -p build/debug/Testing
ctest --preset debug "$@" 2>&1 | tee build/debug/Testing/ctest.log
