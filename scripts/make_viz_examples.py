"""Draw the example pictures shown in the README: docs/images/feature_maps.png and docs/images/saliency.png.

Trains LeNet-5 for 600 SGD steps (batch 64, momentum 0.9) on the MNIST subset
shipped with glassnet (about 97% of the test images right after this short
run), then draws the feature maps and the saliency / Grad-CAM of one test digit.

Run from the repository root: ``python scripts/make_viz_examples.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import glassnet
from glassnet import nn, viz
from glassnet.data import MNIST_MEAN, MNIST_STD, DataLoader, Normalize, load_mnist_subset
from glassnet.models import lenet5
from glassnet.train.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
NORMALIZE = (MNIST_MEAN, MNIST_STD)
TEST_INDEX = 0  # a 7


def standardise(images):
    return ((images / 255.0 - MNIST_MEAN[0]) / MNIST_STD[0]).astype(np.float32)


def train(steps=600, batch=64, lr=0.03, seed=0):
    glassnet.manual_seed(seed)
    model, data, rng = lenet5(), load_mnist_subset(train=True), np.random.default_rng(seed)
    loss_fn = nn.CrossEntropyLoss()
    velocity = {id(p): np.zeros_like(p.data) for p in model.parameters()}
    for _ in range(steps):
        idx = rng.integers(0, len(data), batch)
        model.zero_grad()
        loss_fn(model(standardise(data.images[idx])), data.labels[idx])
        model.backward(loss_fn.backward())
        for p in model.parameters():
            v = velocity[id(p)]
            v *= 0.9
            v += p.grad
            p.data -= lr * v
    return model.eval()


def main() -> None:
    model = train()
    test = load_mnist_subset(train=False)
    r = evaluate(model, DataLoader(test, batch_size=500, transform=Normalize(*NORMALIZE)))
    print(f"test accuracy {r['acc']:.2%}")
    image = test.images[TEST_INDEX]
    for name, fig in [
        ("feature_maps.png", viz.feature_maps(model, image, NORMALIZE, max_channels=16)),
        ("saliency.png", viz.saliency(model, image, normalize=NORMALIZE, class_names=test.classes)),
    ]:
        path = viz.save(fig, OUT / name, dpi=80)
        print(f"wrote {Path(path).relative_to(ROOT)}: {Path(path).stat().st_size} bytes")


if __name__ == "__main__":
    main()
