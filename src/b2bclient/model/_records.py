"""Typed, frozen records of the domain model: one class per canonical table.

Records are values: frozen, slotted attrs classes with validators. Conversion between records and
tables lives in :mod:`b2bclient.base` (``ClientBase.from_records`` and ``ClientBase.records``).
"""

from __future__ import annotations

import enum
import math
from typing import Any, ClassVar

import attrs
import pandas as pd

from b2bclient.model._enums import (
    Channel,
    DealChannel,
    DealStatus,
    ProductKind,
    ProjectStatus,
    RelationshipKind,
    Role,
    SizeBand,
    StageKind,
)

__all__ = [
    "Contact",
    "Contract",
    "Deal",
    "DealLine",
    "Interaction",
    "Organisation",
    "Product",
    "Project",
    "Record",
    "Relationship",
    "Stage",
]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _time(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"expected a point in time, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("ns")


def _opt_time(value: Any) -> pd.Timestamp | None:
    return None if _missing(value) else _time(value)


def _opt_str(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _opt_float(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _opt_int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _opt_bool(value: Any) -> bool | None:
    return None if _missing(value) else bool(value)


def _opt_size_band(value: Any) -> SizeBand | None:
    return None if _missing(value) else SizeBand(value)


def _opt_role(value: Any) -> Role | None:
    return None if _missing(value) else Role(value)


def _opt_deal_channel(value: Any) -> DealChannel | None:
    return None if _missing(value) else DealChannel(value)


_nonneg = attrs.validators.optional(attrs.validators.ge(0.0))


@attrs.frozen(kw_only=True)
class Record:
    """Base of every domain record; ``table`` names the canonical table it belongs to."""

    table: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a dict of column name to value (enums as their string values).

        Examples
        --------
        >>> Product(product_id="P-1", kind="service").to_dict()["kind"]
        'service'
        """
        out = attrs.asdict(self, recurse=False)
        return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in out.items()}


@attrs.frozen(kw_only=True)
class Organisation(Record):
    """A client organisation, possibly part of a holding through `parent_id`.

    Examples
    --------
    >>> Organisation(organisation_id="O-1", created_at="2024-03-01", size_band="large").size_band
    <SizeBand.LARGE: 'large'>
    """

    table: ClassVar[str] = "organisations"
    organisation_id: str = attrs.field(converter=str)
    created_at: pd.Timestamp = attrs.field(converter=_time)
    name: str | None = attrs.field(default=None, converter=_opt_str)
    industry: str | None = attrs.field(default=None, converter=_opt_str)
    region: str | None = attrs.field(default=None, converter=_opt_str)
    size_band: SizeBand | None = attrs.field(default=None, converter=_opt_size_band)
    employees: int | None = attrs.field(
        default=None,
        converter=_opt_int,
        validator=attrs.validators.optional(attrs.validators.ge(0)),
    )
    annual_revenue: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_nonneg
    )
    parent_id: str | None = attrs.field(default=None, converter=_opt_str)


@attrs.frozen(kw_only=True)
class Contact(Record):
    """A person at a client organisation. `full_name`, `email` and `phone` are personal data."""

    table: ClassVar[str] = "contacts"
    contact_id: str = attrs.field(converter=str)
    organisation_id: str = attrs.field(converter=str)
    created_at: pd.Timestamp = attrs.field(converter=_time)
    role: Role | None = attrs.field(default=None, converter=_opt_role)
    is_decision_maker: bool | None = attrs.field(default=None, converter=_opt_bool)
    full_name: str | None = attrs.field(default=None, converter=_opt_str, repr=False)
    email: str | None = attrs.field(default=None, converter=_opt_str, repr=False)
    phone: str | None = attrs.field(default=None, converter=_opt_str, repr=False)


@attrs.frozen(kw_only=True)
class Product(Record):
    """A good or a service of the catalogue."""

    table: ClassVar[str] = "products"
    product_id: str = attrs.field(converter=str)
    name: str | None = attrs.field(default=None, converter=_opt_str)
    category: str | None = attrs.field(default=None, converter=_opt_str)
    kind: ProductKind = attrs.field(default=ProductKind.GOOD, converter=ProductKind)


def _check_closed(instance: Deal | Project, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < instance.created_at:
        raise ValueError(f"closed_at {value} is before created_at {instance.created_at}")


@attrs.frozen(kw_only=True)
class Deal(Record):
    """A deal; a won deal is a purchase at `closed_at`.

    Examples
    --------
    >>> Deal(deal_id="D-1", organisation_id="O-1", created_at="2024-01-02",
    ...      closed_at="2024-01-20", status="won", amount=1200.0).status
    <DealStatus.WON: 'won'>
    """

    table: ClassVar[str] = "deals"
    deal_id: str = attrs.field(converter=str)
    organisation_id: str = attrs.field(converter=str)
    created_at: pd.Timestamp = attrs.field(converter=_time)
    status: DealStatus = attrs.field(converter=DealStatus)
    amount: float = attrs.field(converter=float, validator=attrs.validators.ge(0.0))
    closed_at: pd.Timestamp | None = attrs.field(
        default=None, converter=_opt_time, validator=_check_closed
    )
    project_id: str | None = attrs.field(default=None, converter=_opt_str)
    channel: DealChannel | None = attrs.field(default=None, converter=_opt_deal_channel)

    def __attrs_post_init__(self) -> None:
        if self.status is not DealStatus.OPEN and self.closed_at is None:
            raise ValueError(f"deal {self.deal_id!r} is {self.status.value} but has no closed_at")


@attrs.frozen(kw_only=True)
class DealLine(Record):
    """One line of a deal: a product (good or service), a quantity and an amount."""

    table: ClassVar[str] = "deal_lines"
    deal_id: str = attrs.field(converter=str)
    line_no: int = attrs.field(converter=int)
    product_id: str = attrs.field(converter=str)
    quantity: float = attrs.field(converter=float, validator=attrs.validators.gt(0.0))
    amount: float = attrs.field(converter=float, validator=attrs.validators.ge(0.0))


@attrs.frozen(kw_only=True)
class Project(Record):
    """A long project (design, production, procurement, delivery, commissioning)."""

    table: ClassVar[str] = "projects"
    project_id: str = attrs.field(converter=str)
    organisation_id: str = attrs.field(converter=str)
    created_at: pd.Timestamp = attrs.field(converter=_time)
    status: ProjectStatus = attrs.field(converter=ProjectStatus)
    name: str | None = attrs.field(default=None, converter=_opt_str)
    expected_value: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_nonneg
    )
    closed_at: pd.Timestamp | None = attrs.field(
        default=None, converter=_opt_time, validator=_check_closed
    )


@attrs.frozen(kw_only=True)
class Stage(Record):
    """A stage of a project, started at `started_at` and, once over, ended at `ended_at`."""

    table: ClassVar[str] = "stages"
    project_id: str = attrs.field(converter=str)
    stage: StageKind = attrs.field(converter=StageKind)
    started_at: pd.Timestamp = attrs.field(converter=_time)
    ended_at: pd.Timestamp | None = attrs.field(default=None, converter=_opt_time)

    @ended_at.validator
    def _check_end(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value < self.started_at:
            raise ValueError(f"ended_at {value} is before started_at {self.started_at}")


@attrs.frozen(kw_only=True)
class Interaction(Record):
    """A touchpoint: a portal login, a web visit, an email, a call, a meeting, a support ticket..."""

    table: ClassVar[str] = "interactions"
    interaction_id: str = attrs.field(converter=str)
    organisation_id: str = attrs.field(converter=str)
    occurred_at: pd.Timestamp = attrs.field(converter=_time)
    channel: Channel = attrs.field(converter=Channel)
    contact_id: str | None = attrs.field(default=None, converter=_opt_str)
    project_id: str | None = attrs.field(default=None, converter=_opt_str)
    kind: str | None = attrs.field(default=None, converter=_opt_str)


@attrs.frozen(kw_only=True)
class Contract(Record):
    """A contract running from `started_at` to `ends_at`, unless cancelled earlier."""

    table: ClassVar[str] = "contracts"
    contract_id: str = attrs.field(converter=str)
    organisation_id: str = attrs.field(converter=str)
    started_at: pd.Timestamp = attrs.field(converter=_time)
    ends_at: pd.Timestamp = attrs.field(converter=_time)
    kind: str | None = attrs.field(default=None, converter=_opt_str)
    cancelled_at: pd.Timestamp | None = attrs.field(default=None, converter=_opt_time)
    value: float | None = attrs.field(default=None, converter=_opt_float, validator=_nonneg)

    def __attrs_post_init__(self) -> None:
        for name in ("ends_at", "cancelled_at"):
            end = getattr(self, name)
            if end is not None and end < self.started_at:
                raise ValueError(f"{name} {end} is before started_at {self.started_at}")


@attrs.frozen(kw_only=True)
class Relationship(Record):
    """A directed link from `source_id` to `target_id` (for ``parent``: child to parent)."""

    table: ClassVar[str] = "relationships"
    source_id: str = attrs.field(converter=str)
    target_id: str = attrs.field(converter=str)
    kind: RelationshipKind = attrs.field(converter=RelationshipKind)
    since: pd.Timestamp = attrs.field(converter=_time)
