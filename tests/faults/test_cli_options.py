"""Every numeric option of every command, given invalid values: one line from the parser, status 2.

The table is checked against the parser itself (``test_the_table_covers_every_numeric_option``): an
option added without a range-checked type, or without rows here, fails the suite.
"""

from __future__ import annotations

import argparse

import pytest

from glassnet.cli import build_parser, main

# (command words with the positionals a parse needs, option) -> invalid values
TABLE = {
    (("train",), "--epochs"): ["0", "-1", "x", "1.5", ""],
    (("train",), "--batch-size"): ["0", "-3", "x"],
    (("train",), "--lr"): ["0", "-0.1", "nan", "inf", "x"],
    (("train",), "--lr-step"): ["0", "-2"],
    (("train",), "--lr-gamma"): ["-1", "nan", "-inf"],
    (("train",), "--weight-decay"): ["-0.1", "inf", "y"],
    (("train",), "--momentum"): ["-0.5", "nan"],
    (("train",), "--val-split"): ["1", "-0.1", "1.5", "nan"],
    (("train",), "--early-stopping"): ["-1", "x"],
    (("train",), "--seed"): ["-1", "4294967296", "x", "0.5"],
    (("train",), "--checkpoint-every"): ["-1", "x"],
    (("predict", "RUN", "a.png"), "--top"): ["0", "-1", "x"],
    (("visualize", "RUN", "features"), "--steps"): ["0", "-5", "x"],
    (("visualize", "RUN", "features"), "--max-channels"): ["0", "-1", "x"],
    (("report", "RUN"), "--images"): ["-1", "x"],
    (("report", "RUN"), "--max-test"): ["0", "-4"],
    (("summary", "lenet5"), "--num-classes"): ["0", "-1", "x"],
    (("summary", "lenet5"), "--batch-size"): ["0", "x"],
    (("summary", "lenet5"), "--depth"): ["-1", "x"],
    (("explain", "conv"), "--input"): ["0x3", "3y3", "-1", ""],
    (("explain", "conv"), "--kernel"): ["0", "2x0"],
    (("explain", "conv"), "--stride"): ["0", "x"],
    (("explain", "conv"), "--padding"): ["-1", "1x-1"],
    (("explain", "conv"), "--channels"): ["0", "-1", "x"],
    (("explain", "pool"), "--input"): ["0"],
    (("explain", "pool"), "--size"): ["0", "x"],
    (("explain", "pool"), "--stride"): ["0"],
    (("explain", "pool"), "--padding"): ["-1"],
    (("explain", "pool"), "--seed"): ["-1", "x"],
    (("explain", "params"), "--input"): ["10x10", "0x10x3"],
    (("explain", "params"), "--filters"): ["0", "-1"],
    (("explain", "params"), "--kernel"): ["0"],
    (("explain", "params"), "--stride"): ["0"],
    (("explain", "params"), "--padding"): ["-1"],
    (("explain", "dense"), "--layers"): ["4", "4,0,2", "4,,2", "a,b"],
    (("export", "RUN", "-o", "m.onnx"), "--num-classes"): ["0", "-1", "x"],
    (("export", "RUN", "-o", "m.onnx"), "--opset"): ["12", "0", "x"],
    (("explore", "RUN"), "--port"): ["-1", "65536", "x"],
}
CASES = [(words, option, value) for (words, option), values in TABLE.items() for value in values]


def _numeric_options(parser, words=()):
    """(command words, option) of every option whose values are numbers (typed by glassnet.cli.options)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_options(sub, (*words, name))
        elif action.option_strings and action.type is not None:
            yield words, action.option_strings[-1], action.type


def test_the_table_covers_every_numeric_option():
    found = list(_numeric_options(build_parser()))
    plain = [(w, o) for w, o, t in found if t in (int, float)]
    assert not plain, f"options typed int/float without a range check: {plain}"
    checked = {(w, o) for w, o, t in found if hasattr(t, "bounds")}
    in_table = {(words[:2] if words[0] == "explain" else words[:1], option) for words, option in TABLE}
    assert checked == in_table, (checked - in_table, in_table - checked)


@pytest.mark.parametrize("words, option, value", CASES, ids=[f"{w[0]}-{o}={v}" for w, o, v in CASES])
def test_invalid_value_is_refused_in_one_line(capsys, tmp_path, monkeypatch, words, option, value):
    monkeypatch.chdir(tmp_path)  # a command that ran anyway would leave runs/ or viz/ here
    assert main([*words, f"{option}={value}"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    command = " ".join(["glassnet", *words[:1]])
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith(f"{command}: error: argument {option}: "), err
    assert repr(value) in err, err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


# Options whose values are checked after parsing, by the command (they need the run or the model).
LATE = [
    (["visualize", "{run}", "maximize", "--channels", "-1"], "--channels expects a list such as 0,3,5 or 0-7"),
    (["visualize", "{run}", "maximize", "--channels", "a-b"], "--channels expects a list"),
    (["visualize", "{run}", "saliency", "--target", "10"], "--target: class index must be in 0..9, got 10"),
    (["visualize", "{run}", "features", "test:x"], "IMAGE test:N expects an integer N"),
    (["visualize", "{run}", "features", "test:100000"], "test image index 100000 out of range"),
    (["summary", "lenet5", "--input", "0x28x28"], "summary: error: "),
    (["summary", "lenet5", "--arg", "width"], "--arg expects KEY=VALUE"),
]


@pytest.fixture(scope="module", name="run")
def run_fixture(tmp_path_factory):
    from train_helpers import write_tiny_mnist

    data = write_tiny_mnist(tmp_path_factory.mktemp("data"), n_train=96, n_test=20)
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--epochs", "1", "--batch-size", "32",
                 "--val-split", "0", "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.mark.parametrize("argv, needle", LATE, ids=[" ".join(a[2:]) for a, _ in LATE])
def test_values_checked_by_the_command_are_one_line(capsys, run, argv, needle):
    argv = [a.format(run=run) for a in argv]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and needle in err, err
