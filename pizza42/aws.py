"""The DynamoDB client: built once per process (after gunicorn forks), never at import.

A stock boto3 client with standard retries and tight timeouts, wrapped so that the hot calls
(Query, GetItem, TransactWriteItems) take the lean path of pizza42/dynamodb/direct.py, unless the operator
turned that path off (DYNAMODB_DIRECT_PATH=off: the escape hatch if AWS ever answers in a way the direct
path misreads) or an HTTP(S) proxy is in the way. Either way each retry moves the DynamoDBRetries metric.
"""

from __future__ import annotations

import logging

import boto3
import botocore.session
from botocore.config import Config
from botocore.httpsession import get_cert_path
from botocore.parsers import JSONParser, ResponseParserFactory
from botocore.utils import get_environ_proxies

from pizza42.config import Settings
from pizza42.dynamodb.direct import DirectDynamoDBClient
from pizza42.observability import configure_logging, metrics

log = logging.getLogger(__name__)

# DynamoDB's item shapes. The app reads items in their wire form ({"S": "..."}, {"N": "16.00"}),
# which is what botocore returns for them anyway, so walking each attribute through botocore's
# shape-by-shape parser is pure cost: ~25% of a history page's CPU. (Binary attributes would stay
# base64 text instead of bytes; the app stores none.)
_WIRE_FORM_SHAPES = frozenset({"AttributeValue", "AttributeMap", "ItemList", "Key"})


class _WireItemsJSONParser(JSONParser):
    """botocore's JSON parser, except that DynamoDB items are returned as they came."""

    def _parse_shape(self, shape: object, node: object) -> object:
        if shape is not None and getattr(shape, "name", None) in _WIRE_FORM_SHAPES:
            return node
        return super()._parse_shape(shape, node)


class _WireItemsParserFactory(ResponseParserFactory):
    """Hands out the lean parser for DynamoDB's JSON protocol, botocore's own for anything else."""

    def create_parser(self, protocol_name: str) -> object:
        """A response parser for the protocol."""
        if protocol_name == "json":
            return _WireItemsJSONParser(**self._defaults)
        return super().create_parser(protocol_name)


def make_dynamodb_client(settings: Settings, *, max_pool_connections: int = 16) -> object:
    """The app's DynamoDB client: standard retries, timeouts well below gunicorn's, hot calls sent directly."""
    core = botocore.session.get_session()
    stock = make_boto3_client(settings, core, max_pool_connections=max_pool_connections)
    if not settings.dynamodb_direct_path:
        # Once per process, so the operator can see the escape hatch is open (the runbook looks for this line).
        configure_logging()
        log.warning("DynamoDB client: the stock boto3 client makes every call (DYNAMODB_DIRECT_PATH=off)")
        return stock  # the operator's escape hatch: botocore makes every call
    if get_environ_proxies(stock.meta.endpoint_url):
        return stock  # the direct path speaks to the endpoint itself; through a proxy, botocore does it all
    # The TLS trust botocore resolved for this client (AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE or its bundle).
    verify = stock._endpoint.http_session._verify
    return DirectDynamoDBClient(
        stock, core.get_credentials(), connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout, max_attempts=settings.dynamodb_max_attempts,
        ca_bundle=get_cert_path(verify) if verify is not False else None)


def make_boto3_client(settings: Settings, core: botocore.session.Session | None = None, *,
                      max_pool_connections: int = 16) -> object:
    """A stock low-level boto3 DynamoDB client: standard retries, timeouts well below gunicorn's, lean parser."""
    core = core or botocore.session.get_session()
    config = Config(
        region_name=settings.aws_region,
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        # boto3's own retry mode: throttling and transient errors, exponential backoff with jitter.
        # total_max_attempts counts the first try; Config's "max_attempts" would count retries only
        # (3 meant 4 tries, past the budget gunicorn.conf.py checks).
        retries={"mode": "standard", "total_max_attempts": settings.dynamodb_max_attempts},
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
    )
    core.register_component("response_parser_factory", _WireItemsParserFactory())
    session = boto3.session.Session(botocore_session=core)
    client = session.client("dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=config)
    client.meta.events.register("request-created.dynamodb", _count_retry)
    return client


def _count_retry(request: object, **kwargs: object) -> None:
    """botocore builds (and signs) each attempt's request afresh: an attempt after the first is a retry."""
    if getattr(request, "context", {}).get("retries", {}).get("attempt", 1) > 1:
        metrics.count("DynamoDBRetries")
