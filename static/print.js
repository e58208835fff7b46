// Progressive enhancement for receipts: a "Print receipt" button. Without JavaScript the button stays
// hidden and the browser's own Print command gives the same page (the stylesheet has a print layout).
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
