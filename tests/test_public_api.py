"""``__all__`` of each public package is pinned: a name in it is a promise."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "b2bclient": [
        "B2BClientError",
        "ClientBase",
        "ConvergenceError",
        "FormatError",
        "InvalidParameterError",
        "InvalidTablesError",
        "LookAheadError",
        "MissingDependencyError",
        "NotFittedError",
        "RegistryError",
        "UnknownIdError",
        "__version__",
        "btyd",
        "churn",
        "datasets",
        "features",
        "load",
        "model",
        "persist",
        "privacy",
        "recommend",
        "save",
        "testing",
    ],
    "b2bclient.model": [
        "Channel",
        "Contact",
        "Contract",
        "ContractKind",
        "Deal",
        "DealChannel",
        "DealLine",
        "DealStatus",
        "Interaction",
        "Organisation",
        "Product",
        "ProductKind",
        "Project",
        "ProjectStatus",
        "Record",
        "Relationship",
        "RelationshipKind",
        "Role",
        "SizeBand",
        "Stage",
        "StageKind",
    ],
    "b2bclient.base": [
        "SCHEMAS",
        "TABLE_NAMES",
        "ClientBase",
        "Column",
        "TableSchema",
        "empty_table",
    ],
    "b2bclient.datasets": ["SyntheticTruth", "make_client_base", "procurement_oracle"],
    "b2bclient.features": [
        "Contracts",
        "ENTRY_POINT_GROUP",
        "Engagement",
        "Extractor",
        "ExtractorTags",
        "FeaturePreprocessor",
        "FeatureTables",
        "Firmographics",
        "Label",
        "NextPurchase",
        "NoActivity",
        "Pipeline",
        "ProcurementReached",
        "ProductMix",
        "Projects",
        "Purchasing",
        "Relationships",
        "Services",
        "WonDeal",
        "build_features",
        "describe_features",
        "get_extractor",
        "list_extractors",
        "load_plugins",
        "preprocessor",
        "register_extractor",
        "training_frame",
        "unregister_extractor",
    ],
    "b2bclient.churn": [
        "AllOf",
        "AnyOf",
        "ChurnDefinition",
        "ChurnModel",
        "ContractEnd",
        "Custom",
        "Inactivity",
        "KINDS",
        "Surv",
        "calibration_table",
        "metrics",
        "plot_calibration",
        "plot_hazard_ratios",
        "plot_survival_curves",
        "survival_frame",
    ],
    "b2bclient.churn.metrics": [
        "CalibrationResult",
        "brier_score",
        "calibration_at_horizon",
        "concordance_index_harrell",
        "concordance_index_uno",
        "cumulative_dynamic_auc",
        "integrated_brier_score",
    ],
    "b2bclient.btyd": [
        "BetaGeo",
        "BetaGeoBetaBinom",
        "GammaGamma",
        "ModifiedBetaGeo",
        "ParetoNBD",
        "calibration_holdout",
        "discrete_summary",
        "lifetime_value",
        "plot_calibration_holdout",
        "plot_p_alive_matrix",
        "rfm_summary",
        "simulate_summary",
    ],
    "b2bclient.persist": [
        "FORMAT_NAME",
        "FORMAT_VERSION",
        "assert_same_state",
        "load",
        "roundtrip",
        "save",
    ],
    "b2bclient.privacy": ["PERSONAL_COLUMNS", "pseudonymise"],
    "b2bclient.testing": [
        "EXAMPLE_AS_OF",
        "check_extractor",
        "example_base",
        "extractor_checks",
        "with_future_rows",
    ],
    "b2bclient.recommend": ["CrossSell", "PartnerMatcher", "UnknownIdWarning", "metrics"],
    "b2bclient.recommend.metrics": [
        "copresence_partners",
        "coverage",
        "evaluate_temporal",
        "future_links",
        "future_purchases",
        "informed_random_pair_recall",
        "map_at_k",
        "ndcg_at_k",
        "pair_recall_at_k",
        "partners_of_partners",
        "past_purchases",
        "popular_partners",
        "popular_products",
        "precision_at_k",
        "random_partners_in_industry",
        "random_products_in_industry",
        "ranking_metrics",
        "recall_at_k",
    ],
    "b2bclient.cli": ["main"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_every_error_is_a_b2bclient_error_and_a_builtin():
    import b2bclient as bc

    for name in bc.__all__:
        obj = getattr(bc, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not bc.B2BClientError:
            assert issubclass(obj, bc.B2BClientError), name
            assert any(
                base.__module__ == "builtins" and base is not Exception for base in obj.__mro__[1:]
            ), name
