// Progressive enhancement only: every page works without this file.
// Refreshes the live totals (elements with data-total-for="<case id>") from the cached public JSON.
(function () {
  "use strict";
  var nodes = document.querySelectorAll("[data-total-for]");
  if (!nodes.length || !window.fetch) return;
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
  function refresh() {
    fetch("/api/totals", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        nodes.forEach(function (node) {
          var entry = data.cases[node.getAttribute("data-total-for")];
          if (entry) node.textContent = format.format(entry.total);
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 15000);
})();
