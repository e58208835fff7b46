"""The boto3 DynamoDB client: built once per process (after gunicorn forks), never at import."""

from __future__ import annotations

import boto3
from botocore.config import Config

from pizza42.config import Settings


def make_dynamodb_client(settings: Settings, *, max_pool_connections: int = 16) -> object:
    """A low-level DynamoDB client with standard retries and timeouts well below gunicorn's."""
    config = Config(
        region_name=settings.aws_region,
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        # boto3's own retry mode: throttling and transient errors, exponential backoff with jitter.
        retries={"mode": "standard", "max_attempts": settings.dynamodb_max_attempts},
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
    )
    return boto3.session.Session().client("dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=config)
