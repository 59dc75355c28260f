"""Buy-till-you-die models: who is still a customer, how much more they will buy, and their value.

* :class:`BetaGeo` (BG/NBD, optionally with covariates), :class:`ModifiedBetaGeo` (MBG/NBD) and
  :class:`ParetoNBD` model repeat purchasing and silent dropout; they give P(alive) and the
  expected number of future purchases.
* :class:`BetaGeoBetaBinom` (BG/BB) models purchases at discrete opportunities (a yearly
  tender, a monthly order window); :func:`discrete_summary` builds its summaries.
* :class:`GammaGamma` models the value per purchase.
* :func:`lifetime_value` combines both into a discounted customer lifetime value.
* :func:`rfm_summary` and :func:`calibration_holdout` build the summaries these models take from
  the won deals of a :class:`~b2bclient.base.ClientBase`, point in time.
* :func:`simulate_summary` draws summaries from a model, and :func:`plot_calibration_holdout`
  and :func:`plot_p_alive_matrix` draw diagnostics (matplotlib, extra ``plot``).

Examples
--------
>>> import b2bclient.btyd as btyd
>>> sample = btyd.simulate_summary(btyd.BetaGeo, T=52.0, n_customers=2000,
...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
>>> bg = btyd.BetaGeo().fit(sample)
>>> bool(bg.p_alive(sample).between(0, 1).all())
True
"""

from b2bclient.btyd._beta_geo import BetaGeo, ModifiedBetaGeo
from b2bclient.btyd._bgbb import BetaGeoBetaBinom
from b2bclient.btyd._discrete import discrete_summary
from b2bclient.btyd._gamma_gamma import GammaGamma
from b2bclient.btyd._pareto import ParetoNBD
from b2bclient.btyd._plot import plot_calibration_holdout, plot_p_alive_matrix
from b2bclient.btyd._rfm import calibration_holdout, rfm_summary
from b2bclient.btyd._simulate import simulate_summary
from b2bclient.btyd._value import lifetime_value

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "calibration_holdout",
    "discrete_summary",
    "lifetime_value",
    "plot_calibration_holdout",
    "plot_p_alive_matrix",
    "rfm_summary",
    "simulate_summary",
]
