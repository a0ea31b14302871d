"""Every call the bot makes to heartwatch's REST API, in one place.

The bot is a client like any other: it reaches the API at HEARTWATCH_URL with its API key
and never opens the database. Answers are returned as the API's JSON (dicts); the
message builders (`bot.views`) read the fields they show.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

REQUEST_TIMEOUT_S = 10.0

Json = dict[str, Any]


class ApiUnreachable(Exception):
    """heartwatch's API did not answer (refused, timed out, or a 5xx)."""


class ApiRefused(Exception):
    """The API answered 4xx: `status` and its `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def list_items(body: object) -> list[Json]:
    """The items of a list answer, whether it is a bare array or a page envelope
    (`{"items": [...], "next_cursor": ...}`): the one place that knows the shape."""
    if isinstance(body, dict):
        body = body.get("items", [])
    if not isinstance(body, list):
        raise ApiUnreachable("the API answered a list request with something else")
    return [item for item in body if isinstance(item, dict)]


class HeartwatchApi:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "heartwatch-bot"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ------------------------------------------------------------------------

    async def services(self) -> list[Json]:
        return list_items(await self._call("GET", "/services"))

    async def service(self, key: str) -> Json:
        return _one(await self._call("GET", f"/services/{_seg(key)}"))

    async def uptime(self, key: str, period: str) -> Json:
        return _one(await self._call("GET", f"/metrics/uptime/{_seg(key)}", {"period": period}))

    async def summary(self, period: str = "24h") -> Json:
        return _one(await self._call("GET", "/metrics/summary", {"period": period}))

    async def open_incidents(self) -> list[Json]:
        return list_items(await self._call("GET", "/incidents/active"))

    async def transitions(self, key: str, limit: int) -> list[Json]:
        params = {"service_key": key, "limit": str(limit)}
        return list_items(await self._call("GET", "/state-history", params))

    # --- changes ----------------------------------------------------------------------

    async def mute(self, key: str, minutes: float) -> Json:
        body = {"minutes": minutes}
        return _one(await self._call("POST", f"/services/{_seg(key)}/mute", json=body))

    async def unmute(self, key: str) -> Json:
        return _one(await self._call("DELETE", f"/services/{_seg(key)}/mute"))

    # --- the one way in ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        json: Json | None = None,
    ) -> object:
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise ApiUnreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ApiUnreachable(f"the API answered {response.status_code}")
        try:
            body: object = response.json()
        except ValueError:
            raise ApiUnreachable("the API answered something that is not JSON") from None
        if response.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else None
            raise ApiRefused(response.status_code, str(detail or response.reason_phrase))
        return body


def _seg(key: str) -> str:
    return quote(key, safe="")


def _one(body: object) -> Json:
    if not isinstance(body, dict):
        raise ApiUnreachable("the API answered something that is not an object")
    return body
