"""The menu and its prices (spec §3): the single authority on what things cost."""

from __future__ import annotations

from decimal import Decimal

SIZES: tuple[str, ...] = ("small", "medium", "large")

# Prices in USD, by pizza then size. Nothing else in the app may invent a price.
PRICES: dict[str, dict[str, Decimal]] = {
    "Margherita": {"small": Decimal("12.00"), "medium": Decimal("16.00"), "large": Decimal("20.00")},
    "Pepperoni": {"small": Decimal("14.00"), "medium": Decimal("18.00"), "large": Decimal("22.00")},
    "Supreme": {"small": Decimal("16.00"), "medium": Decimal("20.00"), "large": Decimal("24.00")},
    "Hawaiian": {"small": Decimal("13.00"), "medium": Decimal("17.00"), "large": Decimal("21.00")},
}

PIZZAS: tuple[str, ...] = tuple(PRICES)
MAX_QUANTITY = 20
CURRENCY = "USD"

_PIZZA_BY_LOWER = {name.lower(): name for name in PIZZAS}


def canonical_pizza(name: str) -> str | None:
    """Return the menu's spelling of a pizza name (case-insensitive), or None if not on the menu."""
    return _PIZZA_BY_LOWER.get(name.strip().lower())


def unit_price(pizza: str, size: str) -> Decimal:
    """The price of one pizza of this size; KeyError if either is not on the menu."""
    return PRICES[pizza][size]


def menu_as_json() -> dict:
    """The menu as the API and the page present it."""
    return {
        "currency": CURRENCY,
        "sizes": list(SIZES),
        "max_quantity": MAX_QUANTITY,
        "pizzas": [
            {"name": name, "prices": {size: float(price) for size, price in sizes.items()}}
            for name, sizes in PRICES.items()
        ],
    }
