"""The health score: 0–100 from weighted measures, with bands calibrated on observed churn.

The fits of its weights and cut-offs live in :mod:`b2bclient.account._health_calibration`, the
body of its portrait section in :mod:`b2bclient.account._health_section`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.account._health_calibration import fit_cutoffs, fit_weights
from b2bclient.account._health_section import health_sections
from b2bclient.account._part_checks import fitted_as_of
from b2bclient.account._part_features import known_features, require_known
from b2bclient.account._protocol import Batch, register_part_schema
from b2bclient.account._ranks import ORGANISATION_EXTRACTORS, percentile_of, reference_grid

__all__ = ["CHURN_COLUMN", "MEASURES", "HealthScore", "Measure"]

#: Column holding the churn part's probability in the frame the measures read.
CHURN_COLUMN = "churn__probability"
BANDS = ("red", "yellow", "green")


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


@attrs.frozen(kw_only=True)
class Measure:
    """One measure of the health score.

    Parameters
    ----------
    name : str
        Name shown in portraits (``"support_load"``).
    columns : tuple of str
        Feature columns it reads (``build_features`` names, or ``"churn__probability"`` for the
        churn part's probability); its sub-score is the mean of their percentiles.
    direction : {1, -1}
        1 when a higher value is healthier, -1 when it is worse (tickets, churn probability).
    description : str
        What it measures.

    Examples
    --------
    >>> Measure(name="tickets", columns=("engagement__tickets_365d",), direction=-1).direction
    -1
    """

    name: str
    columns: tuple[str, ...] = attrs.field(converter=_as_tuple)
    direction: int = attrs.field(validator=attrs.validators.in_((1, -1)))
    description: str = ""


#: The default measures, as account managers know them from customer-success tools.
MEASURES = (
    Measure(
        name="purchase_trend",
        columns=("purchasing__trend_revenue_365d", "purchasing__orders_365d"),
        direction=1,
        description="Purchases in the last year and their trend against the year before.",
    ),
    Measure(
        name="engagement",
        columns=(
            "engagement__interactions_365d",
            "engagement__portal_share_365d",
            "engagement__self_service_share_365d",
        ),
        direction=1,
        description="Interactions in the last year and the share on the portal and self-service.",
    ),
    Measure(
        name="support_load",
        columns=("engagement__tickets_365d",),
        direction=-1,
        description="Support tickets in the last year.",
    ),
    Measure(
        name="contract_coverage",
        columns=("contracts__active", "contracts__active_value"),
        direction=1,
        description="An active contract and its value.",
    ),
    Measure(
        name="churn_probability",
        columns=(CHURN_COLUMN,),
        direction=-1,
        description="Probability of churning within the churn part's horizon.",
    ),
)

_MEASURE_SCHEMA = {
    "type": "object",
    "required": ["name", "subscore", "weight", "contribution"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "subscore": {"type": "number", "minimum": 0, "maximum": 100},
        "weight": {"type": "number", "minimum": 0, "maximum": 1},
        "contribution": {"type": "number"},
    },
}


@register_part_schema
class HealthScore(BaseEstimator):  # type: ignore[misc]
    """A 0–100 health score of each client, red/yellow/green, calibrated on observed churn.

    Each :class:`Measure` becomes a sub-score from 0 (worst) to 100 (best): the mean percentile
    of its columns among the clients at the calibration cutoff, turned round for measures where
    more is worse; a missing value counts as the median (50). The score is the weighted mean of
    the sub-scores. Calibration (`fit`) looks back one `horizon` from `as_of`:

    1. at the cutoff ``as_of - horizon`` the clients at risk (a purchase in the `gap` before) are
       labelled 1 if their churn by inactivity (no purchase for `gap`,
       :class:`b2bclient.churn.Inactivity`) is declared before `as_of`, else 0;
    2. the weights are equal by default (``weights="equal"``), or given per measure (normalised
       to sum to 1), or with ``weights="auto"`` those of a logistic regression of that label on
       the sub-scores with non-negative coefficients (a healthier sub-score may only lower the
       risk), floored at `min_weight` and normalised. Fitted weights follow the observable
       label, inactivity, which is a noisy trace of churn: on the synthetic bases they rank the
       planted churn worse than equal weights (``docs/account.md``), hence the default;
    3. a logistic curve of the label on the score gives the cut-offs: red below the score where
       the fitted churn risk is `red_risk` times the base rate, green above the score where it is
       `green_risk` times the base rate (with explicit `bands` they are kept).

    The ``churn_probability`` measure reads the churn part of the bundle (:class:`ChurnRisk`);
    the calibration uses a copy of that part refitted as of the cutoff, since the bundle's own
    was fitted on the very outcomes the calibration predicts. Without a churn part that measure
    is left out. The
    trend compares the score with the score one `period` earlier; the holding's score is the
    mean of its members' weighted by their purchases in the last year (plus one); the measures
    that moved it are those whose weighted sub-score changed most over the period.

    Parameters
    ----------
    measures : tuple of Measure, default MEASURES
        What the score is made of.
    weights : "equal", "auto" or dict of str to float, default "equal"
        Equal, fitted on the data, or given per measure name (non-negative; normalised).
    bands : "auto" or tuple of two floats, default "auto"
        Calibrated cut-offs, or ``(red_below, green_from)`` on the 0–100 scale.
    gap : str, default "365D"
        Inactivity that defines churn in the calibration (as in :class:`ChurnRisk`).
    horizon : str, default "180D"
        Churn window of the calibration (and of the back-test in ``docs/account.md``).
    period : str, default "90D"
        Period of the trend.
    min_weight : float, default 0.05
        With ``weights="auto"``: floor of every fitted weight (before normalising), so that each measure still moves
        the score even when another one dominates the fit; 0 keeps the fit as it is.
    red_risk, green_risk : float, default 2.0 and 0.5
        Churn risk relative to the base rate at the red and green cut-offs.

    Attributes
    ----------
    as_of_, cutoff_ : pandas.Timestamp
        When it was fitted, and the calibration cutoff ``as_of - horizon``.
    measures_ : tuple of str
        Names of the measures used (a measure whose columns are unavailable is left out).
    weights_ : pandas.Series
        Weight of every used measure; sums to 1.
    references_ : dict of str to numpy.ndarray
        Reference order statistics of every column, among the clients at the cutoff.
    cutoffs_ : tuple of float
        ``(red_below, green_from)``.
    churn_rate_ : float
        Share of the calibration clients that churned within `horizon`.
    band_churn_rate_ : pandas.Series
        Observed churn rate of each band in the calibration.
    n_calibration_ : int
        Clients in the calibration.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(600, seed=1)
    >>> hs = HealthScore().fit(base, "2025-01-01")
    >>> float(hs.weights_.sum()), hs.cutoffs_[0] <= hs.cutoffs_[1]
    (1.0, True)
    >>> hs.score(base, "2025-01-01")["band"].isin(["red", "yellow", "green"]).all()
    np.True_
    """

    name: ClassVar[str] = "health"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["score", "band", "previous_score", "trend", "measures", "movers", "holding"],
        "additionalProperties": False,
        "properties": {
            "score": {"type": "number", "minimum": 0, "maximum": 100},
            "band": {"enum": list(BANDS)},
            "previous_score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
            "trend": {"type": ["number", "null"]},
            "measures": {"type": "array", "items": _MEASURE_SCHEMA},
            "movers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "change"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "change": {"type": "number"}},
                },
            },
            "holding": {
                "type": "object",
                "required": ["top_parent_id", "members", "score", "band"],
                "additionalProperties": False,
                "properties": {
                    "top_parent_id": {"type": "string"},
                    "members": {"type": "integer", "minimum": 1},
                    "score": {"type": "number", "minimum": 0, "maximum": 100},
                    "band": {"enum": list(BANDS)},
                },
            },
        },
    }

    def __init__(
        self,
        *,
        measures: tuple[Measure, ...] = MEASURES,
        weights: str | Mapping[str, float] = "equal",
        bands: str | tuple[float, float] = "auto",
        gap: str = "365D",
        horizon: str = "180D",
        period: str = "90D",
        min_weight: float = 0.05,
        red_risk: float = 2.0,
        green_risk: float = 0.5,
    ) -> None:
        self.measures = measures
        self.weights = weights
        self.bands = bands
        self.gap = gap
        self.horizon = horizon
        self.period = period
        self.min_weight = min_weight
        self.red_risk = red_risk
        self.green_risk = green_risk

    # ------------------------------------------------------------------ fit

    def _check(self) -> None:
        owner = "HealthScore"
        if not self.measures or not all(isinstance(m, Measure) for m in self.measures):
            raise InvalidParameterError(
                f"The 'measures' parameter of {owner} must be a non-empty tuple of Measure "
                f"records. Got {self.measures!r} instead."
            )
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"The measures of {owner} have duplicate names: {names}.")
        if not (isinstance(self.weights, str) and self.weights in ("auto", "equal")):
            if not isinstance(self.weights, Mapping) or set(self.weights) - set(names):
                raise InvalidParameterError(
                    f"The 'weights' parameter of {owner} must be 'equal', 'auto' or a dict from "
                    f"measure "
                    f"names {names} to non-negative numbers. Got {self.weights!r} instead."
                )
            if any(not (float(w) >= 0) for w in self.weights.values()) or not sum(
                float(w) for w in self.weights.values()
            ):
                raise InvalidParameterError(
                    f"The 'weights' of {owner} must be non-negative with a positive sum. Got "
                    f"{dict(self.weights)!r} instead."
                )
        if not (isinstance(self.bands, str) and self.bands == "auto"):
            ok = isinstance(self.bands, (tuple, list)) and len(self.bands) == 2
            if not ok or not 0 <= float(self.bands[0]) <= float(self.bands[1]) <= 100:
                raise InvalidParameterError(
                    f"The 'bands' parameter of {owner} must be 'auto' or (red_below, green_from) "
                    f"with 0 <= red_below <= green_from <= 100. Got {self.bands!r} instead."
                )
        if not 0.0 <= float(self.min_weight) < 1.0 / len(self.measures):
            raise InvalidParameterError(
                f"The 'min_weight' parameter of {owner} must be in [0, 1 / number of measures). "
                f"Got {self.min_weight!r} instead."
            )
        if not (float(self.red_risk) > 1.0 > float(self.green_risk) > 0.0):
            raise InvalidParameterError(
                f"{owner} needs red_risk > 1 > green_risk > 0 (churn risk relative to the base "
                f"rate). Got red_risk={self.red_risk!r}, green_risk={self.green_risk!r}."
            )

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] | None = None) -> HealthScore:
        """Calibrate weights and cut-offs on the churn observed in the `horizon` before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : mapping, optional
            Parts fitted before this one; a ``"churn"`` part feeds the churn-probability measure.

        Returns
        -------
        HealthScore
            ``self``.

        Raises
        ------
        InvalidParameterError
            For bad parameters, an `as_of` before the data, or fewer than 20 clients or 5
            churn events in the calibration window.
        """
        from b2bclient.churn import Inactivity

        self._check()
        owner = "HealthScore.fit"
        t = to_timestamp(as_of, owner=owner)
        horizon = to_duration(self.horizon, name="horizon", owner="HealthScore")
        to_duration(self.period, name="period", owner="HealthScore")
        churn = (parts or {}).get("churn")
        require_known(base, t, "HealthScore")
        cutoff = t - horizon
        calibration_churn = None
        if churn is not None:
            # A churn model fitted on outcomes up to as_of would be in-sample at the cutoff and
            # claim too much weight: calibrate with the same part refitted as of the cutoff.
            from sklearn.base import clone

            try:
                calibration_churn = clone(churn).fit(base.as_of(cutoff), cutoff)
            except InvalidParameterError as exc:
                raise InvalidParameterError(
                    f"HealthScore calibrates its churn measure with the churn part refitted at "
                    f"the cutoff {cutoff.date()}, which failed: {exc}"
                ) from exc
        X = self._frame(
            known_features(base, cutoff, "HealthScore (at as_of - horizon)"), calibration_churn
        )
        to_duration(self.gap, name="gap", owner="HealthScore")
        label = Inactivity(self.gap).label(base.as_of(t), cutoff, horizon)
        y = label.to_numpy(dtype=np.float64)
        if len(y) < 20 or y.sum() < 5 or y.sum() > len(y) - 5:
            raise InvalidParameterError(
                f"HealthScore needs at least 20 clients at {cutoff.date()} with 5 churned and 5 "
                f"staying by {t.date()} to calibrate; got {len(y)} clients, {int(y.sum())} "
                "churned. Fit at a later as_of, or give weights and bands explicitly."
            )
        clients = X.reindex(label.index)
        used = [m for m in self.measures if all(c in X.columns for c in m.columns)]
        if not used:
            raise InvalidParameterError(
                f"None of the measures of HealthScore can be computed: they read "
                f"{[m.columns for m in self.measures]}."
            )
        self.measures_ = tuple(m.name for m in used)
        self.references_ = {c: reference_grid(clients[c]) for m in used for c in m.columns}
        S = self._subscores(clients, used)
        weights = fit_weights(self, S, y, used)
        self.weights_ = pd.Series(weights, index=list(self.measures_), name="weight")
        score = S @ weights
        self.churn_rate_ = float(y.mean())
        self.cutoffs_ = fit_cutoffs(self, score, y)
        bands = self._band(score)
        rates = pd.Series(y).groupby(bands).mean().reindex(list(BANDS))
        self.band_churn_rate_ = rates.rename("churn_rate")
        self.n_calibration_ = len(y)
        self.cutoff_ = cutoff
        self.as_of_ = t
        return self

    def _frame(self, X: pd.DataFrame, churn: Any) -> pd.DataFrame:
        if churn is None:
            return X
        p = churn.probability(X)
        return X.assign(**{CHURN_COLUMN: np.where(churn.at_risk(X), p, np.nan)})

    def _subscores(self, X: pd.DataFrame, used: Sequence[Measure]) -> np.ndarray:
        S = np.empty((len(X), len(used)))
        for j, m in enumerate(used):
            cols = [percentile_of(self.references_[c], X[c].to_numpy()) for c in m.columns]
            ranks = np.nan_to_num(np.vstack(cols), nan=50.0).mean(axis=0)
            S[:, j] = ranks if m.direction > 0 else 100.0 - ranks
        return S

    def _band(self, score: np.ndarray) -> np.ndarray:
        red, green = self.cutoffs_
        return np.where(score < red, "red", np.where(score >= green, "green", "yellow"))

    # ------------------------------------------------------------------ scoring

    def score_frame(
        self, X: pd.DataFrame, previous: pd.DataFrame | None = None, churn: Any = None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Return score, band and sub-scores of every row of a feature frame.

        Parameters
        ----------
        X : pandas.DataFrame
            Features (``build_features``) as of the scoring time.
        previous : pandas.DataFrame, optional
            Features one `period` earlier, indexed like `X`, for the trend.
        churn : ChurnRisk, optional
            The churn part, for the churn-probability measure.

        Returns
        -------
        frame : pandas.DataFrame
            ``score``, ``band``, ``previous_score``, ``trend``, indexed like `X`.
        contributions : numpy.ndarray
            Weighted sub-scores now (and their change), shape ``(n, n_measures, 2)``.
        """
        fitted_as_of(self, "HealthScore")
        used = [m for m in self.measures if m.name in self.measures_]
        S = self._subscores(self._frame(X, churn), used)
        w = self.weights_.to_numpy()
        score = S @ w
        frame = pd.DataFrame({"score": score, "band": self._band(score)}, index=X.index)
        change = np.full(S.shape, np.nan)
        if previous is not None:
            S0 = self._subscores(self._frame(previous, churn), used)
            existed = previous.notna().any(axis=1).to_numpy()
            previous_score = np.where(existed, S0 @ w, np.nan)
            change = np.where(existed[:, None], (S - S0) * w, np.nan)
            frame["previous_score"] = previous_score
            frame["trend"] = score - previous_score
        else:
            frame["previous_score"] = np.nan
            frame["trend"] = np.nan
        return frame, np.stack([S * w, change], axis=2)

    def score(self, base: Any, as_of: Any, *, churn: Any = None) -> pd.DataFrame:
        """Return the health score of every organisation known before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Scoring time (at or after the fit's `as_of`).
        churn : ChurnRisk, optional
            The churn part, when the score was fitted with one.

        Returns
        -------
        pandas.DataFrame
            ``score``, ``band``, ``previous_score`` and ``trend`` (against one `period`
            earlier), indexed by ``organisation_id``.
        """
        t = to_timestamp(as_of, owner="HealthScore.score")
        self._check_churn(churn)
        X = known_features(base, t, "HealthScore.score")
        before = t - to_duration(self.period)
        previous = build_previous(base, before, X.index)
        frame, _ = self.score_frame(X, previous, churn)
        return frame

    def _check_churn(self, churn: Any) -> None:
        if "churn_probability" in getattr(self, "measures_", ()) and churn is None:
            raise InvalidParameterError(
                "This HealthScore was fitted with a churn part (ChurnRisk); score it with the same "
                "part: churn=models.part('churn'), or a bundle that holds it."
            )

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return each organisation's score, band, trend, measures, movers and holding score."""
        return health_sections(self, batch)


def build_previous(base: Any, t: pd.Timestamp, index: pd.Index) -> pd.DataFrame:
    """Return the organisation-scope features as of `t`, reindexed to `index` (NaN if unknown)."""
    from b2bclient.features import build_features

    return build_features(base, t, list(ORGANISATION_EXTRACTORS)).reindex(index)
