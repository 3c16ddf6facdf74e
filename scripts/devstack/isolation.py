"""The environment of an app process (API, worker, CLI) that must see only the settings we give.

A developer's shell may export MONGODB_URL & co.: a test or bench process that inherited it
would talk to the developer's database. So every app setting's env name is dropped from
os.environ before the wanted settings are added.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

from .envfile import parse_env_file
from .processes import ROOT


def _alias_names(alias: object) -> Iterable[str]:
    """Env names a field's ``validation_alias``/``alias`` stands for (str, AliasChoices,
    AliasPath: the first path element names the variable)."""
    from pydantic import AliasChoices, AliasPath

    if isinstance(alias, str):
        yield alias
    elif isinstance(alias, AliasPath):
        if alias.path and isinstance(alias.path[0], str):
            yield alias.path[0]
    elif isinstance(alias, AliasChoices):
        for choice in alias.choices:
            yield from _alias_names(choice)


@functools.cache
def app_setting_names() -> frozenset[str]:
    """Upper-cased env names of every app setting: Settings fields (with the env prefix, and
    their aliases) plus the keys of .env.example."""
    # Imported here, not at module level: the launchers, `up`, `down` and `--help` never import
    # the app, so a half-refactored app/ only breaks what really needs its settings.
    from app.lib.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(prefix + name)
        for alias in (field.validation_alias, field.alias):
            names.update(_alias_names(alias))
    names.update(parse_env_file(ROOT / ".env.example"))
    return frozenset(n.upper() for n in names)


def isolated_env(settings: Mapping[str, str]) -> dict[str, str]:
    """os.environ without any app setting, plus ``settings``; the repo root on PYTHONPATH.

    Names are compared upper-cased: pydantic-settings reads the environment case-insensitively.
    """
    blocked = app_setting_names()
    env = {k: v for k, v in os.environ.items() if k.upper() not in blocked}
    pythonpath = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in settings.items()})
    return env
