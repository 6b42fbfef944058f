// For partner sites that prefer a script to an iframe. Paste, where the counter should appear:
//   <div data-plume-case="write-for-rights-2020/khaled-drareni" data-plume-language="fr"></div>
//   <script src="https://<plume site>/static/js/plume-embed.js" async></script>
// Each such element gets the case's counter (the same page as the iframe code), nothing else: the script
// reads no cookie, sends nothing and touches nothing else on the partner's page.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.URL) return;
  var origin = new URL(script.src).origin;
  var casePath = /^[-a-zA-Z0-9_]+\/[-a-zA-Z0-9_]+$/;
  var language = /^[a-z]{2}$/;

  function mount() {
    document.querySelectorAll("[data-plume-case]").forEach(function (el) {
      var path = el.getAttribute("data-plume-case") || "";
      if (!casePath.test(path) || el.querySelector("iframe")) return;
      var lang = el.getAttribute("data-plume-language") || "en";
      if (!language.test(lang)) lang = "en";
      var frame = document.createElement("iframe");
      frame.src = origin + "/" + lang + "/embed/" + path + "/";
      frame.title = el.getAttribute("data-plume-title") || "Plume";
      frame.width = "320";
      frame.height = "200";
      frame.style.border = "0";
      frame.setAttribute("loading", "lazy");
      el.appendChild(frame);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
