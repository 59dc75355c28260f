"""Report section on segments: who the clients are, in a few groups a sales director can read.

``segments_section`` runs on any client base: ``Segmenter(n_segments="auto")`` on the features as
of ``ctx.as_of``, the profile of every segment (terminal and report), two figures, and the labels
handed on as ``ctx.results["segments"]`` so that the churn section draws its survival curves per
segment. In the demo it also compares the segments with the planted ones.
"""

from __future__ import annotations

import time

import pandas as pd

from b2bclient.cli._context import Context

__all__ = ["MIN_ORGANISATIONS", "segments_section"]

#: Fewer organisations than this are not segmented: a few dozen rows give no stable segments.
MIN_ORGANISATIONS = 100
#: Up to one more segment than the five the generator plants; each candidate is a full fit.
_MAX_SEGMENTS = 6


def segments_section(ctx: Context) -> None:
    """Segment the organisations as of ``ctx.as_of`` and describe every segment."""
    from b2bclient.features import preprocessor
    from b2bclient.segment import Segmenter

    X = ctx.features
    ctx.out.section(f"Segments of the client base as of {ctx.as_of.date()}")
    if len(X) < MIN_ORGANISATIONS:
        ctx.out.line(
            f"{len(X):,} organisations: too few to segment (at least {MIN_ORGANISATIONS} are "
            "needed for segments that come back on resampled data)."
        )
        return
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        # A table the base lacks leaves its features entirely missing: they describe no one.
        X = X.drop(columns=empty)
        ctx.out.line(
            f"Left out, missing for every organisation: {', '.join(empty[:5])}"
            + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        )
    matrix = preprocessor().fit_transform(X)
    start = time.perf_counter()
    seg = Segmenter(n_segments="auto", max_segments=_MAX_SEGMENTS, random_state=ctx.seed).fit(X)
    seconds = time.perf_counter() - start
    how = (
        "a Gaussian mixture of each organisation's profile (rates per active year and shares, "
        "weighted by how reliably each is measured)"
        if seg.representation_ == "profile"
        else "a Gaussian mixture of the preprocessed features"
    )
    ctx.out.line(
        f"{X.shape[1]} features ({matrix.shape[1]} columns as a model matrix through "
        f"bc.features.preprocessor()). Segmenter(n_segments='auto') fits {how} with 2 to "
        f"{_MAX_SEGMENTS} segments and keeps the lowest BIC: {seg.n_segments_} segments, "
        f"{seconds:.1f} s."
    )
    if seg.selection_ is not None:
        ctx.out.frame(
            seg.selection_[["score", "chosen"]].rename(columns={"score": "BIC"}),
            floatfmt="{:,.0f}",
            caption="Candidates (lower BIC is better)",
        )
    table = seg.profile(X)
    ctx.out.frame(
        table[["label", "organisations", "share", "revenue_share", "industries"]],
        floatfmt="{:.2f}",
        caption="Segment profiles",
    )
    for segment, row in table.iterrows():
        ctx.out.line(
            f"segment {segment}, {row['label']}: above the rest: {row['higher']}; "
            f"below: {row['lower']}"
        )
    ctx.out.note(
        "The numbers in brackets are standardised differences between the segment and the other "
        "organisations (money and counts on a log scale); 0.5 is a clear difference."
    )
    labels = pd.Series(seg.labels_, index=X.index, name="segment")
    ctx.results["segments"] = labels.map(lambda j: f"segment {j}")
    ctx.results["segmenter"] = seg
    _figures(ctx, seg, X)
    if ctx.truth is not None:
        _against_truth(ctx, labels)


def _figures(ctx: Context, seg: object, X: pd.DataFrame) -> None:
    from b2bclient._plotting import pyplot
    from b2bclient.segment import plot_segment_profiles, plot_segment_sizes

    plt = pyplot()
    _, ax = plt.subplots(figsize=(7.5, 3.6))
    plot_segment_sizes(seg, X, ax=ax)
    ctx.out.figure(ax, caption="Share of the organisations and of the last year's revenue")
    _, ax = plt.subplots(figsize=(8.5, 5.5))
    plot_segment_profiles(seg, X, ax=ax)
    ctx.out.figure(
        ax,
        caption="Standardised difference of each segment from the rest on the features that "
        "separate the segments most",
    )


def _against_truth(ctx: Context, labels: pd.Series) -> None:
    from sklearn.metrics import adjusted_rand_score

    planted = ctx.truth.segment.reindex(labels.index)
    ari = adjusted_rand_score(planted.astype(str), labels)
    ctx.out.line(
        f"Agreement with the planted segments (adjusted Rand index, 1 = identical, 0 = chance): "
        f"{ari:.3f}. The figures against the best the observable data allow are in "
        "docs/benchmarks.md."
    )
    ctx.out.frame(
        pd.crosstab(labels, planted.rename("planted")),
        floatfmt="{:,.0f}",
        caption="Segments (rows) against the planted segments (columns)",
    )
