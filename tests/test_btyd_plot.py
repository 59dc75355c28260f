"""Diagnostic plots of the buy-till-you-die models, drawn with the Agg backend."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import b2bclient.btyd as btyd
from b2bclient import InvalidParameterError, MissingDependencyError, NotFittedError

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

TRUTH = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}


@pytest.fixture(scope="module")
def fitted() -> tuple[btyd.BetaGeo, pd.DataFrame]:
    frame = btyd.simulate_summary(
        btyd.BetaGeo, T=30.0, n_customers=1500, params=TRUTH, random_state=0
    )
    model = btyd.BetaGeo().fit(frame)
    rng = np.random.default_rng(1)
    frame["duration_holdout"] = 13.0
    frame["frequency_holdout"] = rng.poisson(model.conditional_expected_purchases(13.0, frame))
    return model, frame


def test_calibration_holdout_plot(fitted: tuple[btyd.BetaGeo, pd.DataFrame]) -> None:
    model, frame = fitted
    fig, ax = plt.subplots()
    out = btyd.plot_calibration_holdout(model, frame, max_frequency=5, ax=ax)
    assert out is ax
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["actual", "BetaGeo"]
    actual, predicted = (np.asarray(line.get_ydata(), dtype=float) for line in lines)
    assert len(actual) == 6
    np.testing.assert_allclose(actual, predicted, rtol=0.5)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "5+"
    fig.canvas.draw()
    plt.close(fig)


def test_p_alive_matrix_plot(fitted: tuple[btyd.BetaGeo, pd.DataFrame]) -> None:
    model, frame = fitted
    ax = btyd.plot_p_alive_matrix(model, frame)
    image = ax.get_images()[0].get_array()
    assert image.shape == (101, int(frame["frequency"].max()) + 1)
    values = np.ma.filled(image, np.nan)
    finite = values[np.isfinite(values)]
    assert ((finite >= 0) & (finite <= 1)).all()
    assert values[0, 0] == 1.0  # no repeat purchase: alive under BG/NBD
    assert np.isnan(values[0, 1])  # a repeat purchase at recency 0 is impossible
    # P(alive) rises with recency for a given frequency.
    assert np.all(np.diff(values[1:, 3]) >= 0)
    ax.figure.canvas.draw()
    plt.close(ax.figure)
    explicit = btyd.plot_p_alive_matrix(model, max_frequency=4, max_recency=20.0)
    assert explicit.get_images()[0].get_array().shape == (101, 5)
    assert explicit.get_ylabel() == "Recency (time of last purchase)"
    plt.close(explicit.figure)


def test_plots_name_the_time_unit(fitted: tuple[btyd.BetaGeo, pd.DataFrame]) -> None:
    model, frame = fitted
    weekly = frame.copy()
    weekly.attrs.update({"freq": "D", "time_unit": "W"})
    ax = btyd.plot_p_alive_matrix(model, weekly)
    assert ax.get_ylabel() == "Recency (time of last purchase, weeks)"
    assert ax.get_title().endswith("T = 30 weeks")
    plt.close(ax.figure)
    ax = btyd.plot_calibration_holdout(model, weekly)
    assert ax.get_title().endswith("(13 weeks)")
    plt.close(ax.figure)


def test_plot_errors(fitted: tuple[btyd.BetaGeo, pd.DataFrame]) -> None:
    model, frame = fitted
    with pytest.raises(InvalidParameterError, match="calibration_holdout"):
        btyd.plot_calibration_holdout(model, frame[["frequency", "recency", "T"]])
    with pytest.raises(InvalidParameterError, match="max_frequency"):
        btyd.plot_calibration_holdout(model, frame, max_frequency=0)
    with pytest.raises(InvalidParameterError, match="needs a summary"):
        btyd.plot_p_alive_matrix(model)
    with pytest.raises(NotFittedError):
        btyd.plot_p_alive_matrix(btyd.ParetoNBD(), frame)
    with pytest.raises(InvalidParameterError, match="'model'"):
        btyd.plot_p_alive_matrix(btyd.GammaGamma(), frame)
    with pytest.raises(InvalidParameterError, match="'model'"):
        btyd.plot_calibration_holdout(btyd.GammaGamma(), frame)
    with pytest.raises(InvalidParameterError, match="calibration_holdout"):
        btyd.plot_calibration_holdout(model, frame.to_numpy())
    with pytest.raises(InvalidParameterError, match="lacks the column"):
        btyd.plot_p_alive_matrix(model, frame[["frequency", "recency"]])
    with pytest.raises(InvalidParameterError, match="empty summary"):
        btyd.plot_p_alive_matrix(model, frame.iloc[:0])
    with pytest.raises(InvalidParameterError, match="max_frequency >= 1"):
        btyd.plot_p_alive_matrix(model, max_frequency="5", max_recency=20.0)


def test_missing_matplotlib_names_the_extra(
    fitted: tuple[btyd.BetaGeo, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, frame = fitted
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pip install b2bclient\[plot\]"):
        btyd.plot_p_alive_matrix(model, frame)


def test_importing_btyd_does_not_import_matplotlib() -> None:
    code = "import sys, b2bclient.btyd; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
