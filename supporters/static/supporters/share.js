// The share panel's extras where the browser has them: the phone's share menu and a copy button. Without
// JavaScript the panel's links and its read-only field do the same.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    document.querySelectorAll("[data-share-sheet]").forEach(function (button) {
      if (!navigator.share) return;
      button.classList.remove("d-none");
      button.addEventListener("click", function () {
        navigator.share({ text: button.dataset.text, url: button.dataset.url }).catch(function () {});
      });
    });
    document.querySelectorAll("[data-copy-from]").forEach(function (button) {
      var field = document.getElementById(button.dataset.copyFrom);
      if (!field || !navigator.clipboard) return;
      button.classList.remove("d-none");
      var label = button.textContent;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          button.textContent = button.dataset.copied;
          setTimeout(function () { button.textContent = label; }, 2000);
        }, function () { field.select(); });
      });
    });
  });
})();
