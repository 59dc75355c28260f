"""A partitioned client base on disk: layout, validation across partitions, partition-wise results.

The partitioned path must give exactly the in-memory results: features, the scores of every
fitted model (churn, BTYD, lifecycle, pipeline, recommenders) and the portraits. The suite checks
it on 1 200 organisations (in this process, and on a LocalCluster of processes and of threads);
``benchmarks/scale_dask.py --exactness 20000`` checks 20 000 (``docs/benchmarks.md``).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2bclient import InvalidParameterError, InvalidTablesError, UnknownIdError
from b2bclient.base import SCHEMAS, TABLE_NAMES, ClientBase, PartitionedClientBase
from b2bclient.datasets import make_client_base, write_client_base
from b2bclient.features import build_features

pytest.importorskip("pyarrow")

AS_OF = "2024-07-01"


@pytest.fixture(scope="module")
def base() -> ClientBase:
    return make_client_base(1_200, seed=4)


@pytest.fixture(scope="module")
def written(base: ClientBase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("partitioned") / "base"
    base.to_parquet(path, partition_by="holding", n_partitions=3)
    return path


@pytest.fixture(scope="module")
def pbase(written: Path) -> PartitionedClientBase:
    return ClientBase.open_parquet(written)


@pytest.fixture(scope="module")
def features(base: ClientBase) -> pd.DataFrame:
    return build_features(base, AS_OF)


def _sorted(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df.sort_values(list(SCHEMAS[name].key)).reset_index(drop=True)


# --- layout ---------------------------------------------------------------------------------------


def test_the_manifest_records_version_partitions_rows_and_key_ranges(
    base: ClientBase, written: Path
) -> None:
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["n_partitions"] == 3
    assert manifest["partition_by"] == "holding"
    for name in TABLE_NAMES:
        entry = manifest["tables"][name]
        rows = entry["rows"]
        assert (sum(rows) if isinstance(rows, list) else rows) == len(base.tables[name])
    orgs = manifest["tables"]["organisations"]
    for i in range(3):
        ids = pd.read_parquet(written / "organisations" / f"part-{i:05d}.parquet")[
            "organisation_id"
        ]
        assert (orgs["key_min"][i], orgs["key_max"][i]) == (ids.min(), ids.max())
    assert (written / "products.parquet").is_file()
    assert not (written / "products").exists()


def test_holdings_stay_together_and_rows_follow_their_parents(written: Path) -> None:
    where: dict[str, dict[str, int]] = {}
    for name, key in (("organisations", "organisation_id"), ("deals", "deal_id")):
        where[name] = {}
        for i in range(3):
            df = pd.read_parquet(written / name / f"part-{i:05d}.parquet")
            where[name].update(dict.fromkeys(df[key], i))
            if name == "deals":
                assert df["organisation_id"].map(where["organisations"]).eq(i).all()
    orgs = pd.concat(
        pd.read_parquet(written / "organisations" / f"part-{i:05d}.parquet") for i in range(3)
    )
    children = orgs.dropna(subset=["parent_id"])
    assert len(children) > 10
    assert (
        children["organisation_id"].map(where["organisations"])
        == children["parent_id"].map(where["organisations"])
    ).all()
    for i in range(3):
        lines = pd.read_parquet(written / "deal_lines" / f"part-{i:05d}.parquet")
        assert lines["deal_id"].map(where["deals"]).eq(i).all()


def test_the_partitions_together_are_the_base(
    base: ClientBase, pbase: PartitionedClientBase
) -> None:
    whole = pbase.to_client_base()
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(
            _sorted(whole.tables[name], name), _sorted(base.tables[name], name)
        )
    assert len(pbase) == len(base)
    assert sum(len(p) for p in pbase.partitions()) == len(base)
    assert pbase.absent_tables == base.absent_tables


def test_a_partition_is_a_valid_in_memory_base_and_as_of_cuts_it(
    base: ClientBase, pbase: PartitionedClientBase
) -> None:
    part = pbase.as_of(AS_OF).partition(1)
    assert isinstance(part, ClientBase)
    assert part.known_before == pd.Timestamp(AS_OF)
    ids = part.organisations["organisation_id"]
    expected = base.as_of(AS_OF).deals
    expected = expected.loc[expected["organisation_id"].isin(ids)]
    pd.testing.assert_frame_equal(_sorted(part.deals, "deals"), _sorted(expected, "deals"))
    with pytest.raises(InvalidParameterError, match="later time"):
        pbase.as_of(AS_OF).as_of("2024-08-01")
    with pytest.raises(InvalidParameterError, match=r"integer in \[0, 3\)"):
        pbase.partition(3)


def test_plain_to_parquet_is_unchanged_and_bad_layout_arguments_are_refused(
    base: ClientBase, tmp_path: Path
) -> None:
    base.to_parquet(tmp_path / "plain")
    assert ClientBase.read_parquet(tmp_path / "plain").equals(base)
    with pytest.raises(InvalidParameterError, match="'partition_by'"):
        base.to_parquet(tmp_path / "x", partition_by="region")
    with pytest.raises(InvalidParameterError, match="'n_partitions'"):
        base.to_parquet(tmp_path / "y", partition_by="holding", n_partitions=0)
    with pytest.raises(InvalidParameterError, match="not empty"):
        base.to_parquet(tmp_path / "plain", partition_by="holding", n_partitions=2)
    with pytest.raises(InvalidParameterError, match=r"manifest\.json is missing"):
        ClientBase.open_parquet(tmp_path / "plain")


# --- validation across partitions -----------------------------------------------------------------


def test_a_valid_partitioned_base_validates(pbase: PartitionedClientBase) -> None:
    pbase.validate()


@pytest.fixture
def copy_of(written: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(written, target)
    return target


def _edit(path: Path, table: str, i: int, edit: Any) -> None:
    file = path / table / f"part-{i:05d}.parquet"
    edit(pd.read_parquet(file)).to_parquet(file, index=False)


def test_a_validated_partition_is_read_without_validating_again_until_a_file_changes(
    copy_of: Path,
) -> None:
    pbase = ClientBase.open_parquet(copy_of)
    checked = pbase.partition(0)
    pbase.validate()
    assert pbase.partition(0).equals(checked)
    assert pbase.as_of(AS_OF).partition(0).equals(checked.as_of(AS_OF))
    _edit(copy_of, "deals", 0, lambda df: df.assign(amount=-df["amount"]))
    with pytest.raises(InvalidTablesError, match=r"amount: .* negative values"):
        pbase.partition(0)


def test_errors_across_partitions_name_table_column_and_ids(copy_of: Path) -> None:
    orgs1 = pd.read_parquet(copy_of / "organisations" / "part-00001.parquet")
    deal0 = pd.read_parquet(copy_of / "deals" / "part-00000.parquet").iloc[[0]]
    # a deal id held by two partitions: its copy in partition 1 belongs to an organisation there
    dup = deal0.assign(organisation_id=orgs1["organisation_id"].iloc[0])
    _edit(copy_of, "deals", 1, lambda df: pd.concat([df, dup], ignore_index=True))
    # a link to an organisation that no partition holds
    _edit(
        copy_of,
        "relationships",
        0,
        lambda df: df.assign(target_id=["O-NOWHERE", *df["target_id"].iloc[1:].tolist()]),
    )
    # a contact whose organisation lives in another partition
    _edit(
        copy_of,
        "contacts",
        2,
        lambda df: df.assign(
            organisation_id=[
                orgs1["organisation_id"].iloc[1],
                *df["organisation_id"].iloc[1:].tolist(),
            ]
        ),
    )
    rel0 = pd.read_parquet(copy_of / "relationships" / "part-00000.parquet").iloc[0]
    contact2 = pd.read_parquet(copy_of / "contacts" / "part-00002.parquet").iloc[0]
    with pytest.raises(InvalidTablesError) as caught:
        ClientBase.open_parquet(copy_of).validate()
    problems = caught.value.problems
    message = str(caught.value)
    dup_rows = problems.loc[problems["check"] == "duplicate_key"]
    assert dup_rows[["table", "column"]].drop_duplicates().values.tolist() == [["deals", "deal_id"]]
    assert set(dup_rows["row_id"]) == {deal0["deal_id"].iloc[0]}
    fk = problems.loc[problems["check"] == "foreign_key"]
    assert fk[["table", "column", "value"]].values.tolist() == [
        ["relationships", "target_id", "O-NOWHERE"]
    ]
    assert fk["row_id"].tolist() == [f"{rel0['source_id']}/O-NOWHERE/{rel0['kind']}"]
    moved = problems.loc[problems["check"] == "partition"]
    assert moved[["table", "column", "row_id"]].values.tolist() == [
        ["contacts", "organisation_id", contact2["contact_id"]]
    ]
    assert "deal_id: 2 rows sharing a key, in different partitions" in message
    assert "target_id: 1 unknown organisation ['O-NOWHERE']" in message


def test_validation_on_dask_reports_problems_like_in_memory(copy_of: Path) -> None:
    _edit(
        copy_of,
        "interactions",
        1,
        lambda df: df.assign(organisation_id=["O-GONE", *df["organisation_id"].iloc[1:].tolist()]),
    )
    with pytest.raises(InvalidTablesError) as caught:
        ClientBase.open_parquet(copy_of).validate(engine="dask")
    assert caught.value.problems[["table", "column", "check", "value"]].values.tolist() == [
        ["interactions", "organisation_id", "foreign_key", "O-GONE"]
    ]


# --- partition-wise results -----------------------------------------------------------------------


def test_features_equal_the_in_memory_ones(
    pbase: PartitionedClientBase, features: pd.DataFrame
) -> None:
    X = build_features(pbase, AS_OF)
    pd.testing.assert_frame_equal(X, features)
    assert X.attrs == features.attrs


def test_rolled_up_features_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase
) -> None:
    extractors = ["purchasing", "relationships"]
    pd.testing.assert_frame_equal(
        build_features(pbase, "2023-01-01", extractors, rollup="group"),
        build_features(base, "2023-01-01", extractors, rollup="group"),
        check_like=False,
    )


@pytest.fixture(scope="module", params=[True, False], ids=["processes", "threads"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=request.param,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_features_on_a_cluster_equal_the_in_memory_ones(
    pbase: PartitionedClientBase, features: pd.DataFrame, client: Any
) -> None:
    lazy = build_features(pbase, AS_OF, engine=client)
    assert lazy.npartitions == pbase.n_partitions
    X = lazy.compute().sort_index()
    X.attrs = features.attrs
    pd.testing.assert_frame_equal(X, features, check_categorical=False)
    for column in features.select_dtypes("category"):
        assert X[column].astype(object).equals(features[column].astype(object))


def test_churn_scores_partition_by_partition_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase, features: pd.DataFrame
) -> None:
    from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame

    columns = ["firmographics__log_employees", "purchasing__orders_365d", "contracts__active"]
    frame = survival_frame(
        base, as_of="2025-01-01", definition=Inactivity("180D"), landmarks=[AS_OF], features=False
    )
    at_risk = features.loc[frame["organisation_id"], columns]
    model = ChurnModel(kind="cox").fit(at_risk, Surv.from_frame(frame))
    expected = model.predict_churn_probability(features[columns], horizon="180D")
    used = ["firmographics", "purchasing", "contracts"]
    X = build_features(pbase, AS_OF, used, engine="dask")
    scores = X[columns].map_partitions(
        model.predict_churn_probability,
        horizon="180D",
        meta=pd.Series(
            dtype="float64",
            name="churn_probability",
            index=pd.Index([], dtype=object, name="organisation_id"),
        ),
    )
    pd.testing.assert_series_equal(scores.compute().sort_index(), expected)


def test_btyd_scores_partition_by_partition_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase
) -> None:
    from b2bclient.btyd import BetaGeo, rfm_summary

    summary = rfm_summary(base, AS_OF, freq="W")
    model = BetaGeo().fit(summary)
    expected = model.p_alive(summary)
    local = pbase.map_partitions(rfm_summary, AS_OF, freq="W").sort_index()
    pd.testing.assert_frame_equal(local, summary)
    lazy = pbase.map_partitions(rfm_summary, AS_OF, freq="W", engine="dask", meta=summary.iloc[:0])
    p = lazy.map_partitions(model.p_alive, meta=expected.iloc[:0]).compute().sort_index()
    pd.testing.assert_series_equal(p, expected)


def test_a_global_extractor_without_a_reduce_is_refused(pbase: PartitionedClientBase) -> None:
    import attrs

    from b2bclient.features import Relationships

    @attrs.frozen
    class Popularity(Relationships):
        name = "popularity_test"

    with pytest.raises(InvalidParameterError, match="has scope 'global'"):
        build_features(pbase, AS_OF, [Popularity()])


# --- fitted models and portraits, partition by partition ------------------------------------------


@pytest.fixture(scope="module")
def models(pbase: PartitionedClientBase) -> Any:
    """A bundle fitted in memory on one partition: every portrait part, and the models scored
    below (each scores the organisations of the other partitions too)."""
    from b2bclient import Models
    from b2bclient.account import DealOutlook, ProcurementForecast, default_parts
    from b2bclient.lifecycle import LifecycleModel
    from b2bclient.pipeline import WinModel

    d = default_parts()
    parts = [
        *d[:6],
        ProcurementForecast(model=LifecycleModel(n_draws=128)),
        d[7],
        DealOutlook(model=WinModel(cv=2, extractors=("purchasing", "pipeline"))),
    ]
    return Models.fit(pbase.partition(0), AS_OF, parts=parts)


@pytest.fixture(scope="module")
def recommenders(base: ClientBase) -> tuple[Any, Any]:
    """A cross-sell recommender and a partner matcher fitted on the whole base in memory."""
    from b2bclient.recommend import CrossSell, PartnerMatcher

    return CrossSell().fit(base, AS_OF), PartnerMatcher().fit(base, AS_OF)


@pytest.fixture(scope="module")
def scored(base: ClientBase, models: Any, recommenders: tuple[Any, Any]) -> dict[str, Any]:
    """The in-memory results the partitioned ones must equal."""
    return {
        "predict": models.part("lifecycle").model_.predict(base, AS_OF),
        "p_close_within": models.part("pipeline").model_.p_close_within(base, AS_OF, "60D"),
        "match": recommenders[1].match(k=3),
    }


@pytest.fixture(scope="module")
def portrayed(base: ClientBase, models: Any) -> pd.DataFrame:
    from b2bclient import portraits

    return portraits(base, as_of=AS_OF, models=models)


def test_portraits_of_a_partitioned_base_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase, models: Any, portrayed: pd.DataFrame
) -> None:
    from b2bclient import portraits

    pd.testing.assert_frame_equal(portraits(pbase, as_of=AS_OF, models=models), portrayed)
    # the core alone, in JSON Lines
    lines = portraits(pbase, as_of="2023-01-01", format="jsonl")
    assert lines == portraits(base, as_of="2023-01-01", format="jsonl")
    with pytest.raises(InvalidParameterError, match="'ids' would need the partitions"):
        portraits(pbase, ["O-000001"], AS_OF)
    with pytest.raises(InvalidParameterError, match="format='frame'"):
        portraits(pbase, as_of=AS_OF, format="jsonl", engine="dask")
    with pytest.raises(InvalidParameterError, match="no organisation of any partition"):
        portraits(pbase, as_of="2000-01-01")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.sampled_from("ab"),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents=st.lists(
        st.tuples(st.integers(0, 2), st.none() | _JSON, st.none() | _JSON), min_size=1, max_size=8
    )
)
def test_the_columns_of_the_portraits_frame_are_an_exact_reduce(
    documents: list[tuple[int, Any, Any]],
) -> None:
    """Whatever the sections hold, the partitions' frames with the reduced columns and dtypes
    stack into the in-memory frame (columns in order, dtypes as pandas infers them)."""
    from b2bclient.account._batch import assemble
    from b2bclient.account._partitioned import _frame_of, _layout, _merge_layouts

    head = {"schema_version": 1, "as_of": "2024-07-01T00:00:00", "models_as_of": None}
    ids = [f"O-{k:03d}" for k in range(len(documents))]
    rows = []
    for p in range(3):
        mine = [k for k, (where, _, _) in enumerate(documents) if where == p]
        rows.append(
            [
                (
                    [ids[k] for k in mine],
                    {n: [documents[k][j] for k in mine] for j, n in ((1, "a"), (2, "b"))},
                )
            ]
            if mine
            else []
        )
    everything = [r for part in rows for r in part]
    expected = assemble(everything, ids, head, "frame", None)
    columns = _merge_layouts([_layout(part) for part in rows])
    got = pd.concat([_frame_of(part, head, columns) for part in rows]).sort_index()
    pd.testing.assert_frame_equal(got, expected)


def test_lifecycle_scores_partition_by_partition_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase, models: Any, scored: dict[str, Any]
) -> None:
    model = models.part("lifecycle").model_
    pd.testing.assert_frame_equal(model.predict(pbase, AS_OF), scored["predict"])
    expected = model.alerts(base, AS_OF, min_probability=0.3)
    assert len(expected) > 10
    pd.testing.assert_frame_equal(model.alerts(pbase, AS_OF, min_probability=0.3), expected)
    with pytest.raises(InvalidParameterError, match="'organisation_ids' needs the partitions"):
        model.predict(pbase, AS_OF, organisation_ids=["O-000001"])
    with pytest.raises(InvalidParameterError, match="an in-memory base takes engine='pandas'"):
        model.predict(base, AS_OF, engine="dask")


def test_pipeline_scores_partition_by_partition_equal_the_in_memory_ones(
    base: ClientBase, pbase: PartitionedClientBase, models: Any, scored: dict[str, Any]
) -> None:
    from b2bclient.pipeline import WinModel

    model = models.part("pipeline").model_
    p = model.predict_proba(pbase, AS_OF)
    assert len(p) > 10
    pd.testing.assert_series_equal(p, model.predict_proba(base, AS_OF).sort_index())
    pd.testing.assert_frame_equal(
        model.p_close_within(pbase, AS_OF, "60D"), scored["p_close_within"].sort_index()
    )
    linked = copy.copy(model).set_params(extractors=("purchasing", "relationships"))
    assert isinstance(linked, WinModel)
    with pytest.raises(InvalidParameterError, match="extractor 'relationships', of scope"):
        linked.predict_proba(pbase, AS_OF)


def test_recommenders_partition_by_partition_equal_the_in_memory_ones(
    pbase: PartitionedClientBase,
    models: Any,
    recommenders: tuple[Any, Any],
    scored: dict[str, Any],
) -> None:
    cross_sell, matcher = recommenders
    pd.testing.assert_frame_equal(cross_sell.recommend(pbase, k=3), cross_sell.recommend(k=3))
    pd.testing.assert_frame_equal(matcher.match(pbase, k=3), scored["match"])
    # the bundle's recommender, fitted on partition 0, knows none of the others' organisations
    local = models.part("cross_sell").model_
    with pytest.raises(UnknownIdError, match="not known before"):
        local.recommend(pbase, k=2)
    with pytest.warns(UserWarning, match="left out"):
        skipped = local.recommend(pbase, k=2, unknown="skip")
    pd.testing.assert_frame_equal(skipped, local.recommend(k=2), check_like=False)
    view = pbase.as_of(AS_OF)
    others = {o for i in (1, 2) for o in view.partition(i).organisations["organisation_id"]}
    assert set(skipped.attrs["unknown_ids"]) == others


def test_scores_and_portraits_on_a_cluster_equal_the_in_memory_ones(
    pbase: PartitionedClientBase,
    models: Any,
    recommenders: tuple[Any, Any],
    scored: dict[str, Any],
    portrayed: pd.DataFrame,
    client: Any,
) -> None:
    from b2bclient import portraits

    lazy = portraits(pbase, as_of=AS_OF, models=models, engine=client)
    assert lazy.npartitions == pbase.n_partitions
    pd.testing.assert_frame_equal(lazy._meta, portrayed.iloc[:0])
    pd.testing.assert_frame_equal(lazy.compute().sort_index(), portrayed)

    lifecycle = models.part("lifecycle").model_
    pd.testing.assert_frame_equal(
        lifecycle.predict(pbase, AS_OF, engine=client)
        .compute()
        .sort_values("project_id", ignore_index=True),
        scored["predict"],
    )
    win = models.part("pipeline").model_
    pd.testing.assert_frame_equal(
        win.p_close_within(pbase, AS_OF, "60D", engine=client).compute().sort_index(),
        scored["p_close_within"].sort_index(),
    )
    by_rank = ["organisation_id", "rank"]
    pd.testing.assert_frame_equal(
        recommenders[1]
        .match(pbase, k=3, engine=client)
        .compute()
        .sort_values(by_rank, ignore_index=True),
        scored["match"],
    )


# --- the partitioned generator --------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> PartitionedClientBase:
    return write_client_base(tmp_path_factory.mktemp("gen") / "a", 600, n_partitions=3, seed=5)


def test_the_generator_writes_valid_deterministic_partitions(
    generated: PartitionedClientBase, tmp_path: Path
) -> None:
    generated.validate()
    assert generated.rows()["organisations"].tolist() == [200, 200, 200]
    again = write_client_base(tmp_path / "b", 600, n_partitions=3, seed=5)
    for i in range(3):
        assert again.partition(i).equals(generated.partition(i))
    first = generated.partition(0)
    assert first.organisations["organisation_id"].str.startswith("p00000-O-").all()
    assert first.deals["deal_id"].str.startswith("p00000-").all()
    assert not first.deal_lines["product_id"].str.startswith("p0").any()


def test_each_generated_partition_looks_like_make_client_base(
    generated: PartitionedClientBase,
) -> None:
    reference = make_client_base(200, seed=11)
    part = generated.partition(1)
    for name in ("deals", "interactions", "contacts"):
        ratio = len(part.tables[name]) / len(reference.tables[name])
        assert 0.7 < ratio < 1.4, (name, ratio)
    assert np.isclose(
        (part.deals["status"] == "won").mean(),
        (reference.deals["status"] == "won").mean(),
        atol=0.08,
    )


def test_generator_parameters_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'n_partitions'"):
        write_client_base(tmp_path / "a", 10, n_partitions=11)
    with pytest.raises(InvalidParameterError, match="'n_organisations'"):
        write_client_base(tmp_path / "b", 0)
    with pytest.raises(InvalidParameterError, match="unknown parameters"):
        write_client_base(tmp_path / "c", 10, colour="red")
