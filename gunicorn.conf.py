"""gunicorn settings for Pizza 42, driven by the environment (see deploy/pizza42.env.example).

Used by the Procfile and the systemd unit: `gunicorn --config gunicorn.conf.py wsgi:app`.
A malformed setting stops gunicorn here, at config load, with one line naming it.
"""

import os
import ssl
from typing import NoReturn


def _fail(message: str) -> NoReturn:
    # SystemExit is not an Exception, so gunicorn lets it through: the operator sees this one line
    # (and exit status 1) instead of "Failed to read config file" and a traceback.
    raise SystemExit(f"gunicorn.conf.py: {message}")


def _env_number(name: str, default, kind=int, minimum=1, maximum=None):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        _fail(f"{name} must be {'a whole number' if kind is int else 'a number'}, got {raw!r}")
    if value < minimum:
        _fail(f"{name} must be at least {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:
        _fail(f"{name} must be at most {maximum}, got {raw!r}")
    return value


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use, not the host's
    except (AttributeError, OSError):  # not on Linux, or the call is filtered
        return os.cpu_count() or 1


def _tls_files():
    """(certfile, keyfile) when TLS is configured, None when it is not; never half of it."""
    paths = {name: os.environ.get(name, "").strip() for name in ("TLS_CERTFILE", "TLS_KEYFILE")}
    if not any(paths.values()):
        return None  # plain HTTP, for TLS terminated at a proxy or the load balancer
    # Half a TLS configuration must not quietly serve plain HTTP (a defect of the original).
    for name, other in (("TLS_CERTFILE", "TLS_KEYFILE"), ("TLS_KEYFILE", "TLS_CERTFILE")):
        if not paths[name]:
            _fail(f"{other} is set but {name} is not: set both, or neither for plain HTTP behind a TLS proxy")
    for name, path in paths.items():
        if not os.path.exists(path):
            _fail(f"{name} is set but {path} does not exist")
        if not os.path.isfile(path):
            _fail(f"{name} is set but {path} is not a file")
        if not os.access(path, os.R_OK):
            _fail(f"{name} is set but {path} is not readable by this user")
    # gunicorn only loads the pair in the workers, on the first connection; a bad pair would leave
    # a server that is up but fails every handshake, so check it now.
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            paths["TLS_CERTFILE"], paths["TLS_KEYFILE"])
    except (ssl.SSLError, OSError) as exc:
        _fail(f"TLS_CERTFILE/TLS_KEYFILE cannot be used as a certificate and its key: {exc}")
    return paths["TLS_CERTFILE"], paths["TLS_KEYFILE"]


proc_name = "pizza42"

# --- Where to listen -------------------------------------------------------------------------
_port = _env_number("PORT", 8000, maximum=65535)
bind = [a.strip() for a in os.environ.get("BIND", f"0.0.0.0:{_port}").split(",") if a.strip()]

# --- Workers ---------------------------------------------------------------------------------
# The rule: one process per core (at least two, so a recycle or a crash never leaves none), eight
# threads each. Measured on 2 cores, GET /api/orders under wrk -c8, CPU per request against one
# process per core with four threads, in the same run; two runs (bench/RESULTS.md, issue 9):
#   more processes than cores cost more:  3 x 4 +36% / +40%, 3 x 8 +39% / +6%
#   fewer cost more too:                  1 x 4 +26% / +10%, with 39% / 25% fewer req/s
#   eight threads instead of four:        2 x 8 +21% / +2%  (within the noise of a run)
# The threads are there for failure, not speed: requests mostly wait on DynamoDB, and when it hangs
# each holds its thread for the whole timeout (12 s); with four, the load balancer's /api/health
# probes queued behind them for up to 8.6 s (measured), past an ALB's 5 s health-check timeout —
# every instance would be marked down at once. Eight keep the probes answered.
workers = _env_number("WEB_CONCURRENCY", max(2, _cpu_count()))
threads = _env_number("GUNICORN_THREADS", 8)
worker_class = "gthread"

# Not preloaded: the app factory builds its boto3 client (with its urllib3 connection pool) and
# its JWKS cache. Built in the master before fork, every worker would share the same sockets and
# locks, which are not fork-safe. Each worker runs the factory itself, after fork.
preload_app = False

# Recycle workers now and then, so slow leaks cannot grow forever; the jitter keeps them from
# all restarting at the same moment. Not too often: a worker's boot costs ~0.25 s of CPU and a
# JWKS fetch (at 2,000 the benchmark saw a recycle every few seconds and p99 of /api/health x30).
max_requests = 50000
max_requests_jitter = 5000

# --- Time limits -----------------------------------------------------------------------------
# When DynamoDB is unreachable, the first call of a request gives up after
#     attempts x (connect + read) + backoff between attempts
#     = 3 x (1 s + 2 s) + (1 s + 2 s) = 12 s      (botocore throttling backoff <= 2**i s)
# and the request answers 503. Before that, a worker's first request (or the first after a key
# rotation) may fetch the issuer's discovery document and JWKS, AUTH0_HTTP_TIMEOUT (3 s) each:
# 12 s + 2 x 3 s = 18 s at worst.
# - graceful_timeout (20 s) must cover that, so a restart, deploy or max_requests recycle lets
#   a request in flight (an order being written) finish instead of cutting it off.
# - timeout (30 s) stays above both. With gthread it watches the worker's main loop, which keeps
#   beating while request threads wait, so it only kills a hung worker; with the sync worker it
#   would kill a slow request, and it must never fire before the app's own timeouts do.
# The budget is checked below against the values the app will actually use.
timeout = 30
graceful_timeout = 20
# Seconds an idle keep-alive connection stays open. The supported topologies put nginx in front (one request
# per connection to gunicorn); gunicorn straight behind an AWS load balancer would need this above the
# balancer's idle timeout (60 s by default), and even then breaks connections after refusing a large body
# (tests/integration/test_edge_alb.py): don't.
keepalive = _env_number("GUNICORN_KEEPALIVE", 5)

_attempts = _env_number("DYNAMODB_MAX_ATTEMPTS", 3)
_dynamodb_worst = _attempts * (
    _env_number("DYNAMODB_CONNECT_TIMEOUT", 1.0, float, minimum=0.001)
    + _env_number("DYNAMODB_READ_TIMEOUT", 2.0, float, minimum=0.001)
) + sum(min(2**i, 20) for i in range(_attempts - 1))
_request_worst = _dynamodb_worst + 2 * _env_number("AUTH0_HTTP_TIMEOUT", 3.0, float, minimum=0.001)
if _request_worst >= graceful_timeout:
    _fail(f"DYNAMODB_* and AUTH0_HTTP_TIMEOUT let one request take up to {_request_worst:g} s, "
          f"not less than graceful_timeout ({graceful_timeout} s): lower them")

# --- Requests --------------------------------------------------------------------------------
# Long enough for any URL the app serves (an opaque order cursor is a few hundred bytes), short
# enough to refuse junk early.
limit_request_line = 4094
limit_request_fields = 100
# A header of 8 KB holds a bearer token with the custom claims (~2 KB) and the session cookie.
limit_request_field_size = 8190

# Only these proxies may tell gunicorn the client's scheme and address (X-Forwarded-*): nginx on the unix
# socket is always believed; list others (CIDRs are accepted) only if they reach gunicorn directly.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# --- Logging (stdout/stderr: journald or the platform collects them) -------------------------
# No access log from gunicorn: the app writes one JSON access line per request (pizza42.access:
# method, path without its query string, status, duration, the client address as believed behind the
# proxy, request id), and a second line for the same request cost ~6% of a request's CPU.
accesslog = None
errorlog = "-"

# --- TLS (optional: usually terminated at the ALB or a proxy) --------------------------------
_tls = _tls_files()
if _tls:
    certfile, keyfile = _tls


def on_starting(server: object) -> None:
    """Check the app's settings once, in the master, before any worker forks.

    A missing SECRET_KEY would otherwise make every worker fail at import and gunicorn respawn them
    for ever (wsgi.py exits 1, which gunicorn does not treat as a boot failure).
    """
    from pizza42.config import ConfigError, load_settings

    try:
        load_settings()
    except ConfigError as exc:
        raise SystemExit(f"pizza42: configuration error: {exc}") from None


def post_worker_init(worker: object) -> None:
    """Once the worker has built the app: move everything alive now out of the garbage collector's sight.

    Imports and the app factory leave ~93,000 long-lived objects (botocore's models among them). A
    full collection walked them all: ~70 ms with the whole worker stopped, about once every few
    thousand requests (19 us per request on average, and that request's p99). Frozen, they are
    never walked again; what requests allocate is collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
