"""Whether a deal is won: a planted logistic model on what is observable before it closes.

The win logit of deal ``d`` of organisation ``i`` created at ``t`` is

    logit p_d = a[channel] + a[stage] + k * (b_amount * relative_amount + b_touch * touch
                + b_trait * contract_logit_i) + u_i + e_d

* ``relative_amount`` = log(amount) minus the mean log amount of the organisation's deals created in
  ``[t - 365 days, t)`` (0 when there is none);
* ``touch`` = log1p of the organisation's ``email``, ``phone`` and ``meeting`` interactions in
  ``[t - 90 days, t)``, minus log1p(3);
* ``stage`` is the stage of the deal's project (none for ordinary deals);
* ``contract_logit_i`` is the organisation's latent contract propensity, ``u_i`` a latent
  organisation effect (normal) and ``e_d`` a deal effect (normal) that no table records;
* ``k = 2 ** (1 - 2 * difficulty)``; the spreads of ``u`` and ``e`` grow with the difficulty.

A deal is won when the uniform draw it carries (``u_status``) falls below ``p_d``; it closes at a
lognormal time after its creation whatever its outcome, and is still open if that is at or after
the end of the data.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, STAGES
from b2bclient.datasets._calendar import DAY, NAT, window_sums
from b2bclient.datasets._firms import Columns
from b2bclient.datasets._segments import TRAITS, signal_scale

__all__ = [
    "DEAL_COVARIATES",
    "WinModel",
    "deal_covariates",
    "decide_status",
    "win_logit",
    "win_model",
]

FloatArray = npt.NDArray[np.float64]

#: Observable covariates of a deal at its creation (see the module docstring).
DEAL_COVARIATES: tuple[str, ...] = ("relative_amount", "touchpoints_90d")
_PERSONAL = np.array([CHANNELS.index(c) for c in ("email", "phone", "meeting")])
_TOUCH_REFERENCE = math.log1p(3.0)
# Intercepts by DEAL_CHANNELS (portal, sales_rep, tender, edi, other), set so that the ordinary
# deals of each channel are won about as often as before the model was planted (0.92, 0.6, 0.3,
# 0.97, 0.7) at difficulty 0.5.
_CHANNEL_INTERCEPTS = np.array([3.15, 0.98, -0.36, 4.0, 1.53])
# Shift of the logit for a deal of a project in each of STAGES (production has no deal).
_STAGE_EFFECTS = np.array([0.1, 0.0, 0.45, 0.07, -0.35])
# Effects at difficulty 0.5: relative amount, touchpoints, contract propensity.
_EFFECTS = np.array([-0.45, 0.4, 0.3])


class WinModel:
    """The planted win model at one difficulty: coefficients and the spreads of the latent parts."""

    def __init__(self, difficulty: float) -> None:
        k = signal_scale(difficulty)
        self.channel = _CHANNEL_INTERCEPTS.copy()
        self.stage = _STAGE_EFFECTS.copy()
        self.amount, self.touch, self.trait = (float(v) for v in _EFFECTS * k)
        #: Spread of the latent organisation effect ``u`` and of the deal effect ``e``.
        self.org_sd = 0.2 + 0.4 * difficulty
        self.deal_sd = 0.2 + 0.4 * difficulty

    def coefficients(self) -> dict[str, float]:
        """Return every coefficient by name, in a stable order."""
        out = {f"channel[{c}]": float(v) for c, v in zip(DEAL_CHANNELS, self.channel, strict=True)}
        out.update({f"stage[{s}]": float(v) for s, v in zip(STAGES, self.stage, strict=True)})
        out.update(
            {
                "relative_amount": self.amount,
                "touchpoints": self.touch,
                "touchpoints_reference": _TOUCH_REFERENCE,
                "contract_logit": self.trait,
                "organisation_sd": self.org_sd,
                "deal_sd": self.deal_sd,
            }
        )
        return out


def win_model(difficulty: float) -> WinModel:
    """Return the planted win model at `difficulty`."""
    return WinModel(difficulty)


def deal_covariates(deals: Columns, interactions: Columns) -> FloatArray:
    """Return :data:`DEAL_COVARIATES` of every deal as of its creation (rows strictly before)."""
    org, t = deals["org"], deals["created"]
    log_amount = np.log(np.maximum(deals["amount"], 1.0))
    count, total = window_sums(org, t, log_amount, org, t - 365 * DAY, t)
    relative = np.where(count > 0, log_amount - total / np.maximum(count, 1.0), 0.0)
    personal = np.isin(interactions["channel"], _PERSONAL)
    touches, _ = window_sums(
        interactions["org"][personal], interactions["t"][personal], None, org, t - 90 * DAY, t
    )
    return np.column_stack([relative, touches])


def win_logit(
    model: WinModel,
    deals: Columns,
    x: FloatArray,
    traits: FloatArray,
    org_effect: FloatArray,
    deal_effect: FloatArray,
) -> FloatArray:
    """Return the planted win logit of every deal.

    `x` holds :func:`deal_covariates`, `traits` the organisations' latent traits, `org_effect` and
    `deal_effect` standard normal draws per organisation and per deal.
    """
    org = deals["org"]
    stage = deals["stage"]
    stage_effect = np.where(stage >= 0, model.stage[np.maximum(stage, 0)], 0.0)
    contract = traits[org, TRAITS.index("contract_logit")]
    logit = (
        model.channel[deals["channel"]]
        + stage_effect
        + model.amount * x[:, 0]
        + model.touch * (np.log1p(x[:, 1]) - _TOUCH_REFERENCE)
        + model.trait * contract
        + model.org_sd * org_effect[org]
        + model.deal_sd * deal_effect
    )
    return np.asarray(logit, dtype=np.float64)


def decide_status(deals: Columns, p: FloatArray, *, end: int) -> Columns:
    """Return `deals` with ``status`` (open, won, lost) and ``closed`` (NaT while open) decided."""
    won = deals["u_status"] < p
    is_open = deals["closed"] >= end
    status = np.where(is_open, 0, np.where(won, 1, 2)).astype(np.int64)
    out = {k: v for k, v in deals.items() if k != "u_status"}
    out["status"] = status
    out["closed"] = np.where(is_open, NAT, deals["closed"])
    out["p_win"] = np.asarray(p, dtype=np.float64)
    return out
