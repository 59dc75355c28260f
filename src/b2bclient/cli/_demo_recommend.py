"""Report sections of the recommenders: cross-sell suggestions and partner matches, with reasons.

Both fit as of ``ctx.as_of`` and suggest for every organisation known then; the suggestions are
written to ``recommendations.csv`` and ``partners.csv`` in the output directory. On the demo's
synthetic base the partner section also counts the hidden partner pairs it finds, against the
simple co-presence rule.
"""

from __future__ import annotations

import time

import pandas as pd

from b2bclient.cli._context import Context

__all__ = ["cross_sell_section", "partner_section"]

#: Organisations whose suggestions are printed.
N_SHOWN = 3


def cross_sell_section(ctx: Context) -> None:
    """Suggest the next products and services of every organisation, with the reason of each."""
    from b2bclient.recommend import CrossSell

    ctx.out.section(f"Cross-sell as of {ctx.as_of.date()}: next products and services")
    started = time.perf_counter()
    model = CrossSell().fit(ctx.base, as_of=ctx.as_of, segments=ctx.results.get("segments"))
    ctx.results["cross_sell"] = model
    recs = model.recommend(None, k=10)
    ctx.out.line(
        f"{model.organisation_ids_.shape[0]:,} organisations, 10 suggestions each, in "
        f"{time.perf_counter() - started:.1f} s. Signals: {', '.join(model.signals_)}; blend "
        f"{model.blend_} on {model.n_train_positives_:,} first purchases of the last 180 days."
    )
    names = pd.Series(model.product_names_, index=model.product_ids_, name="product")
    # One organisation whose project stage drives a suggestion, then the first ones.
    staged = recs.loc[recs["reason"].str.startswith("its project"), "organisation_id"]
    shown = list(dict.fromkeys([*staged.head(1), *recs["organisation_id"]]))[:N_SHOWN]
    for organisation_id in shown:
        top = recs[(recs["organisation_id"] == organisation_id) & (recs["rank"] <= 3)]
        table = top.join(names, on="product_id")[["rank", "product", "reason"]]
        ctx.out.frame(table.set_index("rank"), caption=f"Suggestions for {organisation_id}")
    path = ctx.out_dir / "recommendations.csv"
    recs.to_csv(path, index=False)
    ctx.outputs["cross-sell"] = path


def partner_section(ctx: Context) -> None:
    """Match client organisations that could do business with each other, with reasons."""
    from b2bclient.recommend import PartnerMatcher
    from b2bclient.recommend.metrics import copresence_partners, pair_recall_at_k

    ctx.out.section(f"Partner matching as of {ctx.as_of.date()}: clients for each other")
    started = time.perf_counter()
    matcher = PartnerMatcher().fit(ctx.base, as_of=ctx.as_of)
    ctx.results["partner_matcher"] = matcher
    matches = matcher.match(None, k=10)
    ctx.out.line(
        f"{matcher.organisation_ids_.shape[0]:,} organisations matched in "
        f"{time.perf_counter() - started:.1f} s with the {matcher.model_} pair model "
        f"({matcher.n_links_:,} known supplier links)."
    )
    comp = matcher.complementary_
    learnt = [f"{s} -> {b}" for s, b in comp.where(comp).stack().index]
    if learnt:
        ctx.out.line(f"Complementary industries learnt from the known links: {', '.join(learnt)}.")
    best = matches[matches["rank"] == 1].sort_values("score", ascending=False, kind="stable")
    best = best[best["organisation_id"] < best["partner_id"]]  # each pair once
    for row in best.head(N_SHOWN).itertuples():
        ctx.out.line(f"{row.organisation_id} and {row.partner_id} (the partner as {row.role}):")
        for reason in row.reasons.split("; "):
            ctx.out.line(f"  - {reason}")
    path = ctx.out_dir / "partners.csv"
    matches.to_csv(path, index=False)
    ctx.outputs["partners"] = path
    if ctx.truth is not None:
        pairs = ctx.truth.partner_pairs
        rule = copresence_partners(ctx.base, ctx.as_of, k=10, random_state=ctx.seed)
        ctx.out.line(
            f"Hidden partner pairs found (either side lists the other in its top 10): "
            f"{pair_recall_at_k(matches, pairs):.1%} of {len(pairs):,}, against "
            f"{pair_recall_at_k(rule, pairs):.1%} for the simple co-presence rule."
        )
