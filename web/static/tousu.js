// tousu workspace, no library, no network beyond this server:
// - a fragment that refreshes itself: an element with data-refresh (a URL) and data-every
//   (seconds) has its content replaced by that URL's HTML every so often; a failed request
//   leaves the last content in place;
// - a datalist filled on demand: a <datalist data-src="URL"> gets that URL's <option>s the
//   first time an input using it is focused (web/pages/users.py).
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

  function fill(list) {
    if (list.getAttribute("data-loaded")) { return; }
    list.setAttribute("data-loaded", "loading");
    fetch(list.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        if (html === null) { list.removeAttribute("data-loaded"); return; }
        list.innerHTML = html;
        list.setAttribute("data-loaded", "yes");
      })
      .catch(function () { list.removeAttribute("data-loaded"); });
  }
  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (!input || !input.getAttribute || !input.getAttribute("list")) { return; }
    var list = document.getElementById(input.getAttribute("list"));
    if (list && list.getAttribute("data-src")) { fill(list); }
  });
})();
