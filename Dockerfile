# syntax=docker/dockerfile:1
# One image for the API (the default command) and the worker (`python -m workers` with
# ROLE=worker, which switches the health check). Production dependencies only: the embedded
# dev servers (the `devstack` extra) are not installed.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Builder: the locked dependencies into /venv first (this layer is rebuilt only when
# requirements.lock changes), then the app itself, without dependencies.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH

WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps . && pip check

# Runtime: the venv and nothing that built it.
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    ROLE=api

RUN useradd --create-home --uid 10001 giftcards

COPY --from=builder /venv /venv
COPY --chmod=0755 scripts/healthcheck /usr/local/bin/giftcards-healthcheck

WORKDIR /srv
USER giftcards
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["giftcards-healthcheck"]

CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
