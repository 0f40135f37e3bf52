"""The NumPy fast paths: the same sums as the reference paths beside each op, computed faster on a CPU.

One module per op family (conv, pooling, norm, linear, activation), each
called only by its op's dispatcher in :mod:`glassnet.nn.functional` when
:func:`glassnet.nn.functional.dispatch.use_fast` says so (float32/float64
NumPy arrays of one dtype, fast paths on). What is CPU-only lives here and
only here: glassnet's thread pool, per-thread scratch buffers, strided views
into raw buffers. tests/nn/test_fast_paths.py compares every function here
with its reference and checks that the fast path really ran.
"""
