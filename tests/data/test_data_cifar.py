"""CIFAR-10 binary reader on small files written record by record in the published layout."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from glassnet.data import CIFAR10, DataFormatError, read_cifar_batch, write_cifar_batch

TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]


def write_batches(folder, fmt, per_file=3, seed=0) -> dict:
    """Six small .bin files (5 train + test) in ``folder``; returns {name: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in TRAIN + ["test_batch.bin"]:
        images = rng.integers(0, 256, size=(per_file, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_file)
        (folder / name).write_bytes(fmt.cifar_records(images, labels))
        out[name] = (images, labels)
    return out


def test_record_layout_is_label_then_chw(tmp_path):
    record = np.arange(3073, dtype=np.int64) % 251  # distinct-ish bytes at every offset
    record[0] = 6
    (tmp_path / "one.bin").write_bytes(record.astype(np.uint8).tobytes())
    images, labels = read_cifar_batch(tmp_path / "one.bin")
    assert labels.tolist() == [6] and labels.dtype == np.int64
    c, r, k = np.meshgrid(range(3), range(32), range(32), indexing="ij")
    np.testing.assert_array_equal(images[0], record[1 + c * 1024 + r * 32 + k])


@pytest.mark.parametrize("nested", [True, False])
def test_train_and_test_splits(tmp_path, fmt, nested):
    folder = tmp_path / "cifar-10-batches-bin" if nested else tmp_path
    arrays = write_batches(folder, fmt)
    train = CIFAR10(tmp_path, train=True)
    test = CIFAR10(tmp_path, train=False)
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and len(train) == 15 and len(test) == 3
    np.testing.assert_array_equal(train.images, np.concatenate([arrays[n][0] for n in TRAIN]))
    np.testing.assert_array_equal(train.labels, np.concatenate([arrays[n][1] for n in TRAIN]))
    np.testing.assert_array_equal(test.images, arrays["test_batch.bin"][0])
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"
    assert test.images.flags.c_contiguous and train.images.flags.c_contiguous


def test_writer_round_trip(tmp_path, fmt):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    labels = [0, 9, 3, 3]
    write_cifar_batch(tmp_path / "b.bin", images, labels)
    assert (tmp_path / "b.bin").read_bytes() == fmt.cifar_records(images, labels)
    with pytest.raises(ValueError, match=r"expected uint8 images \(N, 3, 32, 32\)"):
        write_cifar_batch(tmp_path / "c.bin", images[:, :2], labels)


def test_truncated_batch(tmp_path, fmt):
    write_batches(tmp_path, fmt)
    path = tmp_path / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataFormatError) as info:
        CIFAR10(tmp_path, train=False)
    assert str(path) in str(info.value) and "9218 bytes is not a positive multiple of the 3073-byte" in str(info.value)


def test_bad_label(tmp_path, fmt):
    write_batches(tmp_path, fmt)
    path = tmp_path / "data_batch_3.bin"
    raw = bytearray(path.read_bytes())
    raw[3073] = 200  # label byte of record 1
    path.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=r"data_batch_3.bin: record 1 has label 200, expected 0..9"):
        CIFAR10(tmp_path, train=True)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10(tmp_path, train=False)
    msg = str(info.value)
    assert "cifar-10-batches-bin/test_batch.bin not found in" in msg and "cifar-10-binary.tar.gz" in msg
    assert "download=True" in msg and "\n" not in msg


def make_archive(path, folder, extra=()):
    """A tar.gz like the published one (folder cifar-10-batches-bin/), plus ``extra`` (name, TarInfo type, data)."""
    with tarfile.open(path, "w:gz") as tar:
        for f in sorted(folder.iterdir()):
            tar.add(f, arcname=f"cifar-10-batches-bin/{f.name}")
        for name, kind, data in extra:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_archive_placed_by_hand_is_extracted_safely(tmp_path, fmt):
    src = tmp_path / "src"
    arrays = write_batches(src, fmt)
    (src / "batches.meta.txt").write_text("airplane\nautomobile\n")
    root = tmp_path / "root"
    root.mkdir()
    hostile = [("../evil.bin", tarfile.REGTYPE, b"x"), ("/tmp/abs-evil.bin", tarfile.REGTYPE, b"x"),
               ("cifar-10-batches-bin/../../evil2.bin", tarfile.REGTYPE, b"x"),
               ("cifar-10-batches-bin/readme.html", tarfile.REGTYPE, b"<html>")]
    make_archive(root / "cifar-10-binary.tar.gz", src, hostile)
    test = CIFAR10(root, train=False)
    np.testing.assert_array_equal(test.images, arrays["test_batch.bin"][0])
    assert sorted(p.name for p in (root / "cifar-10-batches-bin").iterdir()) == sorted(
        TRAIN + ["test_batch.bin", "batches.meta.txt"])
    assert not (tmp_path / "evil.bin").exists() and not (tmp_path / "evil2.bin").exists()
    assert not Path("/tmp/abs-evil.bin").exists()
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]


def test_archive_with_link_in_place_of_a_batch_is_refused(tmp_path, fmt):
    src = tmp_path / "src"
    write_batches(src, fmt)
    (src / "batches.meta.txt").write_text("x\n")
    (src / "test_batch.bin").unlink()
    make_archive(tmp_path / "cifar-10-binary.tar.gz", src, [("cifar-10-batches-bin/test_batch.bin", tarfile.SYMTYPE, b"")])
    with pytest.raises(DataFormatError, match="member cifar-10-batches-bin/test_batch.bin is not a regular file"):
        CIFAR10(tmp_path, train=False)


def test_archive_lacking_a_member(tmp_path, fmt):
    src = tmp_path / "src"
    write_batches(src, fmt)
    make_archive(tmp_path / "cifar-10-binary.tar.gz", src)  # no batches.meta.txt
    with pytest.raises(DataFormatError, match="lacks the expected member.s. cifar-10-batches-bin/batches.meta.txt"):
        CIFAR10(tmp_path, train=False)


def test_corrupt_archive(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\0" * 40)
    with pytest.raises(DataFormatError, match="cifar-10-binary.tar.gz: cannot read the archive"):
        CIFAR10(tmp_path, train=False)
