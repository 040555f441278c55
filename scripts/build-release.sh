#!/usr/bin/env bash
# Build the `trialsearch` binary to ship and to benchmark, and print its path.
#
#   scripts/build-release.sh            # then: install -m 755 "$(scripts/build-release.sh)" ~/.local/bin/
#
# Profile `dist` (Cargo.toml: fat LTO, one codegen unit) and, on Linux with
# glibc, a static-pie executable (`-C target-feature=+crt-static`). Both are
# for one-shot queries, where a process lives a few milliseconds: the dynamic
# loader's work (mapping libc, libm and libgcc_s, binding their symbols,
# relocating) was ~0.5 ms of a 5–6 ms query on M, and LTO takes another ~10%
# of the rest (BENCHMARKS.md). The price is a build of ~9 minutes on 2
# cores, which is why `cargo build --release` stays the everyday build.
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
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo build --locked --profile dist --target "$host" --bin trialsearch "$@" >&2
    echo "$TARGET_DIR/$host/dist/trialsearch"
    ;;
  *)
    cargo build --locked --profile dist --bin trialsearch "$@" >&2
    echo "$TARGET_DIR/dist/trialsearch"
    ;;
esac
