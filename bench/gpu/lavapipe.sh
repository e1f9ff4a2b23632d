#!/usr/bin/env bash
# Runs a command on lavapipe, Mesa's Vulkan driver that runs on the CPU: a real Vulkan path with
# `f16`, which Mesa's GL path (`VK_DRIVER_FILES=/nonexistent.json`) lacks, so that the GPU tests
# and checks of mixed precision run on a machine without a GPU. Slow (a batch-4 step takes about
# a second) and no guide to a GPU's speed, but it runs the kernels a GPU runs (compiled
# through WGSL, see below).
#
#   bench/gpu/lavapipe.sh target/gpu/release/speed --backend wgpu --conv-precision f16
#   CNN_TEST_GPU=wgpu bench/gpu/lavapipe.sh target/gpu/release/deps/replay-HASH --ignored
#
# Only builds with the `wgpu` feature and not `vulkan` run there: with `vulkan`, kernels on a
# Vulkan adapter are compiled by cubecl's own SPIR-V compiler (also under `--backend wgpu`),
# whose matmul kernels declare workgroup memory in a way `spirv-val` rejects, and lavapipe
# crashes compiling them. Build with
#
#   CARGO_TARGET_DIR=target/gpu cargo build --release --no-default-features --features wgpu ...
#
# Debian bookworm's lavapipe (Mesa 22.3) crashes on kernels that Mesa 25.0 runs, so this fetches
# the driver from bookworm-backports (about 11 MB, once) and the Vulkan loader from bookworm,
# unpacked into target/lavapipe, and runs the command with VK_DRIVER_FILES naming that driver.
# With no command it prints the environment to export instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/target/lavapipe
pool=http://deb.debian.org/debian/pool/main
packages=(
    "$pool/m/mesa/mesa-vulkan-drivers_25.0.7-2~bpo12%2B1_amd64.deb 3899f1800424c60a05df5d6913076a526ca8fdbabec43672cd397563d1ca3263"
    "$pool/v/vulkan-loader/libvulkan1_1.3.239.0-1_amd64.deb 622f28b807ba55a1f5ad1622ff83aa2c5b11fedbec074850e04c10a8f28b43d3"
)

# Downloads and unpacks package $1 into $dir, checking its SHA-256 $2.
unpack() {
    local deb
    deb=$dir/$(basename "${1//%2B/+}")
    [ -f "$deb" ] || curl -fsS -o "$deb" "$1"
    if ! echo "$2  $deb" | sha256sum -c --quiet; then
        rm -f "$deb"
        echo "lavapipe.sh: $1 is not the package expected" >&2
        exit 1
    fi
    dpkg -x "$deb" "$dir/root"
}

driver=$dir/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so
if [ ! -f "$driver" ]; then
    mkdir -p "$dir/root"
    for package in "${packages[@]}"; do unpack ${package}; done
fi
missing=$(ldd "$driver" | awk '/not found/ { print $1 }')
if [ -n "$missing" ]; then
    echo "lavapipe.sh: the driver needs libraries this machine lacks: $missing" >&2
    exit 1
fi
# Written at each run, so that a checkout moved elsewhere names its own driver.
cat >"$dir/lvp.json" <<EOF
{"file_format_version": "1.0.0", "ICD": {"library_path": "$driver", "api_version": "1.4.305"}}
EOF

export VK_DRIVER_FILES=$dir/lvp.json
export LD_LIBRARY_PATH=$dir/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Mesa warns at every start without it.
mkdir -p -m 700 "$dir/run"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$dir/run}
if [ $# -eq 0 ]; then
    echo "export VK_DRIVER_FILES=$VK_DRIVER_FILES LD_LIBRARY_PATH=$LD_LIBRARY_PATH XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
    exit
fi
exec "$@"
