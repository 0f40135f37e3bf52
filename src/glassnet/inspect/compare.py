"""A fully connected first layer against a convolutional one, for the same input (the lecture's 3x100x100 argument).

A convolution with ``C_out`` filters of ``C_in x kh x kw`` has
``C_out * (C_in*kh*kw + 1)`` parameters *whatever the image size*: each
filter is shared by every position (weight sharing) and looks only at a
``kh x kw`` patch (sparse connections). A fully connected layer producing
the same ``C_out * H_out * W_out`` outputs from the flattened
``C_in * H * W`` input needs a weight per (input, output) pair:
``(C_in*H*W) * (C_out*H_out*W_out) + C_out*H_out*W_out`` parameters.

>>> from glassnet import nn
>>> c = compare_dense(nn.Conv2d(3, 10, 3), (3, 100, 100))
>>> c.conv_params, c.dense_params, c.dense_params // c.conv_params
(280, 2881296040, 10290343)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .. import nn
from .shapes import _shape_str, layer_geometry
from .summary import parse_size


@dataclass
class DenseComparison:
    input_shape: tuple
    conv: str
    """The convolution, as its repr (``Conv2d(3, 10, kernel_size=(3, 3), ...)``)."""
    output_shape: tuple
    conv_params: int
    conv_macs: int
    dense_in: int
    dense_out: int
    dense_params: int
    dense_macs: int

    @property
    def param_ratio(self) -> float:
        return self.dense_params / self.conv_params

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        per_filter = self.conv_params // self.output_shape[0]
        lines = [
            f"First layer on a {_shape_str(self.input_shape)} input: convolutional vs fully connected "
            f"(same {_shape_str(self.output_shape)} = {self.dense_out:,} outputs)",
            f"  conv   {self.conv}",
            f"         params {self.conv_params:>18,}   ({self.output_shape[0]} filters x {per_filter:,}; "
            "shared by every position, independent of the image size)",
            f"         MACs   {self.conv_macs:>18,}",
            f"  dense  Linear({self.dense_in}, {self.dense_out})",
            f"         params {self.dense_params:>18,}   ({self.dense_in:,} x {self.dense_out:,} weights "
            f"+ {self.dense_out:,} biases)",
            f"         MACs   {self.dense_macs:>18,}",
            f"  the dense layer needs {self.param_ratio:,.0f} times more parameters",
        ]
        return "\n".join(lines)


def first_conv(model):
    """The first `Conv2d` of ``model`` in forward order (its first module that is one)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError(f"{type(model).__name__} has no Conv2d layer to compare with a dense one")


def compare_dense(model_or_conv, input_size) -> DenseComparison:
    """Compare the first convolution of ``model_or_conv`` with a dense layer of the same output size."""
    conv = model_or_conv if isinstance(model_or_conv, nn.Conv2d) else first_conv(model_or_conv)
    shape = parse_size(input_size)
    if len(shape) != 3:
        raise ValueError(f"compare_dense needs an image input C x H x W, got {_shape_str(shape)}")
    if shape[0] != conv.in_channels:
        raise ValueError(
            f"{conv.label} reads {conv.in_channels} channels; the input {_shape_str(shape)} has {shape[0]}"
        )
    g = layer_geometry(conv, shape)
    n_in, n_out = shape[0] * shape[1] * shape[2], g.out_shape[0] * g.out_shape[1] * g.out_shape[2]
    return DenseComparison(
        input_shape=shape, conv=repr(conv), output_shape=g.out_shape,
        conv_params=sum(p.size for p in conv.parameters()), conv_macs=g.macs,
        dense_in=n_in, dense_out=n_out, dense_params=n_in * n_out + n_out, dense_macs=n_in * n_out,
    )
