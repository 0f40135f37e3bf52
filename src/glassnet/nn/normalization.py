"""`BatchNorm1d`, `BatchNorm2d` and `LocalResponseNorm`."""

from __future__ import annotations

from .. import backend as B
from .functional import norm as Fn
from .functional.geometry import positive_int
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _axes_by_ndim: dict = {}
    _expected = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        cls = type(self).__name__
        try:
            positive_int(num_features, "num_features")
        except ValueError as e:
            raise ValueError(f"{cls}: {e}") from None
        if not eps > 0:
            raise ValueError(f"{cls}: eps must be > 0, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{cls}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or B.get_default_dtype()
        if affine:
            self.weight = Parameter(B.xp.ones(num_features, dtype=dtype))
            self.bias = Parameter(B.xp.zeros(num_features, dtype=dtype))
        else:  # no parameters at all, as PyTorch (keys and counts match)
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", B.xp.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", B.xp.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", B.xp.array(0, dtype=B.xp.int64))

    def forward(self, x):
        ndim = x.ndim
        if ndim not in self._axes_by_ndim or x.shape[1] != self.num_features:
            raise self._shape_error(self._expected.format(C=self.num_features), x)
        axes = self._axes_by_ndim[ndim]
        gamma, beta = self._affine(x.dtype)
        if self.training or not self.track_running_stats:
            if self.training and x.size // self.num_features <= 1:
                raise ValueError(
                    f"{self.label}: expected more than 1 value per channel when training, got input {x.shape}"
                )
            y, saved, (mean, var) = Fn.batch_norm_train(x, gamma, beta, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running(mean, var, x.size // self.num_features)
        else:
            y, saved = Fn.batch_norm_eval(
                x, gamma, beta, self.running_mean, self.running_var, axes, self.eps
            )
        self._save(saved)
        return y

    def _affine(self, dtype):
        if self.affine:
            return self.weight.data, self.bias.data
        xp = B.xp if self.weight is None else B.get_array_module(self.weight.data)
        return xp.ones(self.num_features, dtype=dtype), xp.zeros(self.num_features, dtype=dtype)

    def _update_running(self, mean, var, m):
        self.num_batches_tracked = self.num_batches_tracked + 1
        mom = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean, self.running_var = Fn.running_stats_update(
            self.running_mean, self.running_var, mean, var, mom, m
        )

    def backward(self, dy):
        dx, dgamma, dbeta = Fn.batch_norm_backward(dy, self._saved())
        if self.affine:
            self.weight.accumulate(dgamma)
            self.bias.accumulate(dbeta)
        return dx

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per feature C.

    Training: normalise with the batch mean and (biased) variance and update
    ``running_mean``/``running_var`` (unbiased) with ``momentum``;
    evaluation: use the running statistics. y = gamma * x_hat + beta.
    """

    _axes_by_ndim = {2: (0,), 3: (0, 2)}
    _expected = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel (statistics over N, H, W).

    >>> import numpy as np
    >>> bn = BatchNorm2d(3)
    >>> y = bn(np.random.default_rng(0).normal(5, 2, (4, 3, 8, 8)))
    >>> bool(abs(y.mean()) < 1e-6), [k for k in bn.state_dict()]
    (True, ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'])
    """

    _axes_by_ndim = {4: (0, 2, 3)}
    _expected = "(N, {C}, H, W)"


class LocalResponseNorm(Module):
    """Local response normalisation across channels (AlexNet, 2012).

    b_c = a_c / (k + alpha/n * sum_{c' near c} a_c'^2)^beta over a window of
    ``size`` = n neighbouring channels, as PyTorch's `LocalResponseNorm`.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        try:
            positive_int(size, "size")
        except ValueError as e:
            raise ValueError(f"LocalResponseNorm: {e}") from None
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        if x.ndim < 3:
            raise self._shape_error("(N, C, ...) with at least 3 dimensions", x)
        y, saved = Fn.local_response_norm_forward(x, self.size, self.alpha, self.beta, self.k)
        self._save(saved)
        return y

    def backward(self, dy):
        return Fn.local_response_norm_backward(dy, self._saved())

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
