#!/usr/bin/env bash
# Packs `speed`, of the working tree or of commit REV, for a lent GPU machine (the tool
# library's `device`), where bench/gpu/lent.sh times it: a stripped Vulkan build,
# xz-compressed into .device/bin/ (about 19 MB; a call carries at most 64 MiB), and the Vulkan
# loader's Debian package into .gl/ (those machines have the NVIDIA driver but no loader).
# Both folders are git-ignored. Pack each build to compare under its own name, for example a
# change against the last commit:
#
#   bench/gpu/pack.sh after && bench/gpu/pack.sh before HEAD
#
# A cold Vulkan build takes about 23 minutes on 2 cores, each later one a minute or two. At
# most three builds fit in one call.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: bench/gpu/pack.sh NAME [REV]}
rev=${2:-}

tree=.
if [ -n "$rev" ]; then
    tree=target/pack/$(git rev-parse --short "$rev")
    [ -d "$tree" ] || git worktree add --detach "$tree" "$rev"
fi
# One target folder for every tree, so that a commit's build recompiles only our crates. Our
# crates' artifacts have the same names in every tree, and cargo tells them apart by time
# alone: touching a tree's sources makes its build replace the other tree's.
touch_sources() { (cd "$1" && find cnn-arch cnn-macros cnn-runtime src examples -name '*.rs' \
    -exec touch {} +); }
target=$PWD/target/gpu
touch_sources "$tree"
(cd "$tree" && CARGO_TARGET_DIR=$target cargo build --release --no-default-features \
    --features vulkan --example speed)
mkdir -p .device/bin
strip -o ".device/bin/speed_$name" "$target/release/examples/speed"
if [ -n "$rev" ]; then touch_sources .; fi
xz -T0 -f ".device/bin/speed_$name"

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64
        -oDir::State::Lists=/tmp/amd64)
    apt-get "${apt_options[@]}" update -qq
    (cd .gl && apt-get "${apt_options[@]}" download libvulkan1)
fi
ls -l .device/bin .gl
