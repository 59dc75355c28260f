"""The sales pipeline: which open deals will be won, when, and the revenue of the next months.

* :class:`WinModel` is a calibrated classifier of deal outcome, learnt from closed deals as they
  were before they closed; it scores the deals open at a point in time, gives the chance each
  closes (won) within a horizon, and names each deal's drivers.
* :func:`forecast` gives the expected won revenue in ``[as_of, as_of + horizon)`` (open deals,
  repeat business of clients, new business) with a simulated prediction interval and breakdowns;
  :func:`backtest` compares it with what was won, cut-off by cut-off.
* :func:`plot_calibration` and :func:`plot_backtest` draw them (matplotlib, extra ``plot``).

Examples
--------
>>> import b2bclient as bc
>>> base = bc.datasets.make_client_base(150, seed=2)
>>> model = bc.pipeline.WinModel().fit(base, as_of="2024-07-01")
>>> f = bc.pipeline.forecast(base, "2024-07-01", "90D", win_model=model, n_simulations=200)
>>> bool(f.expected > 0)
True
"""

from b2bclient.pipeline._forecast import Forecast, backtest, forecast
from b2bclient.pipeline._plot import calibration_table, plot_backtest, plot_calibration
from b2bclient.pipeline._win import DEFAULT_EXTRACTORS, WinModel

__all__ = [
    "DEFAULT_EXTRACTORS",
    "Forecast",
    "WinModel",
    "backtest",
    "calibration_table",
    "forecast",
    "plot_backtest",
    "plot_calibration",
]
