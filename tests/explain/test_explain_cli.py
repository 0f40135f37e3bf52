"""glassnet explain on the command line: output, formats, one-line errors, and SymPy kept optional."""

import subprocess
import sys

import pytest

from glassnet.cli import main

pytest.importorskip("sympy")


def run(capsys, *argv):
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_conv_lecture_example(capsys):
    code, out, err = run(capsys, "conv", "--input", "3x3", "--kernel", "2x2")
    assert code == 0 and err == ""
    assert "z₁₁ = X₁₁·F₁₁ + X₁₂·F₁₂ + X₂₁·F₂₁ + X₂₂·F₂₂" in out
    assert "✓" in out and "✗" not in out


def test_conv_options_and_formats(capsys):
    code, out, _ = run(
        capsys,
        "conv",
        "--input",
        "5x4",
        "--kernel",
        "3x2",
        "--stride",
        "2",
        "--padding",
        "1",
        "--channels",
        "2",
        "--bias",
        "--format",
        "latex",
    )
    assert code == 0 and out.startswith(r"\section*{Convolution: 2$\times$5$\times$4 input X")
    code, out, _ = run(capsys, "conv", "--format", "markdown")
    assert code == 0 and out.startswith("# Convolution") and "$$" in out


def test_pool_params_dense(capsys):
    code, out, _ = run(capsys, "pool", "--kind", "avg", "--input", "4x4", "--size", "2")
    assert code == 0 and "y₁₁ = (X₁₁ + X₁₂ + X₂₁ + X₂₂)/4" in out
    code, out, _ = run(capsys, "pool", "--kind", "max", "--seed", "3")
    assert code == 0 and "A worked example (seed 3)" in out
    code, out, _ = run(capsys, "params", "--input", "100x100x3", "--filters", "10", "--kernel", "3")
    assert code == 0 and "10 × (3×3×3 + 1) = 280" in out
    code, out, _ = run(capsys, "dense", "--layers", "4,3,2", "--activation", "relu")
    assert code == 0 and "dW[1]₁₁ = dz[1]₁·a[0]₁" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["conv", "--input", "3y3"], "--input: must be 2 whole numbers like 3x3 (or one), got '3y3'"),
        (["conv", "--input", "3x3", "--kernel", "4"], "kernel 4x4 does not fit the 3x3 input"),
        (["params", "--input", "10x10"], "--input: must be 3 whole numbers like 3x3x3, got '10x10'"),
        (["dense", "--layers", "4,,2"], "--layers: must be two or more whole numbers >= 1 separated by commas"),
        (["pool", "--size", "2", "--padding", "2"], "padding must be at most half the window size"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("glassnet explain: error: ") and message in err


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_without_sympy_one_line_install_hint():
    r = _python(
        "import sys; sys.modules['sympy'] = None\nfrom glassnet.cli import main; sys.exit(main(['explain', 'conv']))"
    )
    assert r.returncode == 2, r.stderr
    assert (
        r.stderr == "glassnet explain: error: SymPy is needed for glassnet explain: pip install 'glassnet[explain]'\n"
    )


def test_import_glassnet_and_the_cli_parser_do_not_import_sympy():
    r = _python(
        "import sys, glassnet, glassnet.cli\n"
        "glassnet.cli.build_parser()\n"
        "assert 'sympy' not in sys.modules, 'sympy imported'\n"
        "import glassnet.explain\n"
        "assert 'sympy' in sys.modules"
    )
    assert r.returncode == 0, r.stderr
