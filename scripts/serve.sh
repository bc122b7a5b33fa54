#!/usr/bin/env bash
# Builds the release preset and starts the duplex server on http://localhost:8000
# (demo page at /, WebSocket echo at /echo, /health). Arguments go to `duplex serve`
# (e.g. --port 9000; the port defaults to 8000, or $DUPLEX_PORT).
#
#   scripts/serve.sh [duplex serve args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/deps.sh build
cmake --preset release
cmake --build --preset release --target duplex
echo "serve.sh: starting build/release/apps/duplex/duplex serve $*"
exec build/release/apps/duplex/duplex serve "$@"
