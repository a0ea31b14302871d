"""A bound on a request's head (its request line and headers): 431 past it.

uvicorn's httptools parser takes a head of any size, buffered whole before the app sees
it: one client sending a 50 MB header costs the server 50 MB. (uvicorn's h11 parser has
a bound, `h11_max_incomplete_event_size`, but answers 400, and it is the slower parser
for every heartbeat.) The protocol made here is uvicorn's httptools protocol, counting:

- each parsed piece of the head (the URL, every header's name and value) against the
  limit, exactly;
- and the bytes received while a head is still incomplete, so that a single endless
  header is cut off as it comes in rather than once it ends (one socket read after the
  limit at most).

Past either, the client gets `431 Request Header Fields Too Large` with a JSON `detail`,
and the connection is closed.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A header line's ": " and CRLF, counted as the client sent them.
_HEADER_OVERHEAD = 4


class _HeadTooLarge(Exception):
    pass


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on each request's head."""

    max_head_bytes = 32 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # parsed pieces of the current head
        self._pending_bytes = 0  # received while the current head is incomplete
        self._in_head = True
        self._refused = False

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            self._refused = True
            # Raised inside the parser's callback: httptools hands it back out of
            # feed_data as a parser error, and uvicorn answers that with
            # send_400_response (below, a 431).
            raise _HeadTooLarge

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        head_begun = self._in_head
        super().data_received(data)
        # Counted: what arrived while a head already begun is still incomplete. (The
        # read in which a head begins may end the previous request too: not counted.)
        if self._refused or not (head_begun and self._in_head):
            return
        self._pending_bytes += len(data)
        if self._pending_bytes > self.max_head_bytes:
            self._refused = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._pending_bytes = 0
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + _HEADER_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._pending_bytes = 0
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)
            return
        body = json.dumps(
            {
                "detail": "the request's headers are too large: at most "
                f"{self.max_head_bytes} bytes of request line and headers"
            }
        ).encode()
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def header_limited_protocol(max_head_bytes: int) -> type[HeaderLimitedProtocol]:
    """The protocol class for uvicorn's `http=` with this bound."""
    return type(
        "HeaderLimitedProtocol", (HeaderLimitedProtocol,), {"max_head_bytes": max_head_bytes}
    )
