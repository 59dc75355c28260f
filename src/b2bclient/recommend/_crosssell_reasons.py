"""Plain-words reasons of CrossSell recommendations, each a checkable statement about the data.

The reason of a recommendation is the signal that contributed most to its score, stated with the
counts behind it, all taken from the rows known before ``as_of``:

* ``similar``: "organisations that bought <product it bought> also bought it: 41 of 230";
* ``industry``: "bought by 120 of 410 construction organisations";
* ``segment``: "bought by 80 of 300 organisations of segment 'key_accounts'";
* ``stage``: "its project <name> (<id>) is in delivery; organisations with a project in delivery
  bought it 3.2 times as often in the next 180 days";
* ``attached``: "added to 95 of 700 won deals with <good>, which it buys";
* ``popular`` (and whenever no other signal speaks for the product): "bought by 900 of 4000
  organisations".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from b2bclient.base._schema import STAGES
from b2bclient.recommend._context import attached_signal, stage_signal

if TYPE_CHECKING:
    from b2bclient.recommend._crosssell import CrossSell

__all__ = ["explain"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _lookup(matrix: object, rows: IntArray, cols: IntArray) -> FloatArray:
    """Return ``matrix[rows, cols]`` elementwise for a dense array or a sparse matrix."""
    if rows.shape[0] == 0:
        return np.zeros(0)
    if sp.issparse(matrix):
        return np.asarray(sp.csr_matrix(matrix)[rows, cols], dtype=np.float64).ravel()
    return np.asarray(np.asarray(matrix)[rows, cols], dtype=np.float64)


def _anchors(model: CrossSell, orgs: IntArray, items: IntArray) -> IntArray:
    """Return, per (organisation, item), the bought product that contributes most to ``similar``.

    -1 where no bought product is similar to the item.
    """
    snap = model._snapshot
    owned = sp.csr_matrix(snap.owned[orgs])
    counts = np.diff(owned.indptr)
    rec = np.repeat(np.arange(orgs.shape[0]), counts)
    cols = owned.indices.astype(np.int64)
    contrib = np.log1p(owned.data) * _lookup(snap.item_model, cols, items[rec])
    anchor = np.full(orgs.shape[0], -1, dtype=np.int64)
    positive = contrib > 0
    rec, cols, contrib = rec[positive], cols[positive], contrib[positive]
    order = np.lexsort((cols, -contrib, rec))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = rec[order][1:] != rec[order][:-1]
    anchor[rec[order][first]] = cols[order][first]
    return anchor


def co_buyers(model: CrossSell) -> sp.csr_matrix:
    """Return products x products: organisations that bought both (cached on the model)."""
    cached = getattr(model, "_co_buyers", None)
    if cached is None:
        bought = sp.csr_matrix(model._snapshot.owned, copy=True)
        bought.data = np.ones_like(bought.data)
        cached = sp.csr_matrix(bought.T @ bought)
        model._co_buyers = cached
    return cached


def explain(
    model: CrossSell,
    codes: IntArray,
    row: IntArray,
    item: IntArray,
    x: FloatArray,
    contrib: FloatArray,
) -> npt.NDArray[np.object_]:
    """Return the reason of each recommendation (organisation ``codes[row]``, product `item`).

    `x` and `contrib` are the signals and their contributions to the score, shaped
    (organisations, products, signals).
    """
    snap = model._snapshot
    signals = model.signals_
    orgs = codes[row]
    n = orgs.shape[0]
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    c = contrib[row, item, :].copy()
    raw = x[row, item, :]
    # A signal is a reason only where there is evidence behind it: a bought product similar to
    # this one, a known industry or segment, a positive stage lift, a positive attach rate.
    positive = {name: raw[:, f] > 0 for f, name in enumerate(signals)}
    evidence = {
        "similar": positive.get("similar", np.zeros(n, dtype=bool)),
        "popular": np.zeros(n, dtype=bool),
        "industry": model.industry_[orgs] >= 0,
        "segment": model.segment_[orgs] >= 0,
        "stage": positive.get("stage", np.zeros(n, dtype=bool)),
        "attached": positive.get("attached", np.zeros(n, dtype=bool)),
    }
    for f, name in enumerate(signals):
        c[:, f] = np.where(evidence[name], c[:, f], -np.inf)
    best = np.argmax(c, axis=1)
    best_value = np.take_along_axis(c, best[:, None], axis=1)[:, 0]
    kind = np.array([signals[b] for b in best], dtype=object)
    kind[~(best_value > 0)] = "popular"
    date = model.as_of_.date().isoformat()
    names = model.product_names_
    days = int(model.horizon_ / np.timedelta64(1, "D"))

    n_items = names.shape[0]

    def fill(sel: IntArray, keys: IntArray, text: Callable[[int], str]) -> None:
        # Format each distinct reason once: many recommendations share one.
        unique, inverse = np.unique(keys, return_inverse=True)
        out[sel] = np.array([text(int(u)) for u in unique] + [""], dtype=object)[:-1][inverse]

    sel = np.flatnonzero(kind == "similar")
    if sel.shape[0]:
        a = _anchors(model, orgs[sel], item[sel])
        both = dict(
            zip(
                (a * n_items + item[sel]).tolist(),
                _lookup(co_buyers(model), a, item[sel]).astype(np.int64).tolist(),
                strict=True,
            )
        )
        fill(
            sel,
            a * n_items + item[sel],
            lambda u: (
                f"organisations that bought {names[u // n_items]} (as it did) also bought it: "
                f"{both[u]} of {int(snap.buyers[u // n_items])} before {date}"
            ),
        )
    sel = np.flatnonzero(kind == "industry")
    if sel.shape[0]:
        fill(
            sel,
            model.industry_[orgs[sel]] * n_items + item[sel],
            lambda u: (
                f"bought by {int(snap.industry_buyers[u // n_items, u % n_items])} of "
                f"{int(snap.industry_size[u // n_items])} {model.industry_names_[u // n_items]} "
                f"organisations before {date}"
            ),
        )
    sel = np.flatnonzero(kind == "segment")
    if sel.shape[0]:
        fill(
            sel,
            model.segment_[orgs[sel]] * n_items + item[sel],
            lambda u: (
                f"bought by {int(snap.segment_buyers[u // n_items, u % n_items])} of "
                f"{int(snap.segment_size[u // n_items])} organisations of segment "
                f"{model.segment_names_[u // n_items]!r} before {date}"
            ),
        )
    sel = np.flatnonzero(kind == "stage")
    if sel.shape[0]:
        _, stage_source = stage_signal(snap, codes)
        src = stage_source[row[sel], item[sel]]
        fill(
            sel,
            src * n_items + item[sel],
            lambda u: _stage_text(model, u // n_items, u % n_items, days),
        )
    sel = np.flatnonzero(kind == "attached")
    if sel.shape[0]:
        _, attach_source = attached_signal(snap, codes)
        good = attach_source[row[sel], item[sel]]
        fill(
            sel,
            good * n_items + item[sel],
            lambda u: _attached_text(model, u // n_items, u % n_items),
        )
    sel = np.flatnonzero(kind == "popular")
    if sel.shape[0]:
        fill(
            sel,
            item[sel],
            lambda u: (
                f"bought by {int(snap.buyers[u])} of {snap.n_known} organisations before {date}"
            ),
        )
    return out


def _stage_text(model: CrossSell, source: int, item: int, days: int) -> str:
    snap = model._snapshot
    stage = STAGES[int(snap.stage_code[source])]
    project = int(snap.stage_project[source])
    lift = snap.lift_ratio[snap.stage_code[source], item]
    return (
        f"its project {model.project_names_[project]} ({model.project_ids_[project]}) is in "
        f"{stage}; organisations with a project in {stage} bought it {lift:.1f} times as often "
        f"in the next {days} days"
    )


def _attached_text(model: CrossSell, good: int, item: int) -> str:
    snap = model._snapshot
    g = int(np.searchsorted(snap.goods, good))
    s = int(np.searchsorted(snap.services, item))
    return (
        f"added to {int(snap.attach_deals[g, s])} of {int(snap.goods_deals[g])} won deals with "
        f"{model.product_names_[good]}, which it buys"
    )
