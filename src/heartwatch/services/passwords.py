"""Password hashing: argon2id, off the event loop, in a small pool of its own (each hash
takes the hasher's memory cost, 64 MiB by default, and a good fraction of a second, on
purpose; a flood of log-ins must neither exhaust memory nor take the threads that the
event loop's other blocking work, DNS lookups included, runs on)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


class Passwords:
    """argon2id hashing, with argon2-cffi's default parameters (RFC 9106's recommended
    option for memory-constrained machines) unless given a hasher. A hash made with other
    parameters still verifies, and `services.auth.verify_password` replaces it after a log-in."""

    # Concurrent hashes at most: each takes the hasher's memory cost (64 MiB by default).
    WORKERS = 2

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        self._pool: ThreadPoolExecutor | None = None

    def hash_now(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify_now(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`. With no hash (no such user) the
        same work is done against a stand-in, so the answer takes as long either way."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash("no such user")
            target = self._dummy_hash
        else:
            target = password_hash
        try:
            self.hasher.verify(target, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="heartwatch-argon2")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def hash(self, password: str) -> str:
        return await self._off_loop(lambda: self.hash_now(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._off_loop(lambda: self.verify_now(password_hash, password))


PASSWORDS = Passwords()
