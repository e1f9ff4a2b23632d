#!/usr/bin/env bash
# Packs `speed`, of the working tree or of commit REV, for a remote NVIDIA GPU machine, where
# bench/gpu/remote.sh times it: a stripped Vulkan build, xz-compressed into .device/bin/ (about
# 19 MB), and the Vulkan loader's Debian package into .gl/ (such machines often have the NVIDIA
# driver but no loader).
# Both folders are git-ignored. Pack each build to compare under its own name, for example a
# change against the last commit:
#
#   bench/gpu/pack.sh after && bench/gpu/pack.sh before HEAD
#
# `bench/gpu/pack.sh --checks` packs, from the working tree, what remote.sh runs before timing:
# `tests/replay.rs` (replayed steps give ordinary steps' losses) and `mnist` (the embedded
# subset trained as users train it), into .device/checks/ (about 40 MB with both).
#
# A cold Vulkan build takes about 23 minutes on 2 cores, each later one a minute or two.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: bench/gpu/pack.sh NAME [REV] | --checks}
rev=${2:-}
target=$PWD/target/gpu
vulkan=(--release --no-default-features --features vulkan)
# The examples and tests take the command line, and the allocator, from default features.
examples=(--release --no-default-features --features vulkan,cli,mimalloc)

# Strips binary $1 into .device/$2 and compresses it there.
pack() {
    mkdir -p "$(dirname ".device/$2")"
    strip -o ".device/$2" "$1"
    xz -T0 -f ".device/$2"
}

if [ "$name" = --checks ]; then
    CARGO_TARGET_DIR=$target cargo build "${examples[@]}" --example mnist
    pack "$target/release/examples/mnist" checks/mnist
    test=$(CARGO_TARGET_DIR=$target cargo test "${examples[@]}" --test replay --no-run \
        --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("executable") and message["target"]["name"] == "replay":
        print(message["executable"])')
    pack "$test" checks/replay_test
    ls -l .device/checks
    exit
fi

tree=.
if [ -n "$rev" ]; then
    tree=target/pack/$(git rev-parse --short "$rev")
    [ -d "$tree" ] || git worktree add --detach "$tree" "$rev"
fi
# One target folder for every tree, so that a commit's build recompiles only our crates. Our
# crates' artifacts have the same names in every tree, and cargo tells them apart by time
# alone: touching a tree's sources makes its build replace the other tree's.
touch_sources() { (cd "$1" && find bench cnn-arch cnn-kernels cnn-macros cnn-runtime src examples -name '*.rs' \
    -exec touch {} +); }
touch_sources "$tree"
(cd "$tree" && CARGO_TARGET_DIR=$target cargo build "${vulkan[@]}" -p cnn-bench --bin speed)
pack "$target/release/speed" "bin/speed_$name"
if [ -n "$rev" ]; then touch_sources .; fi

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64
        -oDir::State::Lists=/tmp/amd64)
    apt-get "${apt_options[@]}" update -qq
    (cd .gl && apt-get "${apt_options[@]}" download libvulkan1)
fi
ls -l .device/bin .gl
