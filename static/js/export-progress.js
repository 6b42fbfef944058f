// The export page: polls the job's status (JSON) and moves the progress bar, then offers the download.
// Without JavaScript the page refreshes itself (a <noscript> meta refresh) and shows the same things.
(function () {
  "use strict";
  var root = document.querySelector("[data-export-status-url]");
  if (!root || !window.fetch) return;
  var url = root.getAttribute("data-export-status-url");
  var rowsText = root.getAttribute("data-text-rows") || "";
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
  function field(name) { return root.querySelector('[data-export-field="' + name + '"]'); }
  var bar = field("progress");
  var fill = bar.querySelector(".progress-bar");

  function show(state) {
    field("status").textContent = state.status_label;
    field("count").textContent = state.total ? format.format(state.done) + " / " + format.format(state.total) + " " + rowsText : "";
    bar.setAttribute("aria-valuenow", String(state.percent));
    fill.style.width = state.percent + "%";
    fill.textContent = state.percent + "%";
    var finished = state.status !== "pending" && state.status !== "running";
    fill.classList.toggle("progress-bar-striped", !finished);
    fill.classList.toggle("progress-bar-animated", !finished);
    var error = field("error");
    error.textContent = state.error || "";
    error.classList.toggle("d-none", !state.error);
    field("download").classList.toggle("d-none", !state.download_url);
    return finished;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state && show(state)) return;
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
