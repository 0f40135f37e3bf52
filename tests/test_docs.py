"""Every ``>>>`` example in docs/**/*.md runs and prints what the page says.

Markdown fences (```pycon ... ```) are blanked before parsing, so an example's
expected output ends at the closing fence without a blank line before it
(line numbers in failure reports stay those of the page).
"""

import doctest
import re
from pathlib import Path

import pytest

import glassnet.backend as B

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^[ \t]*(```|~~~).*$", re.MULTILINE)

# The core's documentation: each of these pages must exist and carry at least one example.
CORE_PAGES = [
    "layers/dense.md", "layers/convolution.md", "layers/pooling.md", "layers/activations.md",
    "layers/normalization.md", "layers/losses.md", "layers/containers.md", "layers/module.md",
    "layers/init.md", "layers/gradcheck.md", "testing.md",
]


class MarkdownParser(doctest.DocTestParser):
    """doctest's parser, with Markdown code fences replaced by empty lines."""

    def parse(self, string, name="<string>"):
        return super().parse(FENCE.sub("", string), name)


def run_page(path: Path) -> doctest.TestResults:
    return doctest.testfile(
        str(path),
        module_relative=False,
        parser=MarkdownParser(),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        report=True,
        verbose=False,
        encoding="utf-8",
    )


@pytest.fixture(autouse=True)
def _keep_global_state():
    """Pages may seed the generator or switch the default dtype: restore both afterwards."""
    rng_state, dtype = B.get_rng_state(), B.get_default_dtype()
    yield
    B.set_rng_state(rng_state)
    B.set_default_dtype(dtype)


def test_core_pages_exist():
    missing = [p for p in CORE_PAGES if not (DOCS / p).is_file()]
    assert not missing, f"documentation pages missing under docs/: {missing}"


NEEDS = re.compile(r"<!-- needs: ([\w\s]+) -->")


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples(path, capsys):
    needs = NEEDS.search(path.read_text(encoding="utf-8"))  # a page of an optional extra: <!-- needs: onnx -->
    for module in needs.group(1).split() if needs else ():
        pytest.importorskip(module)
    result = run_page(path)
    report = capsys.readouterr().out
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {path}:\n{report}"
    if str(path.relative_to(DOCS)) in CORE_PAGES:
        assert result.attempted > 0, f"{path} has no >>> example"


def test_fences_do_not_leak_into_expected_output(tmp_path):
    """The parser must end an expected output at the closing fence, and still catch a wrong one."""
    good = tmp_path / "good.md"
    good.write_text("```pycon\n>>> 1 + 1\n2\n```\n", encoding="utf-8")
    bad = tmp_path / "bad.md"
    bad.write_text("```pycon\n>>> 1 + 1\n3\n```\n", encoding="utf-8")
    assert tuple(run_page(good)) == (0, 1)
    assert tuple(run_page(bad)) == (1, 1)
