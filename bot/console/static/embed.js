// Put Balie's web chat in a corner of a municipality's page:
// <script src="https://balie.example.nl/chat/embed.js" data-lang="nl" defer></script>
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var lang = script.dataset.lang === "en" ? "en" : "nl";
  var open = document.createElement("button");
  open.type = "button";
  open.textContent = lang === "en" ? "Questions about taxes?" : "Vragen over belastingen?";
  open.setAttribute("aria-expanded", "false");
  open.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.75rem 1rem;" +
    "border-radius:1.5rem;border:0;background:#154273;color:#fff;font:inherit;cursor:pointer";
  var frame = document.createElement("iframe");
  frame.src = origin + "/chat?lang=" + lang;
  frame.title = lang === "en" ? "Chat with the Tax department" : "Chat met het team Belastingen";
  frame.hidden = true;
  frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483000;width:min(24rem,92vw);" +
    "height:min(36rem,75vh);border:1px solid #ccc;border-radius:.5rem;background:#fff";
  open.addEventListener("click", function () {
    frame.hidden = !frame.hidden;
    open.setAttribute("aria-expanded", String(!frame.hidden));
  });
  document.body.appendChild(frame);
  document.body.appendChild(open);
})();
