"""Declared schema of the ten canonical tables (DESIGN.md section 3).

The schema is data: one :class:`TableSchema` per table, each a tuple of :class:`Column`. Validation,
``as_of``, I/O, the records in :mod:`b2bclient.model` and the synthetic generator all read it, so a
column is declared once.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = [
    "CHANNELS",
    "CONTRACT_KINDS",
    "DEAL_CHANNELS",
    "DEAL_STATUSES",
    "PRODUCT_KINDS",
    "PROJECT_STATUSES",
    "RELATIONSHIP_KINDS",
    "ROLES",
    "SCHEMAS",
    "SERVICE_CATEGORIES",
    "SIZE_BANDS",
    "STAGES",
    "TABLE_NAMES",
    "Column",
    "ColumnKind",
    "TableSchema",
]

ColumnKind = Literal["id", "str", "enum", "time", "float", "int", "bool"]

SIZE_BANDS = ("micro", "small", "medium", "large", "enterprise")
ROLES = ("procurement", "engineering", "finance", "management", "operations", "other")
PRODUCT_KINDS = ("good", "service")
DEAL_STATUSES = ("open", "won", "lost")
DEAL_CHANNELS = ("portal", "sales_rep", "tender", "edi", "other")
PROJECT_STATUSES = ("active", "completed", "cancelled")
STAGES = ("design", "production", "procurement", "delivery", "commissioning")
CHANNELS = ("portal", "web", "email", "phone", "meeting", "support", "edi")
RELATIONSHIP_KINDS = ("parent", "supplier", "partner", "referral")
CONTRACT_KINDS = ("framework", "supply", "service", "maintenance", "credit", "other")
#: The service categories a ``products`` row of kind ``service`` usually carries.
SERVICE_CATEGORIES = ("insurance", "credit", "logistics", "design", "installation", "lifting")


@attrs.frozen
class Column:
    """One declared column of a canonical table.

    Parameters
    ----------
    name : str
        Column name, fixed by the schema.
    kind : {"id", "str", "enum", "time", "float", "int", "bool"}
        Logical type; it decides the pandas dtype (``object`` strings, ``category``,
        ``datetime64[ns]``, ``float64``, ``Int64``, ``boolean``).
    required : bool
        Whether the column must be present and non-null.
    values : tuple of str, optional
        Allowed values of an ``enum`` column, in order.
    references : str, optional
        Table whose key this column refers to (a foreign key).
    minimum : float, optional
        Smallest allowed value; with ``strict=True`` the value must be greater.
    personal : bool
        Personal data, never copied into features, portraits or reports by default.
    """

    name: str
    kind: ColumnKind
    required: bool = False
    values: tuple[str, ...] | None = None
    references: str | None = None
    minimum: float | None = None
    strict: bool = False
    personal: bool = False
    ordered: bool = False

    @property
    def dtype(self) -> str:
        """Return the pandas dtype name of the column (``"category"`` for enums)."""
        return {
            "id": "object",
            "str": "object",
            "enum": "category",
            "time": "datetime64[ns]",
            "float": "float64",
            "int": "Int64",
            "bool": "boolean",
        }[self.kind]


@attrs.frozen
class TableSchema:
    """Declared shape of one canonical table.

    Parameters
    ----------
    name : str
        Table name.
    key : tuple of str
        Columns whose values identify a row.
    columns : tuple of Column
        Declared columns, in canonical order.
    time_column : str, optional
        Column at or after which ``as_of`` drops a row.
    revert : tuple of str
        Time columns whose later values ``as_of`` reverts (set to null) instead of dropping the row.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    time_column: str | None = None
    revert: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Return the declared column names in canonical order."""
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """Return the names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def personal(self) -> tuple[str, ...]:
        """Return the names of the personal-data columns."""
        return tuple(c.name for c in self.columns if c.personal)

    def column(self, name: str) -> Column:
        """Return the declared column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _enum(
    name: str, values: tuple[str, ...], *, required: bool = False, ordered: bool = False
) -> Column:
    return Column(name, "enum", required=required, values=values, ordered=ordered)


SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        TableSchema(
            "organisations",
            key=("organisation_id",),
            columns=(
                Column("organisation_id", "id", required=True),
                Column("name", "str"),
                Column("industry", "str"),
                Column("region", "str"),
                _enum("size_band", SIZE_BANDS, ordered=True),
                Column("employees", "int", minimum=0),
                Column("annual_revenue", "float", minimum=0),
                Column("parent_id", "id", references="organisations"),
                Column("created_at", "time", required=True),
            ),
            time_column="created_at",
        ),
        TableSchema(
            "contacts",
            key=("contact_id",),
            columns=(
                Column("contact_id", "id", required=True),
                Column("organisation_id", "id", required=True, references="organisations"),
                _enum("role", ROLES),
                Column("is_decision_maker", "bool"),
                Column("full_name", "str", personal=True),
                Column("email", "str", personal=True),
                Column("phone", "str", personal=True),
                Column("created_at", "time", required=True),
            ),
            time_column="created_at",
        ),
        TableSchema(
            "products",
            key=("product_id",),
            columns=(
                Column("product_id", "id", required=True),
                Column("name", "str"),
                Column("category", "str"),
                _enum("kind", PRODUCT_KINDS),
            ),
        ),
        TableSchema(
            "deals",
            key=("deal_id",),
            columns=(
                Column("deal_id", "id", required=True),
                Column("organisation_id", "id", required=True, references="organisations"),
                Column("project_id", "id", references="projects"),
                Column("created_at", "time", required=True),
                Column("closed_at", "time"),
                _enum("status", DEAL_STATUSES, required=True),
                Column("amount", "float", required=True, minimum=0),
                _enum("channel", DEAL_CHANNELS),
            ),
            time_column="created_at",
            revert=("closed_at",),
        ),
        TableSchema(
            "deal_lines",
            key=("deal_id", "line_no"),
            columns=(
                Column("deal_id", "id", required=True, references="deals"),
                Column("line_no", "int", required=True),
                Column("product_id", "id", required=True, references="products"),
                Column("quantity", "float", required=True, minimum=0, strict=True),
                Column("amount", "float", required=True, minimum=0),
            ),
        ),
        TableSchema(
            "projects",
            key=("project_id",),
            columns=(
                Column("project_id", "id", required=True),
                Column("organisation_id", "id", required=True, references="organisations"),
                Column("name", "str"),
                Column("created_at", "time", required=True),
                _enum("status", PROJECT_STATUSES, required=True),
                Column("expected_value", "float", minimum=0),
                Column("closed_at", "time"),
            ),
            time_column="created_at",
            revert=("closed_at",),
        ),
        TableSchema(
            "stages",
            key=("project_id", "stage"),
            columns=(
                Column("project_id", "id", required=True, references="projects"),
                _enum("stage", STAGES, required=True, ordered=True),
                Column("started_at", "time", required=True),
                Column("ended_at", "time"),
            ),
            time_column="started_at",
            revert=("ended_at",),
        ),
        TableSchema(
            "interactions",
            key=("interaction_id",),
            columns=(
                Column("interaction_id", "id", required=True),
                Column("organisation_id", "id", required=True, references="organisations"),
                Column("contact_id", "id", references="contacts"),
                Column("project_id", "id", references="projects"),
                Column("occurred_at", "time", required=True),
                _enum("channel", CHANNELS, required=True),
                Column("kind", "str"),
            ),
            time_column="occurred_at",
        ),
        TableSchema(
            "contracts",
            key=("contract_id",),
            columns=(
                Column("contract_id", "id", required=True),
                Column("organisation_id", "id", required=True, references="organisations"),
                Column("kind", "str"),
                Column("started_at", "time", required=True),
                Column("ends_at", "time", required=True),
                Column("cancelled_at", "time"),
                Column("value", "float", minimum=0),
            ),
            time_column="started_at",
            revert=("cancelled_at",),
        ),
        TableSchema(
            "relationships",
            key=("source_id", "target_id", "kind"),
            columns=(
                Column("source_id", "id", required=True, references="organisations"),
                Column("target_id", "id", required=True, references="organisations"),
                _enum("kind", RELATIONSHIP_KINDS, required=True),
                Column("since", "time", required=True),
            ),
            time_column="since",
        ),
    )
}

#: The canonical tables, parents before children.
TABLE_NAMES: tuple[str, ...] = tuple(SCHEMAS)
