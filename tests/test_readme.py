"""The README's ten-line example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text[text.index("## A ten-line example") :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_example_has_ten_lines_of_code():
    lines = [line for line in _example().splitlines() if line.strip()]
    assert 8 <= len(lines) <= 14


@pytest.mark.slow
def test_the_readme_example_runs(capsys):
    exec(compile(_example(), str(README), "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert "hazard_ratio" in printed
    assert "purchasing__orders_365d" in printed
