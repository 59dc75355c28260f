"""The survival target: durations with an event indicator, as one array that splits like any other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = ["Surv"]

_FIELDS = ("duration", "event")


class Surv:
    """Build and read the target of the survival estimators: a duration and an event flag per row.

    The target is a NumPy structured array with the fields ``duration`` (float64, days) and
    ``event`` (bool; ``True`` when the churn was observed, ``False`` when the row is censored).
    Being one array, it is indexed, shuffled and split by scikit-learn's utilities
    (``train_test_split``, ``cross_val_score``) together with ``X``.

    Every survival estimator of b2bclient also accepts, for ``y``: any structured array with a
    float and a bool field, a two-column array or DataFrame ``(duration, event)`` (a DataFrame
    with columns named ``duration`` and ``event`` is read by name), or a one-dimensional array of
    durations, read as if every event were observed (this is how scikit-learn's common checks call
    ``fit``). :meth:`to_arrays` performs that conversion.

    Examples
    --------
    >>> y = Surv.from_arrays([12.0, 30.0, 7.5], [True, False, True])
    >>> y["duration"], y["event"]
    (array([12. , 30. ,  7.5]), array([ True, False,  True]))
    >>> y.dtype.names
    ('duration', 'event')
    """

    #: The structured dtype of a target built by :class:`Surv`.
    dtype = np.dtype([("duration", np.float64), ("event", np.bool_)])

    @classmethod
    def from_arrays(
        cls,
        duration: npt.ArrayLike,
        event: npt.ArrayLike | None = None,
        *,
        name: str = "y",
    ) -> npt.NDArray[np.void]:
        """Build a survival target from a duration array and an event array.

        Parameters
        ----------
        duration : array-like of shape (n_samples,)
            Time from the start of observation (a landmark) to the event or to censoring, in
            days. Finite and non-negative.
        event : array-like of shape (n_samples,), optional
            ``True`` (or 1) where churn was observed, ``False`` (or 0) where the row is censored.
            When omitted every event is taken as observed.
        name : str
            Name of the target, used in error messages.

        Returns
        -------
        numpy.ndarray
            Structured array of dtype :attr:`Surv.dtype`.

        Raises
        ------
        InvalidParameterError
            If the arrays differ in length, a duration is missing, infinite or negative, or an
            event is not 0/1.

        Examples
        --------
        >>> y = Surv.from_arrays([3, 5], [1, 0])
        >>> y["duration"].tolist(), y["event"].tolist()
        ([3.0, 5.0], [True, False])
        """
        d = _durations(duration, name=name)
        e = np.ones(d.shape[0], dtype=bool) if event is None else _events(event, name=name)
        if e.shape[0] != d.shape[0]:
            raise InvalidParameterError(
                f"The duration and event arrays of {name!r} must have the same length. Got "
                f"{d.shape[0]} durations and {e.shape[0]} events instead."
            )
        out = np.empty(d.shape[0], dtype=cls.dtype)
        out["duration"] = d
        out["event"] = e
        return out

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        duration: str = "duration",
        event: str = "event",
    ) -> npt.NDArray[np.void]:
        """Build a survival target from two columns of a DataFrame.

        Parameters
        ----------
        frame : pandas.DataFrame
            For example the output of :func:`b2bclient.churn.survival_frame`.
        duration : str
            Name of the duration column (days).
        event : str
            Name of the event column (bool or 0/1).

        Returns
        -------
        numpy.ndarray
            Structured array of dtype :attr:`Surv.dtype`, in the row order of `frame`.

        Raises
        ------
        InvalidParameterError
            If a column is missing or holds invalid values.

        Examples
        --------
        >>> frame = pd.DataFrame({"duration": [40.0, 200.0], "event": [True, False]})
        >>> Surv.from_frame(frame)["event"]
        array([ True, False])
        """
        if not isinstance(frame, pd.DataFrame):
            raise InvalidParameterError(
                f"Surv.from_frame expects a pandas DataFrame. Got {type(frame).__name__} instead; "
                f"use Surv.from_arrays(duration, event) for arrays."
            )
        missing = [c for c in (duration, event) if c not in frame.columns]
        if missing:
            raise InvalidParameterError(
                f"Surv.from_frame needs the columns {duration!r} and {event!r}; {missing} are "
                f"missing from the frame, whose columns are {list(frame.columns)[:20]}. Pass "
                f"duration=... and event=... to name the right columns."
            )
        return cls.from_arrays(frame[duration].to_numpy(), frame[event].to_numpy(), name="frame")

    @classmethod
    def to_arrays(
        cls, y: Any, *, name: str = "y"
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Read any accepted form of survival target into a duration and an event array.

        Parameters
        ----------
        y : structured array, array-like or DataFrame
            A target built by :class:`Surv`; any structured array with one float and one bool
            field (or fields named ``duration`` and ``event``); a two-column array or DataFrame
            ``(duration, event)``; or a one-dimensional array of durations, all events observed.
        name : str
            Name of the target, used in error messages.

        Returns
        -------
        duration : numpy.ndarray of float64
        event : numpy.ndarray of bool

        Raises
        ------
        InvalidParameterError
            If `y` has none of these forms or holds invalid values.

        Examples
        --------
        >>> Surv.to_arrays([[3.0, 1], [5.0, 0]])
        (array([3., 5.]), array([ True, False]))
        >>> Surv.to_arrays([3.0, 5.0])
        (array([3., 5.]), array([ True,  True]))
        """
        if isinstance(y, pd.DataFrame):
            if "duration" in y.columns and "event" in y.columns:
                s = cls.from_frame(y)
                return s["duration"].copy(), s["event"].copy()
            if y.shape[1] != 2:
                raise InvalidParameterError(
                    _shape_message(name, f"a DataFrame with columns {list(y.columns)[:10]}")
                )
            return cls.to_arrays(y.to_numpy(), name=name)
        if isinstance(y, pd.Series):
            y = y.to_numpy()
        arr = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if arr.dtype.names is not None:
            dur_field, ev_field = _structured_fields(arr.dtype, name=name)
            if arr.ndim != 1:
                raise InvalidParameterError(
                    _shape_message(name, f"a structured array of shape {arr.shape}")
                )
            s = cls.from_arrays(arr[dur_field], arr[ev_field], name=name)
            return s["duration"].copy(), s["event"].copy()
        if arr.ndim == 1:
            return _durations(arr, name=name), np.ones(arr.shape[0], dtype=bool)
        if arr.ndim == 2 and arr.shape[1] == 2:
            s = cls.from_arrays(arr[:, 0], arr[:, 1], name=name)
            return s["duration"].copy(), s["event"].copy()
        if arr.ndim == 2 and arr.shape[1] == 1:
            return cls.to_arrays(arr[:, 0], name=name)
        raise InvalidParameterError(_shape_message(name, f"an array of shape {arr.shape}"))


def _shape_message(name: str, got: str) -> str:
    return (
        f"The target {name!r} must be a survival target: Surv.from_arrays(duration, event), a "
        f"two-column (duration, event) array or DataFrame, or a 1-D array of durations with every "
        f"event observed. Got {got} instead."
    )


def _structured_fields(dtype: np.dtype[Any], *, name: str) -> tuple[str, str]:
    names: Sequence[str] = dtype.names or ()
    if set(_FIELDS) <= set(names):
        return _FIELDS
    if len(names) == 2:
        kinds = [dtype.fields[n][0].kind for n in names] if dtype.fields else []
        if kinds == ["b", "f"] or kinds == ["b", "i"] or kinds == ["b", "u"]:
            return names[1], names[0]
        if kinds in (["f", "b"], ["i", "b"], ["u", "b"]):
            return names[0], names[1]
    raise InvalidParameterError(
        f"The structured target {name!r} must have a numeric duration field and a bool event "
        f"field (build it with Surv.from_arrays(duration, event)). Got fields {list(names)} "
        f"instead."
    )


def _durations(values: Any, *, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(_shape_message(name, f"durations of shape {arr.shape}"))
    if arr.dtype.kind == "m":
        arr = arr / np.timedelta64(1, "D")
    try:
        d = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The durations of {name!r} must be numbers of days. Got values of dtype "
            f"{arr.dtype} such as {arr[:3].tolist()!r} instead."
        ) from exc
    bad = ~np.isfinite(d)
    if bad.any():
        idx = np.flatnonzero(bad)[:5].tolist()
        raise InvalidParameterError(
            f"The durations of {name!r} contain {int(bad.sum())} missing (NaN) or infinite "
            f"value(s), at positions {idx}. Drop those rows or give a censoring time for them."
        )
    neg = d < 0
    if neg.any():
        idx = np.flatnonzero(neg)[:5].tolist()
        raise InvalidParameterError(
            f"The durations of {name!r} must be non-negative (days from the landmark to churn "
            f"or censoring). Got {int(neg.sum())} negative value(s) at positions {idx}, e.g. "
            f"{d[idx[0]]!r}. Check that the start of observation precedes the event."
        )
    return d


def _events(values: Any, *, name: str) -> npt.NDArray[np.bool_]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(
            f"The events of {name!r} must be one-dimensional. Got shape {arr.shape} instead."
        )
    if arr.dtype.kind == "b":
        return arr.astype(bool)
    if arr.dtype == object and pd.isna(arr).any():
        raise InvalidParameterError(
            f"The events of {name!r} contain missing values at positions "
            f"{np.flatnonzero(pd.isna(arr))[:5].tolist()}. Give True (churned) or False "
            f"(censored) for every row."
        )
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The events of {name!r} must be bool or 0/1. Got values such as "
            f"{arr[:3].tolist()!r} instead."
        ) from exc
    ok = (num == 0) | (num == 1)
    if not ok.all():
        idx = np.flatnonzero(~ok)[:5].tolist()
        raise InvalidParameterError(
            f"The events of {name!r} must be bool or 0/1 (1 = churn observed, 0 = censored). "
            f"Got {num[idx[0]]!r} at positions {idx}."
        )
    return np.asarray(num == 1, dtype=np.bool_)
