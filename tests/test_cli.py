"""The ``b2bclient`` command: the demo runs end to end; report reads a saved base."""

from __future__ import annotations

import io

import pytest

from b2bclient.cli import main
from b2bclient.datasets import make_client_base


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline():
    out = io.StringIO()
    assert main(["demo", "-n", "800", "--seed", "1"], stream=out) == 0
    text = out.getvalue()
    for section in (
        "Synthetic client base: 800 organisations",
        "Features as of",
        "held-out concordance",
        "planted hazard vs a Cox model",
        "BG/NBD calibrated",
        "lifetime value",
        "predictions identical after load: True",
        "== Done",
    ):
        assert section in text, section


def test_report_on_a_csv_directory(tmp_path):
    make_client_base(n_organisations=150, seed=3).to_csv(tmp_path / "base")
    out = io.StringIO()
    code = main(
        ["report", str(tmp_path / "base"), "--as-of", "2023-06-01", "-o", str(tmp_path / "X.csv")],
        stream=out,
    )
    assert code == 0
    assert "organisations x" in out.getvalue()
    assert (tmp_path / "X.csv").read_text().startswith("organisation_id,")


def test_report_names_a_missing_base(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--as-of", "2024-01-01"], stream=io.StringIO()) == 2
    assert "No client base at" in capsys.readouterr().err


def test_report_rejects_a_bad_cutoff(tmp_path, capsys):
    make_client_base(n_organisations=100, seed=3).to_csv(tmp_path)
    assert main(["report", str(tmp_path), "--as-of", "someday"], stream=io.StringIO()) == 2
    assert "as_of" in capsys.readouterr().err
