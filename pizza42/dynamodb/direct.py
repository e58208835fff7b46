"""The hot DynamoDB calls (Query, GetItem, TransactWriteItems) without botocore's per-call machinery.

botocore spends more than half of a history page's CPU around one HTTP exchange: event hooks,
endpoint rules, serialiser, parser and urllib3. DynamoDB's JSON protocol is small enough to speak
directly: the request body is the call's parameters as JSON and a success is JSON. This client does
only that part itself, and reuses botocore for everything that decides correctness:
  - credentials: the session's provider chain (e.g. the instance role via IMDS, refreshed in time);
  - signing: SigV4 exactly as botocore's SigV4Auth computes it (wire.py, checked against it),
    with the signing key derived once a day instead of on every call;
  - retries: botocore's standard-mode policy objects (which answers and errors are retried, backoff
    with jitter, the retry quota, DynamoDB's CRC32 check), fed as botocore's endpoint feeds them (each
    retry moves the DynamoDBRetries metric, as aws.py's hook does for the stock client);
  - errors: botocore's parser and the client's exception classes, so callers catch the same
    ClientError (`TransactionCanceledException` with its `CancellationReasons`, ...) as before;
  - every other operation, and the rest of the client's interface: the stock boto3 client it wraps.
tests/test_direct.py proves it equal to the stock client on moto, and covers refused
connections, timeouts, 5xx and throttling answers, dropped keep-alive connections and credentials
that must be refreshed. The connection and the signer are in wire.py.
"""

from __future__ import annotations

import ssl
import threading
import time
from binascii import crc32
from typing import Any
from urllib.parse import urlsplit

import orjson
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError, NoCredentialsError
from botocore.parsers import create_parser
from botocore.retries import quota, standard

from pizza42.dynamodb.wire import KeepAliveConnection, SigV4Signer, WireResponse
from pizza42.observability import metrics

_TARGET_PREFIX = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
_USER_AGENT = "pizza42-direct"


def _checksum_matches(response: WireResponse) -> bool:
    """DynamoDB's x-amz-crc32 check, as botocore's RetryDDBChecksumError makes it (absent: nothing to check)."""
    expected = response.headers.get("x-amz-crc32")
    if expected is None:
        return True
    return expected.isdigit() and crc32(response.content) & 0xFFFFFFFF == int(expected)


def standard_retry_handler(max_attempts: int) -> tuple[standard.RetryHandler, standard.RetryQuotaChecker]:
    """botocore's standard retry mode for DynamoDB, built as botocore builds it for a client."""
    adapter = standard.RetryEventAdapter()
    throttling = standard.ThrottlingErrorDetector(adapter)
    retry_quota = standard.RetryQuotaChecker(quota.RetryQuota(), throttling)
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=standard.ExponentialBackoff(service_name="dynamodb", throttling_detector=throttling),
        ),
        retry_event_adapter=adapter,
        retry_quota=retry_quota,
        service_name="dynamodb",
    )
    return handler, retry_quota


class DirectDynamoDBClient:
    """A boto3 DynamoDB client whose hot operations go straight over a keep-alive connection per thread."""

    def __init__(self, client: Any, credentials: Any, *, connect_timeout: float, read_timeout: float,
                 max_attempts: int, ca_bundle: str | None = None) -> None:
        self._client = client
        self.meta = client.meta
        self.exceptions = client.exceptions
        self._credentials = credentials
        self._signer = SigV4Signer(client.meta.region_name)
        self._url = client.meta.endpoint_url.rstrip("/") + "/"
        parts = urlsplit(self._url)
        # The Host header as botocore signs it: no port when it is the scheme's default.
        default_port = 443 if parts.scheme == "https" else 80
        self._host = parts.hostname if parts.port in (None, default_port) else f"{parts.hostname}:{parts.port}"
        tls = ssl.create_default_context(cafile=ca_bundle) if self._url.startswith("https:") else None
        self._open = lambda: KeepAliveConnection(self._url, connect_timeout, read_timeout, tls)
        self._models = {name: client.meta.service_model.operation_model(name)
                        for name in ("Query", "GetItem", "TransactWriteItems")}
        self._retry, self._quota = standard_retry_handler(max_attempts)
        self._error_parser = create_parser("json")
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        # Every operation not sent directly, and the rest of the client's interface, is the stock client's.
        return getattr(self._client, name)

    def query(self, **params: Any) -> dict:
        """DynamoDB Query, answered as boto3's client.query answers it."""
        return self._call("Query", params)

    def get_item(self, **params: Any) -> dict:
        """DynamoDB GetItem, answered as boto3's client.get_item answers it."""
        return self._call("GetItem", params)

    def transact_write_items(self, **params: Any) -> dict:
        """DynamoDB TransactWriteItems, answered as boto3's client.transact_write_items answers it."""
        return self._call("TransactWriteItems", params)

    def close(self) -> None:
        """Close this thread's connection (and the stock client's pool)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._client.close()

    # -- one call: attempts, as botocore's endpoint makes them ------------------------------------

    def _call(self, operation: str, params: dict) -> dict:
        model = self._models[operation]
        body = orjson.dumps(params)
        context: dict = {}  # botocore's request context: the retry quota notes here what it lent
        attempts = 0
        while True:
            attempts += 1
            response = parsed = error = None
            try:
                response = self._connection().exchange(self._request(operation, body))
                parsed = self._parse(response, model)
            except (BotoConnectionError, HTTPClientError) as exc:
                error = exc  # what botocore's HTTP layer raises; the retry policy decides what is transient
            if error is None and response.status_code < 300 and _checksum_matches(response):
                break  # for a 2xx, the standard policy's only reason to retry is a CRC32 mismatch
            delay = self._retry.needs_retry(
                response=None if error else (response, parsed), attempts=attempts, operation=model,
                caught_exception=error, request_dict={"context": context})
            if delay is None:
                break
            metrics.count("DynamoDBRetries")
            time.sleep(delay)
        if error is not None:
            raise error
        parsed["ResponseMetadata"]["RetryAttempts"] = attempts - 1
        self._quota.release_retry_quota(context, response)
        if response.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, operation)
        return parsed

    def _connection(self) -> KeepAliveConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    def _request(self, operation: str, body: bytes) -> bytes:
        """The whole HTTP request, signed now (each attempt is signed afresh, as botocore does)."""
        credentials = self._credentials.get_frozen_credentials() if self._credentials is not None else None
        if credentials is None or credentials.access_key is None:
            raise NoCredentialsError()
        headers = self._signer.headers(credentials, self._host, _TARGET_PREFIX + operation, _CONTENT_TYPE, body)
        # Every value is ours or the signer's (no CR/LF can come from a caller).
        head = "".join(f"{name}: {value}\r\n" for name, value in headers)
        return (f"POST / HTTP/1.1\r\n{head}User-Agent: {_USER_AGENT}\r\nContent-Length: {len(body)}\r\n\r\n"
                .encode("latin-1") + body)

    def _parse(self, response: WireResponse, model: Any) -> dict:
        """A success is the JSON body itself; an error goes through botocore's parser, modeled fields included."""
        if response.status_code < 300:
            try:
                parsed = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                # botocore would return {"message": <body>}; a garbled answer (e.g. from a broken proxy) is
                # treated as the transient transport fault it is: retried, then StorageUnavailable.
                raise HTTPClientError(error=ValueError("a 2xx answer whose body is not a JSON object"))
        else:
            answer = {"status_code": response.status_code, "headers": response.headers, "body": response.content,
                      "context": {"operation_name": model.name}}
            parsed = self._error_parser.parse(answer, model.output_shape)
            shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code") or "")
            if shape is not None:
                parsed.update(self._error_parser.parse(answer, shape))
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata.update(RequestId=response.headers.get("x-amzn-requestid", ""),
                        HTTPStatusCode=response.status_code, HTTPHeaders=response.headers)
        return parsed
