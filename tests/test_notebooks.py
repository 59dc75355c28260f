"""The tutorial notebooks run against the current library (their code cells, in this process)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def _source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            if not line.lstrip().startswith("%"):  # IPython magics
                lines.append(line)
    return "\n".join(lines)


def test_there_are_tutorials():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("B2BCLIENT_NOTEBOOKS_IN_DOCS") == "1",
    reason="the documentation build that follows executes every notebook and fails on any error",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    code = compile(_source(path), str(path), "exec")
    exec(code, {"__name__": "__notebook__"})
    import matplotlib.pyplot as plt

    plt.close("all")
