"""A small trained LeNet-5 shared by the picture tests (trained here with plain SGD, in a few seconds)."""

import numpy as np
import pytest

import glassnet
from glassnet import nn
from glassnet.data import MNIST_MEAN, MNIST_STD, load_mnist_subset
from glassnet.models import lenet5

NORMALIZE = (MNIST_MEAN, MNIST_STD)


def standardise(images):
    return ((images.astype(np.float32) / 255.0 - MNIST_MEAN[0]) / MNIST_STD[0]).astype(np.float32)


def train_lenet(steps=200, batch=32, lr=0.03, seed=0):
    """LeNet-5 after ``steps`` SGD steps (momentum 0.9) on the shipped MNIST subset."""
    glassnet.manual_seed(seed)
    model = lenet5()
    data = load_mnist_subset(train=True)
    rng = np.random.default_rng(seed)
    loss_fn = nn.CrossEntropyLoss()
    velocity = {id(p): np.zeros_like(p.data) for p in model.parameters()}
    history = []
    for _ in range(steps):
        idx = rng.integers(0, len(data), batch)
        x, y = standardise(data.images[idx]), data.labels[idx]
        model.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        model.backward(loss_fn.backward())
        for p in model.parameters():
            v = velocity[id(p)]
            v *= 0.9
            v += p.grad
            p.data -= lr * v
        history.append((float(loss), float((logits.argmax(1) == y).mean())))
    return model.eval(), history


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """The small matrix products here run faster on one thread, above all on a busy shared machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def trained():
    """(LeNet-5 in eval mode, per-step (loss, accuracy)); about 92% test accuracy."""
    return train_lenet()


@pytest.fixture(scope="session")
def model(trained):
    return trained[0]


@pytest.fixture(scope="session")
def test_set():
    return load_mnist_subset(train=False)


def read_png(data_or_path, min_size=(200, 150)):
    """Decode a PNG with Pillow and check it is a real picture: size, and not blank. Returns (H, W, 3) floats."""
    import io

    from PIL import Image

    src = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with Image.open(src) as im:
        assert im.format == "PNG"
        rgb = np.asarray(im.convert("RGB"), np.float64) / 255
    h, w = rgb.shape[:2]
    assert w >= min_size[0] and h >= min_size[1], f"picture too small: {w}x{h}"
    assert w <= 2400 and h <= 2400, f"picture too large: {w}x{h}"
    assert rgb.std() > 0.05, "picture is blank"
    return rgb
