#!/usr/bin/env bash
# The GPU check, at most 8 minutes on one CUDA GPU, without network:
#   1. benchmarks/networks.py on the GPU for families A and B (and stage 3), bf16 against fp32;
#   2. one fold, one epoch per phase, of config.yaml's stage 1 (encoder_weights null) on a slice
#      of real tiles (benchmarks/recipe_fold.py).
# Prepare on a machine with network, in the repository root:
#   make wheels                                                       # -> wheels/ (git-ignored)
#   python benchmarks/slice_tiles.py ../shared/data/tgs-public gpu_data --train 1200
# then on the GPU box (torch, timm, opencv, pandas, pyarrow and scikit-learn already there):
#   bash benchmarks/gpu_check.sh [DATA_DIR] [OUT_DIR]
# Missing packages are installed offline from wheels/ into a private folder. DEVICE=cpu (with
# LIMIT=200) tries the script on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-gpu_data}
RESULTS=${2:-${OUT:-gpu_check_out}}
DEVICE=${DEVICE:-cuda}
LIMIT=${LIMIT:-1200}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$RESULTS"
[ -d "$DATA" ] || { echo "gpu_check: $DATA: no such folder (see the top of this script)"; exit 1; }

missing=$($PY - <<'PYEOF'
import importlib.util
need = {"segmentation_models_pytorch": "smp", "albumentations": "albumentations", "pydantic": "pydantic"}
print(" ".join(n for m, n in need.items() if importlib.util.find_spec(m) is None))
PYEOF
)
if [ -n "$missing" ]; then
  ls wheels/*.whl >/dev/null 2>&1 || { echo "gpu_check: missing $missing and no wheels/ (run make wheels first)"; exit 1; }
  SITE=${TMPDIR:-/tmp}/saltseg-site
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" wheels/*.whl
  export PYTHONPATH="$SITE"
  echo "gpu_check: installed $missing from wheels/"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

# Time limits keep the whole check within 8 minutes on a GPU; a CPU try runs without them.
if [ "$DEVICE" = cuda ]; then batch=32; steps=10; t1=150; t2=240; else batch=2; steps=1; t1=0; t2=0; fi
for precision in bf16 fp32; do
  timeout $t1 $PY benchmarks/networks.py --device "$DEVICE" --precision "$precision" \
    --batch $batch --warmup 1 --steps $steps | tee "$RESULTS/networks_$precision.md"
done
timeout $t2 $PY benchmarks/recipe_fold.py "$DATA" --config config.yaml --stage stage1 \
  --epochs-per-phase 1 --limit "$LIMIT" --device "$DEVICE" --precision auto --threads 8 \
  | tee "$RESULTS/recipe_fold.md"
