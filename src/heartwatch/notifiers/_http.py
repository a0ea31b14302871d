"""One HTTP request for the HTTP-based notifiers, with every way it can fail turned into
a `DeliveryError` that says whether to retry: connection errors and timeouts are worth
retrying, an answer is judged by its status."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import SecretStr

from heartwatch import __version__
from heartwatch.checkers import http_errors
from heartwatch.domain.snippets import quote
from heartwatch.notifiers.base import (
    DeliveryError,
    NotifyContext,
    parse_retry_after,
    redact,
    retryable_status,
)

USER_AGENT = f"heartwatch/{__version__} (notifications)"
# Enough of an error answer to say what the service disliked; bodies can be whole pages.
_MAX_BODY_BYTES = 64 * 1024
_EXCERPT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    def excerpt(self) -> str:
        return excerpt(self.text)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    # content.read(n) returns whatever has arrived, maybe half a JSON answer: read on
    # until the end or the cap.
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:_MAX_BODY_BYTES]


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def excerpt(text: str) -> str:
    """An answer body on one short line, for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"


async def request(
    ctx: NotifyContext,
    method: str,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    what: str,
    secrets: tuple[SecretStr | str | None, ...] = (),
) -> Answer:
    """Send `body` and read the answer, whatever its status. `what` names the far end
    in error messages ("Slack", "the webhook"); `secrets` (a token in the URL) are
    masked in them."""
    try:
        return await _request(ctx, method, url, body=body, headers=headers, what=what)
    except DeliveryError as exc:
        text = redact(exc.message, *secrets)
        raise DeliveryError(text, retryable=exc.retryable, retry_after=exc.retry_after) from None


async def post_json(
    ctx: NotifyContext,
    url: str,
    payload: Any,
    *,
    what: str,
    secrets: tuple[SecretStr | str | None, ...] = (),
) -> Answer:
    """`request` of a JSON body, as the chat and paging APIs take it."""
    return await request(
        ctx,
        "POST",
        url,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        what=what,
        secrets=secrets,
    )


async def _request(
    ctx: NotifyContext,
    method: str,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    what: str,
) -> Answer:
    merged = CIMultiDict({"User-Agent": USER_AGENT})
    merged.update(headers)  # case-insensitively: a configured user-agent replaces ours
    try:
        async with ctx.http.request(
            method,
            url,
            data=body,
            headers=merged,
            # A redirect would be followed as a GET without the body: the message would be
            # lost while looking delivered. The answer is judged (and refused) instead.
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=ctx.timeout_s),
        ) as response:
            raw = await _read_capped(response)
            text = _decode(raw, response.charset)
            return Answer(response.status, response.headers, text)
    except TimeoutError:
        raise DeliveryError(
            f"{what} did not answer within {ctx.timeout_s:g} s", retryable=True
        ) from None
    except aiohttp.ClientResponseError as exc:  # a session made with raise_for_status
        raise status_error(what, exc.status, exc.message, exc.headers) from None
    except aiohttp.InvalidURL as exc:
        raise DeliveryError(f"{what}: invalid URL: {exc}", retryable=False) from None
    except aiohttp.ClientError as exc:
        error, _ = http_errors.describe(exc)
        raise DeliveryError(f"{what}: {error}", retryable=True) from None


def status_error(
    what: str,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    *,
    retry_after: float | None = None,
) -> DeliveryError:
    """The `DeliveryError` for an HTTP answer that is not a success."""
    if retry_after is None and headers is not None:
        retry_after = parse_retry_after(headers.get("Retry-After"))
    reason = f"{what} answered {status}"
    if 300 <= status < 400:
        location = headers.get("Location") if headers is not None else None
        reason += f" (a redirect to {quote(location)}: set the final URL)" if location else ""
    if detail:
        # What the service said: shown to admins only (`domain.snippets`).
        reason += f": {quote(detail)}"
    return DeliveryError(reason, retryable=retryable_status(status), retry_after=retry_after)
