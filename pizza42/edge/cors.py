"""nginx's CORS map, written from the app's own CORS_ORIGINS: nginx's own answers under /api/ (429, 413, 503)
carry the same Access-Control-Allow-Origin as the app's, for the same origins and no others.

    python -m pizza42.edge.cors /etc/nginx/pizza42/cors.conf

deploy/nginx/systemd/pizza42-nginx-cors.service runs this, with /etc/pizza42/pizza42.env, each time nginx
starts; `make run-edge` and the edge tests render the same text (pizza42/sandbox_nginx.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pizza42.config import ConfigError, load_settings

# An origin nginx may quote safely: a scheme, a host (or [IPv6]) and a port, nothing else.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]+)?$")
# Only the settings that gate start-up, so this reads CORS_ORIGINS exactly as the app does even where the
# secrets reach the app some other way than the environment file.
_PLACEHOLDERS = {"SECRET_KEY": "placeholder-not-a-secret", "AUTH0_DOMAIN": "placeholder.auth0.com",
                 "AUTH0_CLIENT_ID": "placeholder", "AUTH0_CLIENT_SECRET": "placeholder"}


def cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """CORS_ORIGINS as the app reads and validates it (pizza42/config.py)."""
    return load_settings({**_PLACEHOLDERS, **{k: v for k, v in env.items() if v.strip()}}).cors_origins


def nginx_cors_map(origins: Sequence[str]) -> str:
    """The http-context snippet: $pizza42_cors_origin is the request's Origin when it is allowed, else empty."""
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"CORS_ORIGINS: {origin!r} is not a bare origin nginx can match")
    # nginx matches map strings case-insensitively, as flask-cors compares origins; the answer echoes the
    # exact Origin the browser sent, never '*'.
    allowed = "".join(f'    "{origin}" $http_origin;\n' for origin in origins)
    return ("# Generated from CORS_ORIGINS by `python -m pizza42.edge.cors` (pizza42/edge/cors.py): do not edit;\n"
            "# change CORS_ORIGINS in /etc/pizza42/pizza42.env and restart nginx.\n"
            f"map $http_origin $pizza42_cors_origin {{\n    default \"\";\n{allowed}}}\n")


def main(argv: list[str] | None = None) -> None:
    """Write the map for this environment's CORS_ORIGINS to OUTPUT; one line and exit 1 if it is malformed."""
    parser = argparse.ArgumentParser(prog="python -m pizza42.edge.cors", description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path, help="e.g. /etc/nginx/pizza42/cors.conf")
    args = parser.parse_args(argv)
    try:
        text = nginx_cors_map(cors_origins(os.environ))
    except ConfigError as exc:
        sys.exit(f"pizza42.edge.cors: configuration error: {exc}")
    partial = args.output.with_name(args.output.name + ".new")
    partial.write_text(text)
    partial.chmod(0o644)
    partial.replace(args.output)  # nginx never reads half a file


if __name__ == "__main__":
    main()
