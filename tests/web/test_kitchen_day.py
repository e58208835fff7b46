"""The kitchen's day view (every status, paged with the store's cursor), its CSV download, and the analytics."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pizza42.orders.figures import ShopTime
from pizza42.orders.store import OrderStore
from pizza42.staff import day as day_views
from pizza42.staff.export import safe_cell
from tests.web.conftest import TABLE, web_settings
from tests.web.staff_helpers import MANAGER, STAFF, place, register_staff


def shop_day(*orders, zone: ShopTime | None = None) -> str:
    """The shop-local day the orders were placed on (UTC, the default SHOP_TIMEZONE), read from their ids.

    Never the day the tests were collected on: a run that crosses midnight would look for yesterday's orders.
    """
    days = {(zone or ShopTime()).of_order(order.order_id)[0] for order in orders}
    assert len(days) == 1, f"the orders straddle midnight: {days}"
    return days.pop()


@pytest.fixture(autouse=True)
def _staff_at_the_provider(provider) -> None:
    register_staff(provider)


def rows_of(body: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body)))


def test_the_day_shows_every_status_a_page_at_a_time(client, auth, store, monkeypatch):
    monkeypatch.setattr(day_views, "PAGE_SIZE", 2)
    orders = [place(store, f"auth0|c{index}", name=f"Cee {index}") for index in range(3)]
    store.change_status("auth0|c0", orders[0].order_id, "cancelled", actor="staff", by=STAFF)
    auth.login(STAFF)
    first = client.get(f"/kitchen/day?day={shop_day(*orders)}").get_data(as_text=True)
    tickets = re.findall(r"<strong>([0-9A-Z]{4})</strong></a>", first)
    assert tickets == [orders[0].ticket, orders[1].ticket]
    assert "Cancelled" in first  # a day view shows every status, not only the board's
    more = re.search(r'href="(/kitchen/day\?day=[^"]+&amp;cursor=[^"]+)">More orders', first).group(1)
    second = client.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r"<strong>([0-9A-Z]{4})</strong></a>", second) == [orders[2].ticket]
    assert "More orders →" not in second and "First orders" in second


@pytest.mark.parametrize("query", ["day=yesterday", "day=2026-13-01", "day=2026-12-05&cursor=bogus",
                                   "day=2026-12-05&cursor=WyJhIiwib3JkZXJfMSJd"])
def test_a_bad_day_or_cursor_is_a_400_page(client, auth, query):
    auth.login(STAFF)
    assert client.get(f"/kitchen/day?{query}").status_code == 400
    if "cursor" not in query:
        assert client.get(f"/kitchen/day.csv?{query}").status_code == 400


@pytest.mark.parametrize("edge", ["0001-01-01", "9999-12-31"])
def test_the_first_and_last_days_there_are_are_empty_pages_not_errors(client, auth, edge):
    auth.login(STAFF)
    assert client.get(f"/kitchen/day?day={edge}").status_code == 200
    assert client.get(f"/kitchen/day.csv?day={edge}").get_data(as_text=True).startswith("ticket,order_id,")


def test_the_csv_has_every_order_of_the_day_across_pages_correctly_quoted(client, auth, store, monkeypatch):
    monkeypatch.setattr(day_views, "CSV_PAGE_SIZE", 2)
    names = ['Smith, "Jo"', "=HYPERLINK(\"http://evil\")", "+1 555", "-2", "@SUM(A1)", "Plain Name"]
    orders = [place(store, f"auth0|csv{index}", name=name, quantity=index + 1) for index, name in enumerate(names)]
    auth.login(STAFF)
    day = shop_day(*orders)
    response = client.get(f"/kitchen/day.csv?day={day}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="pizza42-orders-{day}.csv"'
    body = response.get_data(as_text=True)
    assert '"Smith, ""Jo"""' in body  # RFC 4180 quoting
    rows = rows_of(body)
    assert [row["order_id"] for row in rows] == [order.order_id for order in orders]  # all three pages
    assert [row["customer_name"] for row in rows] == ['Smith, "Jo"', "'=HYPERLINK(\"http://evil\")", "'+1 555",
                                                      "'-2", "'@SUM(A1)", "Plain Name"]
    assert rows[0]["ticket"] == orders[0].ticket and rows[2]["quantity"] == "3" and rows[2]["total"] == "48.00"
    assert rows[0]["status"] == "confirmed" and rows[0]["placed_at"].endswith("+00:00")


def test_safe_cell_only_touches_what_a_spreadsheet_would_run():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("\t=1") == "'\t=1" and safe_cell("\r@x") == "'\r@x"
    assert safe_cell("Anna-Lena") == "Anna-Lena" and safe_cell(None) == "" and safe_cell("") == ""


def test_the_csv_is_in_the_shops_time_zone(provider, dynamodb):
    from pizza42 import create_app
    from tests.web.conftest import AuthActions

    new_york = ZoneInfo("America/New_York")
    app = create_app(web_settings(provider, SHOP_TIMEZONE="America/New_York"), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    client = app.test_client()
    # Placed as that shop's app places it: the order is filed under New York's day, which from 00:00 to 05:00
    # UTC is the day before UTC's.
    order = place(OrderStore(dynamodb, TABLE, shop_time=ShopTime(new_york)), name="Tz Tester")
    AuthActions(client).login(STAFF)
    local_day = datetime.fromisoformat(order.created_at.replace("Z", "+00:00")).astimezone(new_york)
    assert shop_day(order, zone=ShopTime(new_york)) == local_day.date().isoformat()
    rows = rows_of(client.get(f"/kitchen/day.csv?day={local_day.date().isoformat()}").get_data(as_text=True))
    assert [row["order_id"] for row in rows] == [order.order_id]
    assert rows[0]["placed_at"] == local_day.isoformat(timespec="seconds")
    assert rows[0]["placed_at"][-6:] in ("-05:00", "-04:00")


def test_the_analytics_show_today_and_thirty_days_with_tables_behind_the_charts(client, auth, store):
    place(store, "auth0|x1", name="X", pizza="Supreme", size="large", quantity=1)
    place(store, "auth0|x2", name="Y", pizza="Supreme", size="small", quantity=2)
    gone = place(store, "auth0|x3", name="Z", pizza="Hawaiian")
    store.change_status("auth0|x3", gone.order_id, "cancelled", actor="staff", by=STAFF)
    auth.login(MANAGER)
    page = client.get("/shop/analytics").get_data(as_text=True)
    stats = dict(re.findall(r'<div class="stat"><dt>([^<]+)</dt><dd>([^<]+)</dd></div>', page))
    assert stats["Orders"] == "2" and stats["Revenue"] == "$56.00" and stats["Average order"] == "$28.00"
    assert stats["Cancellation rate"] == "33.3%" and stats["New customers"] == "2"
    assert page.count('<svg class="chart-svg') == 6 and page.count('role="img"') == 6
    assert page.count("<details class=\"chart-data\">") == 5  # revenue shares the days' table
    assert "Orders per pizza: Supreme 2, Margherita 0, Pepperoni 0, Hawaiian 0." in page
    assert re.search(r'<th scope="row">Supreme</th><td class="num">2</td>', page)
