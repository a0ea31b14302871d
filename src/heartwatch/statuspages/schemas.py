"""The admin API's wire format for status pages and badge tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from heartwatch.api import examples
from heartwatch.api.paging import OnePage
from heartwatch.domain.status_pages import SLUG_PATTERN
from heartwatch.services.status_pages import PageChanges, PageSpec

if TYPE_CHECKING:
    from heartwatch.store.models import StatusPage

_KEYS: list[str] = Field(default_factory=list, max_length=500, description="services shown by key")
_TAGS: list[str] = Field(
    default_factory=list, max_length=50, description="... and every service with a tag"
)


class StatusPageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, max_length=64, examples=["acme"])
    title: str = Field(min_length=1, max_length=200, examples=["Acme status"])
    description: str = Field("", max_length=2000)
    service_keys: list[str] = _KEYS
    tags: list[str] = _TAGS

    def spec(self) -> PageSpec:
        return PageSpec(
            self.slug, self.title, self.description, tuple(self.service_keys), tuple(self.tags)
        )


class StatusPagePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str | None = Field(None, pattern=SLUG_PATTERN, max_length=64)
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    service_keys: list[str] | None = Field(None, max_length=500)
    tags: list[str] | None = Field(None, max_length=50)

    def changes(self) -> PageChanges:
        return PageChanges(
            slug=self.slug,
            title=self.title,
            description=self.description,
            service_keys=None if self.service_keys is None else tuple(self.service_keys),
            tags=None if self.tags is None else tuple(self.tags),
        )


class StatusPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.STATUS_PAGE_OUT]})

    slug: str
    title: str
    description: str
    service_keys: list[str]
    tags: list[str]
    url: str = Field(description="the public page")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, page: StatusPage, base_url: str) -> StatusPageOut:
        return cls(
            slug=page.slug,
            title=page.title,
            description=page.description,
            service_keys=list(page.service_keys),
            tags=list(page.tags),
            url=f"{base_url}/status/{page.slug}",
            created_at=page.created_at,
            updated_at=page.updated_at,
        )


class BadgeUrls(BaseModel):
    status: str
    uptime: dict[str, str] = Field(description="one per metric period")
    latency: str
    shields: dict[str, str] = Field(description="shields.io endpoint JSON, per badge")


class BadgeOut(BaseModel):
    service_key: str
    token: str = Field(description="public: it is in every badge URL; rotate it to retire them")
    urls: BadgeUrls
    markdown: dict[str, str] = Field(description="ready to paste into a README")


class StatusPageList(BaseModel):
    """Every status page, by slug (api/list_schemas.py's envelope)."""

    items: list[StatusPageOut]
    next_cursor: OnePage = None
