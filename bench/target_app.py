"""The probe target for bench/scheduler.py: a tiny aiohttp server answering 200 "ok".

Run in its own process (and so on its own core) so that what the benchmark measures is
the worker, not the target:  python bench/target_app.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def ok(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_get("/health/{n}", ok)
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
