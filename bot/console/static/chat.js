// Balie web chat: talks to /chat/api with a token kept in this browser tab's storage.
// Everything shown is set with textContent: citizen and bot text never becomes markup.
(function () {
  "use strict";
  var root = document.getElementById("main");
  var lang = root.dataset.lang || "nl";
  var log = document.getElementById("log");
  var form = document.getElementById("say");
  var input = document.getElementById("text");
  var status = document.getElementById("status");
  var KEY = "balie-chat-token";
  var WORDS = {
    nl: {you: "Jij", balie: "Balie", offline: "Geen verbinding. We proberen het opnieuw.", sending: "Balie typt…"},
    en: {you: "You", balie: "Balie", offline: "No connection. Trying again.", sending: "Balie is typing…"}
  }[lang] || {};
  var token = sessionStorage.getItem(KEY);

  function show(direction, text, buttons) {
    var item = document.createElement("li");
    item.className = "msg " + direction;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = direction === "in" ? WORDS.you : WORDS.balie;
    var body = document.createElement("span");
    body.className = "text";
    linked(body, text);
    item.appendChild(who);
    item.appendChild(body);
    if (buttons && buttons.length) {
      var group = document.createElement("div");
      group.className = bound(buttons) ? "buttons" : "buttons poll";
      buttons.forEach(function (button) {
        var press = document.createElement("button");
        press.type = "button";
        press.textContent = button.title;
        press.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
          show("in", button.title);
          send({button: button.data});
        });
        group.appendChild(press);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    item.scrollIntoView({block: "end"});
  }

  // Web addresses in Balie's answers become links; everything else stays plain text.
  function linked(into, text) {
    text.split(/(https:\/\/[^\s<>"]+[^\s<>".,;:!?)])/).forEach(function (part, index) {
      if (index % 2 === 1) {
        var link = document.createElement("a");
        link.href = part;
        link.textContent = part;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        into.appendChild(link);
      } else if (part) {
        into.appendChild(document.createTextNode(part));
      }
    });
  }

  // Only the buttons of Balie's latest message work (poll buttons excepted): older ones go
  // once new buttons come or the citizen answers, as on Telegram.
  function bound(buttons) {
    return (buttons || []).some(function (b) { return b.data.indexOf("poll:") !== 0; });
  }

  function dropOldButtons() {
    log.querySelectorAll(".buttons:not(.poll)").forEach(function (group) { group.remove(); });
  }

  function showAll(replies, answering) {
    if (answering || replies.some(function (reply) { return bound(reply.buttons); })) {
      if (replies.length) { dropOldButtons(); }
    }
    replies.forEach(function (reply) { show("out", reply.text, reply.buttons); });
  }

  function call(method, path, body) {
    var headers = {"Content-Type": "application/json"};
    if (token) { headers["X-Chat-Token"] = token; }
    return fetch(path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined})
      .then(function (response) {
        if (response.status === 401) {
          // The chat is unknown here (expired or signed with an old key): start a new one.
          token = null;
          sessionStorage.removeItem(KEY);
          throw new Error("expired");
        }
        if (!response.ok) { throw new Error("http " + response.status); }
        status.textContent = "";
        return response.json();
      });
  }

  function start() {
    return call("POST", "/chat/api/start", {language: lang}).then(function (answer) {
      token = answer.token;
      sessionStorage.setItem(KEY, token);
      showAll(answer.replies);
    });
  }

  function resume() {
    return call("GET", "/chat/api/history").then(function (answer) {
      answer.messages.forEach(function (m) { show(m.direction, m.text); });
    }).catch(function (error) {
      if (error.message !== "expired") { throw error; }
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

  // A message that could not be sent goes back into the input box: nothing is lost.
  function send(body) {
    status.textContent = WORDS.sending;
    return started().then(function () {
      return call("POST", "/chat/api/send", body);
    }).then(function (answer) {
      showAll(answer.replies, true);
    }).catch(function (error) {
      if (error.message === "expired") { ready = null; }
      status.textContent = WORDS.offline;
      if (body.text && !input.value) { input.value = body.text; }
    });
  }

  function poll() {
    if (!token) { return; }
    call("GET", "/chat/api/poll").then(function (answer) { showAll(answer.replies); })
      .catch(function () { status.textContent = WORDS.offline; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    show("in", text);
    send({text: text});
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
    });
  });

  started().catch(function () { status.textContent = WORDS.offline; });
  setInterval(poll, 2000);
})();
