"""Files: exact round trips where promised, every file accounted for, clear errors on bad files."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.base import TABLE_NAMES

sqlalchemy = pytest.importorskip("sqlalchemy")


def _orgs(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {"organisation_id": ["NA", "null", "O-3"], "created_at": ["2023-01-01"] * 3, **extra}
    )


def _precise_base() -> bc.ClientBase:
    orgs = _orgs(annual_revenue=[31788.239999999998, 0.1 + 0.2, 1e-300], name=["NA", "null", "x"])
    orgs.loc[0, "created_at"] = "2023-01-01T10:00:00.123456789"
    deals = pd.DataFrame(
        {
            "deal_id": ["NaN", "None"],
            "organisation_id": ["NA", "null"],
            "created_at": ["2023-02-01T00:00:00.000000001", "2023-02-02"],
            "amount": [123456789.12345679, 2.0 / 3.0],
        }
    )
    return bc.ClientBase.from_frames(orgs, deals=deals)


# --- 4: round trips -------------------------------------------------------------------------------


def test_csv_round_trip_keeps_float_digits_nanoseconds_and_null_like_ids(tmp_path):
    base = _precise_base()
    base.to_csv(tmp_path)
    back = bc.ClientBase.read_csv(tmp_path)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(back.tables[name], base.tables[name], check_exact=True)
    assert back.organisations["organisation_id"].tolist() == ["NA", "null", "O-3"]
    assert back.organisations.loc[0, "annual_revenue"] == 31788.239999999998
    assert back.deals.loc[0, "created_at"].nanosecond == 1


def test_parquet_round_trip_is_exact(tmp_path):
    pytest.importorskip("pyarrow")
    base = _precise_base()
    base.to_parquet(tmp_path)
    assert bc.ClientBase.read_parquet(tmp_path).equals(base)


def test_sql_keeps_microseconds_and_says_it_drops_nanoseconds(tmp_path):
    base = _precise_base()
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.warns(
        bc.B2BClientWarning, match=r"organisations\.created_at \(1\), deals\.created_at \(1\)"
    ):
        base.to_sql(url)
    back = bc.ClientBase.read_sql(url)
    assert back.organisations["organisation_id"].tolist() == ["NA", "null", "O-3"]
    assert back.organisations.loc[0, "created_at"] == pd.Timestamp("2023-01-01T10:00:00.123456")
    assert back.organisations.loc[0, "annual_revenue"] == 31788.239999999998
    open_deal = pd.DataFrame(
        {
            "deal_id": ["D-1"],
            "organisation_id": ["NA"],
            "created_at": ["2023-02-01"],
            "closed_at": [None],  # a null time loses nothing
            "status": ["open"],
            "amount": [1.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", bc.B2BClientWarning)  # nothing lost, nothing said
        bc.ClientBase.from_frames(_orgs(), deals=open_deal).to_sql(f"sqlite:///{tmp_path / 'd.db'}")


# --- 6: files that are not read -------------------------------------------------------------------


def test_files_that_are_not_tables_are_named_in_a_warning(tmp_path):
    bc.ClientBase.from_frames(_orgs()).to_csv(tmp_path)
    (tmp_path / "orders.csv").write_text("organisation_id,created_at,amount\nNA,2024-01-01,1\n")
    (tmp_path / "README.txt").write_text("export of 2024-01-01")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    with pytest.warns(
        bc.B2BClientWarning, match=r"2 files .* were not read .*\['README.txt', 'orders.csv'\]"
    ):
        bc.ClientBase.read_csv(tmp_path)


def test_a_table_file_with_the_wrong_case_is_an_error_with_a_suggestion(tmp_path):
    bc.ClientBase.from_frames(_orgs()).to_csv(tmp_path)
    (tmp_path / "deals.csv").rename(tmp_path / "Deals.csv")
    with pytest.raises(bc.InvalidTablesError, match=r"did you mean 'deals\.csv'") as info:
        bc.ClientBase.read_csv(tmp_path)
    assert info.value.problems[["table", "check", "value"]].values.tolist() == [
        ["deals", "file_name", "Deals.csv"]
    ]


def test_a_misspelt_parquet_file_is_an_error(tmp_path):
    pytest.importorskip("pyarrow")
    bc.ClientBase.from_frames(_orgs()).to_parquet(tmp_path)
    (tmp_path / "contacts.parquet").rename(tmp_path / "contact.parquet")
    with pytest.raises(bc.InvalidTablesError, match=r"did you mean 'contacts\.parquet'"):
        bc.ClientBase.read_parquet(tmp_path)


# --- 18: separators, encodings, decimals, SQLite files --------------------------------------------


def test_read_csv_takes_sep_decimal_and_encoding(tmp_path):
    text = "organisation_id;created_at;annual_revenue;name\nO-1;31.01.2024;1234,5;Müller GmbH\n"
    (tmp_path / "organisations.csv").write_bytes(text.encode("latin-1"))
    base = bc.ClientBase.read_csv(
        tmp_path, sep=";", decimal=",", encoding="latin-1", date_format="%d.%m.%Y"
    )
    row = base.organisations.iloc[0]
    assert (row["name"], row["annual_revenue"], row["created_at"]) == (
        "Müller GmbH",
        1234.5,
        pd.Timestamp("2024-01-31"),
    )


def test_a_file_in_another_encoding_is_an_error_naming_it_and_the_option(tmp_path):
    text = "organisation_id,created_at,name\nO-1,2024-01-01,Müller GmbH\n"
    (tmp_path / "organisations.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(bc.InvalidParameterError, match=r"organisations\.csv.*encoding='latin-1'"):
        bc.ClientBase.read_csv(tmp_path)


def test_a_semicolon_file_read_with_commas_says_so(tmp_path):
    (tmp_path / "organisations.csv").write_text("organisation_id;created_at\nO-1;2024-01-01\n")
    with pytest.raises(bc.InvalidTablesError, match="sep=';'"):
        bc.ClientBase.read_csv(tmp_path)


def test_columns_mapped_to_ids_are_read_as_text(tmp_path):
    (tmp_path / "organisations.csv").write_text("Account,Created\n007,2024-01-01\nNA,2024-01-02\n")
    base = bc.ClientBase.read_csv(
        tmp_path, columns={"Account": "organisation_id", "Created": "created_at"}
    )
    assert base.organisations["organisation_id"].tolist() == ["007", "NA"]


def test_read_sql_of_a_missing_sqlite_file_creates_nothing(tmp_path):
    path = tmp_path / "missing.db"
    with pytest.raises(bc.InvalidParameterError, match="No SQLite database"):
        bc.ClientBase.read_sql(f"sqlite:///{path}")
    assert not path.exists()
    with pytest.raises(bc.InvalidParameterError, match="No SQLite database"):
        bc.ClientBase.read_sql(sqlalchemy.create_engine(f"sqlite:///{path}"))
    assert not path.exists()
