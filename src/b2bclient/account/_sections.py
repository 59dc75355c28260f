"""The churn, value and wallet sections: each client's risk and worth at the portrait's time.

:class:`~b2bclient.account._parts.ChurnRisk`, :class:`~b2bclient.account._parts.CustomerValue`
and :class:`~b2bclient.account._parts_market.WalletShare` keep the models fitted as of the
bundle's ``as_of``; their sections score the batch at the portrait's time. The churn section
reads the batch's features (probability within the horizon, and the drivers that raise this
client's hazard most above the average client's); the value section summarises the batch's own
won deals as of its time (weekly, as in the fit) and scores every buyer from that summary with
BG/NBD and Gamma-Gamma; the wallet section applies the wallet regression to the batch's
features, with the inputs that move the wallet most against the average organisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._time import to_duration
from b2bclient.account._core import _floats
from b2bclient.account._part_checks import fitted_as_of
from b2bclient.account._protocol import Batch

if TYPE_CHECKING:
    from b2bclient.account._parts import ChurnRisk, CustomerValue
    from b2bclient.account._parts_market import WalletShare

__all__ = ["churn_sections", "value_sections"]


def churn_sections(part: ChurnRisk, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each client's churn probability within `horizon` and its top drivers."""
    fitted_as_of(part, "ChurnRisk")
    X = batch.features
    risk = part.at_risk(X)
    p = np.where(risk, part.probability(X), np.nan)
    Z = part.preprocessor_.transform(X[list(part.features)])
    coef = np.asarray(part.model_.coef_, dtype=np.float64)
    push = (Z.to_numpy(dtype=np.float64) - part.mean_.to_numpy()) * coef
    names = list(Z.columns)
    k = min(int(part.n_drivers), len(names))
    top = np.argsort(-push, axis=1, kind="stable")[:, :k]
    raw = {c: _floats(X[c]) for c in part.features}
    horizon = to_duration(part.horizon).total_seconds() / 86_400.0
    probabilities = _floats(p)
    out: list[dict[str, Any] | None] = []
    for i in range(len(X)):
        drivers = []
        if risk[i]:
            for j in top[i]:
                if push[i, j] <= 0:
                    break
                name = names[j]
                drivers.append(
                    {
                        "feature": name,
                        "value": raw[name][i] if name in raw else float(Z.iat[i, j]),
                        "effect": round(float(push[i, j]), 4),
                    }
                )
        out.append(
            {
                "at_risk": bool(risk[i]),
                "horizon_days": horizon,
                "probability": probabilities[i],
                "drivers": drivers,
            }
        )
    return out


def value_sections(part: CustomerValue, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each organisation's P(alive), expected purchases and expected value."""
    from b2bclient.btyd._rfm import summary_from_transactions

    fitted_as_of(part, "CustomerValue")
    deals = batch.tables["deals"]
    won = deals[(deals["status"].astype(object) == "won") & deals["closed_at"].notna()]
    transactions = pd.DataFrame(
        {
            "organisation_id": won["organisation_id"].to_numpy(dtype=object),
            "time": won["closed_at"].to_numpy(),
            "value": won["amount"].to_numpy(dtype=np.float64),
        }
    )
    summary = summary_from_transactions(transactions, batch.as_of, freq="W")
    n = len(summary)
    if n:
        p_alive = np.asarray(part.beta_geo_.p_alive(summary), dtype=np.float64)
        purchases = np.asarray(
            part.beta_geo_.conditional_expected_purchases(part.horizon_weeks, summary),
            dtype=np.float64,
        )
        per_purchase = np.asarray(
            part.gamma_gamma_.conditional_expected_average_profit(summary), dtype=np.float64
        )
        value = np.asarray(
            part.gamma_gamma_.customer_lifetime_value(
                part.beta_geo_,
                summary,
                time=part.months,
                discount_rate=part.discount_rate,
            ),
            dtype=np.float64,
        )
    else:
        p_alive = purchases = per_purchase = value = np.zeros(0)
    position = summary.index.get_indexer(batch.ids)
    columns = [_floats(v) for v in (p_alive, purchases, value, per_purchase)]
    out: list[dict[str, Any] | None] = []
    for pos in position.tolist():
        buyer = pos >= 0
        pa, ep, ev, vp = (c[pos] if buyer else None for c in columns)
        out.append(
            {
                "buyer": buyer,
                "p_alive": pa,
                "expected_purchases": ep,
                "horizon_weeks": float(part.horizon_weeks),
                "expected_value": ev,
                "horizon_months": float(part.months),
                "value_per_purchase": vp,
            }
        )
    return out


def wallet_sections(part: WalletShare, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each organisation's spend, wallet, share of wallet, whitespace and drivers."""
    from b2bclient.potential._wallet import _SPEND

    fitted_as_of(part, "WalletShare")
    model = part.model_
    X = batch.features
    Z = model.preprocessor_.transform(X[list(model.inputs)])
    spend = np.nan_to_num(X[_SPEND].to_numpy(dtype=np.float64), nan=0.0)
    potential = model.predict(X).to_numpy(dtype=np.float64)
    share = np.divide(spend, potential, out=np.zeros(len(spend)), where=potential > 0)
    whitespace = potential - spend
    effect = (Z.to_numpy(dtype=np.float64) - part.matrix_mean_.to_numpy()) * np.asarray(
        model.coefficients_.to_numpy(), dtype=np.float64
    )
    names = list(Z.columns)
    k = min(int(part.n_drivers), len(names))
    top = np.argsort(-np.abs(effect), axis=1, kind="stable")[:, :k]
    columns = [_floats(np.round(v, 2)) for v in (spend, potential, share.round(4), whitespace)]
    out: list[dict[str, Any] | None] = []
    for i in range(len(X)):
        drivers = [
            {"feature": names[j], "effect": round(float(effect[i, j]), 4)}
            for j in top[i].tolist()
            if effect[i, j] != 0
        ]
        s, p, sh, w = (c[i] for c in columns)
        out.append(
            {
                "spend_365d": s or 0.0,
                "potential": p or 0.0,
                "share_of_wallet": min(sh or 0.0, 1.0),
                "whitespace": max(w or 0.0, 0.0),
                "drivers": drivers,
            }
        )
    return out
