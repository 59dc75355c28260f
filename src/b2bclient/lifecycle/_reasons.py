"""Plain-word reasons for a procurement alert: where the project is, when procurement should come."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base._schema import STAGES

__all__ = ["reasons"]

#: What a covariate that speeds the current stage up (or slows it down) means, in words.
_WORDS = {
    "log_expected_value": ("a small project", "a large project"),
    "firmographics__log_employees": ("a small organisation", "a large organisation"),
    "log1p_projects_created_365d": (
        "an organisation that runs many projects",
        "an organisation with few recent projects",
    ),
    "contracts__active": ("a running framework contract", "no running contract"),
    "contracts__cancellations_365d": (
        "no contract cancelled lately",
        "a contract cancelled lately",
    ),
}


def _driver(model: Any, frame: pd.DataFrame, codes: np.ndarray) -> list[str]:
    """Return, per row, the covariate that moves its current stage most against the average."""
    out = [""] * len(frame)
    sample = model.covariate_sample_
    for s, fitted in enumerate(model.transitions_):
        rows = np.flatnonzero(codes == s)
        if not len(rows):
            continue
        names = list(fitted["names"])
        best = np.zeros(len(rows))
        for name, word in _WORDS.items():
            if name not in names or name not in frame or name not in sample:
                continue
            coef = float(fitted["coef"][names.index(name)])
            value = frame[name].to_numpy(dtype=np.float64)[rows]
            typical = float(np.nanmean(sample[name].to_numpy(dtype=np.float64)))
            push = coef * (value - typical)
            stronger = np.abs(push) > np.maximum(best, 0.05)
            for i in np.flatnonzero(stronger & np.isfinite(push)):
                best[i] = abs(push[i])
                side = word[1] if (value[i] - typical) > 0 else word[0]
                pace = "slows it down" if push[i] > 0 else "speeds it up"
                out[rows[i]] = f"{side} {pace} (compared with a typical project in {STAGES[s]})"
    return out


def reasons(
    model: Any, frame: pd.DataFrame, covariates: pd.DataFrame, label: str, span: float
) -> list[str]:
    """Return one sentence per row of `frame` (rows of ``predict``; `covariates` row for row)."""
    drivers = _driver(model, covariates, frame["stage"].cat.codes.to_numpy())
    text = []
    for i, row in enumerate(frame.itertuples(index=False)):
        data = row._asdict()
        at = pd.Timestamp(data["expected_procurement_at"])
        lo, hi = pd.Timestamp(data["procurement_from"]), pd.Timestamp(data["procurement_to"])
        sentence = (
            f"In {data['stage']} for {data['days_in_stage']:.0f} days; "
            f"{data[label]:.0%} chance that procurement starts within {span:g} days, "
            f"around {at.date()} (80% between {lo.date()} and {hi.date()})"
        )
        if data["p_cancel"] >= 0.15:
            sentence += f"; {data['p_cancel']:.0%} risk that it ends before procurement"
        if drivers[i]:
            sentence += f"; {drivers[i]}"
        text.append(sentence + ".")
    return text
