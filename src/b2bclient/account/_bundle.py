"""``Models``: every model a portrait needs, fitted in one call and saved as one file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pandas as pd

from b2bclient._exceptions import B2BClientError, InvalidParameterError, MissingDependencyError
from b2bclient._time import to_timestamp
from b2bclient.account._protocol import Part

__all__ = ["Models", "default_parts"]


def default_parts() -> tuple[Any, ...]:
    """Return unfitted instances of the parts that exist, in fitting order.

    Examples
    --------
    >>> [p.name for p in default_parts()]
    ['features', 'churn', 'value', 'health']
    """
    from b2bclient.account._health import HealthScore
    from b2bclient.account._parts import ChurnRisk, CustomerValue, PeerFeatures

    return (PeerFeatures(), ChurnRisk(), CustomerValue(), HealthScore())


def _check_parts(parts: Sequence[Any]) -> tuple[Any, ...]:
    out = tuple(parts)
    names = []
    for part in out:
        if isinstance(part, type) or not isinstance(part, Part):
            raise InvalidParameterError(
                "Every part of Models must be an instance with 'name', 'schema', "
                "fit(base, as_of, *, parts) and section(batch) (see b2bclient.account.Part). "
                f"Got {part!r} instead."
            )
        names.append(part.name)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidParameterError(f"Two parts of Models share the names {duplicated}.")
    return out


def _progress(progress: Any, total: int) -> tuple[Any, Callable[[str, int], None]]:
    if progress is False or progress is None:
        return None, lambda name, i: None
    if progress is True:
        from b2bclient._optional import import_optional

        tqdm = import_optional("tqdm", extra="progress", purpose="Models.fit(progress=True)")
        bar = tqdm.tqdm(total=total, desc="fitting models", unit="part", leave=False)

        def update(name: str, i: int) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        return bar, update
    if callable(progress):
        return None, lambda name, i: progress(name, i, total)
    raise InvalidParameterError(
        "The 'progress' parameter of Models.fit must be True (a tqdm bar, extra 'progress'), "
        f"False, or a function progress(name, done, total). Got {progress!r} instead."
    )


def _timestamp(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Models:
    """The fitted models a portrait reads: one part per section, fitted as of one time.

    Fit with :meth:`fit`; save and load with ``b2bclient.save`` / ``b2bclient.load``. Each part
    follows the part protocol of :mod:`b2bclient.account` (``name``, ``schema``,
    ``fit(base, as_of, *, parts)``, ``section(batch)``), so a new model joins the portraits by
    being added to `parts`.

    Parameters
    ----------
    as_of : pandas.Timestamp
        Every part was fitted on rows before it; portraits are drawn at or after it.
    parts : tuple
        The fitted parts, in fitting (and portrait) order.
    skipped : dict of str to str
        Parts left out by ``fit(..., errors="skip")`` and why; their sections are absent.

    Examples
    --------
    >>> import b2bclient as bc
    >>> base = bc.datasets.make_client_base(400, seed=1)
    >>> models = Models.fit(base, "2025-01-01")
    >>> models.names
    ('features', 'churn', 'value', 'health')
    >>> models.part("segment") is None
    True
    """

    as_of: pd.Timestamp = attrs.field(converter=_timestamp)
    parts: tuple[Any, ...] = attrs.field(converter=_as_tuple)
    skipped: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def fit(
        cls,
        base: Any,
        as_of: Any,
        *,
        parts: Sequence[Any] | None = None,
        progress: Any = False,
        errors: str = "raise",
    ) -> Models:
        """Fit every part on the rows of `base` before `as_of`.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            Only rows before it are read.
        parts : sequence of parts, optional
            Unfitted parts, fitted in order (each sees those before it); by default
            :func:`default_parts`: peer features, churn, customer value, health score.
        progress : bool or callable, default False
            True shows a tqdm bar (extra ``progress``); a function ``progress(name, done,
            total)`` is called after each part.
        errors : {"raise", "skip"}, default "raise"
            What a part that cannot be fitted on this base does (too few clients or churn
            events, no convergence): raise its error, or be left out of the bundle, its reason
            recorded in `skipped` (for reports that must run on any data).

        Returns
        -------
        Models

        Raises
        ------
        InvalidParameterError
            For a bad part, or a part that cannot be fitted on this base as of `as_of` (the
            error names the part).
        """
        from b2bclient.base import ClientBase

        t = to_timestamp(as_of, owner="Models.fit")
        if not isinstance(base, ClientBase):
            raise InvalidParameterError(
                "The 'base' parameter of Models.fit must be a b2bclient.ClientBase. Got "
                f"{type(base).__name__} instead."
            )
        if errors not in ("raise", "skip"):
            raise InvalidParameterError(
                f"The 'errors' parameter of Models.fit must be 'raise' or 'skip'. Got {errors!r} "
                "instead."
            )
        chosen = _check_parts(default_parts() if parts is None else parts)
        cut = base.as_of(t)
        bar, update = _progress(progress, len(chosen))
        fitted: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        try:
            for i, part in enumerate(chosen, start=1):
                try:
                    fitted[part.name] = part.fit(cut, t, parts=dict(fitted))
                except B2BClientError as exc:
                    if errors == "raise" or isinstance(exc, MissingDependencyError):
                        raise
                    skipped[part.name] = f"{type(exc).__name__}: {exc}"
                update(part.name, i)
        finally:
            if bar is not None:
                bar.close()
        return cls(as_of=t, parts=tuple(fitted.values()), skipped=skipped)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the names of the parts, in order."""
        return tuple(p.name for p in self.parts)

    def part(self, name: str) -> Any:
        """Return the part called `name`, or None when the bundle does not hold it."""
        for p in self.parts:
            if p.name == name:
                return p
        return None
