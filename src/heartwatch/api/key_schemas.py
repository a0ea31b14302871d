"""Request and response bodies for API keys (`/keys`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from heartwatch.api import examples
from heartwatch.api.schemas import UTCTime
from heartwatch.domain.auth import LIFETIME_RULE, NAME_MAX_LENGTH, Role, parse_lifetime
from heartwatch.services.auth import key_state
from heartwatch.services.errors import Invalid

if TYPE_CHECKING:  # the rows rendered; the API runs no store code
    from heartwatch.store.models import ApiKey


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=NAME_MAX_LENGTH, examples=["grafana"])
    role: Role = Field(Role.READ, description="read: every GET; admin: everything")
    expires_at: UTCTime | None = Field(None, description="when it stops working")
    expires_in: str | None = Field(
        None, max_length=20, description=f"or how long it works: {LIFETIME_RULE}"
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyIn:
        if self.expires_at is not None and self.expires_in is not None:
            raise ValueError("give `expires_at` or `expires_in`, not both")
        return self

    def expiry(self, now: datetime) -> datetime | None:
        if self.expires_in is None:
            return self.expires_at
        try:
            return now + parse_lifetime(self.expires_in)
        except ValueError as exc:
            raise Invalid(f"expires_in: {exc}") from None


class KeyOut(BaseModel):
    """An API key as listed: never its secret, nor its hash."""

    id: str = Field(description="the public part of the key (`hwk_<id>_...`)")
    name: str
    role: Role
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute")

    @classmethod
    def of(cls, row: ApiKey, now: datetime) -> KeyOut:
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            state=key_state(row, now),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class KeyCreated(KeyOut):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.KEY_CREATED]})

    key: str = Field(description="the whole key: shown this once, kept nowhere")
