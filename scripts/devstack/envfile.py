"""The .env file, read with python-dotenv the way the app's settings (pydantic-settings) do."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; ``#`` comments, blank lines, ``export`` and quotes tolerated.

    python-dotenv's ``dotenv_values``, as pydantic-settings calls it; a bare ``KEY`` line (no
    ``=``) has no value and is left out. A missing file reads as empty.
    """
    if not path.exists():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def load_config(env_file: Path) -> dict[str, str]:
    """settings.py defaults < .env < environment (the environment wins)."""
    defaults = {
        "API_HOST": "127.0.0.1",
        "API_PORT": "8000",
        "MONGODB_URL": "mongodb://127.0.0.1:27017",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
        "S3_REGION": "us-east-1",
        "S3_BUCKET": "giftcard-exports",
        "S3_ACCESS_KEY": "dev-access-key",
        "S3_SECRET_KEY": "dev-secret-key-change-me",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "1025",
        "DEMO_API_KEY": "demo_key_change_me",
    }
    config = {**defaults, **parse_env_file(env_file)}
    for key in list(config):
        if key in os.environ:
            config[key] = os.environ[key]
    return config
