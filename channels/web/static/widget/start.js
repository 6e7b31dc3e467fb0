// Runs last, once every part is defined: puts the widget in the page.

function mount() {
  document.body.appendChild(host);
  useLanguage(firstLanguage());
  // Visitors who never opened the chat get no socket; returning ones catch up at once.
  if (store.get("token")) connect();
}
if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
