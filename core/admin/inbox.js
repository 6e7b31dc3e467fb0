// The inbox's live part: when the server says the case (or the queue) changed, fetch this
// page again and swap its live region, keeping what the person is typing in the forms.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
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
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh) live.innerHTML = fresh.innerHTML;
        live.dataset.version = fresh ? fresh.dataset.version : live.dataset.version;
      })
      .finally(function () {
        busy = false;
        if (again) refresh();
      });
  }
  new EventSource(live.dataset.events).onmessage = function (event) {
    if (event.data !== live.dataset.version) refresh();
  };
})();
