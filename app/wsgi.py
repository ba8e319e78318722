"""The WSGI entry point (gunicorn app.wsgi:app; Zappa app_function app.wsgi.app)."""

from app import create_app

app = create_app()
