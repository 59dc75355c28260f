"""Typed, frozen records of the domain model: one class per canonical table.

Records are values: frozen, slotted attrs classes with validators. Conversion between records and
tables lives in :mod:`b2bclient.base` (``ClientBase.from_records`` and ``ClientBase.records``).
"""

from __future__ import annotations

import enum
import math
import numbers
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient._time import to_timestamp
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


def id_text(value: Any) -> str | None:
    """Return the text an id is held as: strings as they are, whole numbers as their digits.

    The loaders' rule: ``1001``, ``numpy.int64(1001)`` and ``1001.0`` are ``'1001'``. Returns
    None for a value that is not an id (a boolean, a fraction, a float beyond 2**53).

    Examples
    --------
    >>> id_text(1001), id_text("O-1"), id_text(1001.0), id_text(1.5)
    ('1001', 'O-1', '1001', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and abs(number) <= 2.0**53:
            return str(int(number))
    return None


def _id(value: Any) -> str:
    text = id_text(value)
    if text is None:
        raise ValueError(f"expected an id (text or a whole number below 2**53), got {value!r}")
    return text


def _opt_id(value: Any) -> str | None:
    return None if _missing(value) else _id(value)


def _time(value: Any) -> pd.Timestamp:
    # The loaders' rules: ISO 8601, no guessed day-month order, no zone names, no numbers.
    return to_timestamp(value, name="time", owner="a record")


def _opt_time(value: Any) -> pd.Timestamp | None:
    return None if _missing(value) else _time(value)


def _opt_str(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _float(value: Any) -> float:
    if isinstance(value, (bool, np.bool_, complex, np.complexfloating)):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _opt_float(value: Any) -> float | None:
    return None if _missing(value) else _float(value)


def _opt_int(value: Any) -> int | None:
    return None if _missing(value) else _int(value)


def _int(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"expected a whole number, got {value!r}")
    number = _float(value) if not isinstance(value, numbers.Integral) else value
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


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
    organisation_id: str = attrs.field(converter=_id)
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
    parent_id: str | None = attrs.field(default=None, converter=_opt_id)


@attrs.frozen(kw_only=True)
class Contact(Record):
    """A person at a client organisation. `full_name`, `email` and `phone` are personal data."""

    table: ClassVar[str] = "contacts"
    contact_id: str = attrs.field(converter=_id)
    organisation_id: str = attrs.field(converter=_id)
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
    product_id: str = attrs.field(converter=_id)
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
    deal_id: str = attrs.field(converter=_id)
    organisation_id: str = attrs.field(converter=_id)
    created_at: pd.Timestamp = attrs.field(converter=_time)
    status: DealStatus = attrs.field(converter=DealStatus)
    amount: float = attrs.field(converter=_float, validator=attrs.validators.ge(0.0))
    closed_at: pd.Timestamp | None = attrs.field(
        default=None, converter=_opt_time, validator=_check_closed
    )
    project_id: str | None = attrs.field(default=None, converter=_opt_id)
    channel: DealChannel | None = attrs.field(default=None, converter=_opt_deal_channel)

    def __attrs_post_init__(self) -> None:
        if self.status is not DealStatus.OPEN and self.closed_at is None:
            raise ValueError(f"deal {self.deal_id!r} is {self.status.value} but has no closed_at")


@attrs.frozen(kw_only=True)
class DealLine(Record):
    """One line of a deal: a product (good or service), a quantity and an amount."""

    table: ClassVar[str] = "deal_lines"
    deal_id: str = attrs.field(converter=_id)
    line_no: int = attrs.field(converter=_int)
    product_id: str = attrs.field(converter=_id)
    quantity: float = attrs.field(converter=_float, validator=attrs.validators.gt(0.0))
    amount: float = attrs.field(converter=_float, validator=attrs.validators.ge(0.0))


@attrs.frozen(kw_only=True)
class Project(Record):
    """A long project (design, production, procurement, delivery, commissioning)."""

    table: ClassVar[str] = "projects"
    project_id: str = attrs.field(converter=_id)
    organisation_id: str = attrs.field(converter=_id)
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
    project_id: str = attrs.field(converter=_id)
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
    interaction_id: str = attrs.field(converter=_id)
    organisation_id: str = attrs.field(converter=_id)
    occurred_at: pd.Timestamp = attrs.field(converter=_time)
    channel: Channel = attrs.field(converter=Channel)
    contact_id: str | None = attrs.field(default=None, converter=_opt_id)
    project_id: str | None = attrs.field(default=None, converter=_opt_id)
    kind: str | None = attrs.field(default=None, converter=_opt_str)


@attrs.frozen(kw_only=True)
class Contract(Record):
    """A contract running from `started_at` to `ends_at`, unless cancelled earlier."""

    table: ClassVar[str] = "contracts"
    contract_id: str = attrs.field(converter=_id)
    organisation_id: str = attrs.field(converter=_id)
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
    source_id: str = attrs.field(converter=_id)
    target_id: str = attrs.field(converter=_id)
    kind: RelationshipKind = attrs.field(converter=RelationshipKind)
    since: pd.Timestamp = attrs.field(converter=_time)
