"""The page's forms (Flask-WTF: every POST carries a CSRF token bound to the session)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField
from wtforms.widgets import NumberInput

from pizza42 import menu

_ORDER_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_QUANTITY = re.compile(r"[0-9]{1,2}")


class OrderForm(FlaskForm):
    """Pizza, size and quantity; the orders domain (not this form) decides what is valid and its price."""

    # validate_choice=False: the domain's validate_order_request names the bad field, as the API does.
    pizza = SelectField("Pizza", choices=[(name, name) for name in menu.PIZZAS], default=menu.PIZZAS[0],
                        validate_choice=False)
    size = RadioField("Size", choices=[(size, size.capitalize()) for size in menu.SIZES], default="medium",
                      validate_choice=False)
    quantity = IntegerField("Quantity", default=1,
                            widget=NumberInput(min=1, max=menu.MAX_QUANTITY, step=1))
    # One key per displayed form: a double-click or a resubmission places the order only once.
    order_key = HiddenField()
    is_repeat = False  # filled in from an earlier order ("Order again")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not self.order_key.data:
            self.order_key.data = secrets.token_urlsafe(18)

    @classmethod
    def prefilled(cls, choices: Mapping[str, str]) -> OrderForm:
        """A fresh form showing ?pizza=&size=&quantity= ("Order again"); each invalid choice keeps its default.

        Only a GET shows it: nothing is ordered until the customer presses "Place order".
        """
        values: dict = {}
        if pizza := menu.canonical_pizza(choices.get("pizza", "")):
            values["pizza"] = pizza
        if (size := choices.get("size", "").strip().lower()) in menu.SIZES:
            values["size"] = size
        quantity = choices.get("quantity", "").strip()
        if _QUANTITY.fullmatch(quantity) and 1 <= int(quantity) <= menu.MAX_QUANTITY:
            values["quantity"] = int(quantity)
        form = cls(formdata=None, **values)
        form.is_repeat = bool(values)
        return form

    def payload(self) -> dict:
        """The order request, in the shape the API receives it."""
        return {"pizza": self.pizza.data, "size": self.size.data, "quantity": self.quantity.data}

    def idempotency_key(self) -> str | None:
        """The form's idempotency key, if it looks like one we hand out."""
        key = self.order_key.data or ""
        return "web-" + key if _ORDER_KEY.fullmatch(key) else None

    def add_error(self, field: str, message: str) -> None:
        """Attach a domain error to its field (or to the form as a whole)."""
        target = getattr(self, field, None) if field in ("pizza", "size", "quantity") else None
        if target is None:
            self.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]


class LogoutForm(FlaskForm):
    """Just the CSRF token: logging out changes state, so it is a protected POST."""
