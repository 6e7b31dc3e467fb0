// The inbox's live parts: when the server says the case (or the queue) changed, fetch this
// page again and swap each live region (the elements with data-live, by id), leaving the
// forms, and what the person is typing in them, alone.
// On the queue, the tab's title counts the customers waiting for a person ("(2) Inbox"), and
// one more waiting is a browser notification, once the person allowed them (the page offers).
(function () {
  var stream = document.querySelector("[data-events]");
  if (!stream || !window.EventSource) return;
  var busy = false;
  var again = false;
  var waiting = Number(stream.dataset.waiting || 0);
  var offer = document.getElementById("notify-offer");
  if (offer && window.Notification && Notification.permission === "default") {
    offer.hidden = false;
    offer.querySelector("[data-notify]").addEventListener("click", function () {
      Notification.requestPermission().then(function () { offer.hidden = true; });
    });
  }
  function tell(fresh) {
    var queue = fresh.querySelector("[data-waiting]");
    if (!queue) return;
    var now = Number(queue.dataset.waiting || 0);
    if (now > waiting && window.Notification && Notification.permission === "granted") {
      var newest = queue.querySelectorAll("li.queued.waiting");
      var last = newest[newest.length - 1];
      var said = last && last.querySelector(".said");
      var who = last && last.querySelector("strong");
      new Notification(now === 1 ? "A customer is waiting" : now + " customers are waiting", {
        body: (who ? who.textContent + ": " : "") + (said ? said.textContent : ""),
        tag: "supporthub-waiting",
      });
    }
    waiting = now;
  }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.title = fresh.title;
        tell(fresh);
        document.querySelectorAll("[data-live]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (replacement) region.innerHTML = replacement.innerHTML;
        });
        var version = fresh.querySelector("[data-events]");
        if (version) stream.dataset.version = version.dataset.version;
      })
      .finally(function () {
        busy = false;
        if (again) refresh();
      });
  }
  new EventSource(stream.dataset.events).onmessage = function (event) {
    if (event.data !== stream.dataset.version) refresh();
  };
})();
