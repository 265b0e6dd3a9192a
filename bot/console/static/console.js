// Console live updates: the queue and an open chat refresh themselves without a reload.
// Text is set with textContent only: citizen text never becomes markup.
(function () {
  "use strict";
  function json(path) {
    return fetch(path, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("http " + response.status); }
        return response.json();
      });
  }

  function cell(row, text, href) {
    var td = document.createElement("td");
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      td.appendChild(link);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
  }

  function fill(table, items, empty, columns) {
    var body = document.querySelector(table + " tbody");
    body.replaceChildren();
    if (!items.length) {
      var row = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = empty;
      row.appendChild(td);
      body.appendChild(row);
      return;
    }
    items.forEach(function (item) {
      var row = document.createElement("tr");
      cell(row, item.chat, "/staff/chats/" + encodeURIComponent(item.chat));
      columns(item).forEach(function (value) { cell(row, value); });
      body.appendChild(row);
    });
  }

  if (document.getElementById("waiting")) {
    setInterval(function () {
      json("/staff/queue.json").then(function (queue) {
        fill("#waiting", queue.waiting, "Niemand wacht.", function (item) {
          return [item.kind, item.language, Math.floor(item.waited_s / 60) + " min"];
        });
        fill("#active", queue.active, "Geen chats in behandeling.", function (item) {
          return [item.kind, item.language, item.owner];
        });
        var tasks = document.getElementById("tasks");
        var typing = document.activeElement && document.activeElement.tagName !== "BODY";
        if (tasks && queue.tasks.join(",") !== tasks.dataset.ids && !typing) {
          window.location.reload();
        }
      }).catch(function () {});
    }, 3000);
  }

  var state = document.getElementById("state");
  if (state) {
    var list = document.getElementById("messages");
    var chat = state.dataset.chat;
    var last = 0;
    list.querySelectorAll("li[data-id]").forEach(function (item) {
      last = Math.max(last, Number(item.dataset.id));
    });
    setInterval(function () {
      json("/staff/chats/" + encodeURIComponent(chat) + "/messages.json?after=" + last)
        .then(function (update) {
          update.messages.forEach(function (m) {
            var item = document.createElement("li");
            item.className = "msg " + m.direction;
            item.dataset.id = m.id;
            var who = document.createElement("span");
            who.className = "who";
            who.textContent = (m.direction === "in" ? "Burger" : "Balie") + " · " + m.at;
            var text = document.createElement("span");
            text.className = "text";
            text.textContent = m.text;
            item.appendChild(who);
            item.appendChild(text);
            list.appendChild(item);
            last = Math.max(last, m.id);
          });
          var mine = update.mine ? "yes" : "no";
          var typing = document.activeElement && document.activeElement.tagName === "TEXTAREA";
          if ((update.mode !== state.dataset.mode || mine !== state.dataset.mine) && !typing) {
            window.location.reload();
          }
        }).catch(function () {});
    }, 2000);
  }
})();
