// The staff inbox: live updates by server-sent events (polling where a browser cannot stream),
// alerts for new chats, and a reply box that sends without a reload and never loses its text.
// Text is set with textContent only: citizen text never becomes markup.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var csrf = live.dataset.csrf;
  var state = document.getElementById("state");
  var chat = state ? state.dataset.chat : "";
  var list = document.getElementById("messages");
  var scroller = document.getElementById("conversation");
  var box = document.getElementById("reply");
  var status = document.getElementById("reply-status");
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var draftKey = "balie-draft:" + chat;
  var known = null;
  var last = 0;
  var notesShown = "";
  var source = null;
  var audio = null;
  var gone = false;

  function say(element, text) {
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  function expired() {
    if (gone) { return; }
    gone = true;
    saveDraft();
    if (source) { source.close(); }
    document.getElementById("expired").hidden = false;
    say(live, "Niet meer bijgewerkt: je bent niet meer ingelogd.");
  }

  function request(method, path, body) {
    var headers = {Accept: "application/json", "X-CSRF-Token": csrf};
    if (body) { headers["Content-Type"] = "application/x-www-form-urlencoded"; }
    return fetch(path, {method: method, headers: headers, body: body, credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 401) { expired(); }
        return response;
      });
  }

  function json(path) {
    return request("GET", path).then(function (response) {
      if (!response.ok) { throw new Error("http " + response.status); }
      return response.json();
    });
  }

  // -- the queue: tables, tab title, alerts ---------------------------------------------------
  var filled = {};

  // A table is redrawn only when its rows changed, so keyboard focus on a row stays put.
  function fill(id, items, empty, columns) {
    var table = document.getElementById(id);
    var shown = JSON.stringify(items);
    if (!table || filled[id] === shown) { return; }
    filled[id] = shown;
    var body = table.querySelector("tbody");
    var heads = table.querySelectorAll("thead th");
    body.replaceChildren();
    if (!items.length) {
      var row = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = heads.length;
      td.textContent = empty;
      row.appendChild(td);
      body.appendChild(row);
      return;
    }
    items.forEach(function (item) {
      var row = document.createElement("tr");
      [item.question].concat(columns(item)).forEach(function (value, index) {
        var td = document.createElement("td");
        td.dataset.label = heads[index].textContent;
        if (index === 0) {
          var link = document.createElement("a");
          link.href = "/staff/chats/" + encodeURIComponent(item.chat);
          link.textContent = value;
          td.appendChild(link);
        } else {
          td.textContent = value;
        }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  function beep() {
    if (!audio) { return; }
    var tone = audio.createOscillator();
    var gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.1;
    tone.connect(gain);
    gain.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.2);
  }

  function alertNew(rows) {
    beep();
    if (window.Notification && Notification.permission === "granted") {
      rows.forEach(function (row) {
        // The topic only: a notification shows on a locked screen, citizen text does not.
        new Notification("Nieuwe chat in de wachtrij", {body: row.topic + " · " + row.channel,
                                                       tag: "balie-" + row.chat});
      });
    }
  }

  function onQueue(queue) {
    var count = queue.waiting.length;
    document.title = (count ? "(" + count + ") " : "") + baseTitle;
    var ids = queue.waiting.map(function (row) { return row.chat; });
    if (known !== null) {
      var fresh = queue.waiting.filter(function (row) { return known.indexOf(row.chat) < 0; });
      if (fresh.length) { alertNew(fresh); }
    }
    known = ids;
    // A user of several municipalities sees which one a chat is for.
    var common = function (item) {
      var where = item.municipality === undefined ? [] : [item.municipality];
      return [item.topic].concat(where, [item.channel, item.language]);
    };
    fill("mine", queue.mine, "Je hebt nu geen chats.", common);
    fill("waiting", queue.waiting, "Niemand wacht.", function (item) {
      return common(item).concat([item.wait]);
    });
    fill("active", queue.active, "Geen chats bij collega's.", function (item) {
      return common(item).concat([item.owner]);
    });
    var tasks = document.getElementById("tasks");
    var typing = document.activeElement && document.activeElement.tagName !== "BODY";
    if (tasks && queue.tasks.join(",") !== tasks.dataset.ids && !typing) {
      window.location.reload();
    }
  }

  var sound = document.getElementById("sound");
  var notify = document.getElementById("notify");
  if (sound) {
    document.getElementById("alerts").hidden = false;
    var setSound = function (on) {
      sound.setAttribute("aria-pressed", on ? "true" : "false");
      if (on && !audio && window.AudioContext) { audio = new AudioContext(); }
      if (!on) { audio = null; }
      localStorage.setItem("balie-sound", on ? "on" : "off");
    };
    setSound(localStorage.getItem("balie-sound") === "on");
    sound.addEventListener("click", function () {
      setSound(sound.getAttribute("aria-pressed") !== "true");
      beep();
    });
    var showNotify = function () {
      var can = window.Notification && Notification.permission === "default";
      notify.hidden = !can;
      if (window.Notification && Notification.permission === "granted") {
        say(live, "Meldingen staan aan.");
      }
    };
    showNotify();
    // Asked only when staff press the button: a browser refuses a page that asks by itself.
    notify.addEventListener("click", function () {
      Promise.resolve(Notification.requestPermission()).then(showNotify);
    });
  }

  // -- the chat: messages, notes, state ----------------------------------------------------
  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  }

  function addMessage(m) {
    if (m.id <= last) { return; }
    var item = document.createElement("li");
    item.className = "msg " + m.direction;
    item.dataset.id = m.id;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.who + " · " + m.at;
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    item.appendChild(who);
    item.appendChild(text);
    list.appendChild(item);
    last = m.id;
  }

  function showNotes(notes) {
    var shown = JSON.stringify(notes);
    if (shown === notesShown) { return; }
    notesShown = shown;
    var ol = document.getElementById("notes");
    ol.replaceChildren();
    if (!notes.length) {
      var none = document.createElement("li");
      none.textContent = "Nog geen notities.";
      ol.appendChild(none);
    }
    notes.forEach(function (note) {
      var item = document.createElement("li");
      item.className = "note";
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = note.author + " · " + note.at;
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = note.text;
      item.appendChild(who);
      item.appendChild(text);
      ol.appendChild(item);
    });
  }

  function onChat(update) {
    var follow = atBottom();
    update.messages.forEach(addMessage);
    if (follow) { scroller.scrollTop = scroller.scrollHeight; }
    showNotes(update.notes);
    var mine = update.mine ? "yes" : "no";
    if (state.textContent !== update.said && update.mine) { say(status, ""); }
    say(state, update.said);
    // Typed text stays: sending it explains why it cannot go. Without typed text the page
    // reloads to show the controls that fit now.
    if ((update.mode !== state.dataset.mode || mine !== state.dataset.mine) &&
        !(box && box.value.trim())) {
      window.location.reload();
    }
  }

  if (list) {
    list.querySelectorAll("li[data-id]").forEach(function (item) {
      last = Math.max(last, Number(item.dataset.id));
    });
    scroller.scrollTop = scroller.scrollHeight;
  }

  // -- the reply box -----------------------------------------------------------------------
  function saveDraft() {
    if (box && box.value.trim()) { sessionStorage.setItem(draftKey, box.value); }
  }

  function insert(text) {
    box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
    box.focus();
    saveDraft();
  }

  if (box) {
    var form = document.getElementById("reply-form");
    var button = form.querySelector("button[type=submit]");
    var draft = sessionStorage.getItem(draftKey);
    if (draft && !box.value) {
      box.value = draft;
      say(status, "Je eerder getypte tekst staat weer in het vak.");
    }
    box.addEventListener("input", saveDraft);
    var canned = document.getElementById("canned");
    if (canned) {
      canned.addEventListener("change", function () {
        if (canned.value) { insert(canned.value); }
        canned.value = "";
      });
    }
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey &&
          !event.metaKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.altKey && canned && /^Digit[1-9]$/.test(event.code)) {
        var option = canned.querySelector("option[data-key='" + event.code.slice(5) + "']");
        if (option) {
          event.preventDefault();
          insert(option.value);
        }
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!box.value.trim() || button.disabled) { return; }
      button.disabled = true;
      saveDraft();
      request("POST", form.action, new URLSearchParams({text: box.value}))
        .then(function (response) {
          if (response.ok) {
            box.value = "";
            sessionStorage.removeItem(draftKey);
            say(status, "");
            return json("/staff/chats/" + encodeURIComponent(chat) + "/messages.json?after=" +
                        last).then(onChat);
          }
          if (response.status === 401) { return null; }
          return response.json().then(function (answer) {
            say(status, response.status === 409 ? answer.detail :
              "Je bericht is niet verstuurd. Herlaad de pagina; je tekst blijft bewaard.");
          });
        })
        .catch(function () {
          say(status, "Je bericht is niet verstuurd: geen verbinding. Probeer het zo opnieuw; " +
              "je tekst staat nog in het vak.");
        })
        .then(function () { button.disabled = false; });
    });
  }

  var noteForm = document.getElementById("note-form");
  if (noteForm) {
    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var note = document.getElementById("note");
      if (!note.value.trim()) { return; }
      request("POST", noteForm.action, new URLSearchParams({text: note.value}))
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer) {
            note.value = "";
            showNotes(answer.notes);
          }
        })
        .catch(function () {});
    });
  }

  // -- live updates ------------------------------------------------------------------------
  function poll() {
    if (gone) { return; }
    json("/staff/queue.json").then(onQueue).catch(function () {});
    if (chat) {
      json("/staff/chats/" + encodeURIComponent(chat) + "/messages.json?after=" + last)
        .then(onChat).catch(function () {});
    }
  }

  function fallBack() {
    say(live, "Deze pagina werkt zichzelf elke paar seconden bij.");
    poll();
    setInterval(poll, 5000);
  }

  if (!window.EventSource) {
    fallBack();
    return;
  }
  source = new EventSource("/staff/events" + (chat ? "?chat=" + encodeURIComponent(chat) +
                                              "&after=" + last : ""));
  source.addEventListener("queue", function (event) { onQueue(JSON.parse(event.data)); });
  source.addEventListener("chat", function (event) { onChat(JSON.parse(event.data)); });
  source.addEventListener("expired", expired);
  source.onopen = function () { say(live, "Deze pagina werkt zichzelf bij."); };
  source.onerror = function () {
    if (source.readyState !== EventSource.CLOSED) {
      say(live, "Even geen verbinding; de pagina probeert het opnieuw.");
      return;
    }
    // Refused: logged out (then the banner shows), or a proxy that does not stream.
    request("GET", "/staff/queue.json").then(function (response) {
      if (response.ok) { fallBack(); }
    }).catch(fallBack);
  };
})();
