"""LeNet-5 on the full MNIST, on the GPU (CuPy) and on the CPU, same seed and settings: the accuracies agree.

Usage: ``python benchmarks/gpu_train_mnist.py --mnist-dir DIR [--epochs 2] [--json OUT]``. Both runs use
glassnet's public API (``glassnet.data.MNIST``, ``DataLoader``, ``Adam``, ``OneCycleLR``) with the same
initial weights and the same batches; the GPU run moves the model with ``model.to("cuda")`` and each batch
follows it there. Reports test accuracy and seconds per epoch for both (issue #15: within 0.2 points).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import glassnet
import glassnet.backend as B
from glassnet import nn
from glassnet.data import MNIST
from glassnet.models import lenet5
from glassnet.optim import Adam
from glassnet.optim.lr_scheduler import OneCycleLR

MEAN, STD = 0.1307, 0.3081


def arrays(root, train):
    ds = MNIST(root, train=train)
    return ((ds.images.astype(np.float32) / 255 - MEAN) / STD).reshape(-1, 1, 28, 28), ds.labels.astype(np.int64)


def run(device, root, epochs, batch, lr, seed):
    glassnet.manual_seed(seed)
    model = lenet5().to(device)
    x_train, y_train = arrays(root, True)
    x_test, y_test = arrays(root, False)
    opt = Adam(model.parameters(), lr=lr)
    steps = -(-len(x_train) // batch)
    sched = OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(seed)
    seconds = []
    for _ in range(epochs):
        perm = order.permutation(len(x_train))
        t0 = time.perf_counter()
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            x, y = B.to_device(x_train[idx], device), B.to_device(y_train[idx], device)
            opt.zero_grad()
            loss_fn(model(x), y)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
            sched.step()
        if device != "cpu":
            B.require_cupy().cuda.Device().synchronize()
        seconds.append(time.perf_counter() - t0)
    model.eval()
    correct = 0
    with nn.no_grad():
        for x, y in _Batches(x_test, y_test):
            correct += int((B.to_host(model(x)).argmax(axis=1) == y).sum())
    return {"device": device, "test_accuracy": correct / len(y_test), "epoch_seconds": [round(s, 2) for s in seconds],
            "images_per_second": round(len(x_train) / float(np.median(seconds)), 1)}


class _Batches:
    """(x, y) batches of 1000 test images."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        for a in range(0, len(self.x), 1000):
            yield self.x[a:a + 1000], self.y[a:a + 1000]

    def __len__(self):
        return -(-len(self.x) // 1000)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-dir", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    results = [run(d, args.mnist_dir, args.epochs, args.batch_size, args.lr, args.seed) for d in ("cuda", "cpu")]
    gap = abs(results[0]["test_accuracy"] - results[1]["test_accuracy"]) * 100
    out = {"runs": results, "accuracy_gap_points": round(gap, 3), "within_0_2_points": gap <= 0.2,
           "settings": vars(args) | {"mnist_dir": str(args.mnist_dir), "json": str(args.json)}}
    for r in results:
        print(f"{r['device']:>4}: test accuracy {r['test_accuracy']:.2%}, epochs {r['epoch_seconds']} s, "
              f"{r['images_per_second']:,.0f} img/s")
    print(f"gap {gap:.2f} points ({'within' if gap <= 0.2 else 'NOT within'} 0.2)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
