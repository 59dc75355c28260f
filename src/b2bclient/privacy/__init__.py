"""Privacy: share a client base without the personal data of its contacts.

:func:`pseudonymise` replaces contacts' names, e-mails and phone numbers (and, on request, the
names of organisations) with keyed HMAC-SHA256 digests: the same value gives the same digest under
the same key, so the tables still join and two bases pseudonymised with one key still match, but
nobody without the key can tell whose data it was.
"""

from b2bclient.privacy._pseudonymise import PERSONAL_COLUMNS, pseudonymise

__all__ = ["PERSONAL_COLUMNS", "pseudonymise"]
