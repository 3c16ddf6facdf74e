"""Logging for the API and the workers: plain lines on stderr at LOG_LEVEL."""

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # PyMongo's DEBUG logs print whole commands, card documents included: keep them out.
    arq = logging.getLogger("arq")
    arq.propagate = not arq.handlers  # arq's CLI installs its own handler: don't print twice
    for noisy in ("pymongo", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
