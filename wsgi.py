"""WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

from tenant_app import create_app

app = create_app()
