"""Report section on the account view: the health-score bands and one client's full portrait.

It fits the bundle of portrait models (:class:`b2bclient.Models`) as of the report's date, writes
every organisation's portrait to ``portraits.jsonl`` and shows one portrait in full: who the
client is, its peers, churn risk and drivers, value, open deals, active projects, engagement and
health.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.cli._context import Context

__all__ = ["account_section"]


def _pick(frame: pd.DataFrame) -> str:
    """A telling client: open deals and active projects, then the most revenue last year."""
    revenue = pd.DataFrame(
        [
            {f["name"]: f["value"] for f in (features if isinstance(features, list) else [])}
            for features in frame.get("features.features", pd.Series([[]] * len(frame)))
        ],
        index=frame.index,
    ).get("purchasing__revenue_365d", pd.Series(0.0, index=frame.index))
    busy = (frame["open_deals.count"] > 0) & (frame["active_projects.count"] > 0)
    if "features.features" not in frame:
        return str(frame["open_deals.value"].idxmax())
    pool = revenue[busy] if busy.any() else revenue
    return str(pool.fillna(0.0).idxmax())


def _scalars(document: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key.endswith(("_by_role", "_by_role_365d")):
            rows.append((name, ", ".join(f"{k} {v}" for k, v in value.items()) or "none"))
        elif isinstance(value, dict):
            rows.extend(_scalars(value, name + "."))
        elif not isinstance(value, list):
            rows.append((name, value))
    return rows


def account_section(ctx: Context) -> None:
    """Fit the portrait models, show the health bands and one full portrait, write them all."""
    from b2bclient.account import portraits

    ctx.out.section("Client portraits and health scores")
    models = _bundle(ctx)
    for name, why in models.skipped.items():
        ctx.out.note(
            f"The {name!r} part could not be fitted on these data, so portraits have no "
            f"{name!r} section: {why}"
        )
    health = models.part("health")
    # Every portrait once: the JSON Lines file, the table of the report and the one shown in full
    # are all read from these documents.
    documents = [
        p.to_dict() for p in portraits(ctx.base, as_of=ctx.as_of, models=models, format="portraits")
    ]
    path = ctx.out_dir / "portraits.jsonl"
    path.write_text(
        "".join(json.dumps(d, allow_nan=False) + "\n" for d in documents), encoding="utf-8"
    )
    ctx.outputs["portraits"] = path
    frame = _frame(documents)
    ctx.results["portraits"] = frame
    ctx.out.line(
        f"Models fitted as of {ctx.as_of.date()}: {', '.join(models.names)}. Every "
        f"organisation's portrait ({len(frame):,}) is in {path.name}, one JSON document per line "
        "(schema: b2bclient.Portrait.json_schema()); no personal data."
    )

    if health is not None:
        _health_bands(ctx, frame, health)
    if len(frame):
        oid = _pick(frame)
        _one_portrait(ctx, documents[frame.index.get_loc(oid)])


#: Models fitted by the earlier sections, by their ``ctx.results`` key, and the portrait part that
#: shows each. The demo's segmenter is not among them: it segments on every feature, relationships
#: included, which a portrait (built from organisation-scope features) cannot reproduce.
_SHARED = {
    "cross_sell": "cross_sell",
    "partner_matcher": "partners",
    "lifecycle": "lifecycle",
    "win_model": "pipeline",
    "wallet_model": "wallet",
}


def _bundle(ctx: Context) -> Any:
    """The portrait bundle: the parts only portraits use are fitted here, the rest are reused.

    Cross-sell, partners, the lifecycle, the open deals' odds and the wallet were fitted
    by their own sections (each at or before ``ctx.as_of``); their parts wrap those models through
    :meth:`~b2bclient.Models.from_fitted` instead of fitting them a second time. A default part
    whose section did not run (too little data, or it failed) is fitted here as usual.
    """
    from b2bclient.account import Models, default_parts

    shared = [ctx.results[key] for key in _SHARED if key in ctx.results]
    covered = {part for key, part in _SHARED.items() if key in ctx.results}
    own = [p for p in default_parts() if p.name not in covered]
    fitted = Models.fit(ctx.base, ctx.as_of, parts=own, errors="skip")
    models = Models.from_fitted(ctx.base, ctx.as_of, [*fitted.parts, *shared])
    models.skipped.update(fitted.skipped)
    return models


def _frame(documents: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per portrait, one column per leaf (``"health.band"``); lists stay whole."""
    if not documents:
        return pd.DataFrame(index=pd.Index([], dtype=object, name="organisation_id"))
    frame = pd.json_normalize(documents)
    return frame.set_index(pd.Index(frame.pop("organisation_id"), name="organisation_id"))


def _health_bands(ctx: Context, frame: pd.DataFrame, health: Any) -> None:
    red, green = health.cutoffs_
    bands = frame["health.band"].value_counts().reindex(["red", "yellow", "green"]).fillna(0)
    table = pd.DataFrame(
        {
            "score range": [f"below {red:.1f}", f"{red:.1f} to {green:.1f}", f"{green:.1f} and up"],
            "organisations": bands.astype(int).to_numpy(),
            "share": (bands / max(bands.sum(), 1)).to_numpy(),
            "churned in calibration": health.band_churn_rate_.reindex(bands.index).to_numpy(),
            "mean trend (90 days)": frame.groupby("health.band")["health.trend"]
            .mean()
            .reindex(bands.index)
            .to_numpy(),
        },
        index=pd.Index(["red", "yellow", "green"], name="band"),
    )
    ctx.out.frame(table, caption=f"Health-score bands as of {ctx.as_of.date()}")
    weights = health.weights_.to_frame("weight")
    ctx.out.frame(weights, caption="Measures of the health score and their weights")
    ctx.out.note(
        f"Cut-offs calibrated on the churn observed in the {health.horizon} before "
        f"{ctx.as_of.date()} ({health.n_calibration_:,} clients, "
        f"{health.churn_rate_:.0%} churned by inactivity): red where the fitted risk is twice "
        "the base rate, green where it is half (docs/account.md)."
    )


def _one_portrait(ctx: Context, document: dict[str, Any]) -> None:
    oid = document["organisation_id"]
    single = ctx.out_dir / f"portrait-{oid}.json"
    single.write_text(_dumps(document), encoding="utf-8")
    ctx.outputs["portrait"] = single
    ctx.out.line(f"One full portrait: {oid} ({document['organisation']['name']}).")
    facts = pd.DataFrame(_scalars(document), columns=["field", "value"]).set_index("field")
    facts["value"] = facts["value"].map(_show)
    ctx.out.frame(facts, caption=f"Portrait of {oid}: every single value", max_rows=120)
    if "features" in document:
        features = pd.DataFrame(document["features"]["features"]).set_index("name")
        ctx.out.frame(
            features,
            caption=f"Key features and percentile among {document['features']['peer_group']} peers",
        )
    drivers = document.get("churn", {}).get("drivers")
    if drivers:
        ctx.out.frame(
            pd.DataFrame(drivers).set_index("feature"),
            caption="What raises its churn risk (log-hazard above the average client)",
        )
    for key, items, caption in (
        ("open_deals", "deals", "Open deals (largest first)"),
        ("active_projects", "projects", "Active projects and their stage"),
    ):
        rows = document[key][items]
        if rows:
            first = next(iter(rows[0]))
            ctx.out.frame(pd.DataFrame(rows).set_index(first), caption=caption)
    if "health" in document:
        measures = pd.DataFrame(document["health"]["measures"]).set_index("name")
        ctx.out.frame(measures, caption="Health score: sub-scores (0-100), weights, contributions")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if np.isfinite(value) else "n/a"
    return "n/a" if value is None else str(value)


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, allow_nan=False)
