"""A small hand-made client base that exercises every table, as raw frames."""

from __future__ import annotations

import pandas as pd


def frames() -> dict[str, pd.DataFrame]:
    """Return small, valid raw frames for all ten tables (strings for times, as from an export)."""
    return {
        "organisations": pd.DataFrame(
            {
                "organisation_id": ["O-1", "O-2", "O-3", "O-4"],
                "name": ["Nordbau Holding", "Nordbau Süd", "Keller Stahl", "Late Newcomer"],
                "industry": ["construction", "construction", "steel", "retail"],
                "region": ["north", "south", "north", "west"],
                "size_band": ["enterprise", "medium", "large", None],
                "employees": [5200, 240, 900, None],
                "annual_revenue": [1.2e9, 4.0e7, 3.1e8, None],
                "parent_id": [None, "O-1", None, None],
                "created_at": ["2020-01-10", "2020-03-01", "2021-06-15", "2024-05-01"],
                "crm_owner": ["alice", "alice", "bob", "carol"],
            }
        ),
        "contacts": pd.DataFrame(
            {
                "contact_id": ["C-1", "C-2", "C-3"],
                "organisation_id": ["O-1", "O-1", "O-3"],
                "role": ["procurement", "engineering", "management"],
                "is_decision_maker": [True, False, True],
                "full_name": ["Ada Berg", "Jonas Wolf", "Mia Kern"],
                "email": ["ada.berg@nordbau.example", "jonas.wolf@nordbau.example", None],
                "phone": ["+49 30 1234567", None, "+49 40 7654321"],
                "created_at": ["2020-01-10", "2021-02-01", "2024-06-01"],
            }
        ),
        "products": pd.DataFrame(
            {
                "product_id": ["P-1", "P-2", "S-1"],
                "name": ["Steel beam", "Rebar", "Crane lifting"],
                "category": ["structural", "structural", "lifting"],
                "kind": ["good", "good", "service"],
            }
        ),
        "deals": pd.DataFrame(
            {
                "deal_id": ["D-1", "D-2", "D-3", "D-4"],
                "organisation_id": ["O-1", "O-1", "O-3", "O-2"],
                "project_id": ["PR-1", None, None, None],
                "created_at": ["2023-01-05", "2023-06-01", "2024-02-01", "2024-03-01"],
                "closed_at": ["2023-02-01", "2024-03-10", None, "2024-04-01"],
                "status": ["won", "lost", "open", "won"],
                "amount": [12000.0, 5000.0, 800.0, 300.0],
                "channel": ["tender", "sales_rep", "portal", "portal"],
            }
        ),
        "deal_lines": pd.DataFrame(
            {
                "deal_id": ["D-1", "D-1", "D-2", "D-3", "D-4"],
                "line_no": [1, 2, 1, 1, 1],
                "product_id": ["P-1", "S-1", "P-2", "P-2", "P-1"],
                "quantity": [10.0, 1.0, 5.0, 2.0, 1.0],
                "amount": [10000.0, 2000.0, 5000.0, 800.0, 300.0],
            }
        ),
        "projects": pd.DataFrame(
            {
                "project_id": ["PR-1", "PR-2"],
                "organisation_id": ["O-1", "O-3"],
                "name": ["Harbour tower", "Mill extension"],
                "created_at": ["2022-09-01", "2023-11-01"],
                "status": ["completed", "active"],
                "expected_value": [50000.0, 20000.0],
                "closed_at": ["2024-01-15", None],
            }
        ),
        "stages": pd.DataFrame(
            {
                "project_id": ["PR-1", "PR-1", "PR-1", "PR-2", "PR-2"],
                "stage": ["design", "production", "procurement", "design", "production"],
                "started_at": [
                    "2022-09-01",
                    "2022-12-01",
                    "2023-01-05",
                    "2023-11-01",
                    "2024-03-01",
                ],
                "ended_at": ["2022-12-01", "2023-01-05", "2024-01-15", "2024-03-01", None],
            }
        ),
        "interactions": pd.DataFrame(
            {
                "interaction_id": ["I-1", "I-2", "I-3", "I-4", "I-5"],
                "organisation_id": ["O-1", "O-1", "O-3", "O-3", "O-2"],
                "contact_id": ["C-1", "C-2", None, "C-3", None],
                "project_id": ["PR-1", None, "PR-2", None, None],
                "occurred_at": [
                    "2022-10-01T09:00:00",
                    "2023-03-01T10:30:00+01:00",
                    "2024-01-01T00:00:00Z",
                    "2024-06-02T08:00:00",
                    "2024-02-01",
                ],
                "channel": ["meeting", "portal", "email", "support", "web"],
                "kind": ["visit", "login", "document", "ticket", "page_view"],
            }
        ),
        "contracts": pd.DataFrame(
            {
                "contract_id": ["K-1", "K-2"],
                "organisation_id": ["O-1", "O-3"],
                "kind": ["framework", "supply"],
                "started_at": ["2021-01-01", "2022-01-01"],
                "ends_at": ["2023-12-31", "2025-12-31"],
                "cancelled_at": [None, "2024-04-01"],
                "value": [100000.0, 40000.0],
            }
        ),
        "relationships": pd.DataFrame(
            {
                "source_id": ["O-2", "O-3"],
                "target_id": ["O-1", "O-1"],
                "kind": ["parent", "supplier"],
                "since": ["2020-03-01", "2022-01-01"],
            }
        ),
    }
