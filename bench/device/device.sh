#!/bin/bash
# Runs the GPU checks on a machine laid out by `npm run device:build` (see bench/device/build.ts), from the project
# root: unpacks Node.js, the Vulkan loader and Dawn, then runs .device/run.mjs (tests, bench, profile, epoch) and
# PyTorch's step time for the same network (torch), each part only if named (default: all); with bench, the same steps
# on Dawn's null device too (the CPU side alone, in $OUT/null/). Everything printed is also kept
# in $OUT/device.log, with .device/run.mjs's device-results.json and PyTorch's torch-step.json beside it; back here,
# `npx tsx bench/device/summary.ts DIR` turns them into the README's lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-.}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(tests bench profile epoch torch)
exec > >(tee "$out/device.log") 2>&1

started=$(date +%s)
echo "== setup"
if compgen -G ".device/debs/*.deb" > /dev/null; then
  for f in .device/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f .device/node.xz ]; then
  xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
  node=/tmp/node
else
  node=$(command -v node)
fi
xz -dc .device/dist/linux-x64/dawn.node.xz > .device/dist/linux-x64/dawn.node
# Fashion-MNIST's IDX files where the kit looks for Debian's copy (it reads them decompressed too).
mkdir -p /usr/share/datasets/fashion-mnist
for f in .device/data/fashion-mnist/*.xz; do
  [ -e "$f" ] && xz -dc "$f" > "/usr/share/datasets/fashion-mnist/$(basename "$f" .xz)"
done
# The questions' test reads the fixture beside the bundle's parent, where test/ keeps it for vitest.
mkdir -p fixtures && cp test/fixtures/hw3-tests.json fixtures/
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$nvidia_icd" ] && export VK_DRIVER_FILES=$nvidia_icd
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
echo "node $($node --version), setup took $(( $(date +%s) - started )) s"

status=0
js_parts=()
for part in "${parts[@]}"; do [ "$part" != torch ] && js_parts+=("$part"); done
if [ ${#js_parts[@]} -gt 0 ]; then
  # The process must end by itself with Dawn loaded: a hang here is a finding too.
  node_started=$(date +%s.%N)
  OUT=$out timeout 360 "$node" .device/run.mjs "${js_parts[@]}" --steps "${STEPS:-200}" || status=$?
  echo "run.mjs exit status: $status (124: it did not end within the time limit), process ended" \
    "$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $node_started }") s after it started"
fi

if [[ " ${parts[*]} " == *" bench "* ]]; then
  # The same steps on Dawn's null device, which runs nothing: this machine's CPU side of a step alone.
  echo "== bench on Dawn's null device"
  mkdir -p "$out/null"
  # More steps than on the GPU: they take a millisecond or so each, and V8 needs a few thousand to settle.
  CC6204_DAWN_BACKEND=null OUT=$out/null timeout 120 "$node" .device/run.mjs bench --steps "${NULL_STEPS:-2000}" \
    || echo "the null-device bench failed (exit $?)"
fi

if [[ " ${parts[*]} " == *" torch "* ]]; then
  echo "== torch"
  python=""
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch' 2>/dev/null; then python=$candidate; break; fi
  done
  if [ -z "$python" ]; then
    echo "No Python with PyTorch here."
  else
    device=cpu
    "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' && device=cuda
    timeout 90 "$python" bench/notebook_pipeline.py --step-time --steps 200 --device "$device" --json "$out/torch-step.json" \
      || echo "PyTorch step time failed"
  fi
fi
echo "device.sh took $(( $(date +%s) - started )) s"
exit $status
