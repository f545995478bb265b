"""Reading Wyoming events from a peer that may be hostile: every length is checked first.

The package's own reader trusts the header: a `payload_length` of 10 GB is read into memory, a
header that is JSON but not an object, or has no `type`, raises something other than ValueError.
This one refuses such a frame with `BadFrame` before reading its body, so the connection can be
dropped with one log line while every other connection keeps being served. Writing uses the
package (`wyoming.event.async_write_event`): what we send is well formed by construction.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

__all__ = ["BadFrame", "read_event"]

MAX_TYPE_CHARS = 64


class BadFrame(Exception):
    """The peer sent something that is not a Wyoming event within our limits."""


def _length(header: dict[str, Any], key: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadFrame(f"{key} must be a non-negative integer")
    return value


def _header(line: bytes) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError:
        raise BadFrame("the header is not JSON") from None
    if not isinstance(header, dict):
        raise BadFrame("the header is not a JSON object")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_CHARS:
        raise BadFrame("the header has no valid type")
    if not isinstance(header.get("data", {}), dict):
        raise BadFrame("data must be a JSON object")
    return header


async def _data(reader: asyncio.StreamReader, header: dict[str, Any], length: int) -> dict:
    data = dict(header.get("data") or {})
    if length:
        try:
            extra = json.loads(await reader.readexactly(length))
        except ValueError:
            raise BadFrame("the data block is not JSON") from None
        if not isinstance(extra, dict):
            raise BadFrame("the data block is not a JSON object")
        data.update(extra)
    return data


async def read_event(reader: asyncio.StreamReader, max_bytes: int) -> Event | None:
    """The next event, or None at a clean end of stream. BadFrame for anything else.

    The header line itself is bounded by the reader's `limit` (set it to max_bytes when the
    connection is accepted); data and payload together by `max_bytes`.
    """
    try:
        line = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError):
        raise BadFrame("the header line is too long") from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise BadFrame("the stream ended inside a header")
    header = _header(line)
    data_length = _length(header, "data_length")
    payload_length = _length(header, "payload_length")
    if len(line) + data_length + payload_length > max_bytes:
        raise BadFrame(f"the event is over {max_bytes} bytes")
    try:
        data = await _data(reader, header, data_length)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        raise BadFrame("the stream ended inside an event") from None
    return Event(type=header["type"], data=data, payload=payload)
