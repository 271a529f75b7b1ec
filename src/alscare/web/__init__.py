"""The clinic web app (FastAPI): the JSON API (``web/api.py``) and the pages (``web/pages.py``).

Build it with :func:`alscare.web.app.create_app` from settings; nothing is created at import.
"""

from __future__ import annotations

__all__: list[str] = []
