"""Portrait parts on what is under way: the procurement forecast of projects, the open deals' odds.

:class:`ProcurementForecast` wraps :class:`~b2bclient.lifecycle.LifecycleModel` (section
``lifecycle``), :class:`DealOutlook` wraps :class:`~b2bclient.pipeline.WinModel` (section
``pipeline``). Both score the batch's own rows at the portrait's time: the projects active and the
deals open at ``batch.as_of``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.account._core import MAX_LISTED, _floats, group_rows, iso
from b2bclient.account._part_checks import check_model, fitted_as_of
from b2bclient.account._part_features import require_known
from b2bclient.account._protocol import Batch, register_part_schema
from b2bclient.base._schema import STAGES

__all__ = ["DealOutlook", "ProcurementForecast"]

_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _batch_base(batch: Batch) -> Any:
    """The batch's rows as a ClientBase (already cut at ``batch.as_of``, not validated again)."""
    return batch.tables._base


def _days(span: Any, name: str, owner: str) -> float:
    return float(to_duration(span, name=name, owner=owner) / pd.Timedelta(days=1))


@register_part_schema
class ProcurementForecast(BaseEstimator):  # type: ignore[misc]
    """When each active project reaches procurement, and which ones sales should engage now.

    `fit` fits a :class:`~b2bclient.lifecycle.LifecycleModel` on the stage histories before
    `as_of`. A portrait lists the client's projects active at its time (the largest
    ``MAX_LISTED`` by expected value, all counted): stage, days in it, the probability that
    procurement starts within 30, 90 and 180 days, the expected procurement date with its 80%
    interval and the probability that the project ends first. A project still before procurement
    whose probability within `within` reaches `min_probability` is an **alert**, with the reason
    in plain words (as :meth:`~b2bclient.lifecycle.LifecycleModel.alerts`).

    Parameters
    ----------
    model : LifecycleModel, optional
        The lifecycle model to fit (cloned); by default ``LifecycleModel(n_draws=256)``.
    within : str, default "90D"
        Horizon of the alerts (one of the model's `horizons`).
    min_probability : float, default 0.5
        Smallest probability of procurement within `within` that raises an alert.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    model_ : LifecycleModel
        The fitted model.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(600, seed=2)
    >>> part = ProcurementForecast().fit(base, "2024-07-01")
    >>> part.model_.n_draws
    256
    """

    name: ClassVar[str] = "lifecycle"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["count", "alerts", "within_days", "projects"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "alerts": {"type": "integer", "minimum": 0},
            "within_days": {"type": "number", "exclusiveMinimum": 0},
            "projects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "project_id",
                        "stage",
                        "days_in_stage",
                        "p_procurement_30d",
                        "p_procurement_90d",
                        "p_procurement_180d",
                        "expected_procurement_at",
                        "procurement_from",
                        "procurement_to",
                        "p_cancel",
                        "alert",
                        "reason",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "project_id": {"type": "string"},
                        "stage": {"enum": list(STAGES)},
                        "days_in_stage": {"type": "number", "minimum": 0},
                        "p_procurement_30d": _PROBABILITY,
                        "p_procurement_90d": _PROBABILITY,
                        "p_procurement_180d": _PROBABILITY,
                        "expected_procurement_at": _TIME,
                        "procurement_from": _TIME,
                        "procurement_to": _TIME,
                        "p_cancel": _PROBABILITY,
                        "alert": {"type": "boolean"},
                        "reason": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }

    def __init__(
        self, *, model: Any = None, within: str = "90D", min_probability: float = 0.5
    ) -> None:
        self.model = model
        self.within = within
        self.min_probability = min_probability

    def _spans(self) -> dict[str, float]:
        spans = {f"p_procurement_{d}d": float(d) for d in (30, 90, 180)}
        within = _days(self.within, "within", "ProcurementForecast")
        spans[f"p_procurement_{within:g}d"] = within
        return spans

    def fit(
        self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None
    ) -> ProcurementForecast:
        """Fit the lifecycle model on the stage histories before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            Ignored.

        Returns
        -------
        ProcurementForecast
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter, or an `as_of` before every organisation or every stage.
        """
        from b2bclient.lifecycle import LifecycleModel

        t = to_timestamp(as_of, owner="ProcurementForecast.fit")
        self._spans()
        p: Any = self.min_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
            raise InvalidParameterError(
                f"The 'min_probability' parameter of ProcurementForecast must be a probability "
                f"in [0, 1] such as 0.5. Got {p!r} instead."
            )
        model = check_model(self.model, LifecycleModel, "ProcurementForecast")
        if self.model is None:
            model.set_params(n_draws=256)
        require_known(base, t, "ProcurementForecast")
        return self._adopt(model.fit(base, t), base, t)

    def _adopt(self, model: Any, base: Any, t: pd.Timestamp) -> ProcurementForecast:
        """Take a fitted lifecycle model (fitted at or before `t`)."""
        self.model_ = model
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's active projects with their procurement forecast."""
        from b2bclient.lifecycle._reasons import reasons

        fitted_as_of(self, "ProcurementForecast")
        spans = self._spans()
        within = _days(self.within, "within", "ProcurementForecast")
        label = f"p_procurement_{within:g}d"
        base = _batch_base(batch)
        if len(base.stages) == 0 or not (base.stages["started_at"] < batch.as_of).any():
            frame = pd.DataFrame(columns=["organisation_id"])
            current = frame
        else:
            frame, current = self.model_._predict(base, batch.as_of, None, spans)
        n = len(frame)
        alert = np.zeros(n, dtype=bool)
        text: list[str | None] = [None] * n
        if n:
            before = frame["stage"].cat.codes.to_numpy() < STAGES.index("procurement")
            alert = before & (frame[label].to_numpy() >= float(self.min_probability))
            rows = np.flatnonzero(alert)
            if len(rows):
                said = reasons(
                    self.model_,
                    frame.iloc[rows].reset_index(drop=True),
                    current.iloc[rows].reset_index(drop=True),
                    label,
                    within,
                )
                for i, s in zip(rows.tolist(), said, strict=True):
                    text[i] = s
        records = self._records(frame, alert, text) if n else []
        value = self._values(batch, frame)
        groups = group_rows(frame["organisation_id"], batch.ids)
        out: list[dict[str, Any] | None] = []
        for rows in groups:
            ranked = rows[np.argsort(-value[rows], kind="stable")][:MAX_LISTED]
            out.append(
                {
                    "count": len(rows),
                    "alerts": int(alert[rows].sum()),
                    "within_days": within,
                    "projects": [records[i] for i in ranked.tolist()],
                }
            )
        return out

    @staticmethod
    def _values(batch: Batch, frame: pd.DataFrame) -> np.ndarray:
        if not len(frame):
            return np.zeros(0)
        projects = batch.tables["projects"].set_index("project_id")["expected_value"]
        value = projects.reindex(frame["project_id"].to_numpy()).to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        return np.asarray(np.nan_to_num(value, nan=-np.inf), dtype=np.float64)

    @staticmethod
    def _records(frame: pd.DataFrame, alert: np.ndarray, text: list[str | None]) -> list[Any]:
        columns: dict[str, list[Any]] = {
            "project_id": frame["project_id"].astype(str).tolist(),
            "stage": frame["stage"].astype(str).tolist(),
            "days_in_stage": _floats(np.round(frame["days_in_stage"].to_numpy(np.float64), 2)),
        }
        for d in (30, 90, 180):
            name = f"p_procurement_{d}d"
            columns[name] = _floats(np.round(frame[name].to_numpy(np.float64), 4))
        for name in ("expected_procurement_at", "procurement_from", "procurement_to"):
            columns[name] = iso(pd.to_datetime(frame[name]))
        columns["p_cancel"] = _floats(np.round(frame["p_cancel"].to_numpy(np.float64), 4))
        columns["alert"] = alert.tolist()
        columns["reason"] = text
        keys = list(columns)
        return [
            dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]


@register_part_schema
class DealOutlook(BaseEstimator):  # type: ignore[misc]
    """Each open deal's chance to be won, and to be won within a horizon.

    `fit` fits a :class:`~b2bclient.pipeline.WinModel` on the deals closed before `as_of`. A
    portrait scores the client's deals open at its time (the largest ``MAX_LISTED`` listed, all
    counted): ``p_win`` (won eventually), ``p_close`` (closes within `horizon`, from the
    deal's age and the time to close of its channel), ``p_won`` (won within `horizon`), and the
    expected value won within `horizon` over all its open deals.

    Parameters
    ----------
    model : WinModel, optional
        The win model to fit (cloned); by default ``WinModel()``.
    horizon : str, default "90D"
        Horizon of ``p_close`` and ``p_won``.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
    model_ : WinModel
        The fitted model.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(400, seed=1)
    >>> part = DealOutlook().fit(base, "2025-01-01")
    >>> part.model_.training_rows_ > 0
    True
    """

    name: ClassVar[str] = "pipeline"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["count", "horizon_days", "expected_won_value", "deals"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "horizon_days": {"type": "number", "exclusiveMinimum": 0},
            "expected_won_value": {"type": "number", "minimum": 0},
            "deals": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["deal_id", "amount", "channel", "p_win", "p_close", "p_won"],
                    "additionalProperties": False,
                    "properties": {
                        "deal_id": {"type": "string"},
                        "amount": {"type": "number", "minimum": 0},
                        "channel": {"type": ["string", "null"]},
                        "p_win": _PROBABILITY,
                        "p_close": _PROBABILITY,
                        "p_won": _PROBABILITY,
                    },
                },
            },
        },
    }

    def __init__(self, *, model: Any = None, horizon: str = "90D") -> None:
        self.model = model
        self.horizon = horizon

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None) -> DealOutlook:
        """Fit the win model on the deals closed before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            Ignored.

        Returns
        -------
        DealOutlook
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a bad parameter or an `as_of` before the data.
        InvalidTablesError
            Without won and lost deals closed before `as_of`.
        """
        from b2bclient.pipeline import WinModel

        t = to_timestamp(as_of, owner="DealOutlook.fit")
        _days(self.horizon, "horizon", "DealOutlook")
        model = check_model(self.model, WinModel, "DealOutlook")
        require_known(base, t, "DealOutlook")
        return self._adopt(model.fit(base, as_of=t), base, t)

    def _adopt(self, model: Any, base: Any, t: pd.Timestamp) -> DealOutlook:
        """Take a win model fitted on a client base at or before `t`."""
        if getattr(model, "close_time_", None) is None:
            raise InvalidParameterError(
                "DealOutlook needs a WinModel fitted on a client base (fit(base, as_of=...)); "
                "this one was fitted on a plain matrix."
            )
        self.model_ = model
        self.as_of_ = t
        return self

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's open deals with their odds, and the value expected won."""
        fitted_as_of(self, "DealOutlook")
        horizon = _days(self.horizon, "horizon", "DealOutlook")
        base = _batch_base(batch)
        deals = base.deals
        if not (deals["status"].astype(object) == "open").any():
            scored = pd.DataFrame(columns=["organisation_id"])
        else:
            scored = self.model_.p_close_within(base, batch.as_of, horizon=self.horizon)
        n = len(scored)
        amount = scored["amount"].to_numpy(np.float64) if n else np.zeros(0)
        won = scored["expected_won"].to_numpy(np.float64) if n else np.zeros(0)
        records: list[dict[str, Any]] = []
        if n:
            columns: dict[str, list[Any]] = {
                "deal_id": [str(v) for v in scored.index.tolist()],
                "amount": _floats(amount),
                "channel": [None if pd.isna(v) else str(v) for v in scored["channel"].tolist()],
            }
            for name in ("p_win", "p_close", "p_won"):
                columns[name] = _floats(np.round(scored[name].to_numpy(np.float64), 4))
            keys = list(columns)
            records = [
                dict(zip(keys, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
        groups = group_rows(scored["organisation_id"], batch.ids)
        out: list[dict[str, Any] | None] = []
        for rows in groups:
            ranked = rows[np.argsort(-amount[rows], kind="stable")][:MAX_LISTED]
            out.append(
                {
                    "count": len(rows),
                    "horizon_days": horizon,
                    "expected_won_value": round(float(np.nansum(won[rows])), 2),
                    "deals": [records[i] for i in ranked.tolist()],
                }
            )
        return out
