// Progressive enhancement only: the letter form works without this file (the server enforces the limit).
// Shows how many characters are left under a textarea that has data-letter-counter="<limit>".
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var format = new Intl.NumberFormat(lang);
  document.querySelectorAll("textarea[data-letter-counter]").forEach(function (area) {
    if (area.dataset.counterReady) return;
    area.dataset.counterReady = "1";
    var limit = parseInt(area.getAttribute("data-letter-counter"), 10);
    var out = document.querySelector('[data-letter-counter-for="' + area.id + '"]');
    if (!out || !limit) return;
    // The sentence comes from the server, translated: "%(left)s characters left".
    var template = out.getAttribute("data-template") || "%(left)s / %(limit)s";
    function update() {
      var left = limit - area.value.length;
      out.textContent = template.replace("%(left)s", format.format(left)).replace("%(limit)s", format.format(limit));
      out.classList.toggle("text-danger", left < 50);
      // Screen readers hear the count only near the limit, not at every key.
      out.setAttribute("aria-live", left < 100 ? "polite" : "off");
    }
    area.addEventListener("input", update);
    update();
  });
})();
