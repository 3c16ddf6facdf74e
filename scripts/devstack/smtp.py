"""SMTP: aiosmtpd writing to a Maildir (mails carry card numbers, so never to a log)."""

from __future__ import annotations

import sys
from pathlib import Path

from .probes import smtp_ping
from .processes import ManagedProcess, child_env


def start_smtp_maildir(
    *,
    port: int,
    mail_dir: Path,
    log_path: Path,
    pid_path: Path,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
) -> ManagedProcess:
    """aiosmtpd storing every message in a Maildir (never printing bodies)."""
    # mailbox.Maildir only creates tmp/new/cur when mail_dir itself is missing.
    for sub in ("tmp", "new", "cur"):
        (mail_dir / sub).mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable, "-m", "aiosmtpd",
        "-n",
        "-l", f"{host}:{port}",
        "-c", "aiosmtpd.handlers.Mailbox", str(mail_dir),
    ]  # fmt: skip
    proc = ManagedProcess("smtp", argv, log_path=log_path, pid_path=pid_path, env=child_env())
    proc.start()
    try:
        proc.wait_ready(lambda: smtp_ping(host, port), timeout, f"greeting on {host}:{port}")
    except BaseException:
        proc.stop()
        raise
    proc.url = f"smtp://{host}:{port}"  # type: ignore[attr-defined]
    return proc
