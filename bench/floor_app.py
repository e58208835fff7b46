"""The floor: a minimal Flask app doing just Pizza 42's first-page DynamoDB Query and returning the items.

No token, no profile, no conversion: `gunicorn --config gunicorn.conf.py bench.floor_app:app` with the
same environment as the app, so the difference with Pizza 42 is what Pizza 42 does on top of the query.
The query is the app's own (orders.store.OrderStore.page for a first page of 20: the summary + 21 orders).
The client is a stock boto3 client with the app's settings (timeouts, retries, pool), built the plain
way, so the floor stays "bare Flask + boto3" whatever the app does to its own client.
"""

from __future__ import annotations

import os

import boto3
from botocore.config import Config
from flask import Flask, jsonify

from pizza42.config import load_settings
from pizza42.orders import items as layout

PAGE_LIMIT = 20 + 2  # what the app asks for its default page: 20 orders, +1 to know if there is more, +1 summary

settings = load_settings()
# One per worker (gunicorn does not preload, so this runs after fork), configured like pizza42.aws's.
client = boto3.session.Session().client("dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=Config(
    region_name=settings.aws_region, connect_timeout=settings.dynamodb_connect_timeout,
    read_timeout=settings.dynamodb_read_timeout, max_pool_connections=16, tcp_keepalive=True,
    retries={"mode": "standard", "max_attempts": settings.dynamodb_max_attempts}))
customer = os.environ["BENCH_FLOOR_CUSTOMER"]
app = Flask(__name__)


@app.get("/floor")
def floor() -> object:
    """The customer's first page, items as DynamoDB returns them."""
    answer = client.query(
        TableName=settings.table_name,
        KeyConditionExpression="user_id = :u AND order_id BETWEEN :lo AND :hi",
        ExpressionAttributeValues={":u": {"S": customer}, ":lo": {"S": layout.ORDERS_FROM},
                                   ":hi": {"S": layout.SUMMARY_KEY}},
        ScanIndexForward=False, ConsistentRead=True, Limit=PAGE_LIMIT)
    return jsonify(answer["Items"])


@app.get("/health")
def health() -> object:
    """Up."""
    return jsonify({"status": "ok"})
