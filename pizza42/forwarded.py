"""Which client address and scheme to believe: X-Forwarded-* only from the proxy in front (FORWARDED_ALLOW_IPS).

gunicorn itself trusts its unix-socket peers and the addresses in FORWARDED_ALLOW_IPS to set the scheme
(X-Forwarded-Proto), but it never takes the client's address from X-Forwarded-For: REMOTE_ADDR stays the
peer (nginx or the load balancer). This middleware applies the same trust rule and then lets werkzeug's
ProxyFix take the client address from the *last* X-Forwarded-For entry, the one the proxy itself wrote
(nginx overwrites the header with the address it sees; an ALB appends it to whatever the client sent).

X-Forwarded-Host is never believed: nginx and the ALB both pass the client's Host header on unchanged,
and an ALB would also pass on a client's own X-Forwarded-Host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class TrustedProxyFix:
    """ProxyFix (one proxy hop: X-Forwarded-For and -Proto) for requests from a trusted peer only."""

    def __init__(self, app: WSGIApp, allow: Iterable[str]) -> None:
        allow = tuple(allow)
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.trust_all = "*" in allow
        self.networks = tuple(ipaddress.ip_network(entry) for entry in allow if entry != "*")
        self._verdicts: dict[str, bool] = {}  # peer address -> trusted, parsed once per address

    def peer_is_trusted(self, peer: str) -> bool:
        """Whether this peer address may tell us the client's address and scheme."""
        known = self._verdicts.get(peer)
        if known is None:
            known = self._verdicts[peer] = self._judge(peer)
            if len(self._verdicts) > 4096:  # peers are a few proxies (or, without one, clients): stay bounded
                self._verdicts.clear()
        return known

    def _judge(self, peer: str) -> bool:
        if self.trust_all:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            # Not an IP address: a unix-socket peer, which gunicorn trusts too. Only nginx can
            # connect to the socket (deploy/pizza42.socket gives it to nginx's group alone).
            return True
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        """Rewrite REMOTE_ADDR and the scheme from X-Forwarded-* when the peer is our proxy."""
        if self.peer_is_trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
