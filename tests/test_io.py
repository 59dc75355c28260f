"""Round trips through Parquet, CSV, SQLite and PostgreSQL are lossless."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.base import TABLE_NAMES

sqlalchemy = pytest.importorskip("sqlalchemy")


def _assert_same(a: bc.ClientBase, b: bc.ClientBase, *, extra_dtypes: bool = True) -> None:
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(
            a.tables[name], b.tables[name], check_dtype=True, obj=name, check_column_type=True
        ) if extra_dtypes else pd.testing.assert_frame_equal(
            a.tables[name], b.tables[name], check_dtype=False, obj=name
        )


@pytest.fixture
def rich_base(raw_frames):
    """The small base with nulls everywhere optional, extra columns and sub-second times."""
    raw_frames["deals"]["priority"] = [1.5, None, 3.0, 4.0]
    raw_frames["deals"]["note"] = ["urgent", None, "ß-ñ-ü ✓", 'a,b;"c"']
    raw_frames["interactions"].loc[0, "occurred_at"] = "2022-10-01T09:00:00.123456"
    return bc.ClientBase(raw_frames)


def test_parquet_round_trip(tmp_path, rich_base):
    pytest.importorskip("pyarrow")
    rich_base.to_parquet(tmp_path / "base")
    assert sorted(p.name for p in (tmp_path / "base").iterdir()) == sorted(
        f"{n}.parquet" for n in TABLE_NAMES
    )
    _assert_same(bc.ClientBase.read_parquet(tmp_path / "base"), rich_base)


def test_csv_round_trip(tmp_path, rich_base):
    rich_base.to_csv(tmp_path)
    back = bc.ClientBase.read_csv(tmp_path)
    for name in TABLE_NAMES:
        canonical = list(back.tables[name].columns[: len(back.tables[name].columns)])
        pd.testing.assert_frame_equal(
            back.tables[name][canonical], rich_base.tables[name][canonical], obj=name
        )


def test_csv_keeps_leading_zeros_and_reads_minimal_exports(tmp_path):
    pd.DataFrame(
        {"organisation_id": ["007", "010"], "created_at": ["2024-01-01", "2024-01-02"]}
    ).to_csv(tmp_path / "organisations.csv", index=False)
    pd.DataFrame(
        {
            "organisation_id": ["007"],
            "created_at": ["2024-02-01T10:00:00+01:00"],
            "amount": ["12.5"],
        }
    ).to_csv(tmp_path / "deals.csv", index=False)
    base = bc.ClientBase.read_csv(tmp_path)
    assert base.organisations.organisation_id.tolist() == ["007", "010"]
    assert base.deals.loc[0, "closed_at"] == pd.Timestamp("2024-02-01 09:00")
    assert base.deals.loc[0, "amount"] == 12.5


def test_readers_name_a_missing_organisations_table(tmp_path):
    with pytest.raises(bc.InvalidTablesError, match="organisations"):
        bc.ClientBase.read_csv(tmp_path)
    with pytest.raises(bc.InvalidParameterError, match="directory"):
        bc.ClientBase.read_csv(tmp_path / "nowhere")


def test_bad_csv_is_reported_with_ids(tmp_path, raw_frames):
    bc.ClientBase(raw_frames).to_csv(tmp_path)
    deals = pd.read_csv(tmp_path / "deals.csv", dtype=str)
    deals.loc[1, "amount"] = "-3"
    deals.to_csv(tmp_path / "deals.csv", index=False)
    with pytest.raises(
        bc.InvalidTablesError, match=r"amount: 1 negative value at deal_id \['D-2'\]"
    ):
        bc.ClientBase.read_csv(tmp_path)


def _sql_round_trip(url_or_engine, base: bc.ClientBase, **kwargs) -> bc.ClientBase:
    base.to_sql(url_or_engine, **kwargs)
    return bc.ClientBase.read_sql(
        url_or_engine, **{k: v for k, v in kwargs.items() if k != "if_exists"}
    )


def test_sqlite_round_trip(tmp_path, rich_base):
    url = f"sqlite:///{tmp_path / 'clients.db'}"
    back = _sql_round_trip(url, rich_base)
    _assert_same(back, rich_base)


def test_sqlite_refuses_to_overwrite_unless_asked(tmp_path, small_base):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    small_base.to_sql(engine, prefix="crm_")
    with pytest.raises(bc.InvalidParameterError, match="if_exists='replace'"):
        small_base.to_sql(engine, prefix="crm_")
    small_base.to_sql(engine, prefix="crm_", if_exists="replace")
    assert bc.ClientBase.read_sql(engine, prefix="crm_").equals(small_base)
    with pytest.raises(bc.InvalidTablesError, match="no table 'organisations'"):
        bc.ClientBase.read_sql(engine)


# --- PostgreSQL: a real server; CI starts one and sets B2BCLIENT_REQUIRE_POSTGRES=1 --------------


def _postgres_url() -> str | None:
    return os.environ.get("B2BCLIENT_POSTGRES_URL")


@pytest.fixture
def postgres_engine():
    url = _postgres_url()
    required = os.environ.get("B2BCLIENT_REQUIRE_POSTGRES") == "1"
    if url is None:
        if required:
            pytest.fail("B2BCLIENT_REQUIRE_POSTGRES=1 but B2BCLIENT_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set B2BCLIENT_POSTGRES_URL to run these tests")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
    except sqlalchemy.exc.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at {url} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL at {url} is not reachable")
    schema = f"b2b_test_{os.getpid()}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
    try:
        yield engine, schema
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))
        engine.dispose()


@pytest.mark.postgres
def test_postgres_round_trip(postgres_engine, rich_base):
    engine, schema = postgres_engine
    back = _sql_round_trip(engine, rich_base, schema=schema)
    _assert_same(back, rich_base)


@pytest.mark.postgres
def test_postgres_round_trip_by_url_with_prefix(postgres_engine, small_base):
    engine, schema = postgres_engine
    url = engine.url.render_as_string(hide_password=False)
    back = _sql_round_trip(url, small_base.as_of("2024-01-01"), schema=schema, prefix="cut_")
    assert back.equals(small_base.as_of("2024-01-01"))
