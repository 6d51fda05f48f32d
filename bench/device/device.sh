# Runs the bench and the numeric tests on a GPU node without network, from the project root, with what
# `npm run device:build` laid out in .device/ (see bench/device/build.ts). First it unpacks what .device/ holds: the
# Vulkan libraries' .deb files into / and Fashion-MNIST into /usr/share/datasets/ (both take root), Node.js into /tmp
# (else the node's own `node` runs), Dawn beside its archive. Then it runs .device/run.mjs (tests, bench, profile,
# epoch) and PyTorch's step time for the same network (torch), each part only if named (default: all); with bench, the
# same steps on Dawn's null device too (the CPU side alone, in $OUT/null/). Everything printed is also kept in
# $OUT/device.log (OUT: the current folder unless set), with .device/run.mjs's device-results.json and PyTorch's
# torch-step.json beside it; where the kit is installed, `npx tsx bench/device/summary.ts DIR` turns them into the
# lines of docs/performance.md. `device.sh diagnose` instead runs each check in a process of its own (see below): for
# a node where the plain run crashes or hangs.
# VK_DRIVER_FILES, when set, names the Vulkan driver's ICD file; when it is not, NVIDIA's is taken from
# /usr/local/nvidia/share/vulkan/icd.d/ if it is there (where some GPU containers mount the driver).
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
if [ -z "$node" ]; then
  echo "No Node.js here: lay out .device/ with npm run device:build -- --with-node"
  exit 1
fi
xz -dc .device/dist/linux-x64/dawn.node.xz > .device/dist/linux-x64/dawn.node
# Fashion-MNIST's IDX files where the kit looks for Debian's copy (it reads them decompressed too).
mkdir -p /usr/share/datasets/fashion-mnist
for f in .device/data/fashion-mnist/*.xz; do
  [ -e "$f" ] && xz -dc "$f" > "/usr/share/datasets/fashion-mnist/$(basename "$f" .xz)"
done
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES=$nvidia_icd; fi
echo "VK_DRIVER_FILES: ${VK_DRIVER_FILES:-unset (the Vulkan loader looks in its own places)}"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
echo "node $($node --version), setup took $(( $(date +%s) - started )) s"

status=0
if [ "${parts[0]}" = diagnose ]; then
  # Where the plain run crashes or hangs: each check in a process of its own with a time limit, all within
  # DIAGNOSE_SECONDS (default 270), so that a crash (exit 139, or 134 for an abort) or a hang (124) of one loses none
  # of the others, with a line at each stage (CC6204_TRACE). First what fails, then the measurements and the tests
  # with the first settings under which the kit's step ran. One line a check in $OUT/diagnose.txt; SKIP names
  # checks not to run (space-separated); the exit status is 1 if any check did not end well.
  deadline=$(( started + ${DIAGNOSE_SECONDS:-270} ))
  work=$(mktemp -d /tmp/diagnose.XXXXXX)
  : > "$out/diagnose.txt"
  check() {
    local name=$1 limit=$2; shift 2
    if [[ " ${SKIP:-} " == *" $name "* ]]; then echo "== $name: skipped (SKIP)"; echo "$name skipped" >> "$out/diagnose.txt"; return 98; fi
    local left=$(( deadline - $(date +%s) ))
    if [ "$left" -lt 8 ]; then echo "== $name: not run (no time left)"; echo "$name not-run" >> "$out/diagnose.txt"; return 99; fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (at most $limit s): run.mjs $*"
    local t0 rc
    t0=$(date +%s.%N)
    mkdir -p "$work/$name"
    CC6204_TRACE=1 OUT=$work/$name timeout -k 5 "$limit" "$node" --expose-gc .device/run.mjs "$@"
    rc=$?
    local what=ok
    case $rc in 0) ;; 124) what=hung ;; 134) what=aborted ;; 137) what=killed ;; 139) what=segfault ;; *) what="failed ($rc)" ;; esac
    echo "== $name: $what, $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s"
    echo "$name $what" >> "$out/diagnose.txt"
    [ $rc -ne 0 ] && status=1
    return $rc
  }
  # Dawn and tfjs alone, none of the kit's code: where this fails too, the fault is below the kit.
  check raw 20 raw --steps 60
  # The kit's step after the automatic choice, as a user's run takes it; then without what the kit adds, more of it
  # at each check (the error trap, then the device's limits, bind groups, reads and timestamps all at once); the
  # first that runs gives its settings to the measurements and tests after it.
  check step 25 step --steps 100 && good=${good-""}
  check step-named 25 step --steps 100 --skip-auto && good=${good-"--skip-auto"}
  check step-no-trap 25 step --steps 100 --skip-auto --no-trap && good=${good-"--skip-auto --no-trap"}
  bare="--skip-auto --no-trap --default-storage-buffers --no-bind-group-cache --fresh-reads --no-exact-timestamps"
  check step-bare 25 step --steps 100 $bare && good=${good-$bare}
  if [ -z "${good+set}" ]; then echo "== no step ran: the rest runs with the kit's own settings, which crashed"; fi
  check step-no-fused 25 step --steps 100 --no-fused ${good-}
  # GPU timestamps (tf.profile counts the kernels with them): left out from here on if the bench fails with them.
  ts=""
  check bench-default 25 bench --steps 40 --variants 0 ${good-}
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 98 ]; then
    ts=--no-timestamps
    check bench-no-timestamps 25 bench --steps 40 --variants 0 ${good-} $ts
  fi
  own="(the kit's own)"
  echo "== settings for the rest: ${good:-$own} $ts"
  check epoch 60 epoch ${good-} $ts
  check bench 60 bench --steps 200 ${good-} $ts
  for file in webgpu fused-batches fused-activations fused-webgpu fused-metrics train optimizers ffnn dropout \
      activations init memory checkpoint 1a 1b 2a 2b 2c 2d backward; do
    check "tests-$file" 30 tests --files "$file" ${good-} $ts
  done
  check profile 30 profile --steps 50 ${good-} $ts
  # One device-results.json of the checks' own, for bench/device/summary.ts.
  "$node" -e '
    const fs = require("fs"), dir = process.argv[1], merged = {};
    for (const name of ["epoch", "bench", "profile"]) {
      const file = `${dir}/${name}/device-results.json`;
      if (fs.existsSync(file)) Object.assign(merged, JSON.parse(fs.readFileSync(file, "utf8")));
    }
    fs.writeFileSync(process.argv[2], JSON.stringify(merged, null, 2) + "\n");
  ' "$work" "$out/device-results.json"
  echo "device.sh took $(( $(date +%s) - started )) s"
  exit $status
fi

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
