"""scripts/devstack's pure parts: the isolated environment of app processes and .env reading."""

import os

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from app.lib import settings as app_settings
from scripts.devstack import (
    ROOT,
    app_setting_names,
    isolated_env,
    load_config,
    main,
    parse_env_file,
)

UNRELATED = "GIFTCARDS_DEVSTACK_TEST_UNRELATED"


@pytest.fixture
def fresh_names():
    """app_setting_names() is cached: recompute it around a test that swaps Settings."""
    app_setting_names.cache_clear()
    yield
    app_setting_names.cache_clear()


def test_isolated_env_blocks_app_settings_and_keeps_the_rest(monkeypatch):
    monkeypatch.setenv("MONGODB_URL", "mongodb://developers-own-db:27017")
    monkeypatch.setenv("mongodb_db", "lower-case-also-read-by-pydantic-settings")
    monkeypatch.setenv(UNRELATED, "kept")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")

    env = isolated_env({"REDIS_URL": "redis://127.0.0.1:1/0", "API_PORT": 8123})

    assert "MONGODB_URL" not in env
    assert "mongodb_db" not in env
    assert env[UNRELATED] == "kept"
    assert env["REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert env["API_PORT"] == "8123"  # stringified, like a real environment
    assert env["PYTHONPATH"] == os.pathsep.join((str(ROOT), "/somewhere/else"))
    assert env["PYTHONUNBUFFERED"] == "1"


def test_settings_fields_missing_from_env_example_are_blocked_too(monkeypatch):
    fields = {name.upper() for name in app_settings.Settings.model_fields}
    only_in_settings = sorted(fields - set(parse_env_file(ROOT / ".env.example")))
    assert only_in_settings, "every field is in .env.example: this test proves nothing"
    for name in only_in_settings:
        monkeypatch.setenv(name, "leaked")

    env = isolated_env({})

    assert not {name for name in only_in_settings if name in env}


def test_a_fields_aliases_are_blocked(monkeypatch, fresh_names):
    class Aliased(BaseSettings):
        plain: str = ""
        renamed: str = Field("", validation_alias=AliasChoices("LEGACY_NAME", "NEW_NAME"))

    monkeypatch.setattr(app_settings, "Settings", Aliased)
    for name in ("PLAIN", "LEGACY_NAME", "NEW_NAME", UNRELATED):
        monkeypatch.setenv(name, "x")

    env = isolated_env({})

    assert {"PLAIN", "LEGACY_NAME", "NEW_NAME"}.isdisjoint(env)
    assert env[UNRELATED] == "x"


def test_env_file_comments_quotes_and_export(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# a comment line\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        'DOUBLE="two words # not a comment"\n'
        "SINGLE='single quoted'\n"
        "INLINE=kept # dropped\n"
        "EMPTY=\n"
        "WITH_EQUALS=YWJj=\n"
        "BARE_KEY\n"
    )

    assert parse_env_file(path) == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "DOUBLE": "two words # not a comment",
        "SINGLE": "single quoted",
        "INLINE": "kept",
        "EMPTY": "",
        "WITH_EQUALS": "YWJj=",
    }


def test_missing_env_file_reads_as_empty(tmp_path):
    assert parse_env_file(tmp_path / "absent.env") == {}


def test_load_config_defaults_then_env_file_then_environment(tmp_path, monkeypatch):
    path = tmp_path / ".env"
    path.write_text("API_PORT=9000\nSMTP_PORT=2025\nEXTRA=from-file\n")
    monkeypatch.setenv("SMTP_PORT", "3025")
    monkeypatch.delenv("API_PORT", raising=False)
    monkeypatch.delenv("S3_BUCKET", raising=False)
    monkeypatch.delenv("EXTRA", raising=False)

    config = load_config(path)

    assert config["API_PORT"] == "9000"  # .env over the default
    assert config["SMTP_PORT"] == "3025"  # the environment over .env
    assert config["S3_BUCKET"] == "giftcard-exports"  # default
    assert config["EXTRA"] == "from-file"


def test_cli_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "python -m scripts.devstack" in out
    for command in ("up", "worker", "down"):
        assert command in out
