"""The three output formats: aligned Unicode text, LaTeX and Markdown, from the same equations."""

import pytest

sp = pytest.importorskip("sympy")

from glassnet.explain import Explanation, conv, dense, params, pool  # noqa: E402
from glassnet.explain.document import Block, Section  # noqa: E402

EXPLANATIONS = [
    lambda: conv((3, 3), (2, 2)),
    lambda: conv((4, 4), (2, 2), stride=2, padding=1, channels=2, bias=True),
    lambda: pool("max", (4, 4), 2),
    lambda: pool("avg", (3, 3), 2, stride=1),
    lambda: params(),
    lambda: dense((3, 2), "sigmoid"),
]


@pytest.mark.parametrize("make", EXPLANATIONS)
def test_text_blocks_are_aligned_on_equals(make):
    ex = make()
    text = ex.render("text")
    assert "Checked" in text and "✗" not in text
    blocks = [item for section in ex.sections for item in section.items if isinstance(item, Block)]
    assert blocks
    for block in blocks:
        alone = Explanation("t", [Section("s", [block])], {}, {}, {}, ex.names).render("text")
        lines = alone.splitlines()[5:]  # after the title, its rule, a blank line, the section title and its rule
        assert len(lines) == len(block.lines)
        columns = {line.index(" = ") for line in lines if " = " in line}
        assert len(columns) == 1, lines
        assert lines[0] in text


@pytest.mark.parametrize("make", EXPLANATIONS)
def test_latex_and_markdown(make):
    ex = make()
    latex = ex.render("latex")
    assert latex.startswith(r"\section*{")
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") > 0
    assert latex.count("{") == latex.count("}")  # braces balance (escaped ones in pairs too)
    assert "₁" not in latex and "·" not in latex  # no raw Unicode maths left in LaTeX
    md = ex.render("markdown")
    assert md.startswith("# ") and "\n## " in md
    assert md.count("$$") % 2 == 0 and r"\begin{aligned}" in md


def test_lecture_derivation_in_latex():
    latex = conv((3, 3), (2, 2)).render("latex")
    assert r"\frac{\partial J}{\partial F_{11}} &= \frac{\partial J}{\partial z_{11}} X_{11}" in latex
    assert r"\operatorname{rot180}(F) = \begin{bmatrix} F_{22} & F_{21} \\ F_{12} & F_{11} \end{bmatrix}" in latex


def test_unknown_format_is_named():
    with pytest.raises(ValueError, match="format must be one of text, latex, markdown, got 'html'"):
        conv().render("html")
