"""The portrait document: the :class:`Portrait` record and its published JSON Schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import attrs
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.account._protocol import PART_SCHEMAS

__all__ = ["CORE_SCHEMA", "SCHEMA_VERSION", "Portrait", "portrait_schema"]

#: Version of the portrait document; a change that breaks readers raises it.
SCHEMA_VERSION = 1

_NUMBER = {"type": ["number", "null"]}
_STRING = {"type": ["string", "null"]}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        "properties": properties,
    }


_DEAL = _object(
    {
        "deal_id": {"type": "string"},
        "project_id": _STRING,
        "created_at": {"type": "string", "format": "date-time"},
        "age_days": {"type": "number", "minimum": 0},
        "amount": {"type": "number", "minimum": 0},
        "channel": _STRING,
    }
)
_PROJECT = _object(
    {
        "project_id": {"type": "string"},
        "name": _STRING,
        "created_at": {"type": "string", "format": "date-time"},
        "stage": {
            "enum": ["design", "production", "procurement", "delivery", "commissioning", None]
        },
        "stage_started_at": _STRING,
        "days_in_stage": _NUMBER,
        "expected_value": _NUMBER,
    }
)
_CONTACT = _object(
    {
        "contact_id": {"type": "string"},
        "role": _STRING,
        "is_decision_maker": {"type": ["boolean", "null"]},
        "full_name": _STRING,
        "email": _STRING,
        "phone": _STRING,
    }
)

#: Schemas of the sections every portrait has, from the tables alone.
CORE_SCHEMA: dict[str, dict[str, Any]] = {
    "organisation": _object(
        {
            "organisation_id": {"type": "string"},
            "name": _STRING,
            "industry": _STRING,
            "region": _STRING,
            "size_band": {"enum": ["micro", "small", "medium", "large", "enterprise", None]},
            "employees": _NUMBER,
            "annual_revenue": _NUMBER,
            "created_at": {"type": "string", "format": "date-time"},
            "age_days": {"type": "number", "minimum": 0},
        }
    ),
    "holding": _object(
        {
            "parent_id": _STRING,
            "top_parent_id": {"type": "string"},
            "depth": {"type": "integer", "minimum": 0},
            "holding_size": {"type": "integer", "minimum": 1},
            "subsidiaries": {"type": "integer", "minimum": 0},
        }
    ),
    "open_deals": _object(
        {
            "count": {"type": "integer", "minimum": 0},
            "value": {"type": "number", "minimum": 0},
            "deals": {"type": "array", "items": _DEAL},
        }
    ),
    "active_projects": _object(
        {
            "count": {"type": "integer", "minimum": 0},
            "expected_value": {"type": "number", "minimum": 0},
            "projects": {"type": "array", "items": _PROJECT},
        }
    ),
    "engagement": _object(
        {
            "interactions_365d": _NUMBER,
            "portal_logins_90d": _NUMBER,
            "portal_logins_365d": _NUMBER,
            "portal_share_365d": _NUMBER,
            "self_service_share_365d": _NUMBER,
            "tickets_365d": _NUMBER,
            "last_touch_days": _NUMBER,
            "active_contacts_365d": _NUMBER,
            "decision_makers_reached_365d": _NUMBER,
            "contacts_by_role": _COUNTS,
            "contacts_reached_by_role_365d": _COUNTS,
        }
    ),
}


def portrait_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a portrait document.

    The core sections are required; each part's section (those registered with
    :func:`~b2bclient.account._protocol.register_part_schema`) is optional, since a portrait holds exactly the parts of its bundle. ``contacts``
    (personal data) appears only with ``include_personal_data=True``.

    Examples
    --------
    >>> schema = portrait_schema()
    >>> schema["required"][:3]
    ['schema_version', 'organisation_id', 'as_of']
    >>> "churn" in schema["properties"], "churn" in schema["required"]
    (True, False)
    """
    properties: dict[str, Any] = {
        "schema_version": {"const": SCHEMA_VERSION},
        "organisation_id": {"type": "string"},
        "as_of": {"type": "string", "format": "date-time"},
        "models_as_of": _STRING,
        **copy.deepcopy(CORE_SCHEMA),
    }
    for name, schema in PART_SCHEMAS.items():
        properties[name] = copy.deepcopy(schema)
    properties["contacts"] = {
        "type": "array",
        "items": _CONTACT,
        "description": "Personal data; only with include_personal_data=True.",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://b2bclient.org/schemas/portrait/v{SCHEMA_VERSION}.json",
        "title": "b2bclient portrait",
        "description": "One client's digital portrait as of a point in time.",
        "type": "object",
        "required": [
            "schema_version",
            "organisation_id",
            "as_of",
            "models_as_of",
            *CORE_SCHEMA,
        ],
        "additionalProperties": False,
        "properties": properties,
    }


def _iso(t: pd.Timestamp | None) -> str | None:
    return None if t is None else pd.Timestamp(t).isoformat()


@attrs.frozen(kw_only=True)
class Portrait:
    """One client's digital portrait as of a point in time.

    Build it with :func:`~b2bclient.account.portrait` (or many with
    :func:`~b2bclient.account.portraits`). The core sections (``organisation``, ``holding``,
    ``open_deals``, ``active_projects``, ``engagement``) come from the tables; every other
    section from a part of the :class:`~b2bclient.account.Models` bundle, present only when
    that part is in the bundle.

    Parameters
    ----------
    organisation_id : str
        The client.
    as_of : pandas.Timestamp
        The portrait sees only rows before it.
    models_as_of : pandas.Timestamp or None
        When the bundle was fitted (None without a bundle).
    sections : dict of str to object
        The sections in document order, JSON-ready.

    Examples
    --------
    >>> p = Portrait(organisation_id="O-1", as_of=pd.Timestamp("2025-01-01"),
    ...              models_as_of=None, sections={"churn": {"probability": 0.2}})
    >>> p["churn"]["probability"], p.names
    (0.2, ('churn',))
    >>> p.to_dict()["as_of"]
    '2025-01-01T00:00:00'
    """

    organisation_id: str
    as_of: pd.Timestamp
    models_as_of: pd.Timestamp | None
    sections: Mapping[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        """Return the names of the sections, in order."""
        return tuple(self.sections)

    def __getitem__(self, name: str) -> Any:
        try:
            return self.sections[name]
        except KeyError:
            raise InvalidParameterError(
                f"This portrait of {self.organisation_id} has no section {name!r}; it has "
                f"{list(self.sections)}. A part's section appears only when the part is in the "
                "bundle passed as models=."
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Return the portrait as a JSON-ready dict that validates against :meth:`json_schema`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "organisation_id": self.organisation_id,
            "as_of": _iso(self.as_of),
            "models_as_of": _iso(self.models_as_of),
            **self.sections,
        }

    def to_json(self, **kwargs: Any) -> str:
        """Return :meth:`to_dict` as a JSON string (`kwargs` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Portrait:
        """Rebuild a portrait from :meth:`to_dict` output (for instance a line of JSON Lines)."""
        head = ("schema_version", "organisation_id", "as_of", "models_as_of")
        missing = [k for k in head if k not in document]
        if missing or document.get("schema_version") != SCHEMA_VERSION:
            raise InvalidParameterError(
                f"Not a portrait document of schema version {SCHEMA_VERSION}: missing {missing}, "
                f"schema_version={document.get('schema_version')!r}."
            )
        models_as_of = document["models_as_of"]
        return cls(
            organisation_id=str(document["organisation_id"]),
            as_of=pd.Timestamp(document["as_of"]),
            models_as_of=None if models_as_of is None else pd.Timestamp(models_as_of),
            sections={k: v for k, v in document.items() if k not in head},
        )

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Return the published JSON Schema of :meth:`to_dict` (see :func:`portrait_schema`)."""
        return portrait_schema()
