// A customer's order, live: while it is open, its status block asks the server every few seconds whether it
// changed (a conditional GET: 304 while nothing did) and swaps in the new one; the change is announced to
// screen readers. The time left to cancel counts down. Without JavaScript the page shows the status as loaded.
(function () {
  "use strict";
  var EVERY = 5000;
  var announcer = document.querySelector("[data-announcer]");

  function left(seconds) {
    seconds = Math.max(0, seconds);
    return Math.floor(seconds / 60) + " min " + ("0" + (seconds % 60)).slice(-2) + " s";
  }

  function countdowns() {
    var now = Date.now() / 1000;
    var ended = false;
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (el) {
      var seconds = Math.round(Number(el.getAttribute("data-countdown")) - now);
      el.textContent = left(seconds);
      if (seconds <= 0) { ended = true; }
    });
    return ended;
  }

  function isOpen(block) {
    var root = block.querySelector(".live-status");
    return !root || root.getAttribute("data-open") !== "false";
  }

  function follow(block) {
    var url = block.getAttribute("data-live-status");
    var etag = block.getAttribute("data-etag");
    if (etag && etag.charAt(0) !== '"') { etag = '"' + etag + '"'; }
    var timer = null;

    function swap(html) {
      var before = block.querySelector(".live-status");
      var had = block.contains(document.activeElement);
      block.innerHTML = html;
      var after = block.querySelector(".live-status");
      if (!after) { return; }
      if (!block.closest("tr")) {  // the receipt: its status line is outside the block
        Array.prototype.forEach.call(document.querySelectorAll("[data-status-badge]"), function (badge) {
          if (block.contains(badge)) { return; }
          badge.textContent = after.getAttribute("data-label");
          badge.className = "badge badge-" + after.getAttribute("data-status");
        });
      }
      if (announcer && before && before.getAttribute("data-status") !== after.getAttribute("data-status")) {
        announcer.textContent = "Your order is now " + after.getAttribute("data-label").toLowerCase() + ".";
      }
      if (had) { (block.querySelector("a, button") || block.closest("section") || document.body).focus(); }
    }

    function tick() {
      timer = null;
      if (!isOpen(block)) { return; }
      fetch(url, { headers: { "Accept": "text/html", "If-None-Match": etag || "" }, credentials: "same-origin",
                   cache: "no-store", redirect: "manual" })
        .then(function (response) {
          if (response.status === 200) {
            etag = response.headers.get("ETag") || etag;
            return response.text().then(function (html) { swap(html); return true; });
          }
          return response.status === 304;  // anything else (logged out, gone): stop asking
        })
        .catch(function () { return true; })
        .then(function (goOn) { if (goOn && !timer) { timer = window.setTimeout(tick, EVERY); } });
    }

    block.addEventListener("pizza42:refresh", function () {
      if (timer) { window.clearTimeout(timer); }
      tick();
    });
    if (isOpen(block)) { timer = window.setTimeout(tick, EVERY); }
  }

  var blocks = document.querySelectorAll("[data-live-status]");
  Array.prototype.forEach.call(blocks, follow);
  if (document.querySelector("[data-countdown]")) {
    var ticking = window.setInterval(function () {
      if (countdowns()) {
        window.clearInterval(ticking);
        // The window has closed: ask for the status now (the cancel button goes, the reason shows).
        Array.prototype.forEach.call(blocks, function (block) {
          block.dispatchEvent(new Event("pizza42:refresh"));
        });
      }
    }, 1000);
  }
}());
