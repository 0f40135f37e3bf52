"""Build the real-MNIST subset shipped inside glassnet (src/glassnet/data/subset/).

From the full MNIST (IDX files, gzipped or not) it draws, with a fixed seed,
1,000 training images per digit (10,000 in all) and 200 test images per digit
(2,000), keeps them in their original order, and writes:

- the four IDX files, gzipped (level 9, no name, mtime 0, so reruns give equal bytes);
- provenance.json: SHA-256 of every source and output file, the seed, the method,
  the chosen indices, the per-class counts and the licence.

Usage (from the repository root):

    python scripts/make_mnist_subset.py [--source DIR] [--out DIR]

The source defaults to $GLASSNET_MNIST_DIR, else ../shared/data/mnist beside the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from glassnet._files import atomic_write, file_digest
from glassnet.data.idx import read_bytes, write_idx
from glassnet.data.mnist import MNIST

SEED = 1998
PER_CLASS = {"train": 1000, "test": 200}
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
REPO = Path(__file__).resolve().parents[1]
LICENSE = {
    "dataset": "MNIST database of handwritten digits",
    "authors": "Yann LeCun, Corinna Cortes, Christopher J. C. Burges",
    "homepage": "http://yann.lecun.com/exdb/mnist/",
    "license": "CC BY-SA 3.0",
    "license_url": "https://creativecommons.org/licenses/by-sa/3.0/",
    "note": "This subset is a derivative of MNIST (a selection of its images, unchanged) under the same licence.",
}


def default_source() -> Path:
    env = os.environ.get("GLASSNET_MNIST_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "mnist"


def choose(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each digit 0..9 (in that order, without replacement), returned sorted."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def source_file(source: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (source / name).is_file():
            return source / name
    raise FileNotFoundError(f"make_mnist_subset: {stem}[.gz] not found in {source}")


def build(source: Path, out: Path) -> dict:
    rng = np.random.default_rng(SEED)
    prov = {
        "description": "Class-balanced subset of real MNIST shipped with glassnet: 1,000 training and 200 test "
                       "images per digit, drawn from the full MNIST with a fixed seed; pixels and labels unchanged.",
        "generated_by": "scripts/make_mnist_subset.py",
        "selection": {
            "seed": SEED,
            "method": "rng = numpy.random.default_rng(seed); for split in (train, test), for digit c in 0..9: "
                      "rng.choice(indices of c, per_class, replace=False); indices of a split sorted ascending",
            "numpy_version": np.__version__,
        },
        "license": LICENSE,
        "source_files": {},
        "files": {},
    }
    indices = {}
    for split, (image_stem, label_stem) in STEMS.items():
        for stem in (image_stem, label_stem):
            path = source_file(source, stem)
            prov["source_files"][stem] = {
                "file": path.name,
                "sha256": file_digest(path),
                "sha256_uncompressed": hashlib.sha256(read_bytes(path)).hexdigest(),
            }
        full = MNIST(source, train=(split == "train"))
        idx = choose(full.labels, PER_CLASS[split], rng)
        indices[split] = idx
        images, labels = full.images[idx, 0], full.labels[idx].astype(np.uint8)
        for stem, array in ((image_stem, images), (label_stem, labels)):
            write_idx(out / f"{stem}.gz", array)
            prov["files"][f"{stem}.gz"] = {
                "sha256": file_digest(out / f"{stem}.gz"),
                "sha256_uncompressed": hashlib.sha256(read_bytes(out / f"{stem}.gz")).hexdigest(),
            }
        prov[split] = {
            "source_count": len(full),
            "count": len(idx),
            "per_class": {str(c): int(n) for c, n in enumerate(np.bincount(full.labels[idx], minlength=10))},
            "indices": f"@{split}_indices@",
        }
    text = json.dumps(prov, indent=2) + "\n"
    for split, idx in indices.items():  # one compact line per index list
        text = text.replace(f'"@{split}_indices@"', json.dumps(idx.tolist(), separators=(",", ":")))
    with atomic_write(out / "provenance.json") as f:
        f.write(text.encode())
    return prov


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=default_source(), help="directory of the full MNIST IDX files")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "glassnet" / "data" / "subset")
    args = parser.parse_args(argv)
    prov = build(args.source, args.out)
    for split in PER_CLASS:
        print(f"{split}: {prov[split]['count']} images of {prov[split]['source_count']}, "
              f"per class {sorted(set(prov[split]['per_class'].values()))}")
    for name, info in prov["files"].items():
        size = (args.out / name).stat().st_size
        print(f"{args.out / name}: {size} bytes, sha256 {info['sha256']}")


if __name__ == "__main__":
    main()
