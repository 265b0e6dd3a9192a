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
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    if (buttons && buttons.length) {
      var group = document.createElement("div");
      group.className = "buttons";
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

  function showAll(replies) {
    replies.forEach(function (reply) { show("out", reply.text, reply.buttons); });
  }

  function call(method, path, body) {
    var headers = {"Content-Type": "application/json"};
    if (token) { headers["X-Chat-Token"] = token; }
    return fetch(path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined})
      .then(function (response) {
        if (response.status === 401) { throw new Error("expired"); }
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
      token = null;
      sessionStorage.removeItem(KEY);
      return start();
    });
  }

  function send(body) {
    status.textContent = WORDS.sending;
    return call("POST", "/chat/api/send", body).then(function (answer) {
      showAll(answer.replies);
    }).catch(function () {
      status.textContent = WORDS.offline;
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

  (token ? resume() : start()).catch(function () { status.textContent = WORDS.offline; });
  setInterval(poll, 2000);
})();
