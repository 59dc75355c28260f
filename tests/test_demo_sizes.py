"""``b2bclient demo`` finishes on small synthetic bases, where the BTYD fit is weakly identified.

On a base of a few dozen organisations the dropout process of BG/NBD is barely visible within
the calibration window; the fit must then warn and carry on, never stop the demo. The larger
sizes (300, 2 000 and 3 000 organisations, seeds 0 to 5) run in ``benchmarks/btyd.py
--demo-sizes``.
"""

from __future__ import annotations

import io
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from b2bclient.cli import main

_CHURN_SECTION_FAILS = pytest.mark.xfail(
    strict=True,
    reason="the churn section's Cox model on the true churn times (penalizer 0) does not "
    "converge on 50 organisations, seed 3; the BTYD section is not reached",
)
CASES = [
    pytest.param(n, seed, marks=_CHURN_SECTION_FAILS if (n, seed) == (50, 3) else ())
    for n in (50, 150)
    for seed in range(6)
]


@pytest.mark.parametrize(("n_organisations", "seed"), CASES)
def test_demo_exits_zero_on_small_bases(n_organisations: int, seed: int) -> None:
    out = io.StringIO()
    with warnings.catch_warnings():
        # Weak identification is reported as a ConvergenceWarning; nothing else in the BTYD
        # models may warn (numerical warnings would point at their lines).
        warnings.filterwarnings("error", module=r"b2bclient\.btyd")
        warnings.simplefilter("ignore", ConvergenceWarning)
        code = main(["demo", "-n", str(n_organisations), "--seed", str(seed)], stream=out)
    assert code == 0
    text = out.getvalue()
    assert "BG/NBD calibrated" in text
    assert "highest 12-month discounted lifetime value" in text
    assert "nan" not in text.split("Buy-till-you-die")[1].split("Saving")[0].lower()
