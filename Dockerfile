# syntax=docker/dockerfile:1
# ConnectDesk application image: one image, three roles chosen by the command —
#   connectdesk migrate | connectdesk api (default) | connectdesk worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 connectdesk \
 && useradd --system --uid 10001 --gid connectdesk --home-dir /app --shell /usr/sbin/nologin connectdesk

WORKDIR /src

# Dependencies first, in a layer of their own, so a source edit does not reinstall them.
# (README.m[d] is a glob so the build still works while README.md does not exist.)
# Pinned by requirements.lock (the set `make install` uses), so the image is reproducible.
COPY pyproject.toml requirements.lock README.m[d] ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install --no-cache-dir -c requirements.lock -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The sources: every package pyproject's [tool.setuptools.packages.find] includes, plus the top-level modules.
COPY api ./api
COPY activities ./activities
COPY cli ./cli
COPY db ./db
COPY domain ./domain
COPY workflows ./workflows
COPY worker.py settings.py logs.py tracing.py alembic.ini ./

# settings.ROOT is the directory settings.py is installed in (site-packages) and db/migrate.py reads
# ROOT/alembic.ini, whose script_location is %(here)s/db/migrations — so alembic.ini must sit next to
# the installed settings.py. The last line fails the build if Alembic cannot find its migrations.
RUN pip install --no-cache-dir --no-deps . \
 && cp alembic.ini "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/alembic.ini" \
 && cd / && rm -rf /src \
 && python -c "from db.migrate import head_revision; assert head_revision(), 'Alembic finds no head revision'"

WORKDIR /app
RUN mkdir -p /app/var && chown -R connectdesk:connectdesk /app

ENV CONNECTDESK_VAR_DIR=/app/var \
    CONNECTDESK_API_HOST=0.0.0.0 \
    CONNECTDESK_API_PORT=8000

USER connectdesk
EXPOSE 8000
# SIGINT lets uvicorn and the Temporal worker shut down inside their event loops.
STOPSIGNAL SIGINT
CMD ["connectdesk", "api"]
