"""Privacy: contacts' names, e-mails and phones appear in no output; pseudonymise() replaces them.

Every output that the library writes today is scanned for every contact's ``full_name``,
``email`` and ``phone`` (as substrings, so a value embedded in a longer text counts): feature
frames, training and survival frames, RFM summaries, models saved with ``bc.save`` (the
manifest and the strings inside every array file), the demo's terminal output, ``report.html``,
``features.csv`` and saved models, and everything logged or warned on the way; and the outputs of
every model fitted on a client base (segment profiles, recommendations and partner matches with
their reasons, lifecycle predictions and alerts, win probabilities and drivers, the forecast and
its breakdowns, the wallet ranking), with those models saved. Portraits are scanned in
``tests/test_account.py``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd import BetaGeo, GammaGamma, rfm_summary
from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features, preprocessor, training_frame
from b2bclient.privacy import PERSONAL_COLUMNS, pseudonymise

KEY = b"0123456789abcdef-test-key"
AS_OF = "2024-01-01"
EMAIL = re.compile(r"^[0-9a-f]{16}@pseudonymised\.invalid$")


def personal_values(base: bc.ClientBase) -> set[str]:
    """Every non-empty personal value of `base` (names, e-mails and phones of contacts)."""
    contacts = base.contacts
    values: set[str] = set()
    for column in PERSONAL_COLUMNS["contacts"]:
        values.update(v for v in contacts[column].dropna().astype(str) if v.strip())
    return values


def leaks(texts: Iterable[str], personal: set[str]) -> list[str]:
    """Return the personal values found in any of `texts` (at most ten)."""
    found: list[str] = []
    for text in texts:
        found += [value for value in personal if value in text]
        if len(found) >= 10:
            break
    return found[:10]


def frame_text(frame: pd.DataFrame) -> str:
    """A frame as text: its values, index and column names."""
    return frame.to_csv() + " ".join(map(str, frame.index.names))


def saved_texts(root: Path) -> list[str]:
    """The text of every file below `root`: JSON as is, string arrays of .npy files decoded."""
    texts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
            if array.dtype.kind in "US" or array.dtype.names:
                texts.append(" ".join(map(str, array.ravel().tolist())))
            texts.append(path.read_bytes().decode("latin-1"))
        else:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return texts


@pytest.fixture(scope="module")
def base() -> bc.ClientBase:
    return make_client_base(n_organisations=300, seed=3)


@pytest.fixture(scope="module")
def outputs(
    base: bc.ClientBase, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, list[str]], Path]:
    """Every output computed from `base` in the library's default settings, as texts."""
    logger = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    out: dict[str, list[str]] = {}
    root = tmp_path_factory.mktemp("models")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X = build_features(base, as_of=AS_OF)
            out["build_features"] = [frame_text(X)]
            training = training_frame(
                base, cutoffs=["2023-01-01", "2023-07-01"], label=Inactivity("180D")
            )
            out["training_frame"] = [frame_text(training)]
            survival = survival_frame(base, AS_OF, Inactivity("180D"), landmarks="2023-01-01")
            out["survival_frame"] = [frame_text(survival)]
            summary = rfm_summary(base, as_of=AS_OF)
            out["rfm_summary"] = [frame_text(summary)]
            design = survival.drop(columns=["duration", "event"]).select_dtypes("number")
            design = design.loc[:, design.std() > 0].fillna(0.0)
            target = Surv.from_arrays(survival["duration"] + 0.5, survival["event"])
            models: dict[str, Any] = {
                "churn": ChurnModel(penalizer=0.5).fit(design, target),
                "beta_geo": BetaGeo(penalizer=0.01).fit(summary),
                "gamma_gamma": GammaGamma(penalizer=0.01).fit(
                    summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
                ),
                "preprocessor": preprocessor().fit(X),
            }
            for name, model in models.items():
                bc.save(model, root / name)
            out["saved models"] = saved_texts(root)
        out["warnings"] = [str(w.message) for w in caught]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    out["logs"] = [stream.getvalue()]
    return out, root


def test_the_scan_finds_what_is_there(base: bc.ClientBase) -> None:
    personal = personal_values(base)
    assert len(personal) > 3 * 300  # names, e-mails and phones of several contacts each
    assert leaks([frame_text(base.contacts)], personal)
    assert leaks(["... " + next(iter(personal)) + " ..."], personal)


@pytest.mark.parametrize(
    "output",
    [
        "build_features",
        "training_frame",
        "survival_frame",
        "rfm_summary",
        "saved models",
        "warnings",
        "logs",
    ],
)
def test_no_personal_data_in_outputs(
    output: str, base: bc.ClientBase, outputs: tuple[dict[str, list[str]], Path]
) -> None:
    texts, _ = outputs
    if output not in ("warnings", "logs"):  # these are empty while nothing warns or logs
        assert texts[output], f"nothing was captured for {output}"
    assert leaks(texts[output], personal_values(base)) == []


def test_saved_models_are_scanned(outputs: tuple[dict[str, list[str]], Path]) -> None:
    _, root = outputs
    assert {p.name for p in root.iterdir()} == {"churn", "beta_geo", "gamma_gamma", "preprocessor"}
    manifest = json.loads((root / "preprocessor" / "manifest.json").read_text())
    assert "FeaturePreprocessor" in manifest["class"]


MODELS_AS_OF = "2024-07-01"


@pytest.fixture(scope="module")
def models_base() -> bc.ClientBase:
    """A base with enough projects, deals and links for every model of the library."""
    return make_client_base(n_organisations=600, seed=2)


@pytest.fixture(scope="module")
def model_outputs(
    models_base: bc.ClientBase, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """Every output of segmentation, recommenders, lifecycle, pipeline and wallet, as texts."""
    from b2bclient.lifecycle import LifecycleModel, stage_funnel
    from b2bclient.pipeline import WinModel, forecast
    from b2bclient.potential import WalletModel
    from b2bclient.recommend import CrossSell, PartnerMatcher
    from b2bclient.segment import Segmenter

    base, t = models_base, MODELS_AS_OF
    root = tmp_path_factory.mktemp("more-models")
    out: dict[str, list[str]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = build_features(base, as_of=t)
        ids = list(X.index[:25])
        seg = Segmenter(method="kmeans", n_segments=4, random_state=0).fit(X)
        out["segment profile"] = [frame_text(seg.profile(X)), frame_text(seg.differences(X))]
        cross = CrossSell().fit(base, as_of=t)
        out["cross-sell"] = [frame_text(cross.recommend(ids, k=5))]
        matcher = PartnerMatcher().fit(base, as_of=t)
        out["partners"] = [frame_text(matcher.match(ids, k=5))]
        life = LifecycleModel(n_draws=64).fit(base, as_of=t)
        out["lifecycle"] = [
            frame_text(life.predict(base, as_of=t)),
            frame_text(life.alerts(base, as_of=t, min_probability=0.0)),
            frame_text(stage_funnel(base, as_of=t)),
        ]
        win = WinModel().fit(base, as_of=t)
        out["pipeline"] = [
            frame_text(win.predict_proba(base, as_of=t).to_frame()),
            frame_text(win.p_close_within(base, t, horizon="90D")),
            frame_text(win.drivers(base, t, k=3)),
        ]
        outlook = forecast(base, t, "90D", n_simulations=100)
        out["forecast"] = [
            frame_text(frame)
            for frame in (
                outlook.summary(),
                outlook.components,
                outlook.by_organisation,
                outlook.by_region,
                outlook.by_channel,
                outlook.deals,
            )
        ]
        wallet = WalletModel().fit(base, as_of=t)
        out["wallet"] = [
            frame_text(wallet.ranking(20)),
            frame_text(wallet.drivers(ids, k=3)),
            frame_text(wallet.peers(ids[0], k=5)),
        ]
        for name, model in {
            "segmenter": seg,
            "cross_sell": cross,
            "partners": matcher,
            "lifecycle": life,
            "win": win,
            "wallet": wallet,
        }.items():
            bc.save(model, root / name)
        out["saved models"] = saved_texts(root)
    out["warnings"] = [str(w.message) for w in caught]
    return out


@pytest.mark.parametrize(
    "output",
    [
        "segment profile",
        "cross-sell",
        "partners",
        "lifecycle",
        "pipeline",
        "forecast",
        "wallet",
        "saved models",
        "warnings",
    ],
)
def test_no_personal_data_in_model_outputs(
    output: str, models_base: bc.ClientBase, model_outputs: dict[str, list[str]]
) -> None:
    personal = personal_values(models_base)
    assert len(personal) > 3 * 600
    if output != "warnings":
        assert any(text.strip() for text in model_outputs[output]), output
    assert leaks(model_outputs[output], personal) == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from b2bclient.cli import main

    target = tmp_path_factory.mktemp("demo") / "out"
    stream = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["demo", "-n", "300", "--seed", "2", "-o", str(target)], stream=stream)
    assert code == 0, stream.getvalue()
    return target, stream.getvalue()


def test_no_personal_data_in_the_demo(demo: tuple[Path, str]) -> None:
    target, terminal = demo
    stored = bc.ClientBase.read_sql(f"sqlite:///{target / 'clients.db'}")
    personal = personal_values(stored)
    assert len(personal) > 3 * 300
    files = {
        "terminal output": [terminal],
        "report.html": [(target / "report.html").read_text()],
        "features.csv": [(target / "features.csv").read_text()],
        "saved models": saved_texts(target / "models"),
    }
    assert files["saved models"]
    for name, texts in files.items():
        assert leaks(texts, personal) == [], name


# --------------------------------------------------------------------------------------------
# pseudonymise
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(base: bc.ClientBase) -> bc.ClientBase:
    return pseudonymise(base, KEY)


def test_pseudonymised_base_holds_no_personal_value(
    base: bc.ClientBase, shared: bc.ClientBase
) -> None:
    personal = personal_values(base)
    texts = []
    for frame in shared.tables.values():
        for column in frame.columns:
            if frame[column].dtype == object or isinstance(
                frame[column].dtype, pd.CategoricalDtype
            ):
                texts.append("\n".join(map(str, pd.unique(frame[column].dropna()))))
    assert leaks(texts, personal) == []


def test_only_the_personal_columns_change(base: bc.ClientBase, shared: bc.ClientBase) -> None:
    for name in base.tables:
        if name != "contacts":
            pd.testing.assert_frame_equal(shared.tables[name], base.tables[name])
    personal = list(PERSONAL_COLUMNS["contacts"])
    pd.testing.assert_frame_equal(
        shared.contacts.drop(columns=personal), base.contacts.drop(columns=personal)
    )
    for column in personal:
        assert (shared.contacts[column].isna() == base.contacts[column].isna()).all()
        assert (shared.contacts[column].dropna() != base.contacts[column].dropna()).all()


def test_digests_look_like_the_values_they_replace(shared: bc.ClientBase) -> None:
    contacts = shared.contacts
    assert contacts["email"].dropna().str.fullmatch(EMAIL).all()
    assert contacts["phone"].dropna().str.fullmatch(r"\+00 [0-9]{16}").all()
    assert contacts["full_name"].dropna().str.fullmatch(r"Contact [0-9a-f]{16}").all()


def test_digests_are_stable_per_key_and_differ_between_keys(
    base: bc.ClientBase, shared: bc.ClientBase
) -> None:
    assert pseudonymise(base, KEY).equals(shared)
    assert pseudonymise(base, KEY.decode()).equals(shared)
    other = pseudonymise(base, b"another key of sixteen bytes").contacts
    for column in PERSONAL_COLUMNS["contacts"]:
        assert not (other[column].dropna() == shared.contacts[column].dropna()).any()


def test_distinct_values_get_distinct_digests(base: bc.ClientBase, shared: bc.ClientBase) -> None:
    for column in PERSONAL_COLUMNS["contacts"]:
        pairs = pd.DataFrame({"a": base.contacts[column], "b": shared.contacts[column]}).dropna()
        assert pairs.groupby("a")["b"].nunique().eq(1).all()
        assert pairs.groupby("b")["a"].nunique().eq(1).all()


def test_features_are_unchanged_by_pseudonymisation(
    base: bc.ClientBase, shared: bc.ClientBase
) -> None:
    everything = pseudonymise(base, KEY, organisation_names=True)
    expected = build_features(base, as_of=AS_OF)
    pd.testing.assert_frame_equal(build_features(shared, as_of=AS_OF), expected)
    pd.testing.assert_frame_equal(build_features(everything, as_of=AS_OF), expected)


def test_organisation_names_on_request(base: bc.ClientBase) -> None:
    everything = pseudonymise(base, KEY, organisation_names=True).organisations
    names = set(base.organisations["name"].dropna())
    assert not names & set(everything["name"].dropna())
    assert everything["name"].dropna().str.fullmatch(r"Organisation [0-9a-f]{16}").all()
    pd.testing.assert_series_equal(
        everything["organisation_id"], base.organisations["organisation_id"]
    )


def _contacts(**columns: list[Any]) -> bc.ClientBase:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(
        {
            "contact_id": [f"C-{i}" for i in range(n)],
            "organisation_id": ["O-1"] * n,
            "created_at": ["2024-01-02"] * n,
            **columns,
        }
    )
    orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
    return bc.ClientBase.from_frames(orgs, contacts=frame)


def test_equivalent_spellings_share_a_digest() -> None:
    base = _contacts(
        full_name=["Anna  Berg", " Anna Berg", "Anna Bergmann"],
        email=["A.Berg@Acme.example", " a.berg@acme.example", "a.bergmann@acme.example"],
        phone=["+49 30 1234567", "+49-30-123 4567", "030 1234567"],
        extra=["kept", "kept", "kept"],
    )
    contacts = pseudonymise(base, KEY).contacts
    for column in ("full_name", "email", "phone"):
        assert contacts.loc[0, column] == contacts.loc[1, column] != contacts.loc[2, column]
    assert contacts["extra"].tolist() == ["kept"] * 3  # extra columns pass through


def test_a_view_keeps_its_cut_and_an_empty_contacts_table_is_fine(base: bc.ClientBase) -> None:
    view = pseudonymise(base.as_of(AS_OF), KEY)
    assert view.known_before == pd.Timestamp(AS_OF)
    orgs_only = bc.ClientBase.from_frames(base.organisations)
    assert pseudonymise(orgs_only, KEY).equals(orgs_only)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"key": b"short"}, r"'key' parameter .* at least 16 bytes; got 5"),
        ({"key": ""}, r"'key' parameter .* got 0"),
        ({"key": 12345678901234567890}, r"'key' parameter .* Got a int"),
        ({"key": None}, r"'key' parameter .* Got a NoneType"),
        ({"organisation_names": "yes"}, r"'organisation_names' parameter .* Got 'yes'"),
        ({"base": pd.DataFrame()}, r"'base' parameter .* Got a DataFrame"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, Any], match: str, base: bc.ClientBase) -> None:
    arguments: dict[str, Any] = {"base": base, "key": KEY, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        pseudonymise(**arguments)
