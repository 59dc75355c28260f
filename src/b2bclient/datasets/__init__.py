"""Synthetic client bases with planted, known structure, for demos, tutorials and tests."""

from b2bclient.datasets._make import make_client_base
from b2bclient.datasets._oracle import procurement_oracle
from b2bclient.datasets._partitioned import write_client_base
from b2bclient.datasets._truth import SyntheticTruth

__all__ = ["SyntheticTruth", "make_client_base", "procurement_oracle", "write_client_base"]
