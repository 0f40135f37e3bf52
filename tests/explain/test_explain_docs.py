"""docs/explain.md shows real output: each ``<!-- glassnet explain ... -->`` block is regenerated and compared."""

import re
import shlex
from pathlib import Path

import pytest

from glassnet.cli import main

pytest.importorskip("sympy")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "explain.md"
BLOCK = re.compile(r"<!-- (glassnet explain [^>]*?) -->\n```text\n\$ \1\n(.*?)```\n", re.DOTALL)


def blocks():
    if not PAGE.exists():
        return []
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_the_lecture_example():
    commands = [cmd for cmd, _ in blocks()]
    assert "glassnet explain conv --input 3x3 --kernel 2x2" in commands
    text = PAGE.read_text(encoding="utf-8")
    assert "z₁₁ = X₁₁·F₁₁ + X₁₂·F₁₂ + X₂₁·F₂₁ + X₂₂·F₂₂" in text
    assert "$$z_{11} = X_{11}F_{11} + X_{12}F_{12} + X_{21}F_{21} + X_{22}F_{22}$$" in text


@pytest.mark.parametrize("command, shown", blocks(), ids=lambda v: v if v.startswith("glassnet") else "")
def test_each_block_is_the_current_output(capsys, command, shown):
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == shown
