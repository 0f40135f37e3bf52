"""The benchmark cases, shared by the driver and both frameworks' workers.

A case is a plain dict: ``name`` (unique), ``kind`` and the parameters its
kind needs. Throughput is counted in images (the batch size) per second.
"""

from __future__ import annotations

CONV_SHAPES = [  # (N, C_in, H, W, C_out, k, stride, pad)
    (64, 1, 28, 28, 6, 5, 1, 2),  # LeNet-5 conv1
    (64, 6, 14, 14, 16, 5, 1, 0),  # LeNet-5 conv2
    (128, 16, 32, 32, 16, 3, 1, 1),  # ResNet-20 stage 1
    (32, 64, 32, 32, 64, 3, 1, 1),  # a wider 3x3 layer
    (8, 3, 224, 224, 64, 11, 4, 2),  # AlexNet conv1
]
POOL_SHAPES = [(64, 6, 28, 28), (32, 64, 32, 32)]


def all_cases() -> list[dict]:
    cases = []
    for shape in CONV_SHAPES:
        tag = "conv " + "x".join(str(v) for v in shape[:4]) + f" -> {shape[4]} k{shape[5]} s{shape[6]} p{shape[7]}"
        cases.append({"name": f"{tag} fwd", "kind": "conv", "shape": list(shape), "backward": False})
        cases.append({"name": f"{tag} fwd+bwd", "kind": "conv", "shape": list(shape), "backward": True})
    for op in ("max", "avg"):
        for shape in POOL_SHAPES:
            tag = f"{op}pool 2x2/2 " + "x".join(str(v) for v in shape)
            cases.append({"name": f"{tag} fwd", "kind": "pool", "op": op, "shape": list(shape), "backward": False})
            cases.append({"name": f"{tag} fwd+bwd", "kind": "pool", "op": op, "shape": list(shape), "backward": True})
    for model, batch in (("lenet5", 64), ("lenet5", 256), ("resnet20", 128)):
        cases.append({"name": f"{model} train step b{batch}", "kind": "train", "model": model, "batch": batch})
    for model, batch in (("lenet5", 64), ("lenet5", 256), ("resnet20", 128)):
        cases.append({"name": f"{model} inference b{batch}", "kind": "infer", "model": model, "batch": batch})
    return cases


def gpu_cases() -> list[dict]:
    """The cases of ``run.py --device cuda``: the training steps of issue #15 and one inference."""
    cases = []
    for model, batch in (("resnet20", 128), ("lenet5", 256), ("vgg11", 32), ("resnet18", 32)):
        cases.append({"name": f"{model} train step b{batch}", "kind": "train", "model": model, "batch": batch})
    cases.append({"name": "resnet20 inference b128", "kind": "infer", "model": "resnet20", "batch": 128})
    return cases


def input_shape(model: str, batch: int) -> tuple:
    if model == "lenet5":
        return (batch, 1, 28, 28)
    return (batch, 3, 224, 224) if model in ("vgg11", "resnet18") else (batch, 3, 32, 32)


def items(case: dict) -> int:
    """Images processed by one call of the case."""
    return case["shape"][0] if "shape" in case else case["batch"]
