// The widget's texts in the visitor's language. Every sentence is written in English as
// t("…", {name: value}) — a plain string literal first, so Babel's javascript extractor finds it
// (channels/web/texts.py does, at start, to know which texts to serve) — or N_("…") for a
// text said later with translated(). The translations come from GET widget/texts/{language}.
//
// Which language: the conversation's once the hub has said something in it (each of its
// messages carries the language it was said in; kept for the next visit), else the first of
// the browser's languages the hub has texts for (LANGUAGES, pasted in by channels/web/assets.py), else
// the hub's languages.default. relabel() (view.js) says the view's texts again on a change.

var SOURCE_LANGUAGE = "en"; // the texts as written
var texts = new Map(); // English -> the current language's, from the hub
var language = SOURCE_LANGUAGE;
var wanted = ""; // the language asked of the hub last (its texts may still be on their way)

function N_(text) { return text; }

// A text in the current language, its {names} filled from values (never parsed as HTML: the
// view puts every text in with textContent or setAttribute).
function translated(text, values) {
  var said = texts.get(text) || text;
  if (!values) return said;
  return said.replace(/\{(\w+)\}/g, function (whole, name) {
    return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
  });
}

function t(text, values) { return translated(text, values); }

// The language of LANGUAGES.known a tag such as "de-DE" or "pt_BR" names: whole, else its
// primary subtag; "" for none.
function knownLanguage(tag) {
  var normal = String(tag || "").toLowerCase().replace(/_/g, "-");
  if (LANGUAGES.known.indexOf(normal) >= 0) return normal;
  var primary = normal.split("-")[0];
  return LANGUAGES.known.indexOf(primary) >= 0 ? primary : "";
}

function browserLanguage() {
  var tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (var i = 0; i < tags.length; i++) {
    var found = knownLanguage(tags[i]);
    if (found) return found;
  }
  return LANGUAGES["default"];
}

// The language the widget starts in: the conversation's from an earlier visit, else the browser's.
function firstLanguage() {
  return knownLanguage(store.get("language")) || browserLanguage();
}

// The conversation is in `tag` (the hub said its last message in it): show the texts in it too.
function followConversation(tag) {
  var found = knownLanguage(tag) || LANGUAGES["default"];
  store.set("language", found);
  useLanguage(found);
}

function useLanguage(tag) {
  if (tag === wanted) return;
  wanted = tag;
  if (tag === SOURCE_LANGUAGE) { showLanguage(tag, new Map()); return; }
  fetch(new URL("widget/texts/" + encodeURIComponent(tag), BASE).href, { credentials: "omit" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (body) {
      if (wanted !== tag) return; // another language was asked for meanwhile
      if (!body || !body.texts || typeof body.texts !== "object") { wanted = ""; return; }
      var table = new Map();
      Object.keys(body.texts).forEach(function (english) {
        if (typeof body.texts[english] === "string") table.set(english, body.texts[english]);
      });
      showLanguage(typeof body.language === "string" ? body.language : tag, table);
    })
    .catch(function () { if (wanted === tag) wanted = ""; }); // offline: the texts stay; the next change asks again
}

function showLanguage(tag, table) {
  language = tag;
  texts = table;
  relabel();
}
