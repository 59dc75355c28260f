"""``portraits`` of a :class:`~b2bclient.base.PartitionedClientBase`, partition by partition.

A portrait reads its organisation's holding and the fitted models only (what a part learns
across organisations, such as the peer percentiles' reference grids, is in its fitted state), and
a holding never spans two partitions, so each partition is portrayed alone, where it is read:
the sections equal the in-memory ones.

What crosses partitions is the shape of the frame. ``format="frame"`` has one column per leaf
of the documents (``"engagement.roles.procurement"`` exists when some organisation has such a
contact) with the dtype pandas gives the column of every organisation, so the columns are a
statistic across organisations. On Dask it is an explicit reduce:

1. map: each partition is portrayed on its worker, and the result kept there (persisted);
2. map: each partition reports its layout, the leaves of its documents with the first
   organisation that has each and the Python types of their values (small);
3. reduce: the layouts are merged in the caller into the columns and dtypes of the whole;
4. map: each partition's frame is built on its worker with those columns: a Dask DataFrame.

The portraits are computed when :func:`portraits` is called (the frame's columns depend on
them); the frames are built when the result is computed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.account._batch import _compute, assemble, head_of
from b2bclient.base import ClientBase, PartitionedClientBase
from b2bclient.base._engine import import_dask, resolve_engine
from b2bclient.features._context import FeatureTables

__all__ = ["partitioned_portraits"]

_OWNER = "portraits"

Rows = list[tuple[list[str], dict[str, list[Any]]]]
#: A layout node: its leaf's value types ({type name: a sample value}) and, for a node whose
#: values hold dicts with keys, its keys {key: (first organisation, position, child node)}.
Node = tuple[dict[str, Any], dict[Any, tuple[str, int, Any]]]


def _portray(
    part: ClientBase,
    t: pd.Timestamp,
    parts: tuple[Any, ...],
    include_personal_data: bool,
    models_as_of: pd.Timestamp | None,
) -> Rows:
    """Map step 1: the portraits of every organisation of one partition known before `t`."""
    ctx = FeatureTables.prepare(part, t)
    if ctx.n_orgs == 0:
        return []
    everyone = np.ones(ctx.n_orgs, dtype=bool)
    return _compute(ctx, everyone, None, parts, include_personal_data, models_as_of, "pandas", None)


def _portray_partition(
    pbase: PartitionedClientBase,
    i: int,
    t: pd.Timestamp,
    parts: tuple[Any, ...],
    include_personal_data: bool,
    models_as_of: pd.Timestamp | None,
) -> Rows:
    return _portray(pbase.partition(i), t, parts, include_personal_data, models_as_of)


def _check(ids: Any) -> None:
    if ids is not None:
        raise InvalidParameterError(
            "portraits of a partitioned base portray every organisation known before as_of; "
            "'ids' would need the partitions that hold them. Select the rows of the result, or "
            "portray an in-memory base (pbase.partition(i))."
        )


def _nobody(t: pd.Timestamp) -> InvalidParameterError:
    return InvalidParameterError(
        f"The as_of {t} of portraits precedes the data: no organisation of any partition was "
        "created before it. Choose a later as_of."
    )


def partitioned_portraits(
    pbase: PartitionedClientBase,
    ids: Any,
    t: pd.Timestamp,
    models: Any,
    parts: tuple[Any, ...],
    format: str,
    engine: Any,
    include_personal_data: bool,
    path: str | os.PathLike[str] | None,
) -> Any:
    """Return the portraits of every organisation of `pbase` known before `t` (see the module)."""
    _check(ids)
    models_as_of = None if models is None else models.as_of
    head = head_of(t, models_as_of)
    kind, client = resolve_engine(engine, _OWNER)
    args = (t, parts, include_personal_data, models_as_of)
    if kind == "pandas":
        rows = [r for p in pbase.partitions() for r in _portray(p, *args)]
        chosen = sorted(i for batch_ids, _ in rows for i in batch_ids)
        if not chosen:
            raise _nobody(t)
        return assemble(rows, chosen, head, format, path)
    if format != "frame" or path is not None:
        raise InvalidParameterError(
            f"portraits of a partitioned base on Dask return format='frame' (a Dask DataFrame; "
            f"write it with .to_parquet). Got format={format!r}"
            + ("" if path is None else f" and path={str(path)!r}")
            + "; use engine='pandas' for JSON Lines or Portrait records."
        )
    dask = import_dask()
    import dask.dataframe as dd

    parts_ref: Any = parts
    if client is not None:
        [parts_ref] = client.scatter([parts], broadcast=True, hash=False)
    portray = dask.delayed(_portray_partition, pure=False)
    tasks = [
        portray(pbase, i, t, parts_ref, include_personal_data, models_as_of)
        for i in range(pbase.n_partitions)
    ]
    kept = client.persist(tasks) if client is not None else list(dask.persist(*tasks))
    layout = dask.delayed(_layout, pure=True)
    if client is not None:
        layouts = client.gather(client.compute([layout(r) for r in kept]))
    else:
        layouts = dask.compute(*[layout(r) for r in kept])
    columns = _merge_layouts(list(layouts))
    if not any(n for n, _, _ in layouts):
        raise _nobody(t)
    meta = _frame_of([], head, columns)
    frames = [dask.delayed(_frame_of, pure=True)(r, head, columns) for r in kept]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(frames, meta=meta, verify_meta=False)


# --- the layout of the frame: map, reduce ----------------------------------------------------------


def _sorted_rows(rows: Rows) -> tuple[list[str], dict[str, list[Any]]]:
    """Return the ids and sections of a partition's batches, ordered by organisation id."""
    ids = [i for batch_ids, _ in rows for i in batch_ids]
    names = [name for _, sections in rows[:1] for name in sections]
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable").tolist()
    sections = {name: [v for _, s in rows for v in s[name]] for name in names}
    return [ids[i] for i in order], {n: [c[i] for i in order] for n, c in sections.items()}


def _node(ids: list[str], values: list[Any]) -> Node:
    """Return the layout of one column of values (see ``account._batch._flatten``)."""
    keys: dict[Any, tuple[str, int]] = {}
    for oid, v in zip(ids, values, strict=True):
        if isinstance(v, dict):
            for position, key in enumerate(v):
                keys.setdefault(key, (oid, position))
    if not keys:
        types: dict[str, Any] = {}
        for v in values:
            types.setdefault(type(v).__name__, v)
        return types, {}
    children = {}
    for key, (oid, position) in keys.items():
        column = [v.get(key) if isinstance(v, dict) else None for v in values]
        children[key] = (oid, position, _node(ids, column))
    return {}, children


def _layout(rows: Rows) -> tuple[int, list[str], dict[str, Node]]:
    """Map step 2: a partition's number of portraits, section names and layout per section."""
    ids, sections = _sorted_rows(rows)
    return len(ids), list(sections), {name: _node(ids, v) for name, v in sections.items()}


def _with_none(node: Node) -> Node:
    """Return `node` with a None value added to every leaf (rows that lack it)."""
    types, children = node
    if not children:
        return {**types, "NoneType": types.get("NoneType")}, {}
    return {}, {k: (o, p, _with_none(c)) for k, (o, p, c) in children.items()}


def _merge(a: Node, n_a: int, b: Node, n_b: int) -> Node:
    """Return the layout of the values of `a` (on `n_a` rows) followed by those of `b`."""
    if n_a == 0:
        return b
    if n_b == 0:
        return a
    (types_a, kids_a), (types_b, kids_b) = a, b
    if not kids_a and not kids_b:
        return {**types_b, **types_a}, {}
    # Rows without a dict with a key contribute None to each key's column.
    merged: dict[Any, tuple[str, int, Any]] = {}
    for key in {**kids_a, **kids_b}:
        if key in kids_a and key in kids_b:
            oa, pa, ca = kids_a[key]
            ob, pb, cb = kids_b[key]
            merged[key] = (*min((oa, pa), (ob, pb)), _merge(ca, n_a, cb, n_b))
        else:
            o, p, c = kids_a.get(key) or kids_b[key]
            merged[key] = (o, p, _with_none(c))
    return {}, merged


def _columns(name: str, node: Node, out: dict[str, Any]) -> None:
    """Add the columns of `node` (name and dtype) to `out`, in the order of the in-memory frame."""
    types, children = node
    if not children:
        samples = list(types.values()) or [None]
        out[name] = (pd.Series(samples).dtype if types else np.dtype(object), ())
        return
    for key, (_o, _p, child) in sorted(children.items(), key=lambda kv: kv[1][:2]):
        sub: dict[str, Any] = {}
        _columns(f"{name}.{key}", child, sub)
        out.update({c: (dtype, (key, *path)) for c, (dtype, path) in sub.items()})


def _merge_layouts(
    layouts: list[tuple[int, list[str], dict[str, Node]]],
) -> dict[str, tuple[str, Any, tuple[Any, ...]]]:
    """Reduce step 3: the columns of the whole frame, each with its section, dtype and path."""
    names = next((n for count, n, _ in layouts if count), [])
    out: dict[str, tuple[str, Any, tuple[Any, ...]]] = {}
    for name in names:
        node: Node = ({}, {})
        rows = 0
        for count, _, nodes in layouts:
            if count:
                node = _merge(node, rows, nodes[name], count)
                rows += count
        columns: dict[str, Any] = {}
        _columns(name, node, columns)
        out.update({c: (name, dtype, path) for c, (dtype, path) in columns.items()})
    return out


def _frame_of(
    rows: Rows, head: dict[str, Any], columns: dict[str, tuple[str, Any, tuple[Any, ...]]]
) -> pd.DataFrame:
    """Map step 4: a partition's frame with the columns and dtypes of the whole frame."""
    ids, sections = _sorted_rows(rows)
    index = pd.Index(ids, dtype=object, name="organisation_id")
    data = {}
    for column, (name, dtype, path) in columns.items():
        values = sections.get(name, [])
        for key in path:
            values = [v.get(key) if isinstance(v, dict) else None for v in values]
        data[column] = pd.Series(values, index=index, dtype=dtype)
    frame = pd.DataFrame(data, index=index)
    for key in ("models_as_of", "as_of", "schema_version"):
        frame.insert(0, key, head[key])
    return frame
