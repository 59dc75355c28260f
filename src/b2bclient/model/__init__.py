"""Typed domain model: frozen attrs records for every canonical table and their enumerations."""

from b2bclient.model._enums import (
    Channel,
    ContractKind,
    DealChannel,
    DealStatus,
    ProductKind,
    ProjectStatus,
    RelationshipKind,
    Role,
    SizeBand,
    StageKind,
)
from b2bclient.model._records import (
    Contact,
    Contract,
    Deal,
    DealLine,
    Interaction,
    Organisation,
    Product,
    Project,
    Record,
    Relationship,
    Stage,
)

__all__ = [
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
]

#: Record class of each canonical table.
RECORD_TYPES = {
    cls.table: cls
    for cls in (
        Organisation,
        Contact,
        Product,
        Deal,
        DealLine,
        Project,
        Stage,
        Interaction,
        Contract,
        Relationship,
    )
}
