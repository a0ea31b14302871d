// Live overview: the page is server-rendered and complete without this script. Here it
// listens to /ui/events (Server-Sent Events) and, when the state's version differs from
// the one the page was rendered with, fetches the page again and swaps its #live part.
// Where EventSource is missing or keeps failing, it polls the same URL for JSON instead.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var MAX_FAILURES = 5;
  var live = document.getElementById("live");
  if (!live) { return; }
  var note = document.getElementById("live-note");
  var busy = false;
  var pending = null;

  function say(text) { if (note) { note.textContent = text; } }

  function refresh(version) {
    if (version === live.getAttribute("data-version")) { return; }
    if (busy) { pending = version; return; }
    busy = true;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || !response.ok) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (fresh) {
          var focused = document.activeElement && document.activeElement.id;
          live.replaceWith(fresh);
          live = fresh;
          note = document.getElementById("live-note");
          document.title = doc.title;
          if (focused) {
            var again = document.getElementById(focused);
            if (again) { again.focus(); }
          }
        }
      })
      .catch(function () { say("Could not refresh; retrying."); })
      .then(function () {
        busy = false;
        if (pending !== null) { var v = pending; pending = null; refresh(v); }
      });
  }

  function poll() {
    say("Live updates: polling every " + POLL_MS / 1000 + " s.");
    function once() {
      fetch("/ui/events", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) { if (state) { refresh(state.version); } })
        .catch(function () {})
        .then(function () { window.setTimeout(once, POLL_MS); });
    }
    once();
  }

  if (!window.EventSource) { poll(); return; }
  var failures = 0;
  var source = new EventSource("/ui/events");
  source.addEventListener("open", function () { failures = 0; say("Live."); });
  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    refresh(state.version);
  });
  source.addEventListener("error", function () {
    failures += 1;
    say("Live updates: reconnecting…");
    if (failures >= MAX_FAILURES || source.readyState === EventSource.CLOSED) {
      source.close();
      poll();
    }
  });
})();
