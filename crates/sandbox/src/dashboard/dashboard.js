// The sandbox dashboard works without this file: its forms post and come back. With it, the
// parts of a page marked data-live follow the sandbox (a small JSON endpoint polled once a
// second; the page is fetched again only when something changed), and Copy buttons copy.
(function () {
  "use strict";

  var version = document.body.getAttribute("data-version");

  // Swaps each live region for its fresh copy, keeping open <details> open.
  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (region) {
      var next = fresh.getElementById(region.id);
      if (!next) return;
      var open = {};
      region.querySelectorAll("details[open][id]").forEach(function (d) { open[d.id] = true; });
      next.querySelectorAll("details[id]").forEach(function (d) { if (open[d.id]) d.open = true; });
      region.replaceWith(document.importNode(next, true));
    });
    var body = fresh.body && fresh.body.getAttribute("data-version");
    if (body) version = body;
  }

  function poll() {
    fetch("/_sandbox/version", { cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (seen) {
        if (!seen || seen.version === version) return null;
        return fetch(location.href, { cache: "no-store" })
          .then(function (answer) { return answer.text(); })
          .then(swap);
      })
      .catch(function () { /* the sandbox stopped, or restarts: try again */ })
      .then(function () { setTimeout(poll, 1000); });
  }

  if (document.querySelector("[data-live]")) setTimeout(poll, 1000);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    }
  });
})();
