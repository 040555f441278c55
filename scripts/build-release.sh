#!/usr/bin/env bash
# Build the `trialsearch` binary to ship and to benchmark, and print its path.
#
#   scripts/build-release.sh            # then: install -m 755 "$(scripts/build-release.sh)" ~/.local/bin/
#
# Profile `dist` (Cargo.toml: fat LTO, one codegen unit) and, on Linux with
# glibc, a static executable (`-C target-feature=+crt-static`) at a fixed
# address (`-C relocation-model=static`). All three are for one-shot
# queries, where a process lives a few milliseconds (BENCHMARKS.md, M):
#   - the dynamic loader's work (mapping libc, libm and libgcc_s, binding
#     their symbols, relocating) was ~0.5 ms of a 5–6 ms query;
#   - a static *position-independent* executable still relocates itself at
#     start, writing ~200 pages of pointers (a third of a query's page
#     faults): another ~0.5 ms;
#   - LTO takes ~10% of the rest.
# The price of the fixed address: the executable's own code and data are
# not randomized (ASLR still places the stack, the heap and the mapped
# index at random), as with Go's default builds. `PIE=1` keeps a
# static-pie executable. The price of LTO: a build of ~9 minutes on 2 cores,
# which is why `cargo build --release` (dynamic, PIE) stays the everyday
# build.
#
# `--target` is given explicitly so that RUSTFLAGS reach only the binary:
# without it they would also apply to build scripts and proc-macros, which
# cannot be linked statically. Extra arguments go to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    flags="-C target-feature=+crt-static"
    [ "${PIE:-0}" = 1 ] || flags="$flags -C relocation-model=static"
    RUSTFLAGS="${RUSTFLAGS:-} $flags" \
      cargo build --locked --profile dist --target "$host" --bin trialsearch "$@" >&2
    echo "$TARGET_DIR/$host/dist/trialsearch"
    ;;
  *)
    cargo build --locked --profile dist --bin trialsearch "$@" >&2
    echo "$TARGET_DIR/dist/trialsearch"
    ;;
esac
