// tousu workspace: a fragment that refreshes itself. An element with data-refresh (a URL)
// and data-every (seconds) has its content replaced by that URL's HTML every so often; a
// failed request leaves the last content in place. No library, no network beyond this server.
(function () {
  "use strict";
  function poll(el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-every") || "30", 10) * 1000;
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) { if (html !== null) { el.innerHTML = html; } })
        .catch(function () {});
    }, every);
  }
  document.querySelectorAll("[data-refresh]").forEach(poll);
})();
