"""Authentication: web login (OIDC) and bearer-token verification."""
