// The kitchen board, live: a conditional GET of the board every few seconds (304 while nothing changed), new
// orders highlighted and announced (and sounded once "Start shift" was clicked: browsers play sound only after
// a click), the cards' buttons posted without leaving the page, and the focus kept where it was.
// Without JavaScript the page is the same board; its buttons are plain forms and the page reloads.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.fetch) { return; }
  var url = board.getAttribute("data-board-url");
  var etag = board.getAttribute("data-etag");
  var every = (Number(board.getAttribute("data-refresh")) || 5) * 1000;
  var announcer = document.querySelector("[data-board-announcer]");
  var messages = document.querySelector("[data-kitchen-messages]");
  var shiftButton = document.querySelector("[data-start-shift]");
  var HIGHLIGHT_MS = 60000;
  var audio = null;
  var busy = false;
  var again = false;
  var stopped = false;
  var newSince = {};

  function cards() { return Array.prototype.slice.call(board.querySelectorAll("[data-order-id]")); }
  function ids() { return cards().map(function (card) { return card.getAttribute("data-order-id"); }); }
  var known = {};
  ids().forEach(function (id) { known[id] = true; });

  function say(text) {
    // Clear first, so the same words twice are announced twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function show(text, category) {
    var p = document.createElement("p");
    p.className = "flash flash-" + (category === "error" ? "error" : "success");
    p.textContent = text;
    messages.textContent = "";
    messages.appendChild(p);
  }

  function ago(iso) {
    var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
    if (!isFinite(minutes)) { return null; }
    if (minutes < 1) { return "just now"; }
    if (minutes < 60) { return minutes + " min ago"; }
    return Math.floor(minutes / 60) + " h " + ("0" + (minutes % 60)).slice(-2) + " min ago";
  }

  function updateTimes() {
    Array.prototype.forEach.call(board.querySelectorAll("time[data-ago]"), function (time) {
      var text = ago(time.getAttribute("datetime"));
      if (text) { time.textContent = text; }
    });
  }

  function beep() {
    if (!audio) { return; }
    var start = audio.currentTime;
    [880, 1175].forEach(function (frequency, index) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      var at = start + index * 0.22;
      tone.type = "sine";
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.21);
    });
  }

  function focusKey() {
    var active = document.activeElement;
    if (!active || !board.contains(active)) { return null; }
    var card = active.closest("[data-order-id]");
    return { key: active.getAttribute("data-focus-key"), order: card && card.getAttribute("data-order-id") };
  }

  function restoreFocus(where) {
    if (!where) { return; }
    var target = where.key && board.querySelector('[data-focus-key="' + where.key + '"]');
    var card = where.order && board.querySelector('[data-order-id="' + where.order + '"]');
    if (!target && card) { target = card.querySelector("button") || card; }
    if (!target) { target = board.querySelector("[data-order-id] button") || document.getElementById("board-heading"); }
    target.focus();
  }

  function swap(html, focusAfter) {
    var where = focusAfter || focusKey();
    board.innerHTML = html;
    var now = Date.now();
    var fresh = [];
    cards().forEach(function (card) {
      var id = card.getAttribute("data-order-id");
      if (!known[id]) { fresh.push(card); newSince[id] = now; }
      if (newSince[id] && now - newSince[id] < HIGHLIGHT_MS) { card.classList.add("card-new"); }
    });
    known = {};
    ids().forEach(function (id) { known[id] = true; });
    if (fresh.length) {
      say((fresh.length === 1 ? "New order. " : fresh.length + " new orders. ") +
          fresh.map(function (card) { return card.getAttribute("data-announce"); }).join(". "));
      beep();
    }
    restoreFocus(where);
    updateTimes();
  }

  function stop(text) {
    stopped = true;
    show(text, "error");
  }

  function refresh(focusAfter) {
    if (stopped) { return Promise.resolve(); }
    if (busy) { again = true; return Promise.resolve(); }
    busy = true;
    var headers = { "Accept": "text/html" };
    if (etag) { headers["If-None-Match"] = etag; }
    return fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (response.status === 200) {
          etag = response.headers.get("ETag") || etag;
          return response.text().then(function (html) { swap(html, focusAfter); });
        }
        if (response.type === "opaqueredirect" || response.status === 403) {
          stop("Your session has ended. Reload the page to log in again.");
        }
        return null;
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; return refresh(); }
        return null;
      });
  }

  // The cards' buttons: posted in the background; the answer is shown and announced, the board refreshed.
  board.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!button || !button.name) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.append(button.name, button.value);
    var card = form.closest("[data-order-id]");
    var order = card && card.getAttribute("data-order-id");
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", redirect: "manual",
                         headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status !== 200 && response.status !== 409) { throw new Error("fall back"); }
        return response.json().then(function (body) {
          show(body.message, body.category);
          say(body.message);
          return refresh({ key: null, order: order });
        });
      })
      .catch(function () {
        // Anything unexpected (an expired form, a session that ended): let the browser post the form itself.
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = button.name;
        field.value = button.value;
        form.appendChild(field);
        form.submit();
      });
  });

  if (shiftButton) {
    shiftButton.hidden = false;
    shiftButton.addEventListener("click", function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (audio) {
        shiftButton.textContent = "Start shift";
        shiftButton.classList.remove("button-on");
        audio.close();
        audio = null;
        say("Sound off.");
        return;
      }
      if (!Context) { show("This browser cannot play sounds; new orders are still highlighted.", "error"); return; }
      audio = new Context();  // created in the click: browsers allow sound from here on
      audio.resume();
      beep();
      shiftButton.textContent = "Shift started: sound on";  // its name says the state (no aria-pressed: that
      shiftButton.classList.add("button-on");                 // would have a screen reader read both)
      say("Shift started. A sound plays for each new order.");
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-js-only]"), function (el) { el.hidden = false; });

  window.setInterval(function () { if (!document.hidden) { refresh(); } }, every);
  window.setInterval(updateTimes, 15000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  updateTimes();
}());
