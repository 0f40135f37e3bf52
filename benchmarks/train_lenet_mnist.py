"""LeNet-5 training targets: glassnet's defaults on the shipped subset, and full MNIST against PyTorch.

Two parts (``--part subset``, ``--part full``, default both):

* **subset**: runs ``python -m glassnet train`` with no options (one subprocess
  per seed; ``--seeds 0 1 2`` runs ``--seed`` too) and reports the wall-clock
  time of the whole command and the test accuracy it wrote to ``metrics.json``.
  Targets: >= 98 % test accuracy, < 3 minutes on a 2-core machine.
* **full**: LeNet-5 on the full MNIST (60,000 / 10,000), Adam with a one-cycle
  schedule (peak ``--lr``), batch 128, ``--epochs`` epochs, no augmentation, no
  validation split, trained by glassnet (:func:`glassnet.train.fit`) and, when
  torch is importable, by PyTorch with the same model, settings, normalisation
  and batch size, once per seed of ``--full-seeds``. Reports test accuracy (each
  seed and the mean), seconds per training epoch (the median over epochs: the
  steady state on a shared machine; the mean is kept too) and training images
  per second. Target: >= 99.2 %.

The figures are written as JSON (``--out``). Usage::

    python benchmarks/train_lenet_mnist.py                                   # both parts
    python benchmarks/train_lenet_mnist.py --part full --mnist-dir ../shared/data/mnist --full-seeds 0 1 2
    python benchmarks/train_lenet_mnist.py --part subset --seeds 0 1 2

The MNIST directory is ``--mnist-dir``, else ``$GLASSNET_MNIST_DIR``, else
``../shared/data/mnist`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def mnist_dir(arg) -> Path:
    for d in (arg, os.environ.get("GLASSNET_MNIST_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if d and (Path(d) / "train-images-idx3-ubyte.gz").exists():
            return Path(d)
    raise SystemExit("full MNIST not found: pass --mnist-dir DIR (the four IDX .gz files)")


# ---------------------------------------------------------------------------- part 1: the default command
def subset_part(seeds) -> list[dict]:
    results = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            cmd = [sys.executable, "-m", "glassnet", "train", "--out", str(out), "--no-progress"]
            if seed is not None:
                cmd += ["--seed", str(seed)]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"glassnet train failed ({proc.returncode}): {proc.stderr.strip()}")
            metrics = json.loads((out / "metrics.json").read_text())
            history = json.loads((out / "history.json").read_text())["epochs"]
            config = json.loads((out / "config.json").read_text())
        r = {"command": "glassnet train" + (f" --seed {seed}" if seed is not None else ""),
             "seed": config["seed"], "epochs": config["epochs"], "batch_size": config["batch_size"],
             "test_accuracy": metrics["accuracy"], "wall_seconds": round(wall, 1),
             "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in history])), 2)}
        print(f"subset  seed {r['seed']}: test accuracy {r['test_accuracy']:.2%}, {r['wall_seconds']} s in all "
              f"({r['seconds_per_epoch']} s/epoch incl. validation)", flush=True)
        results.append(r)
    return results


# ---------------------------------------------------------------------------- part 2: full MNIST, glassnet
def glassnet_full(data: Path, epochs: int, lr: float, batch: int, seed: int) -> dict:
    from glassnet.train import TrainConfig, fit

    config = TrainConfig(dataset="mnist", data_root=str(data), epochs=epochs, batch_size=batch, optimizer="adam",
                         lr=lr, schedule="onecycle", augment="none", val_split=0.0, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(config, Path(tmp) / "run", progress=False,
                     log=lambda line: print("glassnet  " + line, flush=True))
    # history "seconds" covers the epoch's training (no validation split here)
    return {"framework": "glassnet", "test_accuracy": result.metrics["accuracy"],
            **epoch_figures([h["seconds"] for h in result.history], 60000)}


def epoch_figures(per_epoch, n) -> dict:
    """Seconds per epoch (median: the steady state on a shared machine; mean too) and images per second."""
    median = float(np.median(per_epoch))
    return {"seconds_per_epoch": round(median, 2), "seconds_per_epoch_mean": round(float(np.mean(per_epoch)), 2),
            "images_per_second": round(n / median, 1), "epoch_seconds": [round(s, 2) for s in per_epoch]}


# ---------------------------------------------------------------------------- part 2: full MNIST, PyTorch
def torch_full(data: Path, epochs: int, lr: float, batch: int, seed: int) -> dict | None:
    try:
        import torch
    except ImportError:
        print("torch is not importable: PyTorch comparison skipped", flush=True)
        return None
    from torch import nn

    from glassnet.data import MNIST

    def tensors(train):
        ds = MNIST(data, train=train)
        x = (ds.images.astype(np.float32) / 255 - 0.1307) / 0.3081
        return torch.from_numpy(x), torch.from_numpy(ds.labels)

    x_train, y_train = tensors(True)
    x_test, y_test = tensors(False)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = -(-len(y_train) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps)
    gen = torch.Generator().manual_seed(seed)
    per_epoch = []
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(y_train), generator=gen)
        total, correct = 0.0, 0
        for i in range(0, len(y_train), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            logits = model(x_train[idx])
            loss = nn.functional.cross_entropy(logits, y_train[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y_train[idx]).sum())
        per_epoch.append(time.perf_counter() - start)
        print(f"pytorch   epoch {epoch + 1}/{epochs}  train loss {total / len(y_train):.4f} "
              f"acc {correct / len(y_train):.2%}  {per_epoch[-1]:.1f} s", flush=True)
    model.eval()
    with torch.no_grad():
        acc = float((model(x_test).argmax(1) == y_test).float().mean())
    print(f"pytorch   test accuracy: {acc:.2%}", flush=True)
    return {"framework": f"pytorch {torch.__version__} ({torch.get_num_threads()} threads)", "test_accuracy": acc,
            **epoch_figures(per_epoch, len(y_train))}


def summarise(runs) -> dict:
    """Per framework: test accuracy of each seed and their mean, median seconds per epoch, images per second."""
    out = {}
    for fw in ("glassnet", "pytorch"):
        rs = [r[fw] for r in runs if r.get(fw)]
        if rs:
            secs = float(np.median([s for r in rs for s in r["epoch_seconds"]]))
            out[fw] = {"test_accuracy": [r["test_accuracy"] for r in rs],
                       "test_accuracy_mean": round(float(np.mean([r["test_accuracy"] for r in rs])), 5),
                       "seconds_per_epoch": round(secs, 2), "images_per_second": round(60000 / secs, 1)}
    for fw, s in out.items():
        print(f"{fw:9s} test accuracy {s['test_accuracy_mean']:.2%} (mean of {len(s['test_accuracy'])}), "
              f"{s['seconds_per_epoch']} s/epoch, {s['images_per_second']} img/s", flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("subset", "full", "all"), default="all")
    p.add_argument("--seeds", type=int, nargs="*", default=None,
                   help="subset part: seeds to run (default: one run with no --seed, i.e. the default)")
    p.add_argument("--mnist-dir", default=None)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--lr", type=float, default=0.005, help="peak rate of the one-cycle schedule (0.005)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--full-seeds", type=int, nargs="+", default=[0],
                   help="full part: one run of each framework per seed (0)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train_lenet_mnist.json"))
    args = p.parse_args(argv)

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "numpy": np.__version__},
              "note": "wall-clock on a machine shared with other jobs; see the load averages",
              "load_average_before": os.getloadavg()}
    if args.part in ("subset", "all"):
        report["subset"] = subset_part(args.seeds if args.seeds else [None])
    if args.part in ("full", "all"):
        data = mnist_dir(args.mnist_dir)
        settings = {"epochs": args.epochs, "lr": args.lr, "batch": args.batch_size}
        runs = []
        for seed in args.full_seeds:
            run = {"seed": seed, "glassnet": glassnet_full(data, seed=seed, **settings)}
            if not args.no_torch:
                run["pytorch"] = torch_full(data, seed=seed, **settings)
            runs.append(run)
        report["full"] = {"settings": {**settings, "optimizer": "adam", "schedule": "onecycle",
                                       "augmentation": "none", "val_split": 0, "data": str(data)},
                          "runs": runs, "summary": summarise(runs)}
    report["load_average_after"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from glassnet.io import save_json

    save_json(out, report)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
