"""The part protocol: how a model contributes a section to every portrait.

A portrait has a fixed **core** (firmographics and holding, open deals, active projects,
engagement), computed from the tables alone, and one **section per part** of the
:class:`~b2bclient.account.Models` bundle. A part is a scikit-learn style estimator (so that
``bc.save`` stores it, parameters and fitted state) with:

``name`` (class variable, str)
    The key of its section in the portrait, e.g. ``"churn"``.
``schema`` (class variable, dict)
    The JSON Schema of its section (one organisation's section, an object).
``fit(base, as_of, *, parts)`` → ``self``
    Fit on the rows of `base` known before `as_of`. `parts` maps the names of the parts fitted
    before this one (earlier in the bundle) to the fitted parts, for parts that build on others
    (the health score reads the churn part).
``section(batch)`` → list of dict or None
    One section per organisation of ``batch.ids``, in that order (None: nothing to say for that
    organisation; the key is then absent from its portrait). Read only ``batch``: its tables hold
    the organisations' rows cut at ``batch.as_of`` (whole holdings), ``batch.features`` their
    features, ``batch.parts`` the bundle's fitted parts by name, ``batch.sections`` the
    sections of the parts before this one. Values must be JSON
    types: str, float (finite), int, bool, None, lists and dicts of them.

A part never reads other organisations than those of the batch, so the same code runs on one
machine or on each partition of a Dask cluster. Anything across organisations (percentiles among
peers, popularity) is learnt in ``fit`` and kept in the fitted state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.features._context import FeatureTables

__all__ = ["PART_SCHEMAS", "Batch", "Part", "register_part_schema"]


@runtime_checkable
class Part(Protocol):
    """A model that adds one section to every portrait (see the module docstring)."""

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]]

    def fit(self, base: Any, as_of: Any, *, parts: Mapping[str, Any] = ...) -> Any:
        """Fit on the rows of `base` known before `as_of`; return ``self``."""
        ...

    def section(self, batch: Batch) -> list[dict[str, Any] | None]:
        """Return the section of every organisation of ``batch.ids``, in order."""
        ...


@attrs.define(kw_only=True)
class Batch:
    """The organisations a portrait batch covers, with their rows as of `as_of`.

    Parameters
    ----------
    ids : pandas.Index
        The organisations of the batch, sorted (every member of their holdings).
    as_of : pandas.Timestamp
        The portrait's time: nothing at or after it is in `tables`.
    tables : FeatureTables
        The rows of these organisations, cut at `as_of`, with the broadcast ``products``.
    features : pandas.DataFrame
        ``build_features`` for these organisations as of `as_of`, indexed like `ids`.
    parts : dict of str to Part
        The fitted parts of the bundle, by name (a part may read another, as the health score
        reads the churn part).
    sections : dict of str to list
        Sections computed so far (core and earlier parts), each aligned with `ids`.
    """

    ids: pd.Index
    as_of: pd.Timestamp
    tables: FeatureTables
    features: pd.DataFrame
    parts: dict[str, Any] = attrs.field(factory=dict)
    sections: dict[str, list[Any]] = attrs.field(factory=dict)
    _cache: dict[Any, Any] = attrs.field(factory=dict, alias="_cache")

    def features_at(self, t: pd.Timestamp, extractors: Any) -> pd.DataFrame:
        """Return features of the batch's organisations as of an earlier `t`, built once.

        Parameters
        ----------
        t : pandas.Timestamp
            At most ``as_of``.
        extractors : list of str
            Extractors of scope ``"organisation"`` (they read the batch's rows only).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``ids`` (organisations created at or after `t` have missing values).
        """
        from b2bclient.features import build_features

        if t > self.as_of:
            raise InvalidParameterError(
                f"Batch.features_at({t}) is after the batch's as_of {self.as_of}."
            )
        key = (t, tuple(extractors))
        if key not in self._cache:
            frame = build_features(self.tables, t, list(extractors))
            self._cache[key] = frame.reindex(self.ids)
        result: pd.DataFrame = self._cache[key]
        return result


#: JSON Schema of every part's section, by name; filled by :func:`register_part_schema`.
PART_SCHEMAS: dict[str, dict[str, Any]] = {}


def register_part_schema(cls: type[Any]) -> type[Any]:
    """Publish a part's section schema in :meth:`Portrait.json_schema` (a class decorator).

    Examples
    --------
    >>> @register_part_schema
    ... class Example:
    ...     name = "example_section"
    ...     schema = {"type": "object"}
    >>> PART_SCHEMAS["example_section"]
    {'type': 'object'}
    >>> del PART_SCHEMAS["example_section"]
    """
    name = getattr(cls, "name", None)
    schema = getattr(cls, "schema", None)
    if not isinstance(name, str) or not isinstance(schema, dict):
        raise InvalidParameterError(
            f"A portrait part class needs a str 'name' and a dict 'schema' class attribute; "
            f"{cls.__qualname__} has name={name!r}."
        )
    PART_SCHEMAS[name] = schema
    return cls


ProgressCallback = Callable[[str, int, int], None]
