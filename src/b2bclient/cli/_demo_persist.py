"""Report section on persistence: the fitted models saved beside the report and loaded back."""

from __future__ import annotations

import numpy as np

from b2bclient.cli._context import Context

__all__ = ["persist_section"]


def persist_section(ctx: Context) -> None:
    """Save the churn model into ``<out>/models/`` (JSON + .npy, no pickle) and load it back."""
    if "churn" not in ctx.results:
        return
    from b2bclient import load, save

    result = ctx.results["churn"]
    ctx.out.section("Saving and loading the churn model (JSON + .npy, no pickle)")
    path = ctx.out_dir / "models" / "churn"
    save(result.model, path, overwrite=True)
    again = load(path)
    X = result.frame[result.drivers]
    same = np.array_equal(np.asarray(again.predict(X)), np.asarray(result.model.predict(X)))
    files = sum(1 for p in path.rglob("*") if p.is_file())
    ctx.outputs["models"] = path.parent
    where = path.relative_to(ctx.out_dir).as_posix()
    ctx.out.line(f"saved to {where}/ ({files} files); predictions identical after load: {same}")
