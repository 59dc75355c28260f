"""Enumerations of the domain model; their values are the strings stored in the tables."""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "Channel",
    "ContractKind",
    "DealChannel",
    "DealStatus",
    "ProductKind",
    "ProjectStatus",
    "RelationshipKind",
    "Role",
    "SizeBand",
    "StageKind",
]


class _StrEnum(str, enum.Enum):
    """A string-valued enum whose ``str()`` is its value (``enum.StrEnum`` needs Python 3.11)."""

    def __str__(self) -> str:
        return str(self.value)


class _OrderedStrEnum(_StrEnum):
    """A string enum whose members compare by declaration order, not alphabetically."""

    @property
    def rank(self) -> int:
        """Return the position of the member in declaration order, starting at 0."""
        return list(type(self)).index(self)

    def _check(self, other: Any) -> _OrderedStrEnum:
        if type(other) is not type(self):
            other = type(self)(other)
        return other  # type: ignore[no-any-return]

    def __lt__(self, other: Any) -> bool:
        return self.rank < self._check(other).rank

    def __le__(self, other: Any) -> bool:
        return self.rank <= self._check(other).rank

    def __gt__(self, other: Any) -> bool:
        return self.rank > self._check(other).rank

    def __ge__(self, other: Any) -> bool:
        return self.rank >= self._check(other).rank

    def __hash__(self) -> int:
        return hash(self.value)


class SizeBand(_OrderedStrEnum):
    """Size of an organisation, ordered from ``micro`` to ``enterprise``.

    Examples
    --------
    >>> SizeBand("small") < SizeBand.LARGE
    True
    """

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    ENTERPRISE = "enterprise"


class Role(_StrEnum):
    """Role of a contact inside its organisation."""

    PROCUREMENT = "procurement"
    ENGINEERING = "engineering"
    FINANCE = "finance"
    MANAGEMENT = "management"
    OPERATIONS = "operations"
    OTHER = "other"


class ProductKind(_StrEnum):
    """Whether a product is a good or a service (insurance, credit, logistics, lifting, ...)."""

    GOOD = "good"
    SERVICE = "service"


class DealStatus(_StrEnum):
    """State of a deal; a ``won`` deal is a purchase at its ``closed_at``."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class DealChannel(_StrEnum):
    """Channel through which a deal was made."""

    PORTAL = "portal"
    SALES_REP = "sales_rep"
    TENDER = "tender"
    EDI = "edi"
    OTHER = "other"


class ProjectStatus(_StrEnum):
    """State of a long project."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class StageKind(_OrderedStrEnum):
    """Stage of a long project, ordered as a project passes through them.

    Examples
    --------
    >>> StageKind.DESIGN < StageKind.PROCUREMENT < StageKind.COMMISSIONING
    True
    >>> sorted(["delivery", "design"], key=StageKind)
    ['design', 'delivery']
    """

    DESIGN = "design"
    PRODUCTION = "production"
    PROCUREMENT = "procurement"
    DELIVERY = "delivery"
    COMMISSIONING = "commissioning"


class Channel(_StrEnum):
    """Channel of an interaction."""

    PORTAL = "portal"
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    MEETING = "meeting"
    SUPPORT = "support"
    EDI = "edi"


class ContractKind(_StrEnum):
    """Usual kinds of contract; the ``kind`` column of ``contracts`` also accepts other strings."""

    FRAMEWORK = "framework"
    SUPPLY = "supply"
    SERVICE = "service"
    MAINTENANCE = "maintenance"
    CREDIT = "credit"
    OTHER = "other"


class RelationshipKind(_StrEnum):
    """Kind of a directed link between two organisations."""

    PARENT = "parent"
    SUPPLIER = "supplier"
    PARTNER = "partner"
    REFERRAL = "referral"
