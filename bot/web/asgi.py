"""The ASGI entry point for gunicorn: ``gunicorn -c bot/web/gunicorn_conf.py bot.web.asgi:app``.

Imported by each worker after fork (no preload), so settings errors surface per worker at boot
and no client is ever shared across processes.
"""

from bot.web.app import create_app

app = create_app()
