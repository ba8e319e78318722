"""The app with POST / answered through Flask's dispatch and view, as every request was before
ClassicShortcut: what the shortcut saves, measured side by side."""

from __future__ import annotations

from app import create_app
from app.api import ClassicShortcut

app = create_app()
middleware = app.wsgi_app
shortcut = middleware.wsgi_app  # type: ignore[attr-defined]
assert isinstance(shortcut, ClassicShortcut), "create_app installs the shortcut when the app has no request hooks"
middleware.wsgi_app = shortcut.flask  # type: ignore[attr-defined]
