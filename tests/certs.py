"""Self-signed TLS certificates for tests that start gunicorn or nginx with TLS (one implementation, the sandbox's)."""

from __future__ import annotations

from pizza42.sandbox_nginx import self_signed_certificate as write_self_signed_cert

__all__ = ["write_self_signed_cert"]
