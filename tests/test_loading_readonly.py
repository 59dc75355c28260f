"""The tables of a validated base are read-only: nothing written into them reaches the features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient.base import SCHEMAS, TABLE_NAMES
from b2bclient.features import build_features

T = "2025-01-01"

# ``base.deals.loc[...] = v`` writes into a temporary frame, which pandas 2 flags as chained
# assignment; the write is what a user types, and the error it meets is what is tested.
pytestmark = pytest.mark.filterwarnings("ignore:ChainedAssignmentError:FutureWarning")


def test_writing_into_a_table_raises_and_the_features_do_not_change(small_base):
    before = build_features(small_base, T, ["purchasing"])
    with pytest.raises(ValueError, match="read-only"):
        small_base.deals.loc[0, "amount"] = -100
    with pytest.raises(ValueError, match="read-only"):
        small_base.tables["deals"].loc[0, "amount"] = -100
    assert small_base.deals.loc[0, "amount"] == 12000.0
    pd.testing.assert_frame_equal(build_features(small_base, T, ["purchasing"]), before)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_column_of_every_table_is_read_only(small_base, table):
    df = small_base.tables[table]
    assert len(df)
    for column in df.columns:  # object, float, category, Int64, boolean: writing raises
        value = df[column].iloc[-1]
        if pd.api.types.is_datetime64_dtype(df[column].dtype):
            # times are copied at each access: the write stays in this frame
            df.loc[0, column] = pd.Timestamp("1999-01-01")
            assert small_base.tables[table].loc[0, column] != pd.Timestamp("1999-01-01")
            continue
        with pytest.raises(ValueError, match="read-only"):
            df.loc[0, column] = value


def test_assigning_a_column_changes_only_that_frame(small_base):
    deals = small_base.deals
    deals["amount"] = 0.0
    deals["extra"] = 1
    assert small_base.deals["amount"].tolist() == [12000.0, 5000.0, 800.0, 300.0]
    assert "extra" not in small_base.deals.columns
    edited = small_base.deals.copy()
    edited.loc[0, "amount"] = -1.0  # a copy is the user's to edit
    assert edited.loc[0, "amount"] == -1.0


def test_the_views_of_as_of_are_read_only_too(small_base):
    cut = small_base.as_of("2024-01-01")
    for name in ("deals", "projects", "contracts"):  # rows dropped, states reverted: new frames
        with pytest.raises(ValueError, match="read-only"):
            cut.tables[name].iloc[0, 0] = cut.tables[name].iloc[0, 0]
    with pytest.raises(ValueError, match="read-only"):
        cut.deals.loc[0, "status"] = "won"
    with pytest.raises(ValueError, match="read-only"):
        small_base.reference_positions("deals", "organisation_id")[0] = 3


def test_the_users_input_frames_stay_writeable(raw_frames):
    typed = {k: v.copy() for k, v in raw_frames.items()}
    typed["deals"]["created_at"] = pd.to_datetime(typed["deals"]["created_at"])
    bc.ClientBase(typed)
    for df in typed.values():
        for column in df.columns:
            values = df[column].to_numpy()
            if isinstance(values, np.ndarray) and values.size:
                assert values.flags.writeable or not values.flags.owndata, column
        df.iloc[0, 0] = df.iloc[0, 0]  # still writeable


def test_canonical_dtypes_are_unchanged_by_freezing(small_base):
    for name in TABLE_NAMES:
        for column in SCHEMAS[name].columns:
            assert str(small_base.tables[name][column.name].dtype) == column.dtype
