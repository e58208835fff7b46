// Progressive enhancement for the order form: show the total as the customer changes it.
// The server prices the order again when it is placed; this is only a preview.
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  if (!form) { return; }
  var output = document.getElementById("order-total");
  var prices;
  try { prices = JSON.parse(form.getAttribute("data-prices") || "{}"); } catch (e) { return; }

  function cents(text) {
    var parts = String(text).split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }

  function dollars(amount) {
    var whole = Math.floor(amount / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "$" + whole + "." + ("0" + (amount % 100)).slice(-2);
  }

  function update() {
    var pizza = form.elements.pizza.value;
    var checked = form.querySelector("input[name=size]:checked");
    var quantityText = form.elements.quantity.value;
    var quantity = Number(quantityText);
    var max = Number(form.elements.quantity.getAttribute("max")) || 20;
    var price = prices[pizza] && checked ? prices[pizza][checked.value] : undefined;
    if (price === undefined || !/^\d+$/.test(quantityText) || quantity < 1 || quantity > max) {
      output.textContent = "—";
      return;
    }
    output.textContent = dollars(cents(price) * quantity);
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", function () {
    // One click, one order (the form's idempotency key also guards against a second submit).
    var button = form.querySelector("button[type=submit]");
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
  update();
}());
