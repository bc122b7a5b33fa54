#!/usr/bin/env bash
# Builds the release preset (the server and the demo pages' bundle, build/release/web/) and
# starts the duplex server on http://localhost:8000: demo index at /, chat, collaborative editor,
# live ticker and echo pages, /health. The ticker's simulated prices are on (--demo) unless
# --no-demo is given. Other arguments go to `duplex serve` (e.g. --port 9000; the port defaults
# to 8000, or $DUPLEX_PORT).
#
#   scripts/serve.sh [--no-demo] [duplex serve args...]
#
# The pages' scripts are bundled by esbuild from web/'s pinned npm packages (installed by
# scripts/deps.sh build) at build time: serving needs no node_modules and no CDN.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

args=()
demo=1
for a in "$@"; do
  case "$a" in
    --no-demo) demo=0 ;;
    --demo) ;;  # the default
    *) args+=("$a") ;;
  esac
done
[ $demo = 1 ] && args+=(--demo)

scripts/deps.sh build
cmake --preset release
cmake --build --preset release --target duplex web_bundle
echo "serve.sh: starting build/release/apps/duplex/duplex serve ${args[*]}"
exec build/release/apps/duplex/duplex serve "${args[@]}"
