# syntax=docker/dockerfile:1
# The FOK bot image: one image for every role, chosen by the command (docker/entrypoint.sh):
#   web     gunicorn + uvicorn workers (bot/web/gunicorn_conf.py), listens on WEB_BIND (:8000)
#   worker  celery worker (add -Q QUEUES, --hostname NAME@%h, --concurrency N)
#   beat    celery beat (RedBeat; run two, one holds the lock)
#   cli     scripts/admin_tools.py (db migrate, webhook set, commands publish, ...)
# Dependencies come from uv.lock only (uv sync --frozen). No tests, secrets, devcluster or
# emulator in the image (.dockerignore admits only what is copied below).

ARG PYTHON_IMAGE=python:3.13.9-slim-bookworm

# --- build: the locked virtualenv --------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Runtime dependencies exactly as locked; the extras (test, dev) and the project itself stay out
# (the code is copied as source below and imported from /app).
RUN uv sync --frozen --no-install-project --no-editable --python /usr/local/bin/python3.13

# --- runtime -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fok-bot" \
      org.opencontainers.image.description="FOK Telegram bot: web, worker, beat and operator CLI" \
      org.opencontainers.image.version="${VERSION}"

# The backups volume is created from this directory, so it starts owned by the fok user.
RUN groupadd --system --gid 10001 fok \
    && useradd --system --uid 10001 --gid fok --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin fok \
    && mkdir -p /var/backups/fok \
    && chown fok:fok /var/backups/fok

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY bot/ /app/bot/
COPY workers/ /app/workers/
COPY scripts/admin_tools.py /app/scripts/admin_tools.py
COPY data/catalog/ /app/data/catalog/
COPY docker/entrypoint.sh /usr/local/bin/fok-entrypoint

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FOK_HOME=/app \
    FOK_VERSION=${VERSION} \
    WEB_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/fok-metrics

USER 10001:10001
EXPOSE 8000
# The web role's liveness. Other roles get their own check in docker-compose.enterprise.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/live', timeout=4)"]
ENTRYPOINT ["fok-entrypoint"]
CMD ["web"]
