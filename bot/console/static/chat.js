// Balie web chat: talks to /chat/api with a token kept in this browser's localStorage, so every
// tab of the browser shows the same chat (tabs tell each other what happened). Everything shown
// is set with textContent or DOM nodes: citizen, staff and bot text never becomes markup.
(function () {
  "use strict";
  var root = document.getElementById("main");
  var lang = root.dataset.lang || "nl";
  var embedded = root.dataset.embed === "yes";
  var gemeente = root.dataset.gemeente || "";  // the municipality of the site, if one
  var phones = JSON.parse(root.dataset.phones || "[]");
  var log = document.getElementById("log");  // the part that scrolls
  var list = document.getElementById("messages");
  var form = document.getElementById("say");
  var input = document.getElementById("text");
  var typing = document.getElementById("typing");
  var problem = document.getElementById("problem");
  var newChat = document.getElementById("new-chat");
  var endChat = document.getElementById("end-chat");
  var KEY = "balie-chat-token";
  var WORDS = {
    nl: {you: "Jij", balie: "Balie", staff: "medewerker", offline: "Geen verbinding. We proberen het opnieuw.",
      masked: "Persoonsgegevens zijn afgeschermd bewaard.", up: "Nuttig", down: "Niet nuttig",
      ended: "Je gesprek is beëindigd. Typ een vraag om een nieuw gesprek te beginnen."},
    en: {you: "You", balie: "Balie", staff: "staff", offline: "No connection. Trying again.",
      masked: "Personal details were stored hidden.", up: "Useful", down: "Not useful",
      ended: "Your chat has ended. Type a question to start a new chat."}
  }[lang] || {};
  // 👍/👎 are shown as words: they need no emoji font, and they are their own accessible name.
  var THUMBS = {"👍": WORDS.up, "👎": WORDS.down};

  function said(title) {
    return THUMBS[title] || title;
  }
  var tabs = "BroadcastChannel" in window ? new BroadcastChannel("balie-chat") : null;
  // In embed.js's frame the browser may refuse this site storage (third-party storage): the
  // host page then keeps the token for us, and hands it over in the frame's address (#token=).
  var host = embedded && location.ancestorOrigins && location.ancestorOrigins.length ?
    location.ancestorOrigins[0] : embedded && document.referrer ? new URL(document.referrer).origin : null;
  var storage = (function () {
    try { localStorage.getItem(KEY); return localStorage; } catch (error) { return null; }
  }());
  var handed = /[#&]token=([\w.-]+)/.exec(location.hash);
  var refocus = /[#&]focus=1/.test(location.hash);  // the page came again in another language
  if (location.hash) { history.replaceState(null, "", location.pathname + location.search); }
  function stored() {
    return storage ? storage.getItem(KEY) : handed && handed[1];
  }
  var token = stored();

  function keep(value) {
    token = value;
    if (storage) {
      if (value) { storage.setItem(KEY, value); } else { storage.removeItem(KEY); }
    }
    handed = value ? [null, value] : null;
    if (host) { parent.postMessage({balie: "token", token: value}, host); }
    newChat.hidden = endChat.hidden = !value;
  }

  function tell(message) {
    if (tabs) { message.token = token; tabs.postMessage(message); }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function stamp(item, message) {
    var time = item.querySelector("time");
    if (!time || !message.at) { return; }
    time.dateTime = message.time;
    time.textContent = message.at;
  }

  // One message. A citizen's own words go into the log as empty elements, their text a moment
  // later: the log announces added elements only (aria-relevant), so a screen reader does not
  // read back what the citizen just typed, while Balie's answers are read as they come.
  function show(message) {
    var own = message.direction === "in";
    var item = element("li", "msg " + (own ? "in" : message.staff ? "out staff" : "out"));
    var who = element("span", "who");
    var name = element("span", "name");
    var body = element("span", "text");
    var note = message.masked ? element("span", "note") : null;
    who.appendChild(name);
    if (message.staff) { who.appendChild(element("span", "badge", WORDS.staff)); }
    who.appendChild(element("time"));
    item.appendChild(who);
    item.appendChild(body);
    if (note) { item.appendChild(note); }
    if (own) {
      list.appendChild(item);
      setTimeout(function () {
        name.textContent = WORDS.you;
        body.textContent = said(message.text);
        if (note) { note.textContent = WORDS.masked; }
        stamp(item, message);
        reveal();
      }, 60);
      return item;
    }
    name.textContent = message.staff || WORDS.balie;
    linked(body, message.text);
    if (message.buttons && message.buttons.length) { item.appendChild(buttons(message.buttons)); }
    stamp(item, message);
    list.appendChild(item);
    return item;
  }

  function buttons(list) {
    var group = element("div", bound(list) ? "buttons" : "buttons poll");
    list.forEach(function (button) {
      var press = element("button");
      press.type = "button";
      press.textContent = said(button.title);
      press.addEventListener("click", function () {
        group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        input.focus();  // the buttons go: focus stays in the chat, not on the page's body
        var echo = {direction: "in", text: button.title};
        send({button: button.data}, show(echo), echo);
      });
      group.appendChild(press);
    });
    return group;
  }

  // Web addresses, e-mail addresses and the municipality's phone numbers become links;
  // everything else stays plain text.
  var PHONES = phones.map(function (p) { return p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
  var LINKS = new RegExp("(https://[^\\s<>\"]+[^\\s<>\".,;:!?)]|[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+" +
    (PHONES.length ? "|" + PHONES.join("|") : "") + ")");

  function linked(into, text) {
    text.split(LINKS).forEach(function (part, index) {
      if (index % 2 === 1) {
        var link = element("a", "", part);
        if (part.indexOf("https://") === 0) {
          link.href = part;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
        } else if (part.indexOf("@") > 0) {
          link.href = "mailto:" + part;
        } else {
          link.href = "tel:" + part.replace(/[^\d+]/g, "");
        }
        into.appendChild(link);
      } else if (part) {
        into.appendChild(document.createTextNode(part));
      }
    });
  }

  // Only the buttons of Balie's latest message work (poll buttons excepted): older ones go
  // once new buttons come or the citizen answers, as on Telegram.
  function bound(list) {
    return (list || []).some(function (b) { return b.data.indexOf("poll:") !== 0; });
  }

  function dropOldButtons() {
    log.querySelectorAll(".buttons:not(.poll)").forEach(function (group) { group.remove(); });
  }

  // The newest message lies in view above the input: the log scrolls, never the page.
  function reveal() {
    log.scrollTop = log.scrollHeight;
  }

  function showAll(replies, answering) {
    if (answering || replies.some(function (reply) { return bound(reply.buttons); })) {
      if (replies.length) { dropOldButtons(); }
    }
    replies.forEach(function (reply) { show(reply); });
    reveal();
  }

  function call(method, path, body) {
    var headers = {"Content-Type": "application/json"};
    var sent = token;
    if (sent) { headers["X-Chat-Token"] = sent; }
    return fetch(path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined})
      .then(function (response) {
        if (response.status === 401) {
          // The chat is unknown here (ended, expired or signed with an old key). Another tab
          // may have a newer chat in the storage already: only this token goes.
          if (storage && storage.getItem(KEY) === sent) { storage.removeItem(KEY); }
          if (token === sent) {
            token = null;
            newChat.hidden = endChat.hidden = true;
          }
          throw new Error("expired");
        }
        if (!response.ok) { throw new Error("http " + response.status); }
        problem.textContent = "";
        return response.json();
      });
  }

  // The page and Balie speak one language: when the chat's language is another, the page
  // comes again in that language (its transcript with it).
  function follow(language) {
    if (language && language !== lang) {
      var carried = (token && !storage ? "token=" + token + "&" : "") +
        (document.activeElement === input ? "focus=1" : "");
      location.replace("/chat?lang=" + language + (embedded ? "&embed=1" : "") +
        (gemeente ? "&gemeente=" + encodeURIComponent(gemeente) : "") +
        (carried ? "#" + carried : ""));
      return true;
    }
    return false;
  }

  // A new chat: its greeting comes before what the citizen already typed into it, and after
  // a notice that the chat was erased; "chat ended" goes.
  var starting = false;  // while this tab starts a chat, another tab's new chat is not followed

  function start() {
    starting = true;
    return call("POST", "/chat/api/start", {language: lang, municipality: gemeente}).then(function (answer) {
      starting = false;
      keep(answer.token);
      var items = Array.prototype.filter.call(list.children, function (item) {
        return !item.classList.contains("ended");
      });
      list.textContent = "";
      items.forEach(function (item) { if (!item.classList.contains("in")) { list.appendChild(item); } });
      showAll(answer.replies);
      items.forEach(function (item) { if (item.classList.contains("in")) { list.appendChild(item); } });
      reveal();
      tell({kind: "start"});
    }, function (error) {
      starting = false;
      throw error;
    });
  }

  function ended() {
    show({direction: "out", text: WORDS.ended}).classList.add("ended");
  }

  function resume() {
    return call("GET", "/chat/api/history").then(function (answer) {
      if (follow(answer.language)) { return; }
      list.textContent = "";
      answer.messages.forEach(function (m) { show(m); });
      reveal();
      if (answer.waiting.length) { tell({kind: "staff", replies: answer.waiting}); }
      newChat.hidden = endChat.hidden = false;
    }).catch(function (error) {
      if (error.message !== "expired") { throw error; }
      token = stored();
      if (token) { return resume(); }  // the chat another tab started meanwhile
      list.textContent = "";
      return start();
    });
  }

  // What the citizen types before the chat has started waits for it; a failed start is tried
  // again with the next message.
  var ready = null;

  function started() {
    if (!ready) {
      ready = (token ? resume() : start()).catch(function (error) {
        ready = null;
        throw error;
      });
    }
    return ready;
  }

  function again() {
    ready = null;
    list.textContent = "";
    return started();
  }

  // A message that could not be sent goes back into the input box: nothing is lost.
  function send(body, said, echo) {
    typing.hidden = false;
    return started().then(function () {
      return call("POST", "/chat/api/send", body);
    }).then(function (answer) {
      typing.hidden = true;
      if (said && answer.replies.length) { stamp(said, answer.replies[0]); }
      if (echo && answer.replies.length) { echo.at = answer.replies[0].at; echo.time = answer.replies[0].time; }
      tell({kind: "turn", said: echo, replies: answer.replies, language: answer.language, ended: answer.ended});
      if (answer.ended) {  // /vergeet: the chat is erased; a new one starts with a greeting
        keep(null);
        list.textContent = "";
        showAll(answer.replies, true);
        ready = null;
        return started();
      }
      showAll(answer.replies, true);
      follow(answer.language);
    }).catch(function (error) {
      typing.hidden = true;
      if (error.message === "expired") { ready = null; }
      problem.textContent = WORDS.offline;
      if (body.text && !input.value) { input.value = body.text; }
    });
  }

  // An answer for a chat this tab has since erased or left (a poll in flight during /vergeet)
  // is not shown: it would clear the new chat's first messages.
  function poll() {
    if (!token || !ready) { return; }
    var chat = ready;
    call("GET", "/chat/api/poll").then(function (answer) {
      if (ready !== chat) { return; }
      if (answer.replies.length) { tell({kind: "staff", replies: answer.replies}); }
      showAll(answer.replies);
    }).catch(function (error) {
      if (ready !== chat) { return; }
      if (error.message === "expired") {  // ended or expired: a new chat waits for a question
        token = stored();
        if (token) {
          again();
        } else {
          ready = null;
          list.textContent = "";
          ended();
        }
      } else {
        problem.textContent = WORDS.offline;
      }
    });
  }

  // Another tab of this browser did something in the same chat: show it here too.
  if (tabs) {
    tabs.onmessage = function (event) {
      var message = event.data;
      if (message.kind === "ended" || (message.kind === "turn" && message.ended)) {
        // That tab ended or erased the chat; a new one it starts comes as "start".
        token = null;
        ready = null;
        list.textContent = "";
        if (message.kind === "ended") { ended(); }
        return;
      }
      if (starting) { return; }
      if (message.kind === "start" || message.token !== token) {
        // The chat that tab is in: its write to the storage may not show here yet, and a
        // revoked token read from it would make this tab start a chat of its own.
        token = message.token || stored();
        again();
        return;
      }
      if (message.kind === "turn") {
        if (message.said) { show(message.said); }
        showAll(message.replies, true);
        follow(message.language);
      } else if (message.kind === "staff") {
        showAll(message.replies);
      }
    };
  }

  // Ending a chat: when the end was slow and a poll found the chat gone first, the citizen may
  // have started a new chat meanwhile; that one stays (false).
  function ending() {
    var chat = ready;
    return call("POST", "/chat/api/end").catch(function () { return null; }).then(function () {
      if (ready !== null && ready !== chat) { return false; }
      tell({kind: "ended"});
      keep(null);
      ready = null;
      list.textContent = "";
      return true;
    });
  }

  endChat.addEventListener("click", function () {
    ending().then(function (done) {
      if (done) { ended(); }
      input.focus();
    });
  });
  newChat.addEventListener("click", function () {
    ending().then(function () { return started(); }).then(function () { input.focus(); });
  });
  document.getElementById("language").addEventListener("click", function (event) {
    var language = event.currentTarget.dataset.language;
    if (!token) { return; }  // no chat yet: the page in the other language starts one in it
    event.preventDefault();
    call("POST", "/chat/api/language", {language: language}).then(function () {
      tell({kind: "turn", replies: [], language: language});
      follow(language);
    }, function () { follow(language); });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    var echo = {direction: "in", text: text};
    var said = show(echo);
    send({text: text}, said, echo);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.querySelectorAll("[data-send]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      send({text: link.dataset.send});
      input.focus();
    });
  });
  // Inside embed.js's frame Escape closes the dialog: the host page cannot hear keys in here.
  if (embedded) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { parent.postMessage({balie: "close"}, "*"); }
    });
    window.addEventListener("message", function (event) {
      if (event.source === parent && event.data && event.data.balie === "focus") { input.focus(); }
    });
  }

  newChat.hidden = endChat.hidden = !token;
  if (refocus || embedded) { input.focus(); }
  started().catch(function () { problem.textContent = WORDS.offline; });
  setInterval(poll, 2000);
})();
