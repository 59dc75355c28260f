"""Churn plots, drawn with matplotlib's Agg backend; matplotlib is optional."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

from b2bclient._exceptions import InvalidParameterError, MissingDependencyError
from b2bclient.churn import (
    ChurnModel,
    Surv,
    calibration_table,
    plot_calibration,
    plot_hazard_ratios,
    plot_survival_curves,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def data(n: int = 600) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    segment = rng.choice(["key", "small"], n)
    X = pd.DataFrame({"tickets": rng.poisson(2, n).astype(float), "key": segment == "key"})
    t = rng.exponential(200.0 * np.exp(-0.4 * X["tickets"] + 0.8 * X["key"]))
    c = rng.uniform(100, 500, n)
    return X, Surv.from_arrays(np.minimum(t, c), t <= c), segment


@pytest.fixture(autouse=True)
def _close_figures() -> None:
    yield
    plt.close("all")


def test_survival_curves_by_segment_observed_and_predicted() -> None:
    X, y, segment = data()
    model = ChurnModel(penalizer=0.0).fit(X, y)
    ax = plot_survival_curves(y, by=segment, model=model, X=X)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        f"key (n={(segment == 'key').sum()})",
        "_nolegend_",
        f"small (n={(segment == 'small').sum()})",
        "_nolegend_",
    ]
    predicted_key = lines[1].get_ydata()
    predicted_small = lines[3].get_ydata()
    # Key accounts (hazard ratio below 1) stay longer.
    assert predicted_key[-1] > predicted_small[-1]
    assert ax.get_xlabel() == "days since landmark"


def test_predicted_curves_alone_and_errors() -> None:
    X, y, _ = data()
    model = ChurnModel().fit(X, y)
    _, ax = plt.subplots()
    assert plot_survival_curves(model=model, X=X, times=[0, 50, 100], ax=ax) is ax
    assert list(ax.get_lines()[0].get_xdata()) == [0, 50, 100]
    with pytest.raises(InvalidParameterError, match="needs observed outcomes y"):
        plot_survival_curves()
    with pytest.raises(InvalidParameterError, match="one segment per row"):
        plot_survival_curves(y, by=["a"])


def test_calibration_plot_and_table() -> None:
    X, y, _ = data()
    model = ChurnModel(penalizer=0.0).fit(X, y)
    table = calibration_table(model, X, y, horizon="150D", n_bins=5)
    assert table["n"].sum() == len(X)
    assert np.all(np.diff(table["predicted"]) > 0)
    np.testing.assert_allclose(table["predicted"], table["observed"], atol=0.08)
    ax = plot_calibration(model, X, y, horizon="150D", n_bins=5)
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), table["predicted"])
    assert "150 days" in ax.get_xlabel()
    with pytest.raises(InvalidParameterError, match="'n_bins' parameter of calibration_table"):
        calibration_table(model, X, y, horizon="150D", n_bins=0)
    with pytest.raises(InvalidParameterError, match="'n_bins' parameter of plot_calibration"):
        plot_calibration(model, X, y, horizon="150D", n_bins=0)


def test_hazard_ratio_forest_plot() -> None:
    X, y, _ = data()
    model = ChurnModel(penalizer=0.0).fit(X, y)
    ax = plot_hazard_ratios(model)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["key_True", "tickets"]
    assert ax.get_xscale() == "log"
    aft = plot_hazard_ratios(ChurnModel(kind="weibull_aft").fit(X, y))
    assert "time ratio" in aft.get_xlabel()
    gbm = ChurnModel(kind="gbm", horizon=100, random_state=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="no coefficients"):
        plot_hazard_ratios(gbm)
    with pytest.raises(InvalidParameterError, match="fitted ChurnModel"):
        plot_hazard_ratios("model")  # type: ignore[arg-type]


def test_importing_churn_does_not_import_matplotlib() -> None:
    code = "import sys, b2bclient.churn; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, _ = data(100)
    model = ChurnModel().fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pip install b2bclient\[plot\]"):
        plot_hazard_ratios(model)
    with pytest.raises(MissingDependencyError, match=r"pip install b2bclient\[plot\]"):
        plot_calibration(model, X, y, horizon="50D")
