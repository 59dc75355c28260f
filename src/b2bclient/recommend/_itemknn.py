"""Item-based collaborative filtering on the sparse organisation x product matrix.

Two item models: item-kNN, where the similarity of two products is the cosine of their columns
after BM25 or plain binary weighting, keeping the ``n_neighbours`` most similar products of each;
and EASE (Steck 2019), the closed-form ridge regression of every product column on the others.
An organisation's score for a product is its row of the matrix times the item model.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from b2bclient._exceptions import InvalidParameterError

__all__ = ["ITEM_MODELS", "MAX_EASE_ITEMS", "bm25_weight", "ease", "interaction_matrix", "item_knn"]

#: The item models CrossSell accepts.
ITEM_MODELS = ("bm25", "cosine", "ease")
#: EASE inverts a dense products x products matrix; beyond this many products use item-kNN.
MAX_EASE_ITEMS = 20_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def interaction_matrix(
    org: IntArray, item: IntArray, deal: IntArray, n_orgs: int, n_items: int
) -> sp.csr_matrix:
    """Return the organisations x items matrix of the number of distinct deals with the item.

    Examples
    --------
    >>> m = interaction_matrix(np.array([0, 0, 0, 1]), np.array([1, 1, 0, 1]),
    ...                        np.array([5, 5, 6, 7]), 2, 2)
    >>> m.toarray().tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    if org.shape[0] == 0:
        return sp.csr_matrix((n_orgs, n_items), dtype=np.float64)
    # A deal belongs to one organisation: count each (deal, item) once.
    _, first = np.unique(deal.astype(np.int64) * n_items + item, return_index=True)
    o = org[first]
    i = item[first]
    m = sp.csr_matrix(
        (np.ones(o.shape[0], dtype=np.float64), (o, i)), shape=(n_orgs, n_items), dtype=np.float64
    )
    m.sum_duplicates()
    return m


def bm25_weight(x: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Return the BM25 weights of an organisations x items count matrix.

    Items play the terms and organisations the documents: a product bought by few organisations
    weighs more (inverse document frequency) and repeated purchases saturate (``k1``), relative to
    the organisation's total (``b``).
    """
    x = sp.csr_matrix(x, dtype=np.float64, copy=True)
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64)
    idf = np.log(n) - np.log1p(df)
    idf = np.maximum(idf, 0.0) + 1e-3
    length = np.asarray(x.sum(axis=1)).ravel()
    avg = float(length.mean()) if n and length.mean() > 0 else 1.0
    row_norm = (1.0 - b) + b * length / avg
    rows = np.repeat(np.arange(n), np.diff(x.indptr))
    tf = x.data
    x.data = tf * (k1 + 1.0) / (k1 * row_norm[rows] + tf) * idf[x.indices]
    return x


def _keep_top(sim: sp.csr_matrix, n_neighbours: int) -> sp.csr_matrix:
    """Keep the `n_neighbours` largest entries of each row (ties by column order)."""
    sim = sp.csr_matrix(sim)
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    counts = np.diff(sim.indptr)
    if counts.max(initial=0) <= n_neighbours:
        return sim
    rows = np.repeat(np.arange(sim.shape[0]), counts)
    order = np.lexsort((sim.indices, -sim.data, rows))
    rank = np.arange(order.shape[0]) - np.repeat(sim.indptr[:-1], counts)
    keep = order[rank < n_neighbours]
    keep.sort()
    return sp.csr_matrix(
        (sim.data[keep], (rows[keep], sim.indices[keep])), shape=sim.shape, dtype=np.float64
    )


def item_knn(x: sp.csr_matrix, *, weighting: str, n_neighbours: int) -> sp.csr_matrix:
    """Return the items x items cosine similarity, keeping `n_neighbours` per item.

    Parameters
    ----------
    x : scipy.sparse.csr_matrix
        Organisations x items counts.
    weighting : {"bm25", "cosine"}
        BM25 weights, or binary (bought or not) columns.
    n_neighbours : int
        Neighbours kept per item.

    Returns
    -------
    scipy.sparse.csr_matrix
        Row ``i`` holds the similarities of item ``i`` to its neighbours; the diagonal is 0.
    """
    if weighting == "bm25":
        w = bm25_weight(x)
    else:
        w = sp.csr_matrix(x, dtype=np.float64, copy=True)
        w.data = np.ones_like(w.data)
    norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=0)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    w = sp.csr_matrix(w @ sp.diags(inv))
    sim = sp.csr_matrix(w.T @ w)
    return _keep_top(sim, n_neighbours)


def ease(x: sp.csr_matrix, *, l2: float) -> FloatArray:
    """Return the EASE item weights ``B`` (zero diagonal) of the binary matrix `x`.

    ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1``: each column predicts an item from the
    other items an organisation bought.

    Raises
    ------
    InvalidParameterError
        If there are more than :data:`MAX_EASE_ITEMS` products.
    """
    n_items = x.shape[1]
    if n_items > MAX_EASE_ITEMS:
        raise InvalidParameterError(
            f"The 'item_model' parameter of CrossSell is 'ease', which inverts a dense products x "
            f"products matrix; this catalogue has {n_items} products (at most {MAX_EASE_ITEMS}). "
            "Use item_model='bm25' or 'cosine' instead."
        )
    b = sp.csr_matrix(x, dtype=np.float64, copy=True)
    b.data = np.ones_like(b.data)
    gram = np.asarray((b.T @ b).toarray(), dtype=np.float64)
    gram[np.diag_indices(n_items)] += l2
    p = np.linalg.inv(gram)
    weights = -p / np.diag(p)
    weights[np.diag_indices(n_items)] = 0.0
    return np.asarray(weights, dtype=np.float64)
