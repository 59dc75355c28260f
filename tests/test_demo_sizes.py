"""``b2bclient demo`` finishes on small synthetic bases, where the BTYD fit is weakly identified.

On a base of a few dozen organisations the dropout process of BG/NBD is barely visible within
the calibration window; the fit must then warn and carry on, never stop the demo. The other
sizes and seeds (50, 150, 300, 2 000 and 3 000 organisations, seeds 0 to 5) run in
``python benchmarks/btyd.py --demo-sizes``.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

from b2bclient.cli import main


@pytest.mark.parametrize(("n_organisations", "seed"), [(50, 0), (50, 1), (50, 3), (150, 0)])
def test_demo_exits_zero_on_small_bases(n_organisations: int, seed: int, tmp_path: Path) -> None:
    out = io.StringIO()
    with warnings.catch_warnings():
        # Weak identification is reported as a ConvergenceWarning; nothing else in the BTYD
        # models may warn (numerical warnings would point at their lines).
        warnings.filterwarnings("error", module=r"b2bclient\.btyd")
        warnings.simplefilter("ignore", ConvergenceWarning)
        code = main(
            ["demo", "-n", str(n_organisations), "--seed", str(seed), "--out", str(tmp_path)],
            stream=out,
        )
    text = out.getvalue()
    assert code == 0, text[-3000:]
    btyd_part = text.split("== Buy-till-you-die")[1].split("\n== ")[0]
    assert "BG/NBD calibrated" in btyd_part
    assert "Highest 12-month discounted lifetime value" in btyd_part
    assert "error:" not in btyd_part
    assert re.search(r"\bnan\b", btyd_part, flags=re.IGNORECASE) is None
    assert (tmp_path / "report.html").is_file()
    if seed == 3:
        # The planted-hazard Cox fit separates on this base: the demo shows a penalised fit.
        assert "penalizer=0.1" in text
