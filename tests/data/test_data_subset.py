"""The MNIST subset shipped in the package, its provenance, and datasets by name."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from glassnet._files import file_digest
from glassnet.data import DATASETS, MNIST, SUBSET_DIR, FashionMNIST, MNISTSubset, get_dataset, load_mnist_subset
from glassnet.data.idx import read_bytes

REPO = Path(__file__).resolve().parents[2]
SUBSET_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("train, n, per_class", [(True, 10000, 1000), (False, 2000, 200)])
def test_subset_counts_and_balance(train, n, per_class):
    ds = load_mnist_subset(train=train)
    assert isinstance(ds, MNISTSubset) and isinstance(ds, MNIST)
    assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    assert ds.class_counts().tolist() == [per_class] * 10
    split = ds.provenance["train" if train else "test"]
    assert split["count"] == n and split["per_class"] == {str(c): per_class for c in range(10)}
    assert split["source_count"] == (60000 if train else 10000)


def test_subset_is_inside_the_package():
    assert SUBSET_DIR == Path(__import__("glassnet").__file__).parent / "data" / "subset"
    assert sorted(p.name for p in SUBSET_DIR.iterdir() if p.suffix in (".gz", ".json")) == sorted(
        SUBSET_FILES + ["provenance.json"])


def test_provenance_checksums_match_the_shipped_files():
    prov = load_mnist_subset().provenance
    assert set(prov["files"]) == set(SUBSET_FILES)
    for name, info in prov["files"].items():
        assert file_digest(SUBSET_DIR / name) == info["sha256"], name
        assert hashlib.sha256(read_bytes(SUBSET_DIR / name)).hexdigest() == info["sha256_uncompressed"], name


def test_provenance_indices_and_licence():
    prov = load_mnist_subset().provenance
    for split, n, top in (("train", 10000, 60000), ("test", 2000, 10000)):
        idx = np.array(prov[split]["indices"])
        assert len(idx) == n and np.all(np.diff(idx) > 0) and idx[0] >= 0 and idx[-1] < top
    lic = prov["license"]
    assert lic["license"] == "CC BY-SA 3.0" and "LeCun" in lic["authors"] and "Cortes" in lic["authors"]
    assert "Burges" in lic["authors"]
    assert isinstance(prov["selection"]["seed"], int)
    # the uncompressed source checksums are those of the original MNIST files
    assert prov["source_files"]["train-labels-idx1-ubyte"]["sha256_uncompressed"] == (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5")


def test_subset_is_the_full_set_at_the_recorded_indices(full_mnist_dir):
    prov = load_mnist_subset().provenance
    for stem, info in prov["source_files"].items():
        assert file_digest(full_mnist_dir / info["file"]) == info["sha256"], stem
    for train, split in ((True, "train"), (False, "test")):
        full, sub = MNIST(full_mnist_dir, train=train), load_mnist_subset(train=train)
        idx = np.array(prov[split]["indices"])
        np.testing.assert_array_equal(sub.images, full.images[idx])
        np.testing.assert_array_equal(sub.labels, full.labels[idx])


def test_script_rebuilds_identical_bytes(full_mnist_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("make_mnist_subset", REPO / "scripts" / "make_mnist_subset.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--source", str(full_mnist_dir), "--out", str(tmp_path)])
    for name in SUBSET_FILES:
        assert (tmp_path / name).read_bytes() == (SUBSET_DIR / name).read_bytes(), name
    # the provenance records the NumPy that made it; on another NumPy (CI also runs 2.0) only that line differs
    made, shipped = (json.loads((d / "provenance.json").read_text()) for d in (tmp_path, SUBSET_DIR))
    made["selection"]["numpy_version"] = shipped["selection"]["numpy_version"]
    assert made == shipped


def test_get_dataset_by_name(tmp_path, fmt):
    assert list(DATASETS) == ["mnist-subset", "mnist", "fashion-mnist", "cifar10"]
    assert len(get_dataset("mnist-subset", train=False)) == 2000
    arrays = fmt.write_mnist_dir(tmp_path)
    ds = get_dataset("fashion-mnist", root=tmp_path, train=True)
    assert isinstance(ds, FashionMNIST)
    np.testing.assert_array_equal(ds.labels, arrays[True][1])
    assert isinstance(get_dataset("mnist", root=tmp_path), MNIST)


def test_get_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'MNIST'; valid names: mnist-subset, mnist, fashion-mnist, cifar10"):
        get_dataset("MNIST")
    with pytest.raises(ValueError, match="'mnist-subset' is shipped inside glassnet and takes no root"):
        get_dataset("mnist-subset", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="CIFAR-10: cifar-10-batches-bin/data_batch_1.bin"):
        get_dataset("cifar10", root=tmp_path)
