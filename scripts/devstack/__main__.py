"""``python -m scripts.devstack up|worker|down`` (from the repo root)."""

import sys

from scripts.devstack.cli import main

sys.exit(main())
