#!/usr/bin/env bash
# A script for a remote NVIDIA GPU machine that receives this checkout with the git-ignored
# folders .device and .gl that bench/gpu/pack.sh fills (the machine has the NVIDIA driver and
# PyTorch CUDA, no Rust toolchain). It times every packed build, in turn and in a new order each
# round, beside PyTorch CUDA (bench/seed_torch.py), and stops within BUDGET seconds:
#
#   BUDGET=420 bash bench/gpu/remote.sh
#
# Each round is one setting, "BATCH:PRECISION" for training or "BATCH:PRECISION:infer" (ROUNDS,
# default six batch-64 f16 rounds, then two each of batch-64 f32 and batch-256 f16, all
# training); each run is one process and prints one JSON line, also kept in $OUT/runs.jsonl
# (its "queued" figure: images/s with 20 steps queued back to back, about the GPU's own speed
# where the host is quick). Each build first runs a short process that compiles its kernels,
# so that no timed process pays for that. Only figures of one run compare: the spread from
# process to process is up to a third at batch 64 in f16 (docs/gpu.md).
# VARIANTS adds runs of the first packed build (by name) with settings in its environment, for a
# switch that needs no build of its own: `VARIANTS="CNN_KERNELS=burn:turned --replay"`, several
# separated by spaces, each `NAME=VALUE` or `--ARGUMENT`, or several of them joined by commas.
# Before any timing it runs the checks that `bench/gpu/pack.sh --checks` packed, if any: the
# replay tests (replayed steps against ordinary ones, in f32 and f16), then MNIST's embedded
# subset trained in f16 (CHECK_PRECISION) with --replay and --no-replay (MNIST_EPOCHS, default 5;
# MNIST_ARGS adds arguments); each check's output is kept in $OUT/check-*.log, its key lines
# printed. ORDER says what runs, in which order (default "tests mnist rounds"): "tests rounds
# mnist" times before the MNIST checks, so that a run that runs out of time loses those and
# not the timing; "profile" (not in the default) adds cubecl's time for each kernel of a step
# (PROFILE, default 64:f16). `ROUNDS=none` leaves the rounds out, `CHECKS=0` the checks.
# `BACKEND=wgpu VK_DRIVER_FILES=/nonexistent.json` runs it through Mesa's software GPU, to
# check the script on a machine without one (`ROUNDS=1:f32 STEPS=5 CHECK_PRECISION=f32
# MNIST_EPOCHS=1 MNIST_ARGS="--batch-size 4 --train-limit 66 --test-limit 32"` keeps that short).
# lavapipe (bench/gpu/lavapipe.sh), which has f16, cannot run what pack.sh packs: it crashes on
# the SPIR-V of builds with the `vulkan` feature.
# Before anything runs, choose_driver finds a Vulkan set-up under which the first build sees the
# GPU and prints each one it tried: an H200 with Ubuntu 24.04 and driver 580, for one,
# refused NVIDIA's GLX-based ICD file ("Could not get 'vkCreateInstance'") and took the same
# driver through libEGL_nvidia. Set VK_DRIVER_FILES to skip that search.
set -u
cd "$(dirname "$0")/../.."
start=$SECONDS
budget=${BUDGET:-420}
rounds=${ROUNDS:-"64:f16 64:f16 64:f16 64:f16 64:f16 64:f16 64:f32 64:f32 256:f16 256:f16"}
backend=${BACKEND:-vulkan}
out=${OUT:-/tmp/remote}
mkdir -p "$out" /tmp/bin

# The carried Vulkan loader (.gl) is unpacked beside the system rather than over it, and used
# where the system has none or where the system's finds no GPU (choose_driver).
system_loader=$(ldconfig -p | grep -c 'libvulkan.so.1 ')
for deb in .gl/*.deb; do [ -e "$deb" ] && dpkg -x "$deb" /tmp/gl; done
carried_loader=LD_LIBRARY_PATH=/tmp/gl/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
[ "$system_loader" -gt 0 ] || export "${carried_loader?}"

# Each entry is a build and the environment it runs with ("-" for none), as "BINARY|ENV".
builds=()
for packed in .device/bin/speed_*.xz; do
    build=/tmp/bin/$(basename "$packed" .xz)
    xz -dc "$packed" >"$build" && chmod +x "$build" && builds+=("$build|-")
done
[ ${#builds[@]} -gt 0 ] || { echo "nothing packed: run bench/gpu/pack.sh NAME first"; exit 2; }
for variant in ${VARIANTS:-}; do builds+=("${builds[0]%|*}|$variant"); done

# Runs the first build's shortest inference on Vulkan, arguments after `env`'s first; true where
# it finds the GPU.
probe() {
    env "$@" "${builds[0]%|*}" --backend vulkan --mode infer --steps 2 --warmup 1 --warmup-secs 0 \
        --batch-size 1
}

# Sets up the first Vulkan driver set-up under which the first build finds the GPU, trying NVIDIA's
# ICD file, the loader's own search, then NVIDIA's ICD through libEGL_nvidia (headless containers
# can lack what the GLX one needs: NVIDIA/nvidia-container-toolkit#191), each with the system's
# loader and the carried one, then again with /dev/nvidia-modeset made. Prints each refusal.
choose_driver() {
    [ "$backend" = vulkan ] && [ -z "${VK_DRIVER_FILES:-}" ] || return 0
    local egl tries=() try loader vars
    egl=$(ldconfig -p | awk '/libEGL_nvidia.so.0 / { print $NF; exit }')
    [ -n "$egl" ] && printf '{"file_format_version": "1.0.1", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' \
        "$egl" >/tmp/nvidia_egl_icd.json
    for try in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json - /tmp/nvidia_egl_icd.json; do
        [ "$try" = - ] || [ -f "$try" ] && tries+=("$try")
    done
    for modeset in no yes; do
        if [ $modeset = yes ]; then
            [ -e /dev/nvidia-modeset ] && break
            mknod -m 666 /dev/nvidia-modeset c 195 254 || break
        fi
        for try in "${tries[@]}"; do
            for loader in "" "$carried_loader"; do
                vars=()
                [ "$try" = - ] || vars+=("VK_DRIVER_FILES=$try")
                [ -z "$loader" ] || vars+=("$loader")
                echo "vulkan driver: trying ${vars[*]:-the default search} (modeset node made: $modeset)"
                if probe "${vars[@]}" VK_LOADER_DEBUG=error timeout 120 >/dev/null 2>/tmp/driver.log
                then
                    [ ${#vars[@]} -eq 0 ] || export "${vars[@]}"
                    echo "vulkan driver: found"
                    return 0
                fi
                sort -u /tmp/driver.log | head -n 4 | sed 's/^/    /'
            done
        done
    done
    echo "vulkan driver: none found"
    nvidia-smi -q | grep -iE 'operation mode|display (mode|active)' | sed 's/^/    /'
    probe LD_DEBUG=libs VK_LOADER_DEBUG=driver timeout 60 2>&1 \
        | grep -iE 'nvidia|cannot|error|not found' | grep -v 'search path\|trying file' | sort -u \
        | head -n 40 | sed 's/^/    /'
    return 1
}
choose_driver || exit 3

# The label of entry $1, and the command that runs it (in ARGV): its settings that start with
# `--` are arguments, the others environment.
entry() {
    local build=${1%|*} settings=${1#*|} setting vars=() args=()
    label=$(basename "$build")
    ARGV=("$build")
    if [ "$settings" != "-" ]; then
        label="$label+$settings"
        for setting in ${settings//,/ }; do
            case $setting in --*) args+=("$setting") ;; *) vars+=("$setting") ;; esac
        done
        ARGV=(env "${vars[@]}" "$build" "${args[@]}")
    fi
}

# Seconds of the budget left.
seconds_left() { echo $((budget - (SECONDS - start))); }

# The seconds one timed process may take: 95, or less where the budget ends sooner.
process_cap() { local left; left=$(seconds_left); echo $((left < 100 ? left - 5 : 95)); }

# Runs "$@" as LABEL and prints its last line as JSON, unless too little budget is left.
run() {
    local label=$1
    shift
    if [ "$(seconds_left)" -lt 30 ]; then echo "{\"run\": \"$label\", \"skipped\": \"budget\"}"; return; fi
    local line
    line=$(timeout "$(process_cap)" "$@" 2>>"$out/stderr.log" | tail -n 1)
    case $line in "{"*) ;; *) line=null ;; esac
    echo "{\"run\": \"$label\", \"result\": $line}" | tee -a "$out/runs.jsonl"
}

# Runs "$@" as check LABEL (within CHECK_SECS, default 200, and the budget), its output kept
# in $OUT/check-LABEL.log, and prints the lines that say how it went.
check() {
    local label=$1 left cap=${CHECK_SECS:-200} log
    left=$(seconds_left)
    shift
    if [ "$left" -lt 60 ]; then echo "check $label: skipped (budget)"; return; fi
    log=$out/check-${label// /_}.log
    timeout $((left - 10 < cap ? left - 10 : cap)) "$@" >"$log" 2>&1
    echo "check $label: exit $?"
    awk '/panicked/ { print; if (getline) print; next }
        /^test |^epoch [0-9]+\/|^test accuracy|recorded|error/' "$log" | sed 's/^/    /'
}

# Unpacks the checks that bench/gpu/pack.sh --checks packed, once a call; false where there
# are none.
unpack_checks() {
    [ "${CHECKS:-1}" = 1 ] && ls .device/checks/*.xz >/dev/null 2>&1 || return 1
    [ -n "${unpacked:-}" ] && return 0
    for packed in .device/checks/*.xz; do
        binary=/tmp/bin/$(basename "$packed" .xz)
        xz -dc "$packed" >"$binary" && chmod +x "$binary"
    done
    unpacked=1
}

tests() {
    unpack_checks || return 0
    check "replay tests" env CNN_TEST_GPU="$backend" /tmp/bin/replay_test --ignored \
        --test-threads 1
}

mnist() {
    unpack_checks || return 0
    local precision=${CHECK_PRECISION:-f16} replay
    # Replayed first (the default on GPUs): the first run compiles and tunes, and this one
    # matters more if time runs out.
    for replay in --replay --no-replay; do
        check "mnist $precision${replay:+ $replay}" /tmp/bin/mnist --backend "$backend" \
            --conv-precision "$precision" --epochs "${MNIST_EPOCHS:-5}" \
            --out "$out/mnist-$precision$replay" $replay ${MNIST_ARGS:-}
    done
}

# A round's setting, BATCH:PRECISION[:MODE], into batch, precision and mode (train unless given).
parse() { IFS=: read -r batch precision mode <<<"$1"; mode=${mode:-train}; }

rounds() {
    [ "$rounds" = none ] && return
    local timed=(--steps "${STEPS:-100}" --warmup 5 --warmup-secs 1.5) round=0 setting i
    parse "${rounds%% *}"
    for build in "${builds[@]}"; do
        entry "$build"
        run "compile $label" "${ARGV[@]}" --backend "$backend" --mode "$mode" --steps 3 \
            --warmup 1 --warmup-secs 0 --batch-size "$batch" --conv-precision "$precision"
    done
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
    for setting in $rounds; do
        parse "$setting"
        # A new order each round: the first process after PyTorch's may find other clocks.
        for i in "${!builds[@]}"; do
            entry "${builds[$(((i + round) % ${#builds[@]}))]}"
            run "$label $setting" "${ARGV[@]}" --backend "$backend" --mode "$mode" \
                "${timed[@]}" --batch-size "$batch" --conv-precision "$precision"
        done
        run "torch $setting" python3 bench/seed_torch.py --device cuda --mode "$mode" \
            "${timed[@]}" --batch-size "$batch"
        round=$((round + 1))
    done
    summary
}

# cubecl's time for each kernel of the first build's training steps at PROFILE (default
# "64:f16"), plain and with --replay, summed per step by bench/gpu/profile.py; the logs kept
# in $OUT/profile-*.log.xz, the tables in $OUT/profile-*.txt. cubecl's profiler cannot be
# recorded, so the --replay run's steps are not replayed but launch a replayed step's kernels
# (its Adam's in-place writes included): the GPU's own time per kernel of such a step.
profile() {
    local replay log
    parse "${PROFILE:-64:f16}"
    entry "${builds[0]}"
    for replay in "" --replay; do
        if [ "$(seconds_left)" -lt 60 ]; then echo "profile${replay:+ $replay}: skipped (budget)"; continue; fi
        log=$out/profile-$batch-$precision$replay.log
        echo "profile $label $batch:$precision${replay:+ $replay}:"
        CUBECL_DEBUG_LOG=$log CUBECL_DEBUG_OPTION=profile timeout "$(process_cap)" \
            "${ARGV[@]}" --backend "$backend" --mode "$mode" --steps 10 --warmup 3 \
            --warmup-secs 0 --batch-size "$batch" --conv-precision "$precision" $replay \
            >"${log%.log}.json" 2>>"$out/stderr.log"
        python3 bench/gpu/profile.py "$log" --top "${PROFILE_TOP:-25}" | tee "${log%.log}.txt" \
            | sed 's/^/    /'
        xz -T0 -f "$log"
    done
}

# The figures alone, after the full lines above, each with its ratio to PyTorch's figure of the
# same round.
summary() {
    python3 - "$out/runs.jsonl" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
torch = {}
for number, run in enumerate(runs):
    if run["run"].startswith("torch "):
        torch[number] = (run.get("result") or {}).get("images_per_s")
for number, run in enumerate(runs):
    result = run.get("result") or {}
    fusion = result.get("fusion_per_step") or {}
    # The round's PyTorch run is the next one after this run.
    pytorch = next((torch[n] for n in sorted(torch) if n >= number), None)
    ours = result.get("images_per_s")
    ratio = ours / pytorch if ours and pytorch and not run["run"].startswith("compile") else None
    print(f'{run["run"]:<48} {result.get("images_per_s", float("nan")):>10.0f} images/s'
          f' ({"%.2fx" % ratio if ratio else "  -  "})'
          f' (queued {result.get("queued_images_per_s") or float("nan"):6.0f})'
          f'  first step {result.get("first_step_s", float("nan")):6.2f} s'
          f'  fusion thread in blocks {fusion.get("block_us", float("nan")):7.0f} us/step'
          f' ({fusion.get("blocks", float("nan")):3.0f} blocks)'
          + ('' if result.get("replaying") is None else f'  replaying {result["replaying"]}')
          + (f' ({result["not_replaying_because"]})' if result.get("not_replaying_because") else ''))
PY
}

for part in ${ORDER:-tests mnist rounds}; do
    case $part in
        tests | mnist | rounds | profile) "$part" ;;
        *) echo "ORDER: unknown part $part (tests, mnist, rounds, profile)" && exit 2 ;;
    esac
done
