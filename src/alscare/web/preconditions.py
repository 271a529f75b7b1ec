"""The HTTP side of record revisions: a revision's ETag, ``If-Match`` and ``X-Change-Reason``.

A patient's record is answered with the number of its revision as a strong ETag (``"3"``). A
write that replaces the record names the revision it was based on in ``If-Match``; a write
against any other revision is refused (412), so two clinicians editing one patient cannot
overwrite each other unseen. Why a change was made travels in ``X-Change-Reason`` (UTF-8).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from fastapi import Header

from alscare.errors import AlscareError, Problem, RecordError

__all__ = [
    "CHANGE_REASON",
    "CHANGE_REASON_POINTER",
    "IF_MATCH",
    "ChangeReasonHeader",
    "IfMatchHeader",
    "PreconditionRequiredError",
    "change_reason",
    "etag",
    "expected_revision",
    "required_revision",
]

IF_MATCH: Final = "If-Match"
CHANGE_REASON: Final = "X-Change-Reason"
# Where a 422 answer points for a missing or unusable reason, as for any other header.
CHANGE_REASON_POINTER: Final = f"/header/{CHANGE_REASON}"
_ETAG: Final = re.compile(r'"?([1-9][0-9]{0,9})"?')

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias=IF_MATCH,
        description='the ETag of the revision the change is based on, e.g. "3"',
    ),
]
ChangeReasonHeader = Annotated[
    str | None,
    Header(alias=CHANGE_REASON, description="why the record is changed (UTF-8, 500 characters)"),
]


class PreconditionRequiredError(AlscareError):
    """Raised when a write that must name the revision it was based on does not (428)."""


def etag(revision: int) -> str:
    """The strong ETag of a revision of a record."""
    return f'"{revision}"'


def expected_revision(if_match: str | None) -> int | None:
    """The revision an optional ``If-Match`` header names, None without one (see
    :func:`required_revision`)."""
    return required_revision(if_match) if (if_match or "").strip() else None


def required_revision(if_match: str | None) -> int:
    """The revision the ``If-Match`` header names.

    PreconditionRequiredError when it is missing, or is ``*`` (which would match any revision,
    and so protect nothing); RecordError naming the header when it is not one ETag of a
    revision.
    """
    value = (if_match or "").strip()
    if not value or value == "*":
        raise PreconditionRequiredError(
            f"send {IF_MATCH} with the ETag of the revision you read (GET answers it), "
            'e.g. If-Match: "3"; * is not accepted'
        )
    found = _ETAG.fullmatch(value)
    if found is None:
        reason = f'{value!r} is not the ETag of a revision, such as "3"'
        raise RecordError([Problem(f"/header/{IF_MATCH}", reason)])
    return int(found.group(1))


def change_reason(header: str | None, *, required: bool = False) -> str | None:
    """The reason a request gives: the header's bytes read as UTF-8 (HTTP hands them over as
    Latin-1), or as they are when they are not UTF-8. RecordError naming the header when it is
    ``required`` and missing or blank."""
    if required and not (header or "").strip():
        reason = f"give the reason for this change in the {CHANGE_REASON} header"
        raise RecordError([Problem(CHANGE_REASON_POINTER, reason)])
    if header is None:
        return None
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header
