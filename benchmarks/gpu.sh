#!/usr/bin/env bash
# The benchmarks on an NVIDIA GPU host, in one go: gradtrace on the GPU against
# PyTorch on the same GPU (and seed 002's loop on the processor too), each
# benchmark's JSON written to DIR, a log of each beside it.
#
#     benchmarks/gpu.sh DIR [PYTHON]
#
# PYTHON (default: python3) must have gradtrace's dependencies, JAX with its CUDA
# plugin and torch with CUDA; `gradtrace` is run as `PYTHON -m gradtrace`. Each
# benchmark has a time limit (LIMIT seconds, default 240) and a failed or stopped
# one does not stop the others. About 5 minutes on an H200 host.
set -u
dir=${1:?usage: benchmarks/gpu.sh DIR [PYTHON]}
py=${2:-python3}
limit=${LIMIT:-240}
root=$(cd "$(dirname "$0")/.." && pwd)
# absolute, since the benchmarks run from the repository's root
dir=$(mkdir -p "$dir" && cd "$dir" && pwd) || exit 1
case $py in
*/*) py=$(cd "$(dirname "$py")" && pwd)/$(basename "$py") ;;
esac
# a gradtrace command for the benchmarks that start it as a program
exe="$dir/gradtrace"
printf '#!/bin/sh\nexec %s -m gradtrace "$@"\n' "$py" >"$exe"
chmod +x "$exe"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
# gradtrace from this checkout, installed or not
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"

step() {  # NAME COMMAND...: its JSON to DIR/NAME.json, its stderr to DIR/NAME.log
    local name=$1
    shift
    local start=$SECONDS
    timeout "$limit" "$@" >"$dir/$name.json" 2>"$dir/$name.log"
    echo "$name: exit $? in $((SECONDS - start)) s"
}

cd "$root" || exit 1
"$py" - <<'EOF' | tee "$dir/machine.txt"
import jax, platform, shutil, subprocess
print("python", platform.python_version(), "jax", jax.__version__, jax.devices())
if shutil.which("nvidia-smi"):
    query = "--query-gpu=name,memory.total,driver_version,clocks.max.sm"
    print(subprocess.run(["nvidia-smi", query, "--format=csv,noheader"],
                         capture_output=True, text=True).stdout)
EOF
# the tool itself first: a run of seed 002 and where it ran
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
if ! "$exe" fit seed002_normal --model normal --fix scale=1 --steps 200 -q \
    --out "$smoke/r" >"$dir/smoke.log" 2>&1; then
    echo "gradtrace fit failed:"
    tail -20 "$dir/smoke.log"
    exit 1
fi
"$py" -c "import json,sys; r=json.load(open(sys.argv[1])); print('smoke:', r['device'], r['timings'])" \
    "$smoke/r/run.json"

step seed002 "$py" benchmarks/seed_loops.py --gradtrace "$exe" --only 002 \
    --repeats 3 --torch-device cpu,cuda
step large10m "$py" benchmarks/large_data.py --rows 10000000 --repeats 3 \
    --torch-device cuda --no-command-line --kinds \
    gradtrace-sgd,gradtrace-sgd-eval-end,gradtrace-sgd-shuffled,gradtrace-gd,torch-sgd,torch-sgd-shuffled,torch-gd,gradtrace-gathers,torch-gathers
step large100m "$py" benchmarks/large_data.py --rows 100000000 --repeats 3 \
    --torch-device cuda --no-command-line --kinds \
    gradtrace-sgd-eval-end,gradtrace-gd,torch-sgd,torch-gd
step sweep "$py" benchmarks/sweep_vs_torch.py --gradtrace "$exe" --repeats 1 \
    --torch-device cuda
# the same host's processor, for scale
step seed002_cpu env JAX_PLATFORMS=cpu "$py" benchmarks/seed_loops.py \
    --gradtrace "$exe" --only 002 --repeats 3 --torch-device cpu
