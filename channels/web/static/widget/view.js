// The view: the bubble and the panel in a shadow root, the messages, streamed drafts,
// feedback, files and the composer. It sends through connection.js (connect, sendFrame),
// which calls the on* functions here with each frame, and setStatus. Its texts are said with
// t() (texts.js); relabel() says the fixed ones again when the language changes.

var TYPING_TIMEOUT_MS = 30000;
var BASE64_CHUNK = 3 * 8192; // a multiple of 3, so the chunks' base64 can be joined

var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
var ICON_DOWN = "M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z";
var ICON_SEND = "M3 20.5 21 12 3 3.5V10l12 2-12 2z";
var ICON_CLIP = "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z";
var ICON_UP = "M1 21h4V9H1zm22-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10a2 2 0 0 0 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73z";
var ICON_THUMB_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2a2 2 0 0 0 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5a2 2 0 0 0-2-2zm4 0v12h4V3z";
var RATINGS = [["up", N_("Helpful"), ICON_UP], ["down", N_("Not helpful"), ICON_THUMB_DOWN]];
var SCALE = [[1, N_("1, bad")], [2, "2"], [3, "3"], [4, "4"], [5, N_("5, great")]]; // the survey's (core.messages.SURVEY_SCORES)
var SURVEY_THANKS = N_("Thank you for your rating!");
var SURVEY_CLOSED = N_("This survey is closed.");

function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  var b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

var byId = new Map(); // message id -> element
var pending = new Map(); // client id -> {text, node, files, ready}; resent on every (re)connect until echoed
var drafts = new Map(); // id of the question -> {node, text, citations, stale}: an answer being streamed
var answered = new Set(); // ids of questions whose stored answer is shown: late stream frames are ignored

var host = el("div", { id: "supporthub-widget" });
var shadow = host.attachShadow({ mode: "open" });
var ui = {};
ui.badge = el("span", { className: "badge", hidden: "", "aria-hidden": "true" });
ui.bubble = el("button", {
  className: brand.launcherText ? "bubble wide" : "bubble", type: "button", "data-testid": "bubble",
  "aria-expanded": "false", "aria-controls": "sh-panel",
}, brand.launcherText
  ? [icon(ICON_CHAT), el("span", { className: "launcher-text", "data-testid": "launcher-text", text: brand.launcherText }), ui.badge]
  : [icon(ICON_CHAT), ui.badge]);
ui.icons = { closed: ui.bubble.firstChild, open: icon(ICON_DOWN) };
ui.title = el("h2", { id: "sh-title" });
ui.status = el("span", { className: "status", role: "status" });
ui.close = el("button", { className: "close", type: "button" }, [icon(ICON_CLOSE)]);
ui.list = el("div", {
  className: "list", "data-testid": "messages", role: "log",
  "aria-live": "polite", "aria-relevant": "additions", "aria-labelledby": "sh-title",
});
ui.empty = el("p", { className: "empty", "data-testid": "greeting" });
ui.typing = el("div", {
  className: "typing", "data-testid": "typing", hidden: "", role: "status",
}, [el("span"), el("span"), el("span")]);
ui.scroll = el("div", { className: "scroll" }, [ui.empty, ui.list, ui.typing]);
ui.files = el("div", { className: "files", "data-testid": "attachments", hidden: "" });
ui.fileInput = el("input", { type: "file", "data-testid": "file-input", hidden: "", tabindex: "-1" });
ui.attach = el("button", { className: "attach", type: "button", "data-testid": "attach" }, [icon(ICON_CLIP)]);
ui.input = el("textarea", { className: "input", "data-testid": "input", rows: "1" });
ui.send = el("button", { className: "send", type: "submit", "data-testid": "send" }, [icon(ICON_SEND)]);
ui.form = el("form", { className: "composer" }, [ui.attach, ui.fileInput, ui.input, ui.send]);
ui.panel = el("section", {
  className: "panel", id: "sh-panel", "data-testid": "panel", role: "dialog",
  "aria-labelledby": "sh-title", hidden: "",
}, [el("div", { className: "header" }, [].concat(
  brand.avatar ? [el("img", { className: "avatar", "data-testid": "avatar", src: brand.avatar, alt: "" })] : [],
  [el("div", { className: "titles" }, [ui.title, ui.status]), ui.close]
)), ui.scroll, ui.files, ui.form]);
if (window.CSSStyleSheet && "adoptedStyleSheets" in shadow && CSSStyleSheet.prototype.replaceSync) {
  var sheet = new CSSStyleSheet(); // constructed sheets are not blocked by a page's CSP style-src
  sheet.replaceSync(CSS);
  shadow.adoptedStyleSheets = [sheet];
} else {
  shadow.appendChild(el("style", { text: CSS }));
}
ui.root = el("div", { className: brand.position === "left" ? "root left" : "root" }, [ui.panel, ui.bubble]);
ui.root.style.setProperty("--accent", brand.color);
ui.root.style.setProperty("--on-accent", brand.onColor);
ui.root.style.setProperty("--accent-ink", brand.ink);
shadow.appendChild(ui.root);
relabel();

function isOpen() { return !ui.panel.hidden; }

function labelBubble() { ui.bubble.setAttribute("aria-label", isOpen() ? t("Close chat") : t("Open chat")); }

// Every fixed text of the view in the current language: at start, and again when it changes.
// The lines already said (notices, the customer's and the hub's messages) stay as they were.
function relabel() {
  ui.root.setAttribute("lang", language);
  labelBubble();
  ui.title.textContent = translated(title);
  ui.close.setAttribute("aria-label", t("Close chat"));
  ui.empty.textContent = translated(brand.greeting);
  ui.typing.setAttribute("aria-label", t("Assistant is typing"));
  ui.attach.setAttribute("aria-label", t("Attach a file"));
  ui.attach.title = t("Attach a file");
  ui.input.setAttribute("aria-label", t("Type your message"));
  ui.input.placeholder = t("Ask a question\u2026");
  ui.send.setAttribute("aria-label", t("Send message"));
  if (ui.status.textContent) setStatus(state.status[0], state.status[1]);
  Array.prototype.forEach.call(ui.list.querySelectorAll(".msg"), labelMessage);
  if (state.file) setFile(state.file);
}

// The texts of a message's controls: sources, the thumbs, the survey's scale and its note.
function labelMessage(node) {
  Array.prototype.forEach.call(node.querySelectorAll(".cites-label"), function (x) { x.textContent = t("Sources:"); });
  Array.prototype.forEach.call(node.querySelectorAll(".who"), function (x) { x.textContent = t("Support team"); });
  Array.prototype.forEach.call(node.querySelectorAll(".rate"), function (x) {
    x.setAttribute("aria-label", t("Was this answer helpful?"));
  });
  Array.prototype.forEach.call(node.querySelectorAll(".thumb"), function (button) {
    var label = translated(button.getAttribute("data-rating") === "up" ? RATINGS[0][1] : RATINGS[1][1]);
    button.setAttribute("aria-label", label);
    button.title = label;
  });
  Array.prototype.forEach.call(node.querySelectorAll(".scale"), function (x) {
    x.setAttribute("aria-label", t("Your rating, from 1 (bad) to 5 (great)"));
  });
  Array.prototype.forEach.call(node.querySelectorAll(".score"), function (button) {
    var label = translated(SCALE[Number(button.getAttribute("data-score")) - 1][1]);
    button.setAttribute("aria-label", label);
    button.title = label;
  });
  var note = node.querySelector(".scale-note");
  if (note) note.textContent = translated(note.getAttribute("data-score") ? SURVEY_THANKS : SURVEY_CLOSED);
}

function setOpen(open) {
  ui.panel.hidden = !open;
  ui.root.classList.toggle("open", open);
  ui.bubble.setAttribute("aria-expanded", String(open));
  labelBubble();
  ui.bubble.replaceChild(open ? ui.icons.open : ui.icons.closed, ui.bubble.firstChild);
  if (open) {
    markRead();
    if (!state.ws) connect();
    scrollDown();
    ui.input.focus();
  }
}

function markRead() {
  state.unread = 0;
  ui.badge.hidden = true;
  if (state.lastSeen) store.set("read", state.lastSeen);
}

function scrollDown() { ui.scroll.scrollTop = ui.scroll.scrollHeight; }

// `text` is English (marked with N_), said now and again should the language change.
function setStatus(text, values) {
  state.status = [text, values];
  ui.status.textContent = text ? translated(text, values) : "";
}

function number(value) {
  try { return value.toLocaleString(language); } catch (e) { return String(value); }
}

function sizeText(bytes) {
  if (bytes >= 1048576) return t("{size} MB", { size: number(Math.round(bytes / 104857.6) / 10) });
  if (bytes >= 1024) return t("{size} KB", { size: number(Math.round(bytes / 102.4) / 10) });
  return t("{size} bytes", { size: number(bytes) });
}

function when(iso) {
  var date = new Date(iso);
  try { return date.toLocaleString(language); } catch (e) { return date.toLocaleString(); }
}

function citationChip(c) {
  var label = c.section && c.section !== c.title ? c.title + " \u2014 " + c.section : c.title || c.source;
  var attrs = { className: "cite", "data-testid": "citation", title: c.source, text: label };
  if (/^https?:\/\//i.test(c.url || "")) {
    var a = link(c.url, label);
    a.className = "cite";
    a.setAttribute("data-testid", "citation");
    return a;
  }
  return el("span", attrs);
}

function fileLine(name) { return el("div", { className: "file", text: "\uD83D\uDCCE " + name }); }

// The answer's body: markdown and the sources (shared by drafts and messages). A handover says
// itself what happens next (a person follows up, or where to write): the widget adds no promise.
function fillAnswer(node, f) {
  node.appendChild(renderMarkdown(f.text));
  var seen = new Set();
  var chips = (f.citations || []).filter(function (c) {
    var key = c.title + "\u0000" + c.section;
    return !seen.has(key) && seen.add(key);
  });
  if (chips.length) {
    node.appendChild(el("div", { className: "cites" }, [el("span", { className: "cites-label", text: t("Sources:") })].concat(chips.map(citationChip))));
  }
}

function ratingButtons(id) {
  return el("div", { className: "rate", role: "group", "aria-label": t("Was this answer helpful?") }, RATINGS.map(function (r) {
    var button = el("button", {
      className: "thumb", type: "button", "data-rating": r[0], "aria-label": translated(r[1]), title: translated(r[1]),
      "aria-pressed": "false",
    }, [icon(r[2])]);
    button.addEventListener("click", function () { rate(id, r[0]); });
    return button;
  }));
}

// The satisfaction survey's question (sent when a person resolved the case): a score from 1
// to 5 in one click; typing the digit works too, as on every other channel.
function scaleButtons(id) {
  return el("div", {
    className: "scale", role: "group", "data-testid": "survey", "aria-label": t("Your rating, from 1 (bad) to 5 (great)"),
  }, SCALE.map(function (s) {
    var button = el("button", {
      className: "score", type: "button", "data-score": String(s[0]), "aria-label": translated(s[1]), title: translated(s[1]),
      "aria-pressed": "false", text: String(s[0]),
    });
    button.addEventListener("click", function () { giveScore(id, s[0]); });
    return button;
  }));
}

function renderMessage(f) {
  var node = el("div", { className: "msg msg-" + f.author, "data-testid": "message", "data-author": f.author });
  if (f.created_at) node.title = when(f.created_at);
  if (f.author === "customer") {
    node.textContent = f.text; // customers' words are shown exactly as typed
    if (f.filename) node.appendChild(fileLine(f.filename));
    else if (!f.text) node.appendChild(fileLine(t("a file"))); // the history keeps no filenames
    return node;
  }
  if (f.author === "staff") node.appendChild(el("div", { className: "who", text: t("Support team") }));
  fillAnswer(node, f);
  if (f.author === "bot" && f.id && !f.survey) node.appendChild(ratingButtons(f.id));
  if (f.survey === "question" && f.id) node.appendChild(scaleButtons(f.id));
  return node;
}

// Messages sit in id order; a draft right after its question; pending ones stay at the end.
function orderKey(node) {
  var id = Number(node.getAttribute("data-id"));
  if (id) return id;
  var question = Number(node.getAttribute("data-reply-to"));
  return question ? question + 0.5 : 0;
}

function insertInOrder(node, key) {
  var after = null;
  for (var child = ui.list.firstChild; child; child = child.nextSibling) {
    var k = orderKey(child);
    if (child !== node && (!k || k > key)) { after = child; break; }
  }
  ui.list.insertBefore(node, after);
}

function placeInOrder(node, id) {
  node.setAttribute("data-id", String(id));
  byId.set(id, node);
  insertInOrder(node, id);
}

function onMessage(f) {
  ui.empty.hidden = true;
  var mine = f.client_id && pending.get(f.client_id);
  if (mine) pending.delete(f.client_id);
  var draft = f.author !== "customer" && f.reply_to ? drafts.get(f.reply_to) : null;
  if (draft) drafts.delete(f.reply_to);
  if (f.author !== "customer" && f.reply_to) answered.add(f.reply_to);
  if (byId.has(f.id)) {
    if (mine) mine.node.remove();
    if (draft) draft.node.remove();
  } else if (mine) {
    mine.node.classList.remove("pending");
    if (f.created_at) mine.node.title = when(f.created_at);
    placeInOrder(mine.node, f.id);
  } else if (draft) {
    var node = renderMessage(f); // the stored answer takes the draft's place
    node.setAttribute("data-id", String(f.id));
    byId.set(f.id, node);
    ui.list.replaceChild(node, draft.node);
  } else {
    placeInOrder(renderMessage(f), f.id);
  }
  state.lastSeen = Math.max(state.lastSeen, f.id);
  if (f.author !== "customer" && typeof f.language === "string") followConversation(f.language);
  if (f.author !== "customer") {
    if (f.id > state.typingFor) showTyping(false);
    if (!isOpen() && f.id > Number(store.get("read") || 0)) {
      state.unread++;
      ui.badge.textContent = String(state.unread);
      ui.badge.hidden = false;
    }
  }
  if (isOpen()) markRead();
  scrollDown();
}

// --- streamed answers ----------------------------------------------------------------------

function renderDraft(d) {
  d.node.textContent = "";
  fillAnswer(d.node, { text: d.text, citations: d.citations });
}

function onDelta(f) {
  var question = f.reply_to;
  if (!question || typeof f.text !== "string" || answered.has(question)) return;
  var d = drafts.get(question);
  if (!d) {
    d = {
      node: el("div", {
        className: "msg msg-bot draft", "data-testid": "draft", "data-author": "bot",
        "data-reply-to": String(question), "aria-busy": "true", // read out once, when stored
      }),
      text: "", citations: [], stale: false,
    };
    drafts.set(question, d);
    ui.empty.hidden = true;
    insertInOrder(d.node, question + 0.5);
  }
  if (d.stale) return; // a socket dropped mid-stream: the rest would have a gap; the stored answer follows
  d.text += f.text;
  renderDraft(d);
  showTyping(false);
  scrollDown();
}

function onCitations(f) {
  var d = drafts.get(f.reply_to);
  if (!d || d.stale) return;
  d.citations = Array.isArray(f.citations) ? f.citations : [];
  renderDraft(d);
  scrollDown();
}

function onReset(f) {
  var d = drafts.get(f.reply_to);
  if (!d) return;
  drafts.delete(f.reply_to);
  d.node.remove();
  if (!answered.has(f.reply_to)) showTyping(true, f.reply_to); // another answer is on its way
}

// --- feedback ------------------------------------------------------------------------------

function rate(id, rating) {
  if (!sendFrame({ type: "feedback", message_id: id, rating: rating })) {
    systemNote(t("Not connected \u2014 please try again in a moment."));
    if (!state.ws) connect();
  }
}

function onFeedback(f) {
  var node = byId.get(f.message_id);
  if (!node) return;
  Array.prototype.forEach.call(node.querySelectorAll(".thumb"), function (button) {
    button.setAttribute("aria-pressed", String(button.getAttribute("data-rating") === f.rating));
  });
}

function giveScore(id, score) {
  if (!sendFrame({ type: "rating", message_id: id, score: score })) {
    systemNote(t("Not connected \u2014 please try again in a moment."));
    if (!state.ws) connect();
  }
}

// A score kept (f.score) or the survey closed (null): the scale is done either way.
function onRating(f) {
  var node = byId.get(f.message_id);
  var scale = node && node.querySelector(".scale");
  if (!scale) return;
  Array.prototype.forEach.call(scale.querySelectorAll(".score"), function (button) {
    button.setAttribute("aria-pressed", String(Number(button.getAttribute("data-score")) === f.score));
    button.disabled = true;
  });
  var said = node.querySelector(".scale-note") || node.appendChild(el("div", { className: "scale-note", role: "status" }));
  said.setAttribute("data-score", f.score ? String(f.score) : "");
  said.textContent = translated(f.score ? SURVEY_THANKS : SURVEY_CLOSED);
}

// --- files ---------------------------------------------------------------------------------

function tooLarge(file) {
  if (file.size <= state.maxFile) return false;
  systemNote(t("{name} is too large to send ({size}; the limit is {limit}).", {
    name: file.name, size: sizeText(file.size), limit: sizeText(state.maxFile),
  }));
  return true;
}

function chooseFile(file) {
  setFile(tooLarge(file) ? null : file);
}

function setFile(file) {
  state.file = file;
  ui.files.textContent = "";
  ui.files.hidden = !file;
  if (!file) return;
  var remove = el("button", { className: "unattach", type: "button", "aria-label": t("Remove {name}", { name: file.name }) }, [icon(ICON_CLOSE)]);
  remove.addEventListener("click", function () { setFile(null); ui.input.focus(); });
  ui.files.appendChild(el("div", { className: "chip", "data-testid": "attachment", title: sizeText(file.size) }, [
    icon(ICON_CLIP), el("span", { className: "chip-name", text: file.name }), remove,
  ]));
}

function toBase64(buffer) {
  var bytes = new Uint8Array(buffer);
  var parts = [];
  for (var i = 0; i < bytes.length; i += BASE64_CHUNK) {
    parts.push(btoa(String.fromCharCode.apply(null, bytes.subarray(i, i + BASE64_CHUNK))));
  }
  return parts.join("");
}

function readFile(file, done) {
  var reader = new FileReader();
  reader.onload = function () {
    var data;
    try { data = toBase64(reader.result); } catch (e) { done(e); return; }
    done(null, { filename: file.name, content_type: file.type, data: data });
  };
  reader.onerror = function () { done(reader.error || new Error("unreadable")); };
  reader.readAsArrayBuffer(file);
}

// --- sending -------------------------------------------------------------------------------

function hasReplyAfter(id) {
  for (var child = ui.list.lastChild; child; child = child.previousSibling) {
    var cid = Number(child.getAttribute("data-id"));
    if (cid && cid > id && child.getAttribute("data-author") !== "customer") return true;
    if (cid && cid <= id) return false;
  }
  return false;
}

function showTyping(on, forId) {
  clearTimeout(state.typingTimer);
  ui.typing.hidden = !on;
  if (on) {
    state.typingFor = forId || state.lastSeen;
    state.typingTimer = setTimeout(function () { showTyping(false); }, TYPING_TIMEOUT_MS);
    scrollDown();
  }
}

function systemNote(text) {
  ui.list.appendChild(el("div", { className: "sys", "data-testid": "notice", role: "alert", text: text }));
  scrollDown();
}

function transmit(clientId, p) {
  if (!p.ready) return; // its file is still being read
  var frame = { type: "message", id: clientId, text: p.text };
  if (p.files) frame.attachments = p.files;
  sendFrame(frame);
}

function submit() {
  var text = ui.input.value.trim();
  var file = state.file;
  if (!text && !file) return;
  if (text.length > state.maxText) {
    systemNote(t("That message is too long ({length} of at most {limit} characters).", {
      length: number(text.length), limit: number(state.maxText),
    }));
    return;
  }
  if (file && tooLarge(file)) { setFile(null); return; }
  ui.input.value = "";
  setFile(null);
  ui.empty.hidden = true;
  var clientId = uuid();
  var node = renderMessage({ author: "customer", text: text, filename: file ? file.name : "" });
  node.classList.add("pending");
  ui.list.appendChild(node);
  var entry = { text: text, node: node, files: null, ready: !file };
  pending.set(clientId, entry);
  if (file) {
    readFile(file, function (error, attachment) {
      if (pending.get(clientId) !== entry) return;
      if (error) {
        pending.delete(clientId);
        node.remove();
        if (!ui.input.value) ui.input.value = text;
        systemNote(t("Sorry, {name} could not be read. Please choose it again.", { name: file.name }));
        return;
      }
      entry.files = [attachment];
      entry.ready = true;
      transmit(clientId, entry);
    });
  } else {
    transmit(clientId, entry);
  }
  if (!state.ws) connect();
  scrollDown();
}

// --- the session ---------------------------------------------------------------------------

function onSession(f) {
  if (f.title && !attr("data-title")) { title = f.title; ui.title.textContent = translated(title); }
  if (f.max_text_length) state.maxText = f.max_text_length;
  if (f.max_file_bytes) state.maxFile = f.max_file_bytes;
  setStatus("");
  if (f.restarted) {
    store.set("language", ""); // that conversation's language is no longer this one's
    systemNote(t("Your earlier conversation has expired, so this is a new one."));
  }
  pending.forEach(function (p, clientId) { transmit(clientId, p); });
}

function onTyping(f) {
  var question = f.message_id || 0;
  if (!hasReplyAfter(question) && !drafts.has(question) && !answered.has(question)) showTyping(true, f.message_id);
}

// Over [limits]: the message was not stored, so it goes back into the box to send later.
// Without a message (too many new sessions from this address) the connection waits, then
// tries again.
function onSlowDown(f) {
  var wait = f.retry_after === 1 ? t("a second") : t("{count} seconds", { count: number(f.retry_after) });
  if (!f.client_id) {
    state.notBefore = Date.now() + f.retry_after * 1000;
    setStatus(N_("Busy right now; trying again in {wait}\u2026"), { wait: wait });
    return;
  }
  var mine = pending.get(f.client_id);
  if (mine) {
    pending.delete(f.client_id);
    mine.node.remove();
    if (!ui.input.value) ui.input.value = mine.text;
  }
  systemNote(t("You're sending messages faster than we can answer. Please wait {wait}, then send it again.", { wait: wait }));
}

// The hub could not store the message just now: it stays pending and goes again after the wait.
function onTryAgain(f) {
  var mine = pending.get(f.client_id);
  if (!mine) return;
  if (!mine.retrying) systemNote(t("We couldn't save your message just now; it will be sent again in a moment."));
  mine.retrying = true;
  clearTimeout(mine.retryTimer);
  mine.retryTimer = setTimeout(function () {
    if (pending.get(f.client_id) === mine) transmit(f.client_id, mine);
  }, Math.max(1, f.retry_after || 5) * 1000);
}

function onError(f) {
  systemNote(t("Sorry, something went wrong: {reason}", { reason: f.reason }));
}

function onDisconnect() {
  drafts.forEach(function (d) { d.stale = true; });
}

// --- controls ------------------------------------------------------------------------------

ui.bubble.addEventListener("click", function () { setOpen(!isOpen()); });
ui.close.addEventListener("click", function () { setOpen(false); ui.bubble.focus(); });
ui.panel.addEventListener("keydown", function (e) {
  if (e.key === "Escape") { setOpen(false); ui.bubble.focus(); }
});
ui.form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
ui.input.addEventListener("keydown", function (e) {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
});
ui.attach.addEventListener("click", function () { ui.fileInput.click(); });
ui.fileInput.addEventListener("change", function () {
  var file = ui.fileInput.files && ui.fileInput.files[0];
  ui.fileInput.value = ""; // choosing the same file again fires change again
  if (file) chooseFile(file);
  ui.input.focus();
});
