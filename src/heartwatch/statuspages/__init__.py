"""Public status pages and badges: what heartwatch shows to people without an account.

`public_router()` serves the pages (`/status/<slug>`) and badges (`/badge/<token>/...`),
open to anyone and cached on the state version; `admin_router` defines the pages and
hands out badge tokens, behind the API's access control (api/app.py includes it so).
"""

from heartwatch.statuspages.admin import router as admin_router
from heartwatch.statuspages.public import page_cache, public_router

__all__ = ["admin_router", "page_cache", "public_router"]
