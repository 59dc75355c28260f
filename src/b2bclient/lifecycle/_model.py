"""LifecycleModel: when will an active project reach procurement, and will it get there at all.

A multi-state model of the stages design -> production -> procurement -> delivery ->
commissioning, with two competing exits (the project cancelled, the project ended with its
organisation). Each stage's duration is a log-normal AFT model on the project's covariates at its
start and the log-days of its earlier stages; each exit a cause-specific hazard, constant within
a stage (see :mod:`b2bclient.lifecycle._fit`). Predictions integrate over the paths ahead (see
:mod:`b2bclient.lifecycle._forecast` and :mod:`b2bclient.lifecycle._simulate`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import (
    InvalidParameterError,
    LookAheadError,
    NotFittedError,
)
from b2bclient.base import ClientBase, PartitionedClientBase
from b2bclient.base._partitioned import in_memory_engine, score_partitions
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._alerts import project_alerts
from b2bclient.lifecycle._checks import check_base
from b2bclient.lifecycle._checks import spans as check_spans
from b2bclient.lifecycle._covariates import (
    DEFAULT_COVARIATES,
    DEFAULT_LOSS_COVARIATES,
    project_covariates,
)
from b2bclient.lifecycle._fit import fit_exit, fit_transition, lag_matrix, log_days
from b2bclient.lifecycle._forecast import (
    EXITS,
    current_projects,
    forecast,
)
from b2bclient.lifecycle._history import check_covariates, spells, within_window
from b2bclient.lifecycle._occupation import occupation
from b2bclient.lifecycle._partitioned import (
    _alerts_part,
    _by_project,
    _most_likely,
    _partitioned_as_of,
    _predict_part,
)

__all__ = ["EXITS", "LifecycleModel"]

_OWNER = "LifecycleModel"
_N = len(STAGES)
_SAMPLE = 400  # projects kept to average state occupation over


class LifecycleModel(BaseEstimator):  # type: ignore[misc]
    """Predict when active projects reach procurement, with a multi-state model of their stages.

    A project passes design -> production -> procurement -> delivery -> commissioning and may
    leave at any stage by one of two competing exits: ``cancelled`` (its organisation stays) or
    ``organisation_lost`` (the project ends with the client relationship: its organisation,
    active before, has recorded nothing since). :meth:`fit` reads the stage histories known before
    `as_of` and fits, with lifelines,

    * per stage, a log-normal accelerated failure time model of its duration on the project's
      `covariates` (as of the project's start) and the log-days of the project's earlier stages,
      censored by the exits and by `as_of`, with delayed entry for stages that started before the
      project was recorded;
    * per exit, a cause-specific proportional hazard, constant within each stage (the
      piecewise-exponential maximum-likelihood estimate for the coefficients, the Breslow-type
      estimate of a constant baseline per stage): `covariates` for ``cancelled``, the organisation's churn-risk `loss_covariates` for
      ``organisation_lost``; the rates from the time at risk within `exit_window`.

    :meth:`predict` integrates over the paths ahead of every active project. Nothing of lifelines
    is kept: the fitted state is plain arrays and frames, saved by :func:`b2bclient.save`.

    Parameters
    ----------
    covariates : sequence of str, default DEFAULT_COVARIATES
        Covariates of the durations and of the project's own cancellation, from
        :data:`~b2bclient.lifecycle.COVARIATES`: the project's expected value and its
        organisation's features as known at the project's start.
    loss_covariates : sequence of str, default DEFAULT_LOSS_COVARIATES
        Covariates of the exit ``organisation_lost``: the organisation's churn risk at the
        project's start.
    horizons : sequence of str, default ("30D", "90D", "180D")
        Horizons of the probabilities ``p_procurement_<days>d`` of :meth:`predict`.
    penalizer : float, default 0.0
        L2 penalty of the lifelines fits (0: plain maximum likelihood, whose 95% intervals are
        reported in `coefficients_`).
    n_draws : int, default 1024
        Quasi-random paths per project (rounded up to a power of two).
    random_state : int, default 0
        Seed of the scrambled Sobol points: the same seed gives the same predictions.
    window : str, optional
        Fit on the time at risk within this window before `as_of` only (such as ``"365D"``):
        spells that ended before it are left out and those running into it enter late (delayed
        entry), so the durations and exit rates are those of the recent past. The earlier
        stages' log-days and the covariates are still read from the whole history. None: all
        history.
    exit_window : str or None, default "365D"
        Estimate the exit rate of each stage on the time at risk within this window before
        `as_of` (delayed entry, as for `window`); the exits' coefficients still come from the
        whole history. How often projects end moves in calendar time with the client base's
        churn (in the synthetic base it rises after the landmark), so the rate that applies
        ahead is the recent one, while the effect of a covariate is stable. None: the whole
        history, as the other fits.

    Attributes
    ----------
    as_of_ : pandas.Timestamp
        The point in time of the fit; :meth:`predict` refuses an earlier one.
    coefficients_ : pandas.DataFrame
        Every fitted coefficient with its standard error and 95% interval: columns ``part``
        (``duration``, ``cancelled`` or ``organisation_lost``), ``stage`` (for durations),
        ``term``, ``coef``, ``se``, ``lower_95``, ``upper_95``. Duration terms act on the log of
        the days (positive: slower), exit terms on the log hazard (positive: more exits);
        ``log_sigma`` is the log of the spread of a stage's log-days.
    penalizers_ : pandas.Series
        The penalty each fit used: `penalizer`, or 0.01 where an unpenalised fit did not
        converge (a ``ConvergenceWarning`` says so).
    exit_rates_ : pandas.DataFrame
        The baseline hazard per day of each exit in each stage (at covariates 0).
    spells_ : pandas.DataFrame
        Per stage, the spells fitted on and how they ended.
    transitions_ : list of dict
        Per stage: the preprocessor, term names, intercept, coefficients and sigma.
    exits_ : dict
        Per exit: the preprocessor, term names, coefficients and rate per stage.
    covariate_sample_ : pandas.DataFrame
        Covariates of up to 400 projects at their start, over which :meth:`state_occupation`
        averages.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(600, seed=2)
    >>> model = LifecycleModel(n_draws=256).fit(base, as_of="2024-07-01")
    >>> forecast = model.predict(base, as_of="2024-07-01")
    >>> list(forecast.columns[:4])
    ['project_id', 'organisation_id', 'stage', 'days_in_stage']
    >>> bool(forecast["p_procurement_30d"].le(forecast["p_procurement_180d"]).all())
    True
    """

    def __init__(
        self,
        *,
        covariates: Sequence[str] = DEFAULT_COVARIATES,
        loss_covariates: Sequence[str] = DEFAULT_LOSS_COVARIATES,
        horizons: Sequence[str] = ("30D", "90D", "180D"),
        penalizer: float = 0.0,
        n_draws: int = 1024,
        random_state: int = 0,
        window: str | None = None,
        exit_window: str | None = "365D",
    ) -> None:
        self.covariates = covariates
        self.loss_covariates = loss_covariates
        self.horizons = horizons
        self.penalizer = penalizer
        self.n_draws = n_draws
        self.random_state = random_state
        self.window = window
        self.exit_window = exit_window

    # ------------------------------------------------------------------------------ checks

    def _check_params(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        names = check_covariates(self.covariates, name="covariates", owner=_OWNER)
        loss = check_covariates(self.loss_covariates, name="loss_covariates", owner=_OWNER)
        check_spans(self.horizons, "horizons", f"{_OWNER}")
        p: Any = self.penalizer
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not math.isfinite(p) or p < 0:
            raise InvalidParameterError(
                f"The 'penalizer' parameter of {_OWNER} must be a non-negative number such as "
                f"0.01. Got {p!r} instead."
            )
        for name, low in (("n_draws", 16), ("random_state", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {_OWNER} must be an integer of at least {low}. "
                    f"Got {value!r} instead."
                )
        return names, loss

    def _check_fitted(self) -> None:
        if not hasattr(self, "transitions_"):
            raise NotFittedError(
                f"This {_OWNER} is not fitted yet. Call fit(base, as_of=...) first."
            )

    # ------------------------------------------------------------------------------ fit

    def fit(self, base: ClientBase, as_of: Any) -> LifecycleModel:
        """Fit the stage durations and the exits on the stage histories known before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base; only rows before `as_of` are read.
        as_of : str or timestamp-like
            The point in time of the fit.

        Returns
        -------
        LifecycleModel
            ``self``.

        Raises
        ------
        InvalidParameterError
            If a parameter is out of its domain, `base` is not a ClientBase, or too few stages
            are known before `as_of` (for instance `as_of` before any data); the message says
            which stage lacks history.
        ConvergenceError
            If a lifelines fit does not converge; raise `penalizer`.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(600, seed=2)
        >>> model = LifecycleModel().fit(base, as_of="2024-07-01")
        >>> model.coefficients_["part"].unique().tolist()
        ['duration', 'cancelled', 'organisation_lost']
        """
        names, loss = self._check_params()
        t = check_base(base, as_of, "fit")
        view = base.as_of(t)
        history = spells(view, t)
        if self.window is not None:
            history = within_window(history, t, self.window, "window", _OWNER)
        if history.empty:
            raise InvalidParameterError(
                f"No project stage started before as_of={t} in the 'stages' table, so "
                f"{_OWNER}.fit has nothing to learn from. Choose a later as_of."
            )
        wanted = list(dict.fromkeys(names + loss))
        x = project_covariates(view, np.unique(history["row"].to_numpy()), wanted)
        history = history.join(x, on="project_id")
        usable = history["entry_days"].to_numpy() < history["days"].to_numpy()
        # Spells that ended before their project was recorded carry nothing under delayed entry.
        history = history[usable | (history["entry_days"].to_numpy() == 0)]
        stage = history["stage"].to_numpy()
        outcome = history["outcome"].astype(object).to_numpy()
        transitions = []
        summaries = []
        for s, name in enumerate(STAGES):
            rows = history[stage == s]
            moved = int((rows["outcome"] == "moved_on").sum())
            if moved < 5:
                raise InvalidParameterError(
                    f"Only {moved} project(s) left the {name!r} stage before as_of={t} (of "
                    f"{len(rows)} that entered it): too few to fit its duration. Choose a later "
                    f"as_of or give more history."
                )
            columns = list(names) + log_days(s)
            frame = rows.assign(event=(rows["outcome"] == "moved_on").to_numpy())
            fitted = fit_transition(frame, columns, stage=name, penalizer=float(self.penalizer))
            transitions.append(fitted)
            table = fitted["summary"].reset_index()
            table.columns = ["kind", "term", *table.columns[2:]]
            table["term"] = np.where(
                table["term"] == "Intercept",
                np.where(table["kind"] == "mu", "intercept", "log_sigma"),
                table["term"],
            )
            summaries.append(table.drop(columns="kind").assign(part="duration", stage=name))
        exits = {}
        recent = None
        if self.exit_window is not None:
            recent = within_window(history, t, self.exit_window, "exit_window", _OWNER)
            recent = recent[recent["entry_days"].to_numpy() < recent["days"].to_numpy()]
        for cause, columns in (("cancelled", list(names)), ("organisation_lost", list(loss))):
            fitted = fit_exit(
                history,
                columns,
                outcome == cause,
                n_stages=_N,
                cause=cause,
                penalizer=float(self.penalizer),
                recent=recent,
            )
            exits[cause] = fitted
            table = fitted["summary"].reset_index().rename(columns={"covariate": "term"})
            summaries.append(table.assign(part=cause, stage=None))
        coefficients = pd.concat(summaries, ignore_index=True)
        self.coefficients_ = coefficients[
            ["part", "stage", "term", "coef", "se", "lower_95", "upper_95"]
        ]
        self.transitions_ = transitions
        self.exits_ = exits
        self.penalizers_ = pd.Series(
            [f["penalizer"] for f in transitions] + [exits[c]["penalizer"] for c in EXITS],
            index=[f"duration[{s}]" for s in STAGES] + list(EXITS),
            dtype=np.float64,
            name="penalizer",
        )
        self.lag_ = lag_matrix(transitions)
        self.exit_rates_ = pd.DataFrame(
            {cause: exits[cause]["rate"] for cause in EXITS},
            index=pd.CategoricalIndex(
                list(STAGES), categories=list(STAGES), ordered=True, name="stage"
            ),
        )
        self.spells_ = (
            pd.crosstab(
                pd.Categorical.from_codes(stage, categories=list(STAGES), ordered=True),
                history["outcome"],
                dropna=False,
            )
            .rename_axis(index="stage", columns=None)
            .astype(np.int64)
        )
        design = history[stage == 0]
        rng = np.random.default_rng(int(self.random_state))
        keep = rng.permutation(len(design))[:_SAMPLE]
        self.covariate_sample_ = design.iloc[np.sort(keep)][wanted].reset_index(drop=True)
        self.as_of_ = t
        return self

    # ------------------------------------------------------------------------------ predict

    def predict(
        self,
        base: ClientBase | PartitionedClientBase,
        as_of: Any,
        *,
        organisation_ids: Sequence[str] | None = None,
        horizons: Sequence[str] | None = None,
        engine: Any = "pandas",
    ) -> Any:
        """Return, for every project active at `as_of`, when it will reach procurement.

        Parameters
        ----------
        base : ClientBase or PartitionedClientBase
            The client base; only rows before `as_of` are read. A partitioned base
            (``ClientBase.open_parquet``) is scored partition by partition, each read where it
            is scored (a project's forecast reads its own organisation's rows only).
        as_of : str or timestamp-like
            The point in time; not before the fit's `as_of_`.
        organisation_ids : sequence of str, optional
            Predict only the projects of these organisations (cheap for one account).
        horizons : sequence of str, optional
            Horizons of the probabilities; default the model's `horizons`.
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            With a partitioned base: its partitions one after the other here, or on Dask (a
            lazy Dask DataFrame, each partition ordered by ``project_id``). An in-memory base
            takes ``"pandas"`` only.

        Returns
        -------
        pandas.DataFrame or dask.dataframe.DataFrame
            One row per active project, ordered by ``project_id``: ``project_id``,
            ``organisation_id``, ``stage`` (its current stage), ``days_in_stage``, one
            ``p_procurement_<days>d`` per horizon (procurement has started by `as_of` plus the
            horizon: 1 for a project already in or past procurement), ``expected_procurement_at``
            (the mean date, given it is reached), ``procurement_from`` and ``procurement_to``
            (80% interval of that date) and ``p_cancel`` (the project ends before procurement).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        LookAheadError
            If `as_of` is before the fit's `as_of_` (the model has seen later data).
        UnknownIdError
            If an organisation of `organisation_ids` is not in `base`.
        InvalidTablesError
            If an active project has no stage known before `as_of`.
        InvalidParameterError
            If a horizon is not a positive duration.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(600, seed=2)
        >>> model = LifecycleModel(n_draws=256).fit(base, as_of="2024-07-01")
        >>> one = model.predict(base, "2024-07-01", organisation_ids=["O-000007"])
        >>> set(one["organisation_id"]) <= {"O-000007"}
        True
        """
        self._check_fitted()
        spans = check_spans(
            self.horizons if horizons is None else horizons, "horizons", f"{_OWNER}.predict"
        )
        if isinstance(base, PartitionedClientBase):
            t = _partitioned_as_of(as_of, organisation_ids, "predict")
            return score_partitions(
                base,
                _predict_part,
                self,
                t,
                spans,
                engine=engine,
                owner=f"{_OWNER}.predict",
                finish=_by_project,
            )
        in_memory_engine(engine, f"{_OWNER}.predict")
        t = check_base(base, as_of, "predict")
        return self._predict(base, t, organisation_ids, spans)[0]

    def _predict(
        self,
        base: ClientBase,
        t: pd.Timestamp,
        organisation_ids: Sequence[str] | None,
        spans: dict[str, float],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        if t < self.as_of_:
            raise LookAheadError(
                f"This {_OWNER} was fitted as of {self.as_of_}, after the as_of={t} asked of "
                f"predict: it has seen stage histories that were not known at {t}. Fit it at or "
                f"before {t}."
            )
        view = base.as_of(t)
        names = list(dict.fromkeys(list(self.covariates) + list(self.loss_covariates)))
        current = current_projects(view, t, organisation_ids, names)
        return forecast(self, current, spans, t), current

    # ------------------------------------------------------------------------------ alerts

    def alerts(
        self,
        base: ClientBase | PartitionedClientBase,
        as_of: Any,
        *,
        within: str = "90D",
        min_probability: float = 0.5,
        organisation_ids: Sequence[str] | None = None,
        engine: Any = "pandas",
    ) -> Any:
        """Return the projects where sales should engage now: procurement is likely to start soon.

        Parameters
        ----------
        base : ClientBase or PartitionedClientBase
            The client base; only rows before `as_of` are read. A partitioned base is scored
            partition by partition, as in :meth:`predict`.
        as_of : str or timestamp-like
            The point in time.
        within : str, default "90D"
            How soon procurement must be likely to start.
        min_probability : float, default 0.5
            Smallest probability of procurement within `within` that raises an alert.
        organisation_ids : sequence of str, optional
            Only the projects of these organisations.
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            As in :meth:`predict`; on Dask each partition is ordered most likely first.

        Returns
        -------
        pandas.DataFrame or dask.dataframe.DataFrame
            The projects still before procurement whose probability reaches `min_probability`,
            most likely first: ``project_id``, ``organisation_id``, ``project``, ``stage``,
            ``days_in_stage``, ``p_procurement_<days>d``, ``expected_procurement_at``,
            ``procurement_from``, ``procurement_to``, ``p_cancel`` and ``reason`` (in plain words).

        Raises
        ------
        InvalidParameterError
            If `within` is not a positive duration or `min_probability` not in [0, 1].

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(600, seed=2)
        >>> model = LifecycleModel(n_draws=256).fit(base, as_of="2024-07-01")
        >>> alerts = model.alerts(base, "2024-07-01", within="90D", min_probability=0.6)
        >>> bool((alerts["p_procurement_90d"] >= 0.6).all())
        True
        """
        spans = check_spans([within], "within", f"{_OWNER}.alerts")
        p: Any = min_probability
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
            raise InvalidParameterError(
                f"The 'min_probability' parameter of {_OWNER}.alerts must be a probability in "
                f"[0, 1] such as 0.5. Got {p!r} instead."
            )
        self._check_fitted()
        label = next(iter(spans))
        if isinstance(base, PartitionedClientBase):
            t = _partitioned_as_of(as_of, organisation_ids, "alerts")
            return score_partitions(
                base,
                _alerts_part,
                self,
                t,
                spans,
                float(p),
                engine=engine,
                owner=f"{_OWNER}.alerts",
                finish=lambda parts: _most_likely(parts, label),
            )
        in_memory_engine(engine, f"{_OWNER}.alerts")
        t = check_base(base, as_of, "alerts")
        return project_alerts(self, base, t, organisation_ids, spans, float(p))

    # ------------------------------------------------------------------------------ occupation

    def state_occupation(self, days: Sequence[float]) -> pd.DataFrame:
        """Return the probability of each state `days` after a project starts, on average.

        Averages over the projects the model was fitted on (`covariate_sample_`, their
        covariates at their start): each starts in design on day 0.

        Parameters
        ----------
        days : sequence of float
            Days since the start of the project (non-negative).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``days``; columns the five stages, ``completed`` and ``cancelled`` (either
            exit), each row summing to 1.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(600, seed=2)
        >>> model = LifecycleModel(covariates=(), loss_covariates=(), n_draws=256)
        >>> occupation = model.fit(base, as_of="2024-07-01").state_occupation([0, 180, 365])
        >>> bool(np.allclose(occupation.sum(axis=1), 1.0))
        True
        """
        self._check_fitted()
        return occupation(self, days)
