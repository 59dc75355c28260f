"""The ``b2bclient`` command: demo, report and validate, exit statuses and the user's mistakes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from b2bclient.cli import main
from b2bclient.datasets import make_client_base
from test_io import postgres_engine  # the PostgreSQL server of the I/O tests

__all__ = ["postgres_engine"]  # a fixture, used below

SRC = Path(__file__).parents[1] / "src"


def _run_module(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "b2bclient", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        **kwargs,
    )


def _main_of_report(path: Path) -> str:
    """The report's body, without the header that names the source and with wall times masked."""
    page = path.read_text()
    return re.sub(r"\b\d+\.\d s\b", "... s", page[page.index("<main>") : page.index("</main>")])


@pytest.fixture(scope="module")
def parquet_base(tmp_path_factory):
    base = make_client_base(n_organisations=300, seed=1)
    path = tmp_path_factory.mktemp("export") / "parquet"
    base.to_parquet(path)
    return base, path


def test_python_m_b2bclient_help_and_version(capsys):
    done = _run_module("--help")
    assert done.returncode == 0, done.stderr
    for text in ("demo", "report", "validate", "exit status", "1  the data are invalid"):
        assert text in done.stdout
    assert main(["demo", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--n-organisations N", "--seed S", "--out DIR", "--progress"):
        assert re.search(rf"{option}[^\n]*\n?\s+\w", text), option
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("b2bclient ")


def test_usage_errors_exit_2_without_a_traceback(capsys):
    assert main(["demo", "-n", "zero"], stream=io.StringIO()) == 2
    assert "expected a whole number" in capsys.readouterr().err
    assert main(["report", "x", "--as-of", "someday"], stream=io.StringIO()) == 2
    assert "as_of" in capsys.readouterr().err
    assert main(["frobnicate"], stream=io.StringIO()) == 2


def _documented_results() -> set[str]:
    """The keys of ``ctx.results`` listed in the table of the section protocol's docstring."""
    from b2bclient.cli import _context

    table = _context.__doc__.split("The keys of ``ctx.results``")[1]
    return set(re.findall(r"^``\"(\w+)\"``", table, flags=re.MULTILINE))


@pytest.mark.slow
def test_demo_writes_the_store_the_report_and_a_summary(tmp_path, monkeypatch):
    import threadpoolctl

    import b2bclient.account
    from b2bclient.cli import _demo
    from b2bclient.lifecycle import LifecycleModel
    from b2bclient.pipeline import WinModel
    from b2bclient.segment import Segmenter

    # Record every fit of a model the sections share, the threads the numerical libraries may
    # use meanwhile, the portrait computations, and the context the summary is written from.
    fits, threads, seen = [], set(), {}

    def spy(cls, name):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            fits.append((cls.__name__, str(kwargs.get("as_of", args[1] if len(args) > 1 else ""))))
            threads.update(i["num_threads"] for i in threadpoolctl.threadpool_info())
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for cls in (Segmenter, WinModel, LifecycleModel):
        spy(cls, "fit")
    portraits = b2bclient.account.portraits
    calls = []
    monkeypatch.setattr(
        b2bclient.account, "portraits", lambda *a, **k: calls.append(a) or portraits(*a, **k)
    )
    summarise = _demo.summarise
    monkeypatch.setattr(
        _demo,
        "summarise",
        lambda out, ctx, failed: seen.update(ctx=ctx) or summarise(out, ctx, failed),
    )

    out = io.StringIO()
    target = tmp_path / "demo"
    assert main(["demo", "-n", "300", "--seed", "1", "-o", str(target)], stream=out) == 0
    text = out.getvalue()
    ctx = seen["ctx"]
    # Each model once, except the win model: checked after the landmark, then fitted for today.
    assert sorted(fits) == sorted(
        [
            ("Segmenter", ""),
            ("WinModel", str(ctx.landmark)),
            ("WinModel", str(ctx.as_of)),
            ("LifecycleModel", str(ctx.landmark)),
        ]
    )
    assert threads == {1}
    assert len(calls) == 1  # every portrait once: the file, the table and the one in full
    assert set(ctx.results) == _documented_results()
    churn = ctx.results["churn"]
    assert type(churn.model[0]).__name__ == "FeaturePreprocessor"
    assert type(churn.model[-1]).__name__ == "ChurnModel"
    assert re.search(r"== Churn as survival.*\[ *\d+\.\d s, cpu +\d+\.\d s\]", text)
    assert re.search(r"^time: +\d+\.\d s \(CPU \d+\.\d s\)$", text, flags=re.MULTILINE)
    for section in (
        "Synthetic client base: 300 organisations",
        "identical to the generated base: True",
        "Features as of",
        "held-out concordance",
        "Planted hazard vs a Cox model",
        "BG/NBD calibrated",
        "lifetime value",
        "predictions identical after load: True",
        "Health-score bands as of 2025-01-01",
        "One full portrait",
        "== Summary",
    ):
        assert section in text, section
    assert f"report:    {(target / 'report.html').resolve()}" in text
    assert (target / "clients.db").stat().st_size > 0
    page = (target / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') >= 3
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    assert "<section" in page and "Riskiest clients as of 2025-01-01" in page
    assert pd.read_csv(target / "features.csv", index_col=0).shape[0] == 300
    assert (target / "models" / "churn" / "manifest.json").is_file()
    lines = (target / "portraits.jsonl").read_text().splitlines()
    assert len(lines) == 300 and json.loads(lines[0])["schema_version"] == 1
    assert "Client portraits and health scores" in page
    [single] = target.glob("portrait-*.json")
    document = json.loads(single.read_text())
    assert json.loads(
        lines[ctx.results["portraits"].index.get_loc(document["organisation_id"])]
    ) == (document)
    assert b2bclient.account.Portrait.from_dict(document).to_dict() == document


@pytest.fixture(scope="module")
def parquet_report(parquet_base, tmp_path_factory):
    """The report on the Parquet export as of 2024-07-01: its output directory and text."""
    _, path = parquet_base
    target = tmp_path_factory.mktemp("parquet-report")
    out = io.StringIO()
    code = main(["report", str(path), "--as-of", "2024-07-01", "-o", str(target)], stream=out)
    assert code == 0, out.getvalue()
    return target, out.getvalue()


@pytest.mark.slow
def test_report_on_parquet_writes_the_report(parquet_report):
    target, text = parquet_report
    assert "held-out concordance" in text
    assert "Riskiest clients as of 2024-07-01" in text
    assert "planted" not in _main_of_report(target / "report.html").lower()
    X = pd.read_csv(target / "features.csv", index_col=0)
    assert X.index[0] == "O-000001"


@pytest.mark.slow
@pytest.mark.postgres
def test_report_on_parquet_and_postgres_gives_the_same_figures(
    parquet_base, parquet_report, postgres_engine, tmp_path
):
    base, _ = parquet_base
    engine, schema = postgres_engine
    base.to_sql(engine, schema=schema)
    url = engine.url.set(query={"options": f"-csearch_path={schema}"})
    out = io.StringIO()
    args = ["report", url.render_as_string(hide_password=False), "--as-of", "2024-07-01"]
    assert main([*args, "-o", str(tmp_path / "postgres")], stream=out) == 0, out.getvalue()
    from_parquet, _ = parquet_report
    assert _main_of_report(tmp_path / "postgres" / "report.html") == _main_of_report(
        from_parquet / "report.html"
    )
    assert (tmp_path / "postgres" / "features.csv").read_bytes() == (
        from_parquet / "features.csv"
    ).read_bytes()


def test_validate_a_good_base_exits_0(tmp_path):
    make_client_base(n_organisations=60, seed=2).to_csv(tmp_path)
    out = io.StringIO()
    assert main(["validate", str(tmp_path)], stream=out) == 0
    assert "valid:" in out.getvalue()
    assert "organisations" in out.getvalue()


def test_validate_names_table_column_and_ids_of_broken_tables(tmp_path):
    make_client_base(n_organisations=60, seed=2).to_csv(tmp_path)
    deals = pd.read_csv(tmp_path / "deals.csv", dtype=str)
    bad_amount = deals["deal_id"].iloc[[3, 8]].tolist()
    deals.loc[[3, 8], "amount"] = "-12.5"
    unknown = deals["deal_id"].iloc[5]
    deals.loc[5, "organisation_id"] = "O-999999"
    deals.to_csv(tmp_path / "deals.csv", index=False)
    contacts = pd.read_csv(tmp_path / "contacts.csv", dtype=str)
    contacts.loc[0, "created_at"] = "not a date"
    contacts.to_csv(tmp_path / "contacts.csv", index=False)
    out = io.StringIO()
    assert main(["validate", str(tmp_path)], stream=out) == 1
    text = out.getvalue()
    assert re.search(r"deals\s+amount\s+range\s+2\s+" + re.escape(", ".join(bad_amount)), text)
    assert re.search(r"deals\s+organisation_id\s+foreign_key\s+1\s+" + unknown, text)
    assert re.search(r"contacts\s+created_at\s+type\s+1\s+" + contacts["contact_id"][0], text)
    assert "Traceback" not in text


def test_report_on_invalid_data_exits_1_with_the_problems(tmp_path, capsys):
    make_client_base(n_organisations=40, seed=2).to_csv(tmp_path)
    orgs = pd.read_csv(tmp_path / "organisations.csv", dtype=str)
    orgs.loc[2, "organisation_id"] = orgs.loc[1, "organisation_id"]
    orgs.to_csv(tmp_path / "organisations.csv", index=False)
    code = main(
        ["report", str(tmp_path), "--as-of", "2025-01-01", "-o", str(tmp_path / "o")],
        stream=io.StringIO(),
    )
    assert code == 1
    assert "duplicate_key" in capsys.readouterr().err


def test_report_checks_the_output_location_before_the_work(tmp_path, capsys, monkeypatch):
    import b2bclient.cli._report as report

    def must_not_run(*args, **kwargs):
        raise AssertionError("the work started before the output location was checked")

    monkeypatch.setattr(report, "read_source", must_not_run)
    (tmp_path / "taken").write_text("a file")
    code = main(
        ["report", "base", "--as-of", "2025-01-01", "-o", str(tmp_path / "taken")],
        stream=io.StringIO(),
    )
    assert code == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize("out", ["missing_dir/x.csv", "report.html"])
def test_an_output_that_looks_like_a_file_is_refused_before_the_work(
    out, tmp_path, capsys, monkeypatch
):
    import b2bclient.cli._report as report

    monkeypatch.setattr(report, "read_source", pytest.fail)
    code = main(
        ["report", "base", "--as-of", "2025-01-01", "-o", str(tmp_path / out)],
        stream=io.StringIO(),
    )
    assert code == 2
    assert "looks like a file name" in capsys.readouterr().err
    assert not (tmp_path / "missing_dir").exists()


def test_report_creates_a_missing_output_directory(tmp_path):
    make_client_base(n_organisations=60, seed=4).to_csv(tmp_path / "base")
    target = tmp_path / "missing_dir" / "reports"
    code = main(
        ["report", str(tmp_path / "base"), "--as-of", "2025-01-01", "-o", str(target)],
        stream=io.StringIO(),
    )
    assert code in (0, 3)  # a base this small may be too small for some models
    assert (target / "report.html").is_file()


def test_a_failing_analysis_is_reported_and_the_others_run(tmp_path):
    make_client_base(n_organisations=25, seed=5).to_csv(tmp_path / "base")
    out = io.StringIO()
    code = main(
        [
            "report",
            str(tmp_path / "base"),
            "--as-of",
            "2025-01-01",
            "--landmark",
            "2024-12-01",
            "-o",
            str(tmp_path / "r"),
        ],
        stream=out,
    )
    assert code == 3
    page = (tmp_path / "r" / "report.html").read_text()
    assert "The churn analysis could not be run" in page
    assert "Features as of 2025-01-01" in page
    assert "failed:    churn" in out.getvalue()


def test_report_names_a_missing_base(tmp_path, capsys):
    code = main(
        ["report", str(tmp_path / "nothing"), "--as-of", "2024-01-01", "-o", str(tmp_path / "o")],
        stream=io.StringIO(),
    )
    assert code == 2
    assert "No client base at" in capsys.readouterr().err


def test_report_names_a_database_that_does_not_answer(tmp_path, capsys):
    code = main(
        [
            "report",
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "--as-of",
            "2024-01-01",
            "-o",
            str(tmp_path / "o"),
        ],
        stream=io.StringIO(),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "Cannot read the client base" in err and "Traceback" not in err


def test_report_into_a_closed_pipe_still_writes_its_files(tmp_path):
    make_client_base(n_organisations=60, seed=4).to_csv(tmp_path / "base")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "b2bclient",
            "report",
            str(tmp_path / "base"),
            "--as-of",
            "2025-01-01",
            "-o",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # like `| head -1`
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) in (0, 3), err
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert (tmp_path / "r" / "report.html").is_file()
    assert (tmp_path / "r" / "features.csv").is_file()


def test_warnings_of_a_section_become_notes_of_its_part_of_the_report(tmp_path):
    import warnings

    from b2bclient.cli._context import Context, Printer, Progress, run_sections
    from b2bclient.cli._html import Report

    def noisy_section(ctx):
        ctx.out.section("Noisy")
        for _ in range(3):
            warnings.warn("the fit is weakly identified", UserWarning, stacklevel=1)
        warnings.warn("an old name", DeprecationWarning, stacklevel=1)

    out = io.StringIO()
    printer = Printer(out, Report("r"))
    ctx = Context(
        base=None,
        features=pd.DataFrame(),
        as_of=pd.Timestamp("2025-01-01"),
        landmark=pd.Timestamp("2024-07-01"),
        out=printer,
        progress=Progress(1, enabled=False),
        out_dir=tmp_path,
        seed=0,
        truth=None,
    )
    with pytest.warns(DeprecationWarning, match="an old name"):
        assert run_sections(ctx, [noisy_section]) == []
    assert out.getvalue().count("note: UserWarning: the fit is weakly identified") == 1
    assert "weakly identified" in printer.report.render()
