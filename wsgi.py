"""gunicorn's entry point: `gunicorn --config gunicorn.conf.py wsgi:app` (never the sandbox)."""

import sys

from pizza42 import create_app
from pizza42.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One clear line for the operator instead of a traceback.
    sys.stderr.write(f"pizza42: configuration error: {exc}\n")
    raise SystemExit(1) from None
