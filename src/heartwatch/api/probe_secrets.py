"""What a read key sees of a probe's configuration: its secrets masked.

A probe's settings can carry credentials for the service it checks: an `Authorization`,
`Cookie` or `X-Api-Key` header, a plugin's `password` or `token`, and its endpoint a
`user:password@` or a `?token=` in its query. Admins see them (they configure them);
everyone else sees them masked as channel secrets are (notifiers/masking.py: `••••`, or
`••••` and the last four characters of a long token; header values and passwords whole),
the rest as it is, so a read key still shows where a probe points and what it expects.

An admin's client that sends a service back as a read key showed it keeps the stored
secrets: `restore_masked` puts each back in place of its mask, while the endpoint's host
stays the same (a changed host with a kept secret would hand the credential to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from heartwatch.notifiers.masking import MASK, is_masked, mask_secret, mask_url
from heartwatch.services.errors import Invalid

# Header names whose values are credentials (compared lower-case).
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token", "api-key"}
)
# A setting (at any depth) whose name holds one of these is a secret as a whole.
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")


def _secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(word in lowered for word in SECRET_WORDS)


def _mask(value: Any) -> Any:
    if value is None or isinstance(value, bool) or value == "":
        return value
    if isinstance(value, Mapping):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return mask_secret(SecretStr(str(value)))  # (a number as a PIN is a secret too)


def _masked_value(name: str, value: Any, in_headers: bool) -> Any:
    if (in_headers and name.lower() in SECRET_HEADERS) or "passw" in name.lower():
        # Masked whole: the tail of a password (or of `Basic <base64>`) is part of it.
        return value if value in (None, "") else MASK
    if _secret_name(name):
        return _mask(value)
    if isinstance(value, Mapping):
        return {k: _masked_value(str(k), v, name.lower() == "headers") for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_value(name, v, False) for v in value]
    return value


def masked_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A probe's checker settings with every credential masked."""
    return {name: _masked_value(name, value, False) for name, value in settings.items()}


def masked_endpoint(endpoint: str | None) -> str | None:
    """A URL endpoint with its `user:password@`, query values and fragment masked; any
    other endpoint (`host:port`) as it is."""
    if endpoint is None or "://" not in endpoint:
        return endpoint
    return mask_url(endpoint)


def _host(endpoint: str | None) -> str | None:
    if endpoint is None or "://" not in endpoint:
        return endpoint
    try:
        return urlsplit(endpoint).hostname
    except ValueError:
        return endpoint


def _restore(sent: Any, stored: Any, where: str, kept: list[str]) -> Any:
    if is_masked(sent):
        # Shown whole-masked (a header, a password) or with its tail (a long token).
        if isinstance(sent, str) and stored not in (None, "") and sent in (MASK, _mask(stored)):
            kept.append(where)
            return stored
        raise Invalid(
            f"{where}: {sent!r} is a masked secret that does not match the one stored "
            "there; send the secret itself"
        )
    if isinstance(sent, Mapping):
        old = stored if isinstance(stored, Mapping) else {}
        return {k: _restore(v, old.get(k), f"{where}.{k}", kept) for k, v in sent.items()}
    if isinstance(sent, list):
        items = stored if isinstance(stored, list) else []
        return [
            _restore(v, items[i] if i < len(items) else None, f"{where}.{i}", kept)
            for i, v in enumerate(sent)
        ]
    return sent


def restore_masked(
    settings: Mapping[str, Any],
    endpoint: str | None,
    stored_settings: Mapping[str, Any],
    stored_endpoint: str | None,
) -> tuple[dict[str, Any], str | None]:
    """The settings and endpoint sent, each masked value put back to the stored secret it
    stands for. Invalid when a mask matches no stored secret, or when a secret is kept
    while the endpoint's host changes (send it again, in full, for a new host)."""
    kept: list[str] = []
    restored = {k: _restore(v, stored_settings.get(k), k, kept) for k, v in settings.items()}
    if endpoint is not None and is_masked(endpoint):
        if stored_endpoint is None or masked_endpoint(stored_endpoint) != endpoint:
            raise Invalid("endpoint: its masked parts do not match the stored endpoint's")
        endpoint = stored_endpoint
        kept.append("endpoint")
    if kept and endpoint is not None and _host(endpoint) != _host(stored_endpoint):
        raise Invalid(
            "the endpoint's host changed: a masked secret is kept only while it stays the "
            "same; send these again in full: " + ", ".join(sorted(kept))
        )
    return restored, endpoint


def has_masked(value: Any) -> bool:
    """Whether anything in a request's value is a mask (so the stored row is needed)."""
    if is_masked(value):
        return True
    if isinstance(value, Mapping):
        return any(has_masked(v) for v in value.values())
    if isinstance(value, list):
        return any(has_masked(v) for v in value)
    return False
