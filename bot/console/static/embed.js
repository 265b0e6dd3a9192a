// Put Balie's web chat in a corner of a municipality's page:
// <script src="https://balie.example.nl/chat/embed.js" data-lang="nl" defer></script>
// A site of one municipality of a collaboration adds data-gemeente="<tenant>" (its facts file's
// name): its chats are that municipality's, and Balie does not ask where the citizen lives.
// The chat opens as a dialog (a bottom sheet on a phone): focus moves into it, Escape or the
// close button closes it and focus returns to the button that opened it. Whether it is open is
// kept for the site's other pages (sessionStorage). A site not listed in
// BALIE_CHAT_EMBED_ORIGINS gets a message with the phone number instead of a broken frame.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var lang = script.dataset.lang === "en" ? "en" : "nl";
  var gemeente = script.dataset.gemeente ? "&gemeente=" + encodeURIComponent(script.dataset.gemeente) : "";
  var KEY = "balie-chat-open";
  var TOKEN = "balie-chat-token";

  function stored(key) {
    try { return localStorage.getItem(key); } catch (error) { return null; }
  }
  var WORDS = {
    nl: {open: "Vragen over belastingen?", title: "Chat met het team Belastingen", close: "Sluiten",
      refused: "De chat kan op deze website niet worden getoond.", away: "De chat is nu niet bereikbaar.",
      call: "Bel ons op ", or: " of kijk op "},
    en: {open: "Questions about taxes?", title: "Chat with the Tax department", close: "Close",
      refused: "The chat cannot be shown on this website.", away: "The chat cannot be reached right now.",
      call: "Call us on ", or: " or visit "}
  }[lang];
  var style = document.createElement("style");
  style.textContent =
    ".balie-launch{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.75rem 1rem;" +
    "border-radius:1.5rem;border:2px solid #fff;background:#154273;color:#fff;font:inherit;cursor:pointer}" +
    ".balie-launch:focus-visible,.balie-dialog button:focus-visible{outline:3px solid #154273;outline-offset:2px;box-shadow:0 0 0 5px #fff}" +
    ".balie-dialog{position:fixed;right:1rem;bottom:4.75rem;z-index:2147483001;width:min(24rem,calc(100vw - 2rem));" +
    "height:min(36rem,calc(100vh - 6rem));display:flex;flex-direction:column;background:#fff;color:#1a1a1a;" +
    "border:1px solid #767676;border-radius:.5rem;box-shadow:0 .5rem 2rem rgba(0,0,0,.3);overflow:hidden}" +
    ".balie-dialog[hidden]{display:none}" +
    ".balie-bar{display:flex;justify-content:space-between;align-items:center;gap:.5rem;padding:.25rem .25rem .25rem .75rem;" +
    "background:#154273;color:#fff;font-weight:600}" +
    ".balie-bar button{font:inherit;font-weight:400;padding:.4rem .75rem;border:2px solid #fff;border-radius:.25rem;background:#154273;color:#fff;cursor:pointer}" +
    ".balie-dialog iframe{flex:1;width:100%;border:0}" +
    ".balie-refused{padding:1rem;margin:0}.balie-dialog.balie-note{height:auto}" +
    ".balie-refused a{color:#154273}" +
    "@media (max-width:600px){.balie-dialog{left:0;right:0;bottom:0;width:100%;height:min(75vh,36rem);" +
    "border-radius:1rem 1rem 0 0;border-width:1px 0 0}}";
  document.head.appendChild(style);

  var launch = document.createElement("button");
  launch.type = "button";
  launch.className = "balie-launch";
  launch.textContent = WORDS.open;
  launch.setAttribute("aria-expanded", "false");
  launch.setAttribute("aria-controls", "balie-chat");

  var dialog = document.createElement("div");
  dialog.id = "balie-chat";
  dialog.className = "balie-dialog";
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-labelledby", "balie-chat-title");
  dialog.hidden = true;
  var bar = document.createElement("div");
  bar.className = "balie-bar";
  var title = document.createElement("span");
  title.id = "balie-chat-title";
  title.textContent = WORDS.title;
  var close = document.createElement("button");
  close.type = "button";
  close.textContent = WORDS.close;
  bar.appendChild(title);
  bar.appendChild(close);
  dialog.appendChild(bar);

  var frame = null;
  var loaded = false;
  // Asked once: may this site show the chat? The answer names the phone number to call.
  var allowed = fetch(origin + "/chat/api/embed?lang=" + lang + gemeente, {mode: "cors", credentials: "omit"})
    .then(function (response) { return response.json(); })
    .catch(function () { return {allowed: false, away: true}; });

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function content(answer) {
    if (frame || dialog.querySelector(".balie-refused")) { return; }
    if (answer.allowed) {
      frame = document.createElement("iframe");
      var token = stored(TOKEN);  // the chat, if the browser refuses the frame its own storage
      frame.src = origin + "/chat?lang=" + lang + "&embed=1" + gemeente +
        (token ? "#token=" + token : "");
      frame.title = WORDS.title;
      frame.addEventListener("load", function () {
        loaded = true;
        if (!dialog.hidden && moving) { focusIn(); }
      });
      dialog.appendChild(frame);
      return;
    }
    var note = document.createElement("p");
    note.className = "balie-refused";
    note.tabIndex = -1;
    note.appendChild(document.createTextNode((answer.away ? WORDS.away : WORDS.refused) + " "));
    if (answer.phone) {
      note.appendChild(document.createTextNode(WORDS.call));
      note.appendChild(link("tel:" + String(answer.phone).replace(/[^\d+]/g, ""), answer.phone));
      if (answer.website && /^https:\/\//.test(answer.website)) {
        note.appendChild(document.createTextNode(WORDS.or));
        note.appendChild(link(answer.website, answer.website));
      }
      note.appendChild(document.createTextNode("."));
    }
    dialog.appendChild(note);
    dialog.classList.add("balie-note");  // a message, not a chat: as high as its text
  }

  var moving = false;  // focus goes into the chat when the citizen opened it, not on a new page

  function focusIn() {
    if (frame) {
      frame.focus();
      if (loaded) { frame.contentWindow.postMessage({balie: "focus"}, origin); }
    } else {
      var note = dialog.querySelector(".balie-refused");
      (note || close).focus();
    }
  }

  function show(move) {
    moving = move;
    dialog.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    sessionStorage.setItem(KEY, "1");
    return allowed.then(function (answer) {
      content(answer);
      if (move) { focusIn(); }
    });
  }

  function hide() {
    dialog.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    sessionStorage.removeItem(KEY);
    launch.focus();
  }

  launch.addEventListener("click", function () {
    if (dialog.hidden) { show(true); } else { hide(); }
  });
  close.addEventListener("click", hide);
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide(); }
  });
  // Escape pressed inside the chat's frame arrives as a message from it, and so does the
  // chat's token, kept here for the site's other pages.
  window.addEventListener("message", function (event) {
    if (!frame || event.origin !== origin || event.source !== frame.contentWindow || !event.data) {
      return;
    }
    if (event.data.balie === "close" && !dialog.hidden) { hide(); }
    if (event.data.balie === "token") {
      try {
        if (event.data.token) { localStorage.setItem(TOKEN, event.data.token); } else { localStorage.removeItem(TOKEN); }
      } catch (error) { /* this site keeps nothing: the chat lasts one page */ }
    }
  });

  document.body.appendChild(launch);
  document.body.appendChild(dialog);
  if (sessionStorage.getItem(KEY) === "1") { show(false); }
})();
