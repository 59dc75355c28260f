"""Buy-till-you-die predictions against 50-digit arithmetic.

The reference values in ``tests/data`` were computed once with mpmath by
``tests/data/make_btyd_reference.py``, from integral representations independent of the
library's formulas. The grid is random and includes horizons with ``z = t / (alpha + T + t)``
within 1e-7 of 1, ``a + b`` above 100 and parameters at the edge of a fit (``a``, ``b`` ~ 1e9).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import b2bclient.btyd as btyd
from b2bclient.btyd._special import gauss_series

DATA = Path(__file__).parent / "data"
RTOL = 1e-8


def _load(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text()))


def _model(case: dict[str, Any]) -> Any:
    model = getattr(btyd, case["model"])()
    params = case["params"]
    model.params_ = pd.Series({name: float(params[name]) for name in model._names})
    model.covariate_names_ = []
    model.time_unit_ = None
    return model


def _relative(ours: Any, reference: str) -> float:
    exact = float(reference)
    return float(abs(float(np.asarray(ours).reshape(-1)[0]) - exact) / abs(exact))


def test_expected_purchases_where_hyp2f1_returns_nan() -> None:
    # scipy.special.hyp2f1 gave NaN here (z = 0.91, a + b = 201.5); 50-digit value 4.3379...
    bg = _model({"model": "BetaGeo", "params": {"r": 0.5, "alpha": 10.0, "a": 1.5, "b": 200.0}})
    assert bg.expected_purchases(91.0)[()] == pytest.approx(4.337948494075281, rel=1e-12)
    history = {"frequency": [0, 3], "recency": [0.0, 20.0], "T": [0.0, 30.0]}
    assert np.all(np.isfinite(bg.conditional_expected_purchases(91.0, **history)))


def test_predictions_agree_with_fifty_digit_arithmetic() -> None:
    cases = _load("btyd_reference.json")
    assert len(cases) > 150
    worst: dict[str, float] = {}
    for case in cases:
        model = _model(case)
        history = {"frequency": [case["x"]], "recency": [case["tx"]], "T": [case["T"]]}
        summary = pd.DataFrame(history)
        t = case["t"]
        ours = {
            "p_alive": model.p_alive(**history),
            "expected_purchases": model.expected_purchases(t),
            "conditional_expected_purchases": model.conditional_expected_purchases(t, **history),
            "lifetime_value": btyd.lifetime_value(
                model,
                summary,
                monetary_value=1.0,
                time=12,
                discount_rate=0.01,
                freq=case["per_month"],
            ),
        }
        for name, value in ours.items():
            error = _relative(value, case[name])
            key = f"{case['model']}.{name}"
            worst[key] = max(worst.get(key, 0.0), error)
            assert error < RTOL, (key, case)
    # Nine digits and more everywhere; the figure is recorded in docs/btyd.md.
    assert max(worst.values()) < RTOL


def test_gauss_series_near_one_agrees_with_fifty_digit_arithmetic() -> None:
    cases = _load("gauss_series_reference.json")
    b = np.array([c["b"] for c in cases])
    c = np.array([c["c"] for c in cases])
    om = np.array([case["one_minus_z"] for case in cases])
    exact = np.array([float(case["value"]) for case in cases])
    value, *_ = gauss_series(b, c, 1.0 - om, one_minus_z=om, derivatives=False)
    assert float(np.max(np.abs(value / exact - 1.0))) < 1e-10
