"""benchmarks/summarize.py: several run.py JSON files -> the median ratio per case, its range, and the targets."""

import json
import sys
from pathlib import Path

import pytest


def _import_summarize():
    """benchmarks/summarize.py, with the benchmarks' own ``cases`` module (tests/nn has one of that name too)."""
    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    theirs, path = sys.modules.pop("cases", None), list(sys.path)
    sys.path.insert(0, bench)
    try:
        import summarize
    finally:
        sys.path[:] = path  # summarize and run.py put their folder on the path too
        sys.modules.pop("cases", None)
        if theirs is not None:
            sys.modules["cases"] = theirs
    return summarize


summarize = _import_summarize()


def report(ratios: dict, peaks=(100.0, 200.0)) -> dict:
    cases = []
    for name, ratio in ratios.items():
        kind = "train" if "train" in name else "conv"
        cases.append({"case": {"name": name, "kind": kind}, "ratio": ratio,
                      "results": {"glassnet": {"images_per_s": 100.0 * ratio, "peak_mb": peaks[0], "growth_mb": 1.0},
                                  "torch": {"images_per_s": 100.0, "peak_mb": peaks[1]}}})
    return {"cases": cases}


def test_median_and_range_over_runs_and_the_targets_on_the_medians(tmp_path, capsys):
    runs = [report({"resnet20 train step b128": r, "conv 8x3 fwd+bwd": c}) for r, c in
            ((0.70, 0.9), (0.85, 0.4), (0.90, 0.8))]
    rows = summarize.merge(runs)
    assert [r["case"]["name"] for r in rows] == ["resnet20 train step b128", "conv 8x3 fwd+bwd"]
    assert rows[0]["ratio"] == pytest.approx(0.85) and (rows[0]["low"], rows[0]["high"]) == (0.70, 0.90)
    assert rows[0]["glassnet"] == pytest.approx(85.0) and rows[0]["torch"] == pytest.approx(100.0)
    paths = []
    for i, r in enumerate(runs):
        paths.append(tmp_path / f"run{i}.json")
        paths[-1].write_text(json.dumps(r))
    assert summarize.main([str(p) for p in paths]) == 0
    out = capsys.readouterr().out
    assert "ResNet-20 training b128 >= 0.8 (goal 1.0): lowest median 0.85" in out and "-> met" in out
    assert "forward+backward >= 0.7: lowest median 0.80" in out
    assert "peak memory of training <= 1.0x PyTorch's: highest median 0.50x" in out


def test_a_case_missing_from_one_run_is_left_out():
    rows = summarize.merge([report({"a fwd": 1.0, "b fwd": 2.0}), report({"a fwd": 3.0})])
    assert [(r["case"]["name"], r["ratio"]) for r in rows] == [("a fwd", 2.0)]


def test_markdown_table(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(report({"lenet5 train step b64": 0.9})))
    assert summarize.main(["--markdown", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| case | glassnet/PyTorch, median of 1 runs")
    assert lines[2] == "| lenet5 train step b64 | 0.90 [0.90-0.90] | 90 | 100 | 100 / 200 |"
