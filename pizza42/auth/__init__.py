"""Bearer-token verification for the JSON API (the pages' login lives in pizza42/web/login.py)."""
