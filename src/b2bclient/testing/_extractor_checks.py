"""check_extractor: the common suite every feature extractor, built-in or plug-in, must pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, LookAheadError
from b2bclient._time import to_timestamp
from b2bclient._typing import Tables
from b2bclient.base import SCHEMAS, TABLE_NAMES, ClientBase, empty_table
from b2bclient.features._context import complete_tables
from b2bclient.features._protocol import ROLLUPS, Extractor, ExtractorTags
from b2bclient.testing._examples import EXAMPLE_AS_OF, example_base
from b2bclient.testing._future import with_future_rows

__all__ = ["check_extractor", "extractor_checks"]

_FEATURE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
#: Relative tolerance when a result is recomputed from rows in another order.
_RTOL = 1e-9


def _fail(extractor: Extractor, check: str, message: str) -> AssertionError:
    return AssertionError(
        f"check_extractor({getattr(extractor, 'name', extractor)!r}) {check}: {message}"
    )


def _compute(extractor: Extractor, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
    result = extractor.compute(tables, as_of)
    if not isinstance(result, pd.DataFrame):
        raise _fail(
            extractor, "output", f"compute returned {type(result).__name__}, not a DataFrame"
        )
    return result


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_index()


def _assert_same(
    extractor: Extractor,
    check: str,
    got: pd.DataFrame,
    expected: pd.DataFrame,
    *,
    exact: bool,
    error: type[Exception] = AssertionError,
    context: str = "",
) -> None:
    try:
        pd.testing.assert_frame_equal(
            _sorted(got),
            _sorted(expected),
            check_exact=exact,
            rtol=_RTOL,
            atol=0.0,
            check_categorical=True,
        )
    except AssertionError as exc:
        message = f"{context}\n{exc}" if context else str(exc)
        if error is AssertionError:
            raise _fail(extractor, check, message) from None
        raise error(f"check_extractor({extractor.name!r}) {check}: {message}") from None


def check_declaration(extractor: Extractor) -> None:
    """Check name, requires, output columns, descriptions and tags."""
    cls = type(extractor)
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _FEATURE.match(name):
        raise _fail(extractor, "declaration", f"'name' must be snake_case, got {name!r}")
    requires = getattr(cls, "requires", None)
    if not isinstance(requires, tuple) or not set(requires) <= set(TABLE_NAMES):
        raise _fail(
            extractor, "declaration", f"'requires' must be a tuple of table names, got {requires!r}"
        )
    columns = extractor.output_columns()
    if not isinstance(columns, tuple) or not columns:
        raise _fail(extractor, "declaration", "output_columns() must return a non-empty tuple")
    if len(set(columns)) != len(columns):
        raise _fail(extractor, "declaration", "output_columns() holds duplicates")
    prefix = f"{name}__"
    bad = [c for c in columns if not c.startswith(prefix) or not _FEATURE.match(c[len(prefix) :])]
    if bad:
        raise _fail(
            extractor,
            "declaration",
            f"columns must be named '{prefix}<feature>' with a snake_case feature; got {bad[:5]}",
        )
    described = extractor.describe()
    if set(described) != set(columns):
        raise _fail(
            extractor,
            "declaration",
            f"describe() must describe exactly the output columns; missing "
            f"{sorted(set(columns) - set(described))[:5]}, extra {sorted(set(described) - set(columns))[:5]}",
        )
    empty = [c for c, d in described.items() if not isinstance(d, str) or not d.strip()]
    if empty:
        raise _fail(extractor, "declaration", f"empty descriptions for {empty[:5]}")
    tags = extractor.tags()
    if not isinstance(tags, ExtractorTags):
        raise _fail(extractor, "declaration", f"tags() must return ExtractorTags, got {tags!r}")
    if set(tags.rollup) != set(columns) or not set(tags.rollup.values()) <= set(ROLLUPS):
        raise _fail(
            extractor, "declaration", "tags().rollup must give a roll-up rule for every column"
        )
    wrong = [c for c in tags.categorical if tags.rollup[c] != "first"]
    if wrong:
        raise _fail(
            extractor, "declaration", f"categorical columns must roll up with 'first': {wrong}"
        )


def check_output(extractor: Extractor, base: ClientBase, as_of: pd.Timestamp) -> pd.DataFrame:
    """Check index, columns, dtypes and values of the frame computed on `base` at `as_of`."""
    result = _compute(extractor, base.tables, as_of)
    orgs = base.organisations
    known = pd.Index(orgs.loc[orgs["created_at"] < as_of, "organisation_id"])
    if result.index.name != "organisation_id":
        raise _fail(
            extractor,
            "index",
            f"the index must be named 'organisation_id', got {result.index.name!r}",
        )
    if result.index.has_duplicates:
        raise _fail(extractor, "index", "the index holds duplicate organisations")
    missing = known.difference(result.index)
    extra = result.index.difference(known)
    if len(missing) or len(extra):
        raise _fail(
            extractor,
            "index",
            f"one row per organisation known before as_of is required; missing {missing[:5].tolist()} "
            f"(e.g. organisations without activity), extra {extra[:5].tolist()} (created at or after as_of)",
        )
    if list(result.columns) != list(extractor.output_columns()):
        raise _fail(
            extractor,
            "columns",
            f"columns {list(result.columns)[:5]}... differ from output_columns() "
            f"{list(extractor.output_columns())[:5]}...",
        )
    tags = extractor.tags()
    for column in result.columns:
        dtype = result[column].dtype
        if tags.dtype(column) == "category":
            if not isinstance(dtype, pd.CategoricalDtype):
                raise _fail(extractor, "dtypes", f"{column!r} is {dtype}, declared category")
        else:
            if dtype != np.float64:
                raise _fail(extractor, "dtypes", f"{column!r} is {dtype}, declared float64")
            if np.isinf(result[column].to_numpy()).any():
                raise _fail(extractor, "values", f"{column!r} holds infinite values")
    return result


def check_determinism(extractor: Extractor, base: ClientBase, as_of: pd.Timestamp) -> None:
    """Check that the result is reproducible and independent of the row order of the tables."""
    first = _compute(extractor, base.tables, as_of)
    again = _compute(extractor, base.tables, as_of)
    _assert_same(extractor, "determinism", again, first, exact=True, context="two runs differ")
    rng = np.random.default_rng(0)
    shuffled = {
        name: df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        for name, df in base.tables.items()
    }
    _assert_same(
        extractor,
        "determinism",
        _compute(extractor, shuffled, as_of),
        first,
        exact=False,
        context="the result depends on the row order of the tables",
    )


def check_requires(extractor: Extractor, base: ClientBase, as_of: pd.Timestamp) -> None:
    """Check that the declared tables (plus ``organisations``) are enough to compute the result."""
    needed = {"organisations", *type(extractor).requires}
    partial = {name: base.tables[name] for name in needed}
    try:
        result = _compute(extractor, partial, as_of)
    except Exception as exc:
        raise _fail(
            extractor,
            "requires",
            f"compute fails when given only {sorted(needed)} ({type(exc).__name__}: {exc}): "
            f"'requires' is incomplete",
        ) from exc
    _assert_same(
        extractor,
        "requires",
        result,
        _compute(extractor, base.tables, as_of),
        exact=True,
        context=f"the result changes when only {sorted(needed)} are given: 'requires' is incomplete",
    )


def check_no_look_ahead(
    extractor: Extractor,
    base: ClientBase,
    as_of: pd.Timestamp,
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
) -> None:
    """Check that rows at or after `as_of` and later state changes never change the result.

    Compares the result on the full tables with the result on ``base.as_of(as_of)`` and on the
    tables with :func:`with_future_rows` added. Those are validated as a :class:`ClientBase`
    first, so the extractor sees the future rows as a user's base would hold them (coerced
    dtypes, enum categories), and a future that no valid base could hold cannot pass.

    Raises
    ------
    LookAheadError
        If any of them differ.
    InvalidTablesError
        If the tables with the future rows are not a valid client base.
    """
    expected = _compute(extractor, base.as_of(as_of).tables, as_of)
    _assert_same(
        extractor,
        "no look-ahead",
        _compute(extractor, base.tables, as_of),
        expected,
        exact=True,
        error=LookAheadError,
        context=f"the result on the full base differs from the result on base.as_of({as_of})",
    )
    for seed in seeds:
        future = ClientBase(with_future_rows(base.tables, as_of, seed=seed))
        _assert_same(
            extractor,
            "no look-ahead",
            _compute(extractor, future.tables, as_of),
            expected,
            exact=True,
            error=LookAheadError,
            context=f"rows at or after {as_of} (with_future_rows seed={seed}) changed the result",
        )


def check_empty(extractor: Extractor, base: ClientBase, as_of: pd.Timestamp) -> None:
    """Check organisations without any activity and a base without organisations."""
    only_orgs = {"organisations": base.organisations}
    result = _compute(extractor, complete_tables(only_orgs), as_of)
    n_known = int((base.organisations["created_at"] < as_of).sum())
    if len(result) != n_known or list(result.columns) != list(extractor.output_columns()):
        raise _fail(
            extractor, "no activity", "organisations without any activity must keep one row each"
        )
    none = {name: empty_table(name) for name in TABLE_NAMES}
    result = _compute(extractor, none, as_of)
    if len(result) or list(result.columns) != list(extractor.output_columns()):
        raise _fail(
            extractor,
            "empty base",
            "an empty base must give an empty frame with the output columns",
        )
    tags = extractor.tags()
    for column in result.columns:
        ok = (
            isinstance(result[column].dtype, pd.CategoricalDtype)
            if tags.dtype(column) == "category"
            else result[column].dtype == np.float64
        )
        if not ok:
            raise _fail(
                extractor,
                "empty base",
                f"{column!r} has dtype {result[column].dtype} on an empty base",
            )


def check_personal_data(extractor: Extractor, base: ClientBase, as_of: pd.Timestamp) -> None:
    """Check that no personal data (contact names, e-mails, phones) appears in the output."""
    result = _compute(extractor, base.tables, as_of)
    personal: set[str] = set()
    for name, schema in SCHEMAS.items():
        for column in schema.personal:
            values = base.tables[name][column].dropna().astype(str)
            personal.update(v for v in values if v)
    leaked = []
    for column in result.columns:
        series = result[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = {str(v) for v in series.cat.categories}
        elif series.dtype == object:
            values = {str(v) for v in series.dropna()}
        else:
            continue
        leaked += [f"{column}: {v!r}" for v in values & personal]
    if leaked:
        raise _fail(extractor, "personal data", f"personal data in the output: {leaked[:5]}")


def _boundary_time(base: ClientBase, default: pd.Timestamp) -> pd.Timestamp:
    """Return the time of an existing event (the median closing of won deals), for a tie at as_of."""
    deals = base.deals
    closed = deals.loc[
        (deals["status"] == "won") & deals["closed_at"].notna(), "closed_at"
    ].sort_values()
    if not len(closed):
        return default
    return pd.Timestamp(closed.iloc[len(closed) // 2])


def extractor_checks(
    extractor: Extractor, *, base: ClientBase | None = None, as_of: Any = None
) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield the named checks of :func:`check_extractor`, for running them one by one.

    Parameters
    ----------
    extractor : Extractor
        An extractor instance.
    base : ClientBase, optional
        Base to check on; defaults to :func:`example_base`.
    as_of : str or pandas.Timestamp, optional
        Cut-off; defaults to :data:`EXAMPLE_AS_OF` for the example base, else the median closing
        time of won deals. A second cut-off exactly at an event time is always checked too.

    Yields
    ------
    (str, callable)
        The check's name and a function that raises when the check fails.

    Raises
    ------
    InvalidParameterError
        If `extractor` is a name or a class rather than an instance, or `base` is not a
        ClientBase.

    Examples
    --------
    >>> from b2bclient.features import Contracts
    >>> [name for name, _ in extractor_checks(Contracts())][:3]
    ['declaration', 'output', 'determinism']
    """
    if isinstance(extractor, (str, type)):
        hint = (
            f"get one with b2bclient.features.get_extractor({extractor!r})"
            if isinstance(extractor, str)
            else f"an extractor class: pass an instance such as {extractor.__name__}()"
        )
        raise InvalidParameterError(
            f"The 'extractor' parameter of check_extractor must be an extractor instance. "
            f"Got {extractor!r} ({hint}) instead."
        )
    if base is not None and not isinstance(base, ClientBase):
        raise InvalidParameterError(
            "The 'base' parameter of check_extractor must be a b2bclient.ClientBase. "
            f"Got {type(base).__name__} instead."
        )
    data = base if base is not None else example_base()
    if as_of is not None:
        t = to_timestamp(as_of, name="as_of", owner="check_extractor")
    elif base is None:
        t = EXAMPLE_AS_OF
    else:
        t = _boundary_time(
            data, to_timestamp(data.organisations["created_at"].max(), owner="check_extractor")
        )
    tie = _boundary_time(data, t)

    def output() -> None:
        check_output(extractor, data, t)
        check_output(extractor, data, tie)

    yield "declaration", lambda: check_declaration(extractor)
    yield "output", output
    yield "determinism", lambda: check_determinism(extractor, data, t)
    yield "requires", lambda: check_requires(extractor, data, t)
    yield "no look-ahead", lambda: check_no_look_ahead(extractor, data, t)
    yield (
        "no look-ahead at an event time",
        lambda: check_no_look_ahead(extractor, data, tie, seeds=(3,)),
    )
    yield "no activity", lambda: check_empty(extractor, data, t)
    yield "personal data", lambda: check_personal_data(extractor, data, t)


def check_extractor(
    extractor: Extractor, *, base: ClientBase | None = None, as_of: Any = None
) -> None:
    """Check that an extractor follows the extractor contract; raise on the first failure.

    The checks: the declaration (snake_case ``name``, ``requires`` among the canonical tables,
    columns ``<name>__<feature>``, a description and a roll-up rule for every column); the output
    (one row per organisation known before ``as_of`` indexed by ``organisation_id``, the declared
    columns in order, ``float64`` or declared categorical dtypes, no infinities); determinism (two
    runs equal, shuffled table rows give the same result); ``requires`` (the declared tables are
    enough); no look-ahead (the result on the full tables equals the result on
    ``base.as_of(as_of)`` and on tables with rows at or after ``as_of`` added and later status
    changes applied, also at a cut-off equal to an event time); organisations without activity
    keep their rows and an empty base gives an empty frame; no personal data in the output.

    Parameters
    ----------
    extractor : Extractor
        An extractor instance (built-in or plug-in).
    base : ClientBase, optional
        Base to check on; defaults to :func:`example_base`.
    as_of : str or pandas.Timestamp, optional
        Cut-off to check at (see :func:`extractor_checks`).

    Raises
    ------
    InvalidParameterError
        If `extractor` is a name or a class rather than an instance, or `base` is not a
        ClientBase.
    AssertionError
        Naming the extractor and the failed check.
    LookAheadError
        If the result depends on rows at or after ``as_of``.

    Examples
    --------
    >>> from b2bclient.features import Contracts
    >>> check_extractor(Contracts(window="90D"))
    """
    for _, check in extractor_checks(extractor, base=base, as_of=as_of):
        check()
