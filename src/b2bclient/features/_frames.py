"""Checking, aligning and stacking the frames extractors return."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.features._context import FeatureTables
from b2bclient.features._protocol import Extractor

__all__ = ["checked_output", "concat_rows", "run_extractors"]


def _broken(extractor: Extractor, problem: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"The extractor {extractor.name!r} ({type(extractor).__qualname__}) {problem}. Run "
        f"b2bclient.testing.check_extractor on it to see every problem."
    )


def checked_output(extractor: Extractor, output: object, ctx: FeatureTables) -> pd.DataFrame:
    """Return `frame` aligned to ``ctx.org_ids`` after checking it against the declaration.

    Raises
    ------
    InvalidParameterError
        If the frame's type, columns, index or dtypes differ from what the extractor declares.
    """
    if not isinstance(output, pd.DataFrame):
        raise _broken(extractor, f"returned a {type(output).__name__} instead of a DataFrame")
    frame = output
    columns = list(extractor.output_columns())
    if list(frame.columns) != columns:
        raise _broken(
            extractor,
            f"returned columns {list(frame.columns)[:5]}... but declares {columns[:5]}...",
        )
    if not frame.index.equals(ctx.org_ids):
        index = frame.index
        if index.has_duplicates or len(index) != ctx.n_orgs or not index.isin(ctx.org_ids).all():
            missing = ctx.org_ids.difference(index)[:5].tolist()
            raise _broken(
                extractor,
                f"must return exactly one row per organisation known before as_of "
                f"({ctx.n_orgs}); it returned {len(index)} rows (missing e.g. {missing}, "
                f"duplicates: {bool(index.has_duplicates)})",
            )
        frame = frame.reindex(ctx.org_ids)
    if frame.index.name != "organisation_id":
        frame = frame.rename_axis("organisation_id")
    tags = extractor.tags()
    for column in columns:
        want = tags.dtype(column)
        got = frame[column].dtype
        ok = isinstance(got, pd.CategoricalDtype) if want == "category" else got == np.float64
        if not ok:
            raise _broken(extractor, f"returned column {column!r} as {got} but declares {want}")
    return frame


def run_extractors(ctx: FeatureTables, extractors: Sequence[Extractor]) -> list[pd.DataFrame]:
    """Compute every extractor on `ctx` and return their checked, aligned frames."""
    return [checked_output(e, e.compute(ctx, ctx.as_of), ctx) for e in extractors]


def concat_rows(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack frames with the same columns, uniting the categories of categorical columns.

    Categories that differ between frames become the sorted union (ordered categoricals keep
    their order when they agree), so stacking never silently turns a category into ``object``.
    """
    frames = list(frames)
    if not frames:
        raise InvalidParameterError("concat_rows needs at least one frame.")
    first = frames[0]
    for column in first.columns:
        dtypes = [f[column].dtype for f in frames]
        if not isinstance(dtypes[0], pd.CategoricalDtype) or all(d == dtypes[0] for d in dtypes):
            continue
        ordered = dtypes[0].ordered
        values: set[object] = set()
        for d in dtypes:
            values.update(d.categories)
        dtype = pd.CategoricalDtype(sorted(values, key=str), ordered=ordered)
        frames = [f.assign(**{column: f[column].astype(dtype)}) for f in frames]
    return pd.concat(frames, axis=0)
