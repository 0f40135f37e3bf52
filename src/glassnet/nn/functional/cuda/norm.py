"""Batch normalisation on the GPU (training form and the evaluation forward), fused per pass.

Per channel c, over the m = N*H*W values of the batch (the formulas of :mod:`..norm`):

    forward:  mu = mean(X);  Xc = X - mu;  var = sum(Xc^2)/m;  inv = 1/sqrt(var + eps)
              Y = Xc * (gamma inv) + beta                        5 kernels (3 over the batch)
    backward: dbeta = sum(dY);  dgamma = inv sum(dY Xc)
              dX = a dY + c Xc + b,  a = gamma inv,  b = -a dbeta/m,  c = -a inv dgamma/m    4 kernels
    running statistics: r_mean = (1-mom) r_mean + mom mu,  r_var = (1-mom) r_var + mom var m/(m-1)   1 kernel
"""

from __future__ import annotations

import functools


@functools.cache
def _kernels():
    import cupy

    per_channel = "const long long c = (i / L) % C;"
    return {
        "cupy": cupy,
        "sumsq": cupy.ReductionKernel("T x", "T y", "x * x", "a + b", "y = a", "0", "glassnet_bn_sumsq"),
        "dot": cupy.ReductionKernel("T x, T y", "T z", "x * y", "a + b", "z = a", "0", "glassnet_bn_dot"),
        "coefficients": cupy.ElementwiseKernel(
            "T sumsq, T gamma, float64 eps, float64 m", "T var, T inv, T scale",
            "var = sumsq / m; inv = 1 / sqrt(var + eps); scale = gamma * inv;", "glassnet_bn_coefficients"),
        "affine": cupy.ElementwiseKernel(
            "T x, raw T scale, raw T shift, int64 L, int64 C", "T y",
            per_channel + " y = x * scale[c] + shift[c];", "glassnet_bn_affine"),
        "eval": cupy.ElementwiseKernel(
            "T x, raw T mean, raw T scale, raw T shift, int64 L, int64 C", "T y",
            per_channel + " y = (x - mean[c]) * scale[c] + shift[c];", "glassnet_bn_eval"),
        "grad_coefficients": cupy.ElementwiseKernel(
            "T dbeta, T dot, T inv, T gamma, float64 m", "T dgamma, T a, T b, T c",
            "dgamma = dot * inv; a = gamma * inv; b = -a * dbeta / m; c = -a * inv * dgamma / m;",
            "glassnet_bn_grad_coefficients"),
        "dx": cupy.ElementwiseKernel(
            "T dy, T xc, raw T a, raw T b, raw T cc, int64 L, int64 C", "T dx",
            per_channel + " dx = a[c] * dy + cc[c] * xc + b[c];", "glassnet_bn_dx"),
        "running": cupy.ElementwiseKernel(
            "T mean, T var, float64 mom, float64 unbias", "T rmean, T rvar",
            "rmean = (1 - mom) * rmean + mom * mean; rvar = (1 - mom) * rvar + mom * var * unbias;",
            "glassnet_bn_running"),
    }


def _axes(X):
    return (0, *range(2, X.ndim))


def train(X, gamma, beta, eps):
    """Y, Xc, mu, biased var, inv_std."""
    k = _kernels()
    cupy = k["cupy"]
    X = cupy.ascontiguousarray(X)
    N, C = X.shape[:2]
    L = X.size // (N * C)
    axes = _axes(X)
    shape = (1, C) + (1,) * (X.ndim - 2)
    mu = X.mean(axis=axes)
    Xc = X - mu.reshape(shape)
    var, inv, scale = k["coefficients"](k["sumsq"](Xc, axis=axes), gamma, float(eps), float(N * L))
    Y = cupy.empty_like(X)
    k["affine"](Xc, scale, beta, L, C, Y)
    return Y, Xc, mu, var, inv


def evaluate(X, gamma, beta, running_mean, running_var, eps):
    """Y and inv_std with the running statistics."""
    k = _kernels()
    cupy = k["cupy"]
    X = cupy.ascontiguousarray(X)
    N, C = X.shape[:2]
    inv = (1 / cupy.sqrt(running_var + eps)).astype(X.dtype)
    Y = cupy.empty_like(X)
    k["eval"](X, running_mean.astype(X.dtype), gamma * inv, beta, X.size // (N * C), C, Y)
    return Y, inv


def backward(dY, Xc, inv, gamma):
    """dX, dgamma, dbeta of the training form (Xc = X - batch mean)."""
    k = _kernels()
    cupy = k["cupy"]
    dY = cupy.ascontiguousarray(dY)
    N, C = dY.shape[:2]
    L = dY.size // (N * C)
    axes = _axes(dY)
    dbeta = dY.sum(axis=axes)
    dgamma, a, b, c = k["grad_coefficients"](dbeta, k["dot"](dY, Xc, axis=axes), inv, gamma, float(N * L))
    dX = cupy.empty_like(dY)
    k["dx"](dY, Xc, a, b, c, L, C, dX)
    return dX, dgamma, dbeta


def update_running(running_mean, running_var, mean, var, momentum, m):
    """The running statistics in place, in one kernel."""
    _kernels()["running"](mean.astype(running_mean.dtype), var.astype(running_var.dtype), float(momentum),
                          float(m / (m - 1)), running_mean, running_var)
