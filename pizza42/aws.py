"""The boto3 DynamoDB client: built once per process (after gunicorn forks), never at import."""

from __future__ import annotations

import boto3
import botocore.session
from botocore.config import Config
from botocore.parsers import JSONParser, ResponseParserFactory

from pizza42.config import Settings

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
    """A low-level DynamoDB client with standard retries and timeouts well below gunicorn's."""
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
    core = botocore.session.get_session()
    core.register_component("response_parser_factory", _WireItemsParserFactory())
    session = boto3.session.Session(botocore_session=core)
    return session.client("dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=config)
