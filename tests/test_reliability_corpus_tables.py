"""The bad-input corpus for the canonical tables, and the odd inputs that must load unchanged.

Every case spoils one thing in the small hand-made base of ``tests/sample_frames.py`` and loads
it with ``ClientBase.from_frames``. A bad table must raise ``InvalidTablesError`` whose message
names the table, the column and the offending row (by its key, as the user wrote it) or value;
nothing may surface as a bare ``KeyError``, ``IndexError``, ``TypeError``, ``OverflowError`` or
an error from inside pandas, and nothing may be accepted. The second table holds inputs that
look odd but are valid (one organisation, unicode and very long names, ids that look like
numbers, mixed time zones, empty tables, huge but finite amounts): they must load with every
value kept exactly. ``test_case_counts`` pins the counts that ``docs/reliability.md`` reports.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient._exceptions import InvalidTablesError
from sample_frames import frames

Frames = dict[str, pd.DataFrame]
Spoil = Callable[[Frames], None]


@attrs.frozen
class Case:
    table: str
    name: str
    spoil: Spoil
    words: tuple[str, ...]


# The key of each table's second row (index 1), as messages name it.
ROW = {
    "organisations": "O-2",
    "contacts": "C-2",
    "products": "P-2",
    "deals": "D-2",
    "deal_lines": "D-1/2",
    "projects": "PR-2",
    "stages": "PR-1/production",
    "interactions": "I-2",
    "contracts": "K-2",
    "relationships": "O-3/O-1/supplier",
}
KEYS = {
    "organisations": "organisation_id",
    "contacts": "contact_id",
    "products": "product_id",
    "deals": "deal_id",
    "projects": "project_id",
    "interactions": "interaction_id",
    "contracts": "contract_id",
}
TIMES = {
    "organisations": "created_at",
    "contacts": "created_at",
    "deals": "created_at",
    "projects": "created_at",
    "stages": "started_at",
    "interactions": "occurred_at",
    "contracts": "started_at",
    "relationships": "since",
}


def set_value(table: str, column: str, value: Any, row: int = 1) -> Spoil:
    def spoil(fr: Frames) -> None:
        t = fr[table]
        if t[column].dtype != object and not isinstance(value, float | int | np.number):
            t[column] = t[column].astype(object)
        t.loc[row, column] = value

    return spoil


def drop_column(table: str, column: str) -> Spoil:
    def spoil(fr: Frames) -> None:
        fr[table] = fr[table].drop(columns=column)

    return spoil


def rename_column(table: str, column: str, new: str) -> Spoil:
    def spoil(fr: Frames) -> None:
        fr[table] = fr[table].rename(columns={column: new})

    return spoil


def replace_table(table: str, value: Any) -> Spoil:
    def spoil(fr: Frames) -> None:
        fr[table] = value

    return spoil


def key_cases() -> list[Case]:
    out = []
    for table, key in KEYS.items():
        first = str(frames()[table][key][0])
        out += [
            Case(
                table,
                "key missing",
                drop_column(table, key),
                (table, key, "required column is missing"),
            ),
            Case(
                table,
                "key renamed",
                rename_column(table, key, key.upper()),
                (table, key, key.upper(), f"columns={{'{key.upper()}': '{key}'}}"),
            ),
            Case(table, "key None", set_value(table, key, None), (table, key, "null", "row 1")),
            Case(
                table, "key duplicate", set_value(table, key, first), (table, key, "sharing", first)
            ),
        ]
    return out


def time_cases() -> list[Case]:
    out = []
    for table, column in TIMES.items():
        row = ROW[table]
        out += [
            Case(table, "time missing", drop_column(table, column), (table, column, "missing")),
            Case(table, "time NaT", set_value(table, column, pd.NaT), (table, column, "null", row)),
            Case(
                table,
                "time text",
                set_value(table, column, "next tuesday"),
                (table, column, row, "next tuesday"),
            ),
            Case(
                table,
                "time in 1677",
                set_value(table, column, "1677-01-01"),
                (table, column, row, "1677-01-01", "datetime64[ns]"),
            ),
            Case(
                table,
                "time in 2300",
                set_value(table, column, "2300-01-01"),
                (table, column, row, "2300-01-01", "datetime64[ns]"),
            ),
        ]
    return out


def amount_cases() -> list[Case]:
    out = []
    numeric = [
        ("deals", "amount"),
        ("deal_lines", "amount"),
        ("deal_lines", "quantity"),
        ("projects", "expected_value"),
        ("contracts", "value"),
        ("organisations", "employees"),
        ("organisations", "annual_revenue"),
    ]
    for table, column in numeric:
        row = ROW[table]
        out += [
            Case(
                table,
                f"{column} text",
                set_value(table, column, "lots"),
                (table, column, row, "not a number", "lots"),
            ),
            Case(
                table,
                f"{column} negative",
                set_value(table, column, -5.0),
                (table, column, row, "negative" if column != "quantity" else "non-positive"),
            ),
            Case(
                table,
                f"{column} infinite",
                set_value(table, column, np.inf),
                (table, column, row, "infinite"),
            ),
        ]
    out += [
        Case(
            "deals",
            "amount NaN",
            set_value("deals", "amount", np.nan),
            ("deals", "amount", "null", "D-2"),
        ),
        Case(
            "organisations",
            "employees absurd",
            set_value("organisations", "employees", 1e300),
            ("organisations", "employees", "O-2", "1e+300", "too large"),
        ),
        Case(
            "deals",
            "amount a date",
            set_value("deals", "amount", pd.Timestamp("2024-01-01")),
            ("deals", "amount", "D-2", "not a number"),
        ),
    ]
    return out


FOREIGN_KEYS = [
    ("contacts", "organisation_id", "O-99"),
    ("deals", "organisation_id", "O-99"),
    ("deals", "project_id", "PR-99"),
    ("deal_lines", "product_id", "P-99"),
    ("projects", "organisation_id", "O-99"),
    ("stages", "project_id", "PR-99"),
    ("interactions", "organisation_id", "O-99"),
    ("interactions", "contact_id", "C-99"),
    ("interactions", "project_id", "PR-99"),
    ("contracts", "organisation_id", "O-99"),
    ("relationships", "source_id", "O-99"),
    ("relationships", "target_id", "O-99"),
    ("organisations", "parent_id", "O-99"),
]


def relation_cases() -> list[Case]:
    out = [
        Case(
            table,
            f"{column} dangling",
            set_value(table, column, value),
            (
                table,
                column,
                "unknown",
                f"'{value}'",
                f"{value}/" if table in ("relationships", "stages") else ROW[table],
            ),
        )
        for table, column, value in FOREIGN_KEYS
    ]
    out += [
        Case(
            "deal_lines",
            "deal_id dangling",
            set_value("deal_lines", "deal_id", "D-99"),
            ("deal_lines", "deal_id", "unknown deal", "'D-99'", "D-99/2"),
        ),
        Case(
            "organisations",
            "holding cycle",
            set_value("organisations", "parent_id", "O-2", row=0),
            ("organisations", "parent_id", "cycle", "O-1", "O-2"),
        ),
        Case(
            "organisations",
            "own parent",
            set_value("organisations", "parent_id", "O-3", row=2),
            ("organisations", "parent_id", "cycle", "O-3"),
        ),
        Case(
            "interactions",
            "contact of another organisation",
            set_value("interactions", "contact_id", "C-1", row=3),
            ("interactions", "contact_id", "I-4", "C-1"),
        ),
        Case(
            "deal_lines",
            "key duplicate",
            set_value("deal_lines", "line_no", 1),
            ("deal_lines", "deal_id/line_no", "sharing", "D-1/1"),
        ),
        Case(
            "stages",
            "key duplicate",
            set_value("stages", "stage", "design"),
            ("stages", "project_id/stage", "sharing", "PR-1/design"),
        ),
        Case(
            "relationships",
            "key duplicate",
            lambda fr: fr.__setitem__(
                "relationships",
                pd.concat([fr["relationships"], fr["relationships"].iloc[[0]]], ignore_index=True),
            ),
            ("relationships", "sharing", "O-2/O-1/parent"),
        ),
        Case(
            "deal_lines",
            "line_no text",
            set_value("deal_lines", "line_no", "first"),
            ("deal_lines", "line_no", "not a number", "first"),
        ),
        Case(
            "deals",
            "deal_id missing with lines",
            drop_column("deals", "deal_id"),
            ("deals", "deal_id", "deal_lines refer to deals"),
        ),
        Case(
            "deals",
            "won without closed_at",
            set_value("deals", "closed_at", None, row=0),
            ("deals", "closed_at", "D-1"),
        ),
        Case(
            "deals",
            "closed before created",
            set_value("deals", "closed_at", "2020-01-01", row=0),
            ("deals", "closed_at", "before created_at", "D-1"),
        ),
        Case(
            "contracts",
            "ends before it starts",
            set_value("contracts", "ends_at", "2020-01-01", row=0),
            ("contracts", "ends_at", "before started_at", "K-1"),
        ),
        Case(
            "stages",
            "ends before it starts",
            set_value("stages", "ended_at", "2020-01-01", row=0),
            ("stages", "ended_at", "PR-1/design"),
        ),
        Case(
            "organisations",
            "empty with other tables",
            lambda fr: fr.__setitem__("organisations", fr["organisations"].iloc[:0]),
            ("contacts", "organisation_id", "unknown", "'O-1'", "organisations table is empty"),
        ),
        Case(
            "organisations",
            "not a frame",
            replace_table("organisations", [["O-1", "2020-01-01"]]),
            ("organisations", "DataFrame", "list"),
        ),
        Case(
            "deals",
            "not a frame",
            replace_table("deals", "deals.csv"),
            ("deals", "DataFrame", "str"),
        ),
        Case(
            "organisations",
            "id a number among text ids",
            set_value("organisations", "organisation_id", 7),
            ("deals", "organisation_id", "unknown", "'O-2'", "D-4"),
        ),
    ]
    return out


def enum_cases() -> list[Case]:
    values = [
        ("deals", "status", "pending"),
        ("deals", "channel", "fax"),
        ("organisations", "size_band", "huge"),
        ("contacts", "role", "ceo"),
        ("products", "kind", "thing"),
        ("projects", "status", "paused"),
        ("interactions", "channel", "pigeon"),
        ("relationships", "kind", "enemy"),
        ("contacts", "is_decision_maker", "maybe"),
        ("stages", "stage", "testing"),
    ]
    return [
        Case(
            table,
            f"{column} unknown value",
            set_value(table, column, value),
            (table, column, value),
        )
        for table, column, value in values
    ]


CASES = key_cases() + time_cases() + amount_cases() + relation_cases() + enum_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.table}: {c.name}" for c in CASES])
def test_a_bad_table_raises_invalid_tables_error_naming_the_rows(case: Case) -> None:
    fr = frames()
    case.spoil(fr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(bc.B2BClientError) as info:
            bc.ClientBase.from_frames(**fr)
    error = info.value
    assert isinstance(error, InvalidTablesError), f"{type(error).__name__}: {error}"
    message = str(error)
    missing = [w for w in case.words if w.lower() not in message.lower()]
    assert not missing, f"the message does not name {missing}: {message}"
    problems = error.problems
    assert list(problems.columns) == ["table", "column", "check", "row_id", "value"]
    assert case.words[0] in set(problems["table"]), problems


# --------------------------------------------------------------------------------------------
# Odd but valid: loads, every value kept
# --------------------------------------------------------------------------------------------
LONG = "Ä" * 5_000 + " GmbH & Co. KG"
UNICODE = ["Nordbau Ωμέγα 株式会社", "Süd 🏗️ Bau", "مصنع الصلب", "Ｆｕｌｌｗｉｄｔｈ"]


def _one_organisation(fr: Frames) -> Frames:
    orgs = fr["organisations"].iloc[[0]].assign(parent_id=None)
    return {"organisations": orgs, "deals": fr["deals"].iloc[[0]].assign(project_id=None)}


def _unicode_names(fr: Frames) -> Frames:
    fr["organisations"]["name"] = UNICODE
    fr["contacts"].loc[0, "full_name"] = "Zoë Ørsted-Çelik"
    return fr


def _long_names(fr: Frames) -> Frames:
    fr["organisations"].loc[0, "name"] = LONG
    fr["products"].loc[0, "name"] = LONG
    return fr


def _numeric_looking_ids(fr: Frames) -> Frames:
    mapping = {"O-1": "007", "O-2": "1e3", "O-3": "12", "O-4": "0x1F"}
    for table, columns in {
        "organisations": ["organisation_id", "parent_id"],
        "contacts": ["organisation_id"],
        "deals": ["organisation_id"],
        "projects": ["organisation_id"],
        "interactions": ["organisation_id"],
        "contracts": ["organisation_id"],
        "relationships": ["source_id", "target_id"],
    }.items():
        for column in columns:
            fr[table][column] = fr[table][column].map(mapping).where(fr[table][column].notna())
    return fr


def _mixed_zones(fr: Frames) -> Frames:
    fr["organisations"]["created_at"] = [
        "2020-01-10T05:00:00+05:00",
        "2020-03-01",
        pd.Timestamp("2021-06-15", tz="America/New_York"),
        "2024-05-01T00:00:00Z",
    ]
    return fr


def _only_organisations(fr: Frames) -> Frames:
    return {"organisations": fr["organisations"]}


def _empty_tables(fr: Frames) -> Frames:
    return {name: (t if name == "organisations" else t.iloc[:0]) for name, t in fr.items()}


def _huge_amounts(fr: Frames) -> Frames:
    fr["deals"]["amount"] = 1e300
    fr["deal_lines"]["amount"] = 1e300
    return fr


def _expect_zones(base: bc.ClientBase) -> None:
    got = base.organisations.set_index("organisation_id")["created_at"]
    assert got["O-1"] == pd.Timestamp("2020-01-10")  # 05:00 at +05:00 is midnight UTC
    assert got["O-3"] == pd.Timestamp("2021-06-15 04:00")  # midnight in New York, EDT
    assert got["O-4"] == pd.Timestamp("2024-05-01")


def _expect_ids(base: bc.ClientBase) -> None:
    orgs = base.organisations
    assert orgs["organisation_id"].tolist() == ["007", "1e3", "12", "0x1F"]
    assert orgs["parent_id"].tolist()[1] == "007"
    assert base.organisation("007").name == "Nordbau Holding"
    X = bc.features.build_features(base, as_of="2025-01-01")
    assert sorted(X.index) == sorted(["007", "1e3", "12", "0x1F"])


def _expect_names(base: bc.ClientBase) -> None:
    assert base.organisations["name"].tolist() == UNICODE
    assert base.organisation("O-2").name == "Süd 🏗️ Bau"


def _expect_long(base: bc.ClientBase) -> None:
    assert base.organisations["name"][0] == LONG
    assert base.products["name"][0] == LONG


def _expect_huge(base: bc.ClientBase) -> None:
    assert (base.deals["amount"] == 1e300).all()
    X = bc.features.build_features(base, as_of="2025-01-01")
    values = X.select_dtypes("number").to_numpy(dtype=np.float64)
    assert not np.isinf(values).any()


def _expect_one(base: bc.ClientBase) -> None:
    assert len(base) == 1
    X = bc.features.build_features(base, as_of="2025-01-01")
    assert X.index.tolist() == ["O-1"]


def _expect_empty(base: bc.ClientBase) -> None:
    assert all(len(base.tables[n]) == 0 for n in base.tables if n != "organisations")
    assert len(bc.features.build_features(base, as_of="2025-01-01")) == 4


VALID: list[tuple[str, Callable[[Frames], Frames], Callable[[bc.ClientBase], None]]] = [
    ("one organisation with one deal", _one_organisation, _expect_one),
    ("unicode names", _unicode_names, _expect_names),
    ("names of 5 000 characters", _long_names, _expect_long),
    ("ids that look like numbers", _numeric_looking_ids, _expect_ids),
    ("mixed time zones", _mixed_zones, _expect_zones),
    ("organisations alone", _only_organisations, _expect_empty),
    ("every other table empty", _empty_tables, _expect_empty),
    ("amounts of 1e300", _huge_amounts, _expect_huge),
]


@pytest.mark.parametrize(("name", "make", "expect"), VALID, ids=[v[0] for v in VALID])
def test_odd_but_valid_tables_load_with_every_value_kept(
    name: str,
    make: Callable[[Frames], Frames],
    expect: Callable[[bc.ClientBase], None],
) -> None:
    fr = make(frames())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        base = bc.ClientBase.from_frames(**fr)
        expect(base)
    again = bc.ClientBase.from_frames(**base.tables)
    assert again.equals(base)


def test_case_counts() -> None:
    """The counts that docs/reliability.md states; update both together."""
    counts = Counter(c.table for c in CASES)
    assert sum(counts.values()) + len(VALID) == 140
    assert len({(c.table, c.name) for c in CASES}) == len(CASES)  # no case twice
    assert set(counts) == set(ROW)  # every canonical table has cases
