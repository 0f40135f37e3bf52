"""Downloads: cache location, file:// mirrors, checksums, atomic writes and the no-network message."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from glassnet._files import atomic_write
from glassnet.data import CIFAR10, MNIST, ChecksumError, DownloadError, data_home, default_root
from glassnet.data import download as dl

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: refused at once, a real network failure


def md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def mnist_mirror(tmp_path, fmt, monkeypatch):
    """A file:// mirror serving a small MNIST, with MNIST's checksum table set to its files."""
    src = tmp_path / "mirror"
    arrays = fmt.write_mnist_dir(src)
    resources = [dl.Resource(r.filename, md5(src / r.filename)) for r in MNIST.resources]
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", [src.as_uri() + "/"])
    return src, arrays


def test_data_home_and_env_override(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".cache" / "glassnet"
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "cache"))
    assert data_home() == tmp_path / "cache"
    assert default_root("cifar10") == tmp_path / "cache" / "cifar10"


def test_download_into_default_cache(tmp_path, monkeypatch, mnist_mirror):
    _, arrays = mnist_mirror
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "cache"))
    ds = MNIST(train=False, download=True)
    assert ds.root == tmp_path / "cache" / "mnist"
    np.testing.assert_array_equal(ds.images[:, 0], arrays[False][0])
    # only the split asked for is fetched, and nothing else is left in the cache
    assert sorted(p.name for p in ds.root.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    # a second call reads the cached files (no mirror needed)
    monkeypatch.setattr(MNIST, "mirrors", [UNREACHABLE])
    np.testing.assert_array_equal(MNIST(train=False, download=True).labels, arrays[False][1])


def test_next_mirror_after_a_network_failure(tmp_path, monkeypatch, mnist_mirror):
    src, arrays = mnist_mirror
    monkeypatch.setattr(MNIST, "mirrors", [UNREACHABLE, src.as_uri() + "/"])
    ds = MNIST(tmp_path / "root", train=True, download=True)
    np.testing.assert_array_equal(ds.labels, arrays[True][1])


def test_checksum_mismatch_keeps_nothing(tmp_path, monkeypatch, mnist_mirror):
    src, _ = mnist_mirror
    good = md5(src / "t10k-labels-idx1-ubyte.gz")
    wrong = [dl.Resource(r.filename, "0" * 32 if r.filename.startswith("t10k-labels") else r.md5)
             for r in MNIST.resources]
    monkeypatch.setattr(MNIST, "resources", wrong)
    root = tmp_path / "root"
    with pytest.raises(ChecksumError) as info:
        MNIST(root, train=False, download=True)
    msg = str(info.value)
    assert "checksum mismatch for t10k-labels-idx1-ubyte.gz" in msg
    assert f"expected md5 {'0' * 32}, got {good}" in msg and src.as_uri() in msg
    assert not (root / "t10k-labels-idx1-ubyte.gz").exists()
    assert [p.name for p in root.iterdir()] == ["t10k-images-idx3-ubyte.gz"]  # verified before it; no temp files


def test_no_network_fails_with_one_line_hint(tmp_path, monkeypatch, mnist_mirror):
    monkeypatch.setattr(MNIST, "mirrors", [UNREACHABLE])
    root = tmp_path / "root"
    with pytest.raises(DownloadError) as info:
        MNIST(root, train=True, download=True)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("MNIST: could not download train-images-idx3-ubyte.gz (http://127.0.0.1:9/")
    assert f"Without network, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, " \
           f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped or not) into {root}" in msg
    assert not root.exists() or not any(root.iterdir())


def test_dns_failure_through_the_opener(tmp_path, monkeypatch):
    def no_dns(url, timeout):
        assert timeout == dl.TIMEOUT_S
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(dl, "_open_url", no_dns)
    with pytest.raises(DownloadError, match=r"Name or service not known.*Without network, put cifar-10-binary.tar.gz"):
        CIFAR10(tmp_path, train=True, download=True)


def test_cifar_download_extracts_only_the_batches(tmp_path, monkeypatch, fmt):
    src = tmp_path / "src" / "cifar-10-batches-bin"
    src.mkdir(parents=True)
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(2, 3, 32, 32), dtype=np.uint8)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (src / name).write_bytes(fmt.cifar_records(images, [1, 2]))
    (src / "batches.meta.txt").write_text("airplane\n")
    (src / "readme.html").write_text("<html>")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-bin")
    monkeypatch.setattr(CIFAR10, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(CIFAR10, "resources", [dl.Resource("cifar-10-binary.tar.gz", md5(mirror / "cifar-10-binary.tar.gz"))])
    root = tmp_path / "root"
    ds = CIFAR10(root, train=True, download=True)
    np.testing.assert_array_equal(ds.images, np.concatenate([images] * 5))
    assert ds.labels.tolist() == [1, 2] * 5
    assert not (root / "cifar-10-batches-bin" / "readme.html").exists()
    shutil.rmtree(mirror)  # the test split comes from the same extraction, no new download
    assert CIFAR10(root, train=False, download=True).labels.tolist() == [1, 2]


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"new, half written")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
