#!/usr/bin/env bash
# The GPU proof and measurements of issue #15 in one run (about 5-8 minutes), for the lent GPU machine
# (Python 3.12, CuPy, PyTorch with CUDA, NumPy preinstalled; no network). Carried with the tree:
# .gpu_pylib/ (pytest and hypothesis, pure Python: `pip install --target .gpu_pylib --python-version 3.12
# --only-binary=:all: pytest hypothesis`) and data/mnist/ (the four IDX files of the full MNIST).
# Writes everything into $OUT (default benchmarks/results/gpu-check): machine.txt, tests.txt, bench.json and
# bench.txt (benchmarks/run.py --device cuda), profile.json, mnist.json and summary.json.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results/gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src:$PWD/.gpu_pylib${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
step() { echo "== $1 ($(date +%T), ${SECONDS}s)" | tee -a "$OUT/log.txt"; }

step machine
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import sys, numpy, cupy, torch; print(sys.version); print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__, torch.version.cuda)"
} > "$OUT/machine.txt" 2>&1

step "layer suite on CuPy (float64 1e-8, float32 1e-4 against PyTorch CUDA and the golden fixtures; gradcheck)"
GLASSNET_TEST_DEVICE=cuda timeout 150 $PY -m pytest -q -p no:cacheprovider -o addopts="" --import-mode=importlib \
  -W "ignore:Using padding='same' with even kernel:UserWarning" \
  tests/nn/test_against_pytorch.py tests/nn/test_reuse.py tests/gpu > "$OUT/tests.txt" 2>&1
echo "tests exit $?" >> "$OUT/log.txt"; tail -3 "$OUT/tests.txt" >> "$OUT/log.txt"

step "benchmarks/run.py --device cuda"
timeout 170 $PY benchmarks/run.py --device cuda --repeats 3 --min-time 0.2 --json "$OUT/bench.json" > "$OUT/bench.txt" 2>&1
echo "bench exit $?" >> "$OUT/log.txt"

step "profile of a ResNet-20 step"
timeout 40 $PY benchmarks/gpu_profile.py --json "$OUT/profile.json" > "$OUT/profile.txt" 2>&1
echo "profile exit $?" >> "$OUT/log.txt"

step "LeNet-5 on MNIST, GPU and CPU"
timeout 90 $PY benchmarks/gpu_train_mnist.py --mnist-dir data/mnist --epochs 2 --json "$OUT/mnist.json" \
  > "$OUT/mnist.txt" 2>&1
echo "mnist exit $?" >> "$OUT/log.txt"

step summary
$PY - "$OUT" <<'PY' >> "$OUT/log.txt" 2>&1
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
def load(name):
    p = out / name
    return json.loads(p.read_text()) if p.exists() else None
summary = {"machine": (out / "machine.txt").read_text(), "tests": (out / "tests.txt").read_text().splitlines()[-3:],
           "profile": load("profile.json"), "mnist": load("mnist.json")}
bench = load("bench.json")
if bench:
    summary["bench"] = [{"case": r["case"]["name"], "ratio": r.get("ratio"),
                         "glassnet_img_s": r["results"]["glassnet"]["images_per_s"],
                         "torch_img_s": r["results"].get("torch", {}).get("images_per_s"),
                         "glassnet_gpu_mb": r["results"]["glassnet"].get("gpu_mb"),
                         "torch_gpu_mb": r["results"].get("torch", {}).get("gpu_mb")} for r in bench["cases"]]
(out / "summary.json").write_text(json.dumps(summary, indent=1))
print(json.dumps(summary.get("bench"), indent=1))
PY
step done
