"""Extension points of the feature layer: the extractor and label protocols and extractor tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._typing import Tables

if TYPE_CHECKING:
    from b2bclient.base import ClientBase

__all__ = ["ROLLUPS", "Extractor", "ExtractorTags", "FeatureDtype", "Label", "RollUp", "Scope"]

#: How a column aggregates from the members of a holding to the group (``rollup="group"``).
RollUp = Literal["sum", "max", "min", "mean", "first"]
#: Where an extractor may run: on the rows of a set of organisations, or on the whole base.
Scope = Literal["organisation", "global"]
#: The dtypes a feature column may have.
FeatureDtype = Literal["float64", "category"]

ROLLUPS: tuple[str, ...] = ("sum", "max", "min", "mean", "first")
_SCOPES = ("organisation", "global")


def _to_rollup_map(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _to_frozenset(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(kw_only=True)
class ExtractorTags:
    """Capabilities of an extractor, declared as data.

    Parameters
    ----------
    rollup : mapping of str to {"sum", "max", "min", "mean", "first"}
        For every output column, how the members of a holding aggregate to the group:
        ``"first"`` takes the value of the top parent itself.
    categorical : frozenset of str
        Output columns of dtype ``category``; every other column is ``float64``.
    scope : {"organisation", "global"}
        ``"organisation"``: the features of an organisation depend only on the rows of its own
        holding, so the extractor may run on partitions of holdings. ``"global"``: it needs rows of
        other organisations (for example whether a partner is a client), so distributed engines run
        it once on the whole base as a separate step.

    Examples
    --------
    >>> tags = ExtractorTags(rollup={"x__n": "sum", "x__kind": "first"},
    ...                      categorical=frozenset({"x__kind"}))
    >>> tags.dtype("x__n"), tags.dtype("x__kind")
    ('float64', 'category')
    """

    rollup: dict[str, str] = attrs.field(converter=_to_rollup_map)
    categorical: frozenset[str] = attrs.field(default=frozenset(), converter=_to_frozenset)
    scope: str = "organisation"

    def __attrs_post_init__(self) -> None:
        bad = {c: r for c, r in self.rollup.items() if r not in ROLLUPS}
        if bad:
            column, rule = next(iter(bad.items()))
            raise InvalidParameterError(
                f"The roll-up of column {column!r} in ExtractorTags must be one of "
                f"{', '.join(ROLLUPS)}. Got {rule!r} instead."
            )
        extra = sorted(self.categorical - set(self.rollup))
        if extra:
            raise InvalidParameterError(
                f"The 'categorical' columns of ExtractorTags must be output columns listed in "
                f"'rollup'. Got unknown columns {extra} instead."
            )
        if self.scope not in _SCOPES:
            raise InvalidParameterError(
                f"The 'scope' of ExtractorTags must be 'organisation' or 'global'. "
                f"Got {self.scope!r} instead."
            )

    def dtype(self, column: str) -> str:
        """Return the dtype name of output `column`: ``"category"`` or ``"float64"``."""
        return "category" if column in self.categorical else "float64"


@runtime_checkable
class Extractor(Protocol):
    """A feature extractor: a pure function of the rows known before ``as_of``.

    An extractor is a frozen attrs class whose fields are its parameters (time windows, ...).
    It declares its name, the tables it reads and the columns it writes, and computes one row
    per organisation known before ``as_of`` (indexed by ``organisation_id``) from rows whose time
    is strictly before ``as_of``. Columns are named ``<name>__<feature>``; they are ``float64``
    except those listed as categorical in :meth:`tags`.

    ``compute`` may be handed the full tables: it must ignore every row at or after ``as_of``
    and revert later state changes (``b2bclient.testing.check_extractor`` verifies it).

    Examples
    --------
    >>> from b2bclient.features import get_extractor
    >>> extractor = get_extractor("contracts")
    >>> isinstance(extractor, Extractor), extractor.requires
    (True, ('contracts',))
    """

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]

    def output_columns(self) -> tuple[str, ...]:
        """Return the output column names, in order."""
        ...

    def describe(self) -> Mapping[str, str]:
        """Return a one-sentence description of every output column."""
        ...

    def tags(self) -> ExtractorTags:
        """Return the declared capabilities (roll-up rules, categorical columns, scope)."""
        ...

    def compute(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the features of every organisation known before `as_of`."""
        ...


@runtime_checkable
class Label(Protocol):
    """A target observed after a cutoff, for :func:`~b2bclient.features.training_frame`.

    ``label(base, cutoff, horizon)`` returns a float64 Series indexed by ``organisation_id``
    (sorted) over the population the label is defined for, with values observed in
    ``[cutoff, cutoff + horizon)``; ``horizon`` is the default observation window.

    Examples
    --------
    >>> from b2bclient.features import NextPurchase
    >>> isinstance(NextPurchase("30D"), Label)
    True
    """

    @property
    def horizon(self) -> Any:
        """Default observation window, a duration such as ``"90D"``."""
        ...

    def label(self, base: ClientBase, cutoff: pd.Timestamp, horizon: pd.Timedelta) -> pd.Series:
        """Return the label of every organisation of the population at `cutoff`."""
        ...
