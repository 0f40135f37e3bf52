"""The CuPy fast paths: the same sums as the reference paths, as a few CUDA kernels per op.

On a GPU the reference paths (vectorised array code, any namespace) are
correct but launch many small kernels: a ResNet-20 step on an H200 spent its
time launching them, not computing (docs/gpu.md). These modules form the
same sums with fewer, fused kernels (CuPy ``ElementwiseKernel`` and
``ReductionKernel``, each beside the formula it implements) and cuBLAS for
the matrix products. CuPy is imported only when a kernel is first needed.
The dispatchers of :mod:`glassnet.nn.functional` call them when
:func:`glassnet.nn.functional.dispatch.use_cuda` says so; tests/gpu compares
each with the reference on the GPU and checks that it ran.
"""
