"""Shared helpers for tests/explain: substitute random numbers into every symbolic equation, compare with the layers.

A plain module with a unique name (not a conftest.py), imported by the test files next to it.
"""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

TOL = 1e-12


def random_values(symbol_arrays, rng, distinct=False):
    """{symbol: float64 value} for every symbol in the given arrays (distinct values if asked: no max ties)."""
    syms = [s for arr in symbol_arrays for s in np.asarray(arr, dtype=object).ravel()]
    vals = rng.permutation(len(syms)) / len(syms) + rng.uniform(-1, 1) if distinct else rng.standard_normal(len(syms))
    return dict(zip(syms, vals.astype(np.float64), strict=True))


def numeric(symbols, values):
    """The array of values for an object array of symbols."""
    return np.vectorize(lambda s: values[s], otypes=[np.float64])(symbols)


def evaluate(exprs, values):
    """Evaluate SymPy expressions at ``values`` with one lambdified function (float64)."""
    exprs = list(exprs)
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for e in exprs)), key=lambda s: s.name)
    # Heaviside passed as a function: NumPy's printer would otherwise expand Heaviside(a - Max(...)) into nested selects
    f = sp.lambdify(syms, exprs, [{"Heaviside": lambda x, h0=0.5: np.heaviside(x, h0)}, "numpy"])
    return [float(v) for v in f(*[values[s] for s in syms])]


def assert_close(got, want, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    assert err.max(initial=0.0) <= TOL, f"{what}: max relative error {err.max():.3g}"


def check_equations(ex, reference, values, transform=lambda e: e):
    """Every equation with a target, both its value (rhs) and its printed form (shown), equals the numeric layer.

    Returns the number of entries compared per target name, so callers can assert full coverage.
    """
    eqs = [e for e in ex.equations() if e.target is not None]
    assert eqs, "the explanation has no checkable equations"
    rhs = evaluate([transform(e.rhs) for e in eqs], values)
    shown = [e for e in eqs if isinstance(e.shown, sp.Basic)]
    shown_vals = evaluate([transform(e.shown) for e in shown], values) if shown else []
    want = [np.asarray(reference[e.target[0]])[e.target[1]] for e in eqs]
    assert_close(rhs, want, f"{ex.title}: equations")
    assert_close(shown_vals, [np.asarray(reference[e.target[0]])[e.target[1]] for e in shown], f"{ex.title}: shown")
    counts = {}
    for e in eqs:
        counts[e.target[0]] = counts.get(e.target[0], 0) + 1
    return counts
