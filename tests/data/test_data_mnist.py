"""MNIST / Fashion-MNIST readers on hand-written files, their errors, and the real full MNIST."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from glassnet.data import MNIST, DataFormatError, FashionMNIST

PUBLISHED_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
PUBLISHED_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_reads_files_in_the_published_format(tmp_path, fmt, gz, train):
    arrays = fmt.write_mnist_dir(tmp_path, gz=gz)
    ds = MNIST(tmp_path, train=train)
    images, labels = arrays[train]
    assert ds.images.shape == (len(images), 1, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (len(images),) and ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images[:, 0], images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert len(ds) == len(images) and ds.classes == [str(i) for i in range(10)] and ds.train is train
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and isinstance(y, int) and y == labels[3]
    xs, ys = ds[[0, 2]]
    np.testing.assert_array_equal(xs[:, 0], images[[0, 2]])
    np.testing.assert_array_equal(ys, labels[[0, 2]])


def test_fashion_mnist_same_format_own_classes(tmp_path, fmt):
    arrays = fmt.write_mnist_dir(tmp_path)
    ds = FashionMNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.images[:, 0], arrays[False][0])
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot" and len(ds.classes) == 10


def test_missing_files_say_which_and_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path / "empty", train=True)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz not found in" in msg
    assert str(tmp_path / "empty") in msg and "download=True" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "\n" not in msg


def _replace(root, stem, data):
    (root / f"{stem}.gz").write_bytes(gzip.compress(data))


def test_wrong_image_size(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path)
    _replace(tmp_path, "t10k-images-idx3-ubyte", fmt.idx_bytes(np.zeros((7, 27, 28), np.uint8)))
    with pytest.raises(DataFormatError, match=r"t10k-images-idx3-ubyte.gz: expected uint8 images of shape \(N, 28, 28\), got uint8 \(7, 27, 28\)"):
        MNIST(tmp_path, train=False)


def test_labels_file_in_place_of_images(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path)
    _replace(tmp_path, "t10k-images-idx3-ubyte", fmt.idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(DataFormatError, match=r"expected uint8 images of shape \(N, 28, 28\), got uint8 \(7,\)"):
        MNIST(tmp_path, train=False)


def test_count_mismatch(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path)
    _replace(tmp_path, "t10k-labels-idx1-ubyte", fmt.idx_bytes(np.zeros(6, np.uint8)))
    with pytest.raises(DataFormatError, match="t10k-labels-idx1-ubyte.gz: 6 labels, but t10k-images-idx3-ubyte.gz holds 7 images"):
        MNIST(tmp_path, train=False)


def test_label_out_of_range(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path)
    _replace(tmp_path, "t10k-labels-idx1-ubyte", fmt.idx_bytes(np.full(7, 10, np.uint8)))
    with pytest.raises(DataFormatError, match=r"label 10 out of range 0..9"):
        MNIST(tmp_path, train=False)


def test_truncated_real_style_file_names_the_file(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.gz: truncated gzip stream"):
        MNIST(tmp_path)


def test_full_mnist_matches_published_facts(full_mnist_dir):
    train = MNIST(full_mnist_dir, train=True)
    test = MNIST(full_mnist_dir, train=False)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.class_counts().tolist() == PUBLISHED_TRAIN_COUNTS
    assert test.class_counts().tolist() == PUBLISHED_TEST_COUNTS
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train.images.min() == 0 and train.images.max() == 255
    # the documented normalisation constants are the training set's pixel mean and std
    x = train.images.astype(np.float64) / 255
    assert round(x.mean(), 4) == 0.1307 and round(x.std(), 4) == 0.3081
