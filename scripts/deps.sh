#!/usr/bin/env bash
# Installs what duplex needs on Debian 12, and nothing that is already there.
#
#   scripts/deps.sh [build] [test] [fuzz] [bench] [all]     (no argument = all; all excludes bench)
#
# The one list of packages lives here. Each run asks dpkg what is missing and installs only
# that (apt-get update runs once, and only when something is missing), so it is cheap to call
# from every script that needs a tool. The `test` group also installs the pinned npm peers of
# tests/interop/, and the `build` group the npm packages the demo pages are bundled from (web/:
# esbuild, centrifuge, yjs), each with `npm ci` when node_modules is missing or older than
# package-lock.json.
# Node.js itself comes with the machine: never apt-install nodejs or npm here (Debian's would
# replace Node 20).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_pkgs=(
  cmake ninja-build g++ ccache pkg-config
  libssl-dev zlib1g-dev libsimdjson-dev nlohmann-json3-dev libhiredis-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl curl ca-certificates
)
# Real peers of the interop tests (python3-* load only in Debian's /usr/bin/python3).
test_pkgs=(python3 python3-websockets python3-socketio python3-requests python3-websocket chromium redis-server
  nginx-light)
# libFuzzer: clang 14 cannot compile libstdc++ 12's C++20 headers, so clang-16.
fuzz_pkgs=(clang-16 libclang-rt-16-dev)
# Bench-only peers (bench/run.py; never in CI): Boost.Beast's echo server, taskset.
bench_pkgs=(libboost-dev libboost-system-dev util-linux)

usage() {
  echo "usage: $0 [build] [test] [fuzz] [bench] [all]" >&2
  exit 2
}

want_build=0 want_test=0 want_fuzz=0 want_bench=0
[ $# -eq 0 ] && set -- all
for group in "$@"; do
  case "$group" in
    build) want_build=1 ;;
    test) want_test=1 ;;
    fuzz) want_fuzz=1 ;;
    bench) want_bench=1 want_build=1 ;;
    all) want_build=1 want_test=1 want_fuzz=1 ;;
    -h | --help) usage ;;
    *) echo "deps.sh: unknown group '$group'" >&2; usage ;;
  esac
done

wanted=()
[ $want_build = 1 ] && wanted+=("${build_pkgs[@]}")
[ $want_test = 1 ] && wanted+=("${test_pkgs[@]}")
[ $want_fuzz = 1 ] && wanted+=("${fuzz_pkgs[@]}")
[ $want_bench = 1 ] && wanted+=("${bench_pkgs[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [ "${status:0:2}" = "ii" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm_ci DIR: the pinned packages of DIR/package-lock.json, unless DIR/node_modules is newer.
npm_ci() {
  local dir="$root/$1"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    # Not installed on purpose (see the header); the Node interop tests then skip, or fail in
    # CI, and the demo pages are copied without their bundled scripts.
    echo "deps.sh: node/npm not found; the machine's Node.js 20 is expected (not installed here)" >&2
  elif [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "deps.sh: npm ci in $1"
    # --ignore-scripts: nothing here needs an install script, and none may download a browser
    # (esbuild's binary comes as its platform package, @esbuild/linux-x64).
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    touch "$dir/node_modules"
  fi
}

if [ $want_build = 1 ]; then npm_ci web; npm_ci examples/sio_chat; fi
if [ $want_test = 1 ]; then npm_ci tests/interop; fi
