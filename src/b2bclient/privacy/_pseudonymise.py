"""Keyed pseudonymisation of the personal columns of a client base."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES

__all__ = ["PERSONAL_COLUMNS", "pseudonymise"]

#: The personal-data columns of the schema, by table: what :func:`pseudonymise` always replaces.
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    name: schema.personal for name, schema in SCHEMAS.items() if schema.personal
}

#: Shortest key accepted, in bytes: the names of people are guessable, so the digests are only as
#: secret as the key.
MIN_KEY_BYTES = 16

_DIGEST_HEX = 16  # 64 bits: no collision to expect below about four billion distinct values
_SPACE = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _normalise_name(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def _normalise_email(value: str) -> str:
    return value.strip().casefold()


def _normalise_phone(value: str) -> str:
    # "+49 211 52485331" and "+49-211-52485331" are one number; a leading "+" is kept because
    # "+49..." and "0049..." are not told apart without a numbering plan.
    stripped = value.strip()
    return ("+" if stripped.startswith("+") else "") + _NOT_DIGIT.sub("", stripped)


# column -> (normalisation, rendering of the hexadecimal digest)
_FORMATS: dict[tuple[str, str], tuple[Callable[[str], str], Callable[[str], str]]] = {
    ("contacts", "full_name"): (_normalise_name, lambda h: f"Contact {h}"),
    ("contacts", "email"): (_normalise_email, lambda h: f"{h}@pseudonymised.invalid"),
    ("contacts", "phone"): (_normalise_phone, lambda h: f"+00 {int(h, 16) % 10**16:016d}"),
    ("organisations", "name"): (_normalise_name, lambda h: f"Organisation {h}"),
}


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, str):
        raw = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
    else:
        raise InvalidParameterError(
            "The 'key' parameter of pseudonymise must be bytes or a str, such as "
            f"secrets.token_bytes(32). Got a {type(key).__name__} instead."
        )
    if len(raw) < MIN_KEY_BYTES:
        raise InvalidParameterError(
            f"The 'key' parameter of pseudonymise must hold at least {MIN_KEY_BYTES} bytes; "
            f"got {len(raw)}. A short key lets anyone who guesses it recompute the digests of "
            "likely names; use secrets.token_bytes(32) and keep it secret."
        )
    return raw


def _digests(
    values: pd.Series, key: bytes, table: str, column: str
) -> tuple[pd.Series, dict[str, str]]:
    """Replace every non-null value of `values`; return the new column and the mapping used."""
    normalise, render = _FORMATS[(table, column)]
    # The column's name is part of the message, so an e-mail and a name never share a digest.
    prefix = f"b2bclient/{table}.{column}\x00".encode()
    mapping: dict[str, str] = {}
    for value in pd.unique(values.dropna()):
        text = str(value)
        message = prefix + normalise(text).encode("utf-8")
        digest = hmac.new(key, message, hashlib.sha256).hexdigest()[:_DIGEST_HEX]
        mapping[text] = render(digest)
    out = values.astype(object).map(lambda v: v if pd.isna(v) else mapping[str(v)])
    return out.astype(values.dtype), mapping


def pseudonymise(
    base: ClientBase, key: bytes | str, organisation_names: bool = False
) -> ClientBase:
    """Return a copy of `base` whose personal data are replaced by keyed digests.

    Contacts' ``full_name``, ``email`` and ``phone`` (and, with `organisation_names`, the
    ``name`` of every organisation) become HMAC-SHA256 digests of their values under `key`,
    shortened to 64 bits. The same value gives the same digest under the same key, in this
    base and in any other pseudonymised with that key, so records still join; without the key a
    digest cannot be traced back to the value or recomputed from a guess. Values are normalised
    first: e-mails compare without case and surrounding spaces, phone numbers by their digits
    (and a leading ``+``), names with runs of spaces collapsed. Nulls stay null.

    The digests keep the look of what they replace, so code that splits an e-mail at ``@`` or
    prints a phone number works unchanged: ``Contact 3f9c...``, ``3f9c...@pseudonymised.invalid``
    (the reserved ``.invalid`` domain, which can never deliver mail), ``+00`` followed by 16
    digits (no country has code 00), ``Organisation 3f9c...``.

    Only the columns the schema marks as personal (and organisation names) are replaced. Ids,
    free text such as project names, and extra columns are copied unchanged: drop or replace
    extra columns that hold personal data yourself before sharing.

    Parameters
    ----------
    base : ClientBase
        The client base; it is not modified.
    key : bytes or str
        The secret key, at least 16 bytes (a str is encoded as UTF-8). Keep it: the same key
        gives the same digests next time. ``secrets.token_bytes(32)`` makes a good one.
    organisation_names : bool, default False
        Also replace ``organisations.name``.

    Returns
    -------
    ClientBase
        A new, validated client base with the same rows, ids and times, cut at the same
        ``known_before`` as `base`.

    Raises
    ------
    InvalidParameterError
        If `base` is not a ClientBase, `key` is not bytes or str or is shorter than 16 bytes, or
        `organisation_names` is not a bool.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient import ClientBase
    >>> base = ClientBase.from_frames(
    ...     pd.DataFrame({"organisation_id": ["O-1"], "name": ["Acme GmbH"],
    ...                   "created_at": ["2024-01-01"]}),
    ...     contacts=pd.DataFrame({"contact_id": ["C-1", "C-2"], "organisation_id": ["O-1"] * 2,
    ...         "full_name": ["Anna Berg", None], "email": ["a.berg@acme.example", "BOX@acme.example"],
    ...         "phone": ["+49 30 1234567", "+49-30-1234567"], "created_at": ["2024-01-02"] * 2}))
    >>> shared = pseudonymise(base, key=b"a secret of 16 bytes or more")
    >>> shared.contacts["full_name"].tolist()
    ['Contact 4611c8497bc57d47', None]
    >>> bool(shared.contacts["email"].str.endswith("@pseudonymised.invalid").all())
    True
    >>> bool(shared.contacts.loc[0, "phone"] == shared.contacts.loc[1, "phone"])  # same number
    True
    >>> shared.organisations.loc[0, "name"]
    'Acme GmbH'
    >>> pseudonymise(base, key=b"a secret of 16 bytes or more", organisation_names=True
    ...              ).organisations.loc[0, "name"].startswith("Organisation ")
    True
    """
    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            "The 'base' parameter of pseudonymise must be a ClientBase. Got a "
            f"{type(base).__name__} instead."
        )
    raw_key = _key_bytes(key)
    if not isinstance(organisation_names, bool):
        raise InvalidParameterError(
            "The 'organisation_names' parameter of pseudonymise must be True or False. Got "
            f"{organisation_names!r} instead."
        )
    replace = [("contacts", c) for c in PERSONAL_COLUMNS["contacts"]]
    if organisation_names:
        replace.append(("organisations", "name"))
    tables = {name: base.tables[name] for name in TABLE_NAMES}
    for table, column in replace:
        frame = tables[table]
        if column not in frame.columns:
            continue
        new, _ = _digests(frame[column], raw_key, table, column)
        tables[table] = frame.assign(**{column: new})
    return ClientBase(tables, known_before=base.known_before)
