"""What the client reports about a shown completion (``loomline/event``), as a plain record."""

from __future__ import annotations

from typing import Any

EVENT_FIELDS = ("type", "completionId", "acceptedLength")


def event_record(params: Any) -> dict[str, Any] | None:
    """The event's known fields (``type``, ``completionId``, ``acceptedLength``), others dropped.

    ``params`` as pygls hands it over: for a method it has no type for, a namedtuple ``Object``
    (which ``vars()`` cannot read), or a dict. None for anything without fields.
    """
    if isinstance(params, dict):
        raw = params
    elif hasattr(params, "_asdict"):
        raw = params._asdict()
    elif hasattr(params, "__dict__"):
        raw = vars(params)
    else:
        return None
    return {key: value for key, value in raw.items() if key in EVENT_FIELDS}
