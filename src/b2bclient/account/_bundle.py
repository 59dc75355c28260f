"""``Models``: every model a portrait needs, fitted in one call and saved as one file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pandas as pd

from b2bclient._exceptions import B2BClientError, InvalidParameterError, MissingDependencyError
from b2bclient._time import to_timestamp
from b2bclient.account._protocol import Part

__all__ = ["Models", "all_parts", "default_parts", "optional_parts"]


def default_parts() -> tuple[Any, ...]:
    """Return unfitted instances of the default parts, in fitting order.

    Peer features, churn risk, customer value, health score, cross-sell and partner
    suggestions, the procurement forecast of active projects and the wallet. The segment
    (:class:`~b2bclient.account.SegmentMembership`) and the open deals' odds
    (:class:`~b2bclient.account.DealOutlook`) are opt-in (:func:`optional_parts`): their fits
    cost far more than the others' (docs/account.md).

    Examples
    --------
    >>> [p.name for p in default_parts()]
    ['features', 'churn', 'value', 'health', 'cross_sell', 'partners', 'lifecycle', 'wallet']
    """
    from b2bclient.account._health import HealthScore
    from b2bclient.account._parts import ChurnRisk, CustomerValue, PeerFeatures
    from b2bclient.account._parts_market import (
        CrossSellSuggestions,
        PartnerSuggestions,
        WalletShare,
    )
    from b2bclient.account._parts_projects import ProcurementForecast

    return (
        PeerFeatures(),
        ChurnRisk(),
        CustomerValue(),
        HealthScore(),
        CrossSellSuggestions(),
        PartnerSuggestions(),
        ProcurementForecast(),
        WalletShare(),
    )


def optional_parts() -> tuple[Any, ...]:
    """Return unfitted instances of the opt-in parts: the segment and the open deals' odds.

    Add them to the defaults with ``Models.fit(base, as_of, parts=[*default_parts(),
    *optional_parts()])``; the segment comes first so that the cross-sell reads it.

    Examples
    --------
    >>> [p.name for p in optional_parts()]
    ['segment', 'pipeline']
    """
    from b2bclient.account._parts_market import SegmentMembership
    from b2bclient.account._parts_projects import DealOutlook

    return (SegmentMembership(), DealOutlook())


def all_parts() -> tuple[Any, ...]:
    """Return every part, default and opt-in, in an order where each sees those it reads.

    Examples
    --------
    >>> [p.name for p in all_parts()][:5]
    ['features', 'churn', 'value', 'health', 'segment']
    """
    defaults = default_parts()
    segment, pipeline = optional_parts()
    return (*defaults[:4], segment, *defaults[4:], pipeline)


def _part_for(model: Any, base: Any, t: pd.Timestamp) -> Any:
    """Return the part that shows a fitted model of another subpackage, fitted at or before `t`."""
    from sklearn.base import clone

    from b2bclient.account._parts_market import (
        CrossSellSuggestions,
        PartnerSuggestions,
        SegmentMembership,
        WalletShare,
    )
    from b2bclient.account._parts_projects import DealOutlook, ProcurementForecast
    from b2bclient.lifecycle import LifecycleModel
    from b2bclient.pipeline import WinModel
    from b2bclient.potential import WalletModel
    from b2bclient.recommend import CrossSell, PartnerMatcher
    from b2bclient.segment import Segmenter

    if isinstance(model, Part):
        if not hasattr(model, "as_of_"):
            raise InvalidParameterError(
                f"Models.from_fitted takes fitted parts and models; the {model.name!r} part "
                f"{type(model).__name__} is not fitted. Fit it, or use Models.fit."
            )
        fitted_at = pd.Timestamp(model.as_of_)
        if fitted_at > t:
            raise InvalidParameterError(
                f"The {model.name!r} part passed to Models.from_fitted was fitted as of "
                f"{fitted_at}, after the bundle's as_of {t}."
            )
        return model
    kinds = {
        Segmenter: (SegmentMembership, "labels_"),
        CrossSell: (CrossSellSuggestions, "as_of_"),
        PartnerMatcher: (PartnerSuggestions, "as_of_"),
        LifecycleModel: (ProcurementForecast, "as_of_"),
        WinModel: (DealOutlook, "as_of_"),
        WalletModel: (WalletShare, "as_of_"),
    }
    found = [entry for kind, entry in kinds.items() if isinstance(model, kind)]
    if not found:
        raise InvalidParameterError(
            "Models.from_fitted takes fitted parts, or fitted models of "
            f"{[k.__name__ for k in kinds]}. Got {type(model).__name__} instead."
        )
    part_class, attribute = found[0]
    if not hasattr(model, attribute):
        raise InvalidParameterError(
            f"The {type(model).__name__} passed to Models.from_fitted is not fitted; fit it at "
            f"or before {t.date()} first."
        )
    fitted_at = getattr(model, "as_of_", None)
    if fitted_at is not None and pd.Timestamp(fitted_at) > t:
        raise InvalidParameterError(
            f"The {type(model).__name__} passed to Models.from_fitted was fitted as of "
            f"{pd.Timestamp(fitted_at)}, after the bundle's as_of {t}: it has seen data the "
            "portraits must not see."
        )
    part = part_class(model=clone(model))
    return part._adopt(model, base, t)


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
    ('features', 'churn', 'value', 'health', 'cross_sell', 'partners', 'lifecycle', 'wallet')
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
            :func:`default_parts`: peer features, churn, customer value, health score,
            cross-sell and partner suggestions, procurement forecast, wallet.
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

    @classmethod
    def from_fitted(cls, base: Any, as_of: Any, fitted: Sequence[Any]) -> Models:
        """Build a bundle from parts and models fitted already, without fitting anything again.

        Parameters
        ----------
        base : ClientBase
            The client base the models were fitted on (read as of `as_of` for what a part
            derives from its model: segment labels, product names).
        as_of : str or pandas.Timestamp
            The bundle's time; every part and model must have been fitted at or before it.
        fitted : sequence
            Fitted parts (for instance ``Models.fit(...).parts``) and fitted models of the other
            subpackages, each shown by its part: ``Segmenter`` (fitted on the
            organisation-scope features) by :class:`SegmentMembership`, ``CrossSell`` by
            :class:`CrossSellSuggestions`, ``PartnerMatcher`` by :class:`PartnerSuggestions`,
            ``LifecycleModel`` by :class:`ProcurementForecast`, ``WinModel`` by
            :class:`DealOutlook`, ``WalletModel`` by :class:`WalletShare` (each with its
            default parameters). Portrait order follows this order.

        Returns
        -------
        Models

        Raises
        ------
        InvalidParameterError
            For an unfitted or unknown object, one fitted after `as_of`, or two parts of the
            same name.

        Examples
        --------
        >>> import b2bclient as bc
        >>> from b2bclient.lifecycle import LifecycleModel
        >>> base = bc.datasets.make_client_base(600, seed=2)
        >>> lifecycle = LifecycleModel(n_draws=256).fit(base, "2024-07-01")
        >>> churn = bc.Models.fit(base, "2024-07-01", parts=[bc.account.ChurnRisk()])
        >>> bundle = Models.from_fitted(base, "2024-07-01", [*churn.parts, lifecycle])
        >>> bundle.names
        ('churn', 'lifecycle')
        """
        from b2bclient.base import ClientBase

        t = to_timestamp(as_of, owner="Models.from_fitted")
        if not isinstance(base, ClientBase):
            raise InvalidParameterError(
                "The 'base' parameter of Models.from_fitted must be a b2bclient.ClientBase. Got "
                f"{type(base).__name__} instead."
            )
        if isinstance(fitted, (str, bytes)) or not isinstance(fitted, Sequence):
            raise InvalidParameterError(
                "The 'fitted' parameter of Models.from_fitted must be a list of fitted parts and "
                f"models. Got {type(fitted).__name__} instead."
            )
        cut = base.as_of(t)
        parts = _check_parts([_part_for(model, cut, t) for model in fitted])
        return cls(as_of=t, parts=parts)

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
