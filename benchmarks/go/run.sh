#!/usr/bin/env bash
# Build and run the Go classic-map "quick workload" benchmark.
# Usage: benchmarks/go/run.sh [-sizes 1000,1000000] [-types int,long,guid[,entity]] [-entity-sizes 10000,1000000] [-reps 3] [-stall=true|false]
# Results (tab-separated, see README.md) go to stdout; build errors and
# diagnostics go to stderr. Works from any current directory; needs no network.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
here="$(pwd -P)"

# Locate the go tool: PATH first, then the Debian/Ubuntu golang-1.19-go location.
if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
elif [ -x /usr/lib/go-1.19/bin/go ]; then
    GO=/usr/lib/go-1.19/bin/go
else
    echo "go not installed: apt-get install golang-1.19-go" >&2
    exit 3
fi

# Offline, reproducible build: standard library only, no toolchain switching,
# no module proxy.
export GOTOOLCHAIN=local
export GOPROXY=off
export GOFLAGS=-mod=mod
export GO111MODULE=on
export GOWORK=off

# Use the default caches under $HOME when it is writable; otherwise keep the
# build cache and GOPATH in ./.gocache (gitignored).
if [ -z "${HOME:-}" ] || [ ! -d "$HOME" ] || [ ! -w "$HOME" ]; then
    export GOCACHE="${GOCACHE:-$here/.gocache/build}"
    export GOPATH="${GOPATH:-$here/.gocache/gopath}"
    export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
    mkdir -p "$GOCACHE" "$GOPATH"
fi

mkdir -p "$here/bin"
"$GO" build -o "$here/bin/gobench" .
exec "$here/bin/gobench" "$@"
