// The inbox's live parts: when the server says the case (or the queue) changed, fetch this
// page again and swap each live region (the elements with data-live, by id), leaving the
// forms, and what the person is typing in them, alone.
(function () {
  var stream = document.querySelector("[data-events]");
  if (!stream || !window.EventSource) return;
  var busy = false;
  var again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
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
