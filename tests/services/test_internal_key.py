"""A key a process makes for its own parts (the bot under `heartwatch up`): accepted by
that process only, kept in memory, and not a credential that switches access control on."""

from __future__ import annotations

from heartwatch.config import Settings
from heartwatch.domain.auth import Access, Role
from heartwatch.services.auth import Authenticator
from heartwatch.store.database import Database
from tests.conftest import T0


async def test_an_internal_key_is_known_to_its_process_only(database: Database) -> None:
    settings = Settings(_env_file=None)
    authn = Authenticator(database, settings)
    key = authn.issue_internal_key("heartwatch-bot", Role.ADMIN)
    principal = await authn.verify_key(key, T0)
    assert principal is not None
    assert (principal.kind, principal.name, principal.may(Access.OPERATE)) == (
        "internal",
        "heartwatch-bot",
        True,
    )
    assert not await authn.enabled()  # (nothing was written: no credential exists)
    assert await authn.verify_key(key + "x", T0) is None
    assert await Authenticator(database, settings).verify_key(key, T0) is None
    assert authn.issue_internal_key("heartwatch-bot", Role.ADMIN) != key
