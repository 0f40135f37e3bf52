"""The README's example runs as written, and its commands are the ones CI uses."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_trains_and_passes_gradcheck(capsys):
    text = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    out = capsys.readouterr().out
    losses = [float(line.split()[1]) for line in out.splitlines() if re.match(r"^\d \d", line)]
    assert len(losses) == 5 and losses[-1] < losses[0]  # five SGD steps lower the loss
    assert "input" in out and " NO" not in out
    assert np.isfinite(losses).all()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest" in readme
    assert "pip install -e '.[test]'" in ci and "pytest" in ci and "torch==2.13.0" in ci
