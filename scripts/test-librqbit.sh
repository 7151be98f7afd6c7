#!/bin/sh
# Runs the unit tests of the vendored, patched librqbit (third_party/librqbit/LUNA-PATCHES.md).
# The crate is excluded from the workspace, so it needs a lock file of its own: the workspace's
# is copied next to it for the run (cargo adds librqbit's optional and dev dependencies to the
# copy, fetching them online) and removed afterwards.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
crate="$here/third_party/librqbit"
cp "$here/Cargo.lock" "$crate/Cargo.lock"
trap 'rm -f "$crate/Cargo.lock"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/luna-target}/librqbit"
cargo test --manifest-path "$crate/Cargo.toml" --no-default-features --features rust-tls --lib -- piece_tracker torrent_state::live "$@"
