"""``portrait`` and ``portraits``: the account view of one client or of many, on pandas or Dask."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, UnknownIdError
from b2bclient._time import to_timestamp
from b2bclient.account._bundle import Models
from b2bclient.account._core import CORE_SECTIONS, contacts_section
from b2bclient.account._protocol import Batch
from b2bclient.account._ranks import ORGANISATION_EXTRACTORS
from b2bclient.account._schema import SCHEMA_VERSION, Portrait
from b2bclient.account._tables import holding_batches
from b2bclient.features._context import FeatureTables

__all__ = ["assemble", "head_of", "portrait", "portraits"]

_FORMATS = ("frame", "jsonl", "portraits")


def _check_models(models: Any, t: pd.Timestamp, owner: str) -> tuple[Any, ...]:
    if models is None:
        return ()
    if not isinstance(models, Models):
        raise InvalidParameterError(
            f"The 'models' parameter of {owner} must be a b2bclient.Models bundle "
            f"(Models.fit(base, as_of)) or None. Got {type(models).__name__} instead."
        )
    if models.as_of > t:
        raise InvalidParameterError(
            f"The models passed to {owner} were fitted as of {models.as_of}, after the "
            f"portrait's as_of {t}: they have seen data the portrait must not see. Fit a bundle "
            f"at or before {t.date()} (Models.fit(base, as_of={str(t.date())!r}))."
        )
    return tuple(models.parts)


def _cut(base: Any, t: pd.Timestamp, owner: str) -> FeatureTables:
    from b2bclient.base import ClientBase

    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            f"The 'base' parameter of {owner} must be a b2bclient.ClientBase. Got "
            f"{type(base).__name__} instead."
        )
    ctx = FeatureTables.prepare(base, t)
    if ctx.n_orgs == 0:
        created = base.organisations["created_at"]
        first = created.min() if len(created) else None
        raise InvalidParameterError(
            f"The as_of {t} of {owner} precedes the data: no organisation was created before "
            f"it (the first was created at {first}). Choose a later as_of."
        )
    return ctx


def _wanted(base: Any, ctx: FeatureTables, ids: Any, owner: str) -> tuple[list[str], np.ndarray]:
    if ids is None:
        chosen = [str(i) for i in ctx.org_ids]
    else:
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, Iterable):
            raise InvalidParameterError(
                f"The 'ids' parameter of {owner} must be a list of organisation ids or None. "
                f"Got {ids!r} instead."
            )
        chosen = [i if isinstance(i, str) else str(i) for i in ids]
        duplicated = (
            sorted({i for i in chosen if chosen.count(i) > 1})
            if len(chosen) < 10_000
            else (pd.Index(chosen)[pd.Index(chosen).duplicated()].unique().tolist())
        )
        if duplicated:
            raise InvalidParameterError(
                f"The 'ids' parameter of {owner} lists organisations more than once: "
                f"{duplicated[:5]}."
            )
    position = ctx.org_ids.get_indexer(chosen)
    unknown = [i for i, p in zip(chosen, position.tolist(), strict=True) if p < 0]
    if unknown:
        all_ids = pd.Index(base.organisations["organisation_id"])
        later = [i for i in unknown if i in all_ids]
        never = [i for i in unknown if i not in all_ids]
        parts = []
        if never:
            parts.append(f"not in 'organisations': {never[:5]}")
        if later:
            parts.append(f"created at or after as_of {ctx.as_of}: {later[:5]}")
        raise UnknownIdError(
            f"{owner} got {len(unknown)} organisation ids it cannot portray ("
            + "; ".join(parts)
            + "). Portraits exist for organisations known before as_of."
        )
    wanted = np.zeros(ctx.n_orgs, dtype=bool)
    wanted[position] = True
    return chosen, wanted


def _run_batch(
    tables: dict[str, pd.DataFrame],
    shared: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    parts: tuple[Any, ...],
    wanted: list[str] | None,
    include_personal_data: bool,
    models_as_of: pd.Timestamp | None,
) -> tuple[list[str], dict[str, list[Any]]]:
    """Compute the portraits of one batch of whole holdings; a pure function of its rows.

    Returns the ids portrayed and, per section, the section of each (None where absent).
    """
    from b2bclient.features import build_features

    ctx = FeatureTables({**tables, **shared}, as_of)
    ids = ctx.org_ids
    X = build_features(ctx, as_of, list(ORGANISATION_EXTRACTORS)).reindex(ids)
    batch = Batch(ids=ids, as_of=as_of, tables=ctx, features=X, parts={p.name: p for p in parts})
    for name, function in CORE_SECTIONS:
        batch.sections[name] = function(batch)
    if include_personal_data:
        batch.sections["contacts"] = contacts_section(batch)
    for part in parts:
        batch.sections[part.name] = part.section(batch)
    rows = np.arange(len(ids)) if wanted is None else np.flatnonzero(ids.isin(wanted))
    sections = {name: [column[i] for i in rows.tolist()] for name, column in batch.sections.items()}
    return [str(v) for v in ids[rows].tolist()], sections


def _compute(
    ctx: FeatureTables,
    wanted_mask: np.ndarray,
    wanted: list[str] | None,
    parts: tuple[Any, ...],
    include_personal_data: bool,
    models_as_of: pd.Timestamp | None,
    engine: Any,
    npartitions: int | None,
) -> list[tuple[list[str], dict[str, list[Any]]]]:
    from b2bclient.features._dask import _default_partitions, resolve_engine

    try:
        kind, client = resolve_engine(engine)
    except InvalidParameterError:
        raise InvalidParameterError(
            "The 'engine' parameter of portraits must be 'pandas', 'dask' or a "
            f"dask.distributed.Client. Got {engine!r} instead."
        ) from None
    if npartitions is not None and (
        isinstance(npartitions, bool) or not isinstance(npartitions, int) or npartitions < 1
    ):
        raise InvalidParameterError(
            "The 'npartitions' parameter of portraits must be a positive integer. "
            f"Got {npartitions!r} instead."
        )
    shared = {"products": ctx["products"]}
    args = (ctx.as_of, parts, wanted, include_personal_data, models_as_of)
    if kind == "pandas":
        batches = holding_batches(ctx, wanted_mask, 1)
        return [_run_batch(tables, shared, *args) for tables in batches]
    from b2bclient._optional import import_optional

    dask: Any = import_optional("dask", extra="dask", purpose="engine='dask'")
    n = npartitions if npartitions is not None else _default_partitions(client)
    batches = holding_batches(ctx, wanted_mask, max(1, n))
    if client is None:
        run = dask.delayed(_run_batch, pure=False)
        results = list(dask.compute(*[run(tables, shared, *args) for tables in batches]))
    else:
        [shared_f] = client.scatter([shared], broadcast=True, hash=False)
        [parts_f] = client.scatter([parts], broadcast=True, hash=False)
        futures = client.map(
            _run_batch,
            client.scatter(batches, hash=False),
            shared=shared_f,
            as_of=ctx.as_of,
            parts=parts_f,
            wanted=wanted,
            include_personal_data=include_personal_data,
            models_as_of=models_as_of,
            pure=False,
        )
        results = client.gather(futures)
    return results


def portraits(
    base: Any,
    ids: Any = None,
    as_of: Any = None,
    models: Models | None = None,
    *,
    format: str = "frame",
    engine: Any = "pandas",
    npartitions: int | None = None,
    include_personal_data: bool = False,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Return the portraits of many organisations as of `as_of`.

    The base is cut once at `as_of`; the organisations (with every member of their holdings,
    for the roll-ups) are split into batches of whole holdings and each batch is portrayed from
    its own rows only, so ``engine="dask"`` gives the same result as pandas.

    A partitioned base (``ClientBase.open_parquet``) is portrayed partition by partition, each
    read where it is portrayed (a holding never spans two partitions); the columns of the frame,
    which depend on every portrait, are a reduce step (see ``docs/scale.md``).

    Parameters
    ----------
    base : ClientBase or PartitionedClientBase
        The client base.
    ids : list of str, optional
        The organisations, in output order; None portrays every organisation known before
        `as_of`, sorted (a partitioned base takes None only).
    as_of : str or pandas.Timestamp
        Portrait time; required, never defaults to now.
    models : Models, optional
        A bundle fitted at or before `as_of`; without it the portraits hold the core only.
    format : {"frame", "jsonl", "portraits"}, default "frame"
        A DataFrame indexed by ``organisation_id`` with one column per leaf of the document
        (``"churn.probability"``; lists stay lists), JSON Lines (a str, one document per line),
        or a list of :class:`Portrait`.
    engine : {"pandas", "dask"} or distributed.Client, default "pandas"
        As in :func:`~b2bclient.features.build_features`. With a partitioned base and Dask the
        result is a Dask DataFrame (``format="frame"`` only) with one partition per partition
        of the base, each sorted; the portraits are computed on the call and kept on the
        workers.
    npartitions : int, optional
        Batches for Dask (by default twice the cluster's threads); unused with a partitioned
        base (its partitions are the batches).
    include_personal_data : bool, default False
        Add the ``contacts`` section with names, e-mails and phones.
    path : str or path-like, optional
        With ``format="jsonl"``, write the lines to this file and return its path.

    Returns
    -------
    pandas.DataFrame, str, pathlib.Path, list of Portrait or dask.dataframe.DataFrame

    Raises
    ------
    UnknownIdError
        For ids not in the base, or created at or after `as_of`.
    InvalidParameterError
        For an `as_of` before the data, a bundle fitted after `as_of`, or a bad argument.

    Examples
    --------
    >>> import b2bclient as bc
    >>> base = bc.datasets.make_client_base(300, seed=1)
    >>> frame = portraits(base, as_of="2025-01-01")
    >>> frame.index.name, "open_deals.count" in frame.columns
    ('organisation_id', True)
    >>> lines = portraits(base, ["O-000001", "O-000002"], "2025-01-01", format="jsonl")
    >>> len(lines.splitlines())
    2
    """
    owner = "portraits"
    if as_of is None:
        raise InvalidParameterError(
            "portraits needs as_of (the portrait's time, e.g. '2025-01-01'); it never "
            "defaults to now."
        )
    if format not in _FORMATS:
        raise InvalidParameterError(
            f"The 'format' parameter of portraits must be one of {list(_FORMATS)}. Got "
            f"{format!r} instead."
        )
    t = to_timestamp(as_of, owner=owner)
    parts = _check_models(models, t, owner)
    from b2bclient.base import PartitionedClientBase

    if isinstance(base, PartitionedClientBase):
        from b2bclient.account._partitioned import partitioned_portraits

        return partitioned_portraits(
            base, ids, t, models, parts, format, engine, bool(include_personal_data), path
        )
    ctx = _cut(base, t, owner)
    chosen, wanted_mask = _wanted(base, ctx, ids, owner)
    models_as_of = None if models is None else models.as_of
    rows = _compute(
        ctx,
        wanted_mask,
        None if ids is None else chosen,
        parts,
        bool(include_personal_data),
        models_as_of,
        engine,
        npartitions,
    )
    return assemble(rows, chosen, head_of(t, models_as_of), format, path)


def head_of(t: pd.Timestamp, models_as_of: pd.Timestamp | None) -> dict[str, Any]:
    """Return the fields every portrait starts with."""
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": t.isoformat(),
        "models_as_of": None if models_as_of is None else models_as_of.isoformat(),
    }


def assemble(
    rows: list[tuple[list[str], dict[str, list[Any]]]],
    chosen: list[str],
    head: dict[str, Any],
    format: str,
    path: str | os.PathLike[str] | None,
) -> Any:
    """Return the portraits of the batches' `rows` in the order of `chosen`, in `format`."""
    names = [name for _, sections in rows[:1] for name in sections]
    got = [i for batch_ids, _ in rows for i in batch_ids]
    order = pd.Index(got).get_indexer(chosen)
    columns = {name: [value for _, sections in rows for value in sections[name]] for name in names}
    columns = {name: [column[i] for i in order.tolist()] for name, column in columns.items()}
    if format == "frame":
        return _frame(chosen, head, columns)
    documents = []
    for i, oid in enumerate(chosen):
        doc = {
            "schema_version": head["schema_version"],
            "organisation_id": oid,
            "as_of": head["as_of"],
            "models_as_of": head["models_as_of"],
        }
        for name in names:
            value = columns[name][i]
            if value is not None:
                doc[name] = value
        documents.append(doc)
    if format == "portraits":
        return [Portrait.from_dict(d) for d in documents]
    text = "".join(json.dumps(d, allow_nan=False) + "\n" for d in documents)
    if path is not None:
        target = Path(path)
        target.write_text(text, encoding="utf-8")
        return target
    return text


def _flatten(prefix: str, values: list[Any], out: dict[str, list[Any]]) -> None:
    """Add one column per leaf of the dicts in `values` (lists stay whole), named by path."""
    keys: dict[str, None] = {}
    for v in values:
        if isinstance(v, dict):
            keys.update(dict.fromkeys(v))
    if not keys:
        out[prefix] = values
        return
    for key in keys:
        column = [v.get(key) if isinstance(v, dict) else None for v in values]
        if any(isinstance(c, dict) for c in column):
            _flatten(f"{prefix}.{key}", column, out)
        else:
            out[f"{prefix}.{key}"] = column


def _frame(ids: list[str], head: dict[str, Any], columns: dict[str, list[Any]]) -> pd.DataFrame:
    flat: dict[str, list[Any]] = {}
    for name, values in columns.items():
        _flatten(name, values, flat)
    frame = pd.DataFrame(flat, index=pd.Index(ids, dtype=object, name="organisation_id"))
    for key in ("models_as_of", "as_of", "schema_version"):
        frame.insert(0, key, head[key])
    return frame


def portrait(
    base: Any,
    organisation_id: str,
    as_of: Any,
    models: Models | None = None,
    *,
    include_personal_data: bool = False,
) -> Portrait:
    """Return one client's digital portrait as of `as_of`.

    Parameters
    ----------
    base : ClientBase
        The client base.
    organisation_id : str
        The client.
    as_of : str or pandas.Timestamp
        Portrait time: only rows before it are read; required.
    models : Models, optional
        A bundle fitted at or before `as_of`. Its parts add their sections (peer percentiles,
        churn risk, value, health, ...); without it the portrait holds the core only.
    include_personal_data : bool, default False
        Add the ``contacts`` section with names, e-mails and phones.

    Returns
    -------
    Portrait

    Raises
    ------
    UnknownIdError
        If the organisation is not in the base or was created at or after `as_of`.
    InvalidParameterError
        If `as_of` precedes the data or the bundle was fitted after `as_of`.

    Examples
    --------
    >>> import b2bclient as bc
    >>> base = bc.datasets.make_client_base(300, seed=1)
    >>> p = portrait(base, "O-000001", as_of="2025-01-01")
    >>> p.names
    ('organisation', 'holding', 'open_deals', 'active_projects', 'engagement')
    >>> p["holding"]["top_parent_id"]
    'O-000001'
    """
    if not isinstance(organisation_id, str):
        raise InvalidParameterError(
            f"The 'organisation_id' parameter of portrait must be a str. Got "
            f"{organisation_id!r} instead."
        )
    result: list[Portrait] = portraits(
        base,
        [organisation_id],
        as_of,
        models,
        format="portraits",
        include_personal_data=include_personal_data,
    )
    return result[0]
