/*! supporthub chat widget — embed with one tag: <script src="https://HOST/widget.js" defer></script>
 *
 * Dependency-free. Everything lives in an open shadow root, so the host page's CSS cannot
 * reach in and ours cannot leak out. No HTML string is ever parsed: every piece of text,
 * including rendered markdown, is put in the page with createTextNode/textContent.
 * Optional attributes on the script tag: data-title="Help" (header title).
 */
(function () {
  "use strict";
  if (window.__supporthubWidget) return;
  window.__supporthubWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var BASE = new URL(".", script ? script.src : location.href);
  var WS_URL = (BASE.protocol === "https:" ? "wss:" : "ws:") + "//" + BASE.host + BASE.pathname + "widget/ws";
  var KEY = "supporthub:" + BASE.origin + BASE.pathname + ":";
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
  var TYPING_TIMEOUT_MS = 30000;
  var HANDOFF_NOTE = "A person can help \u2014 they\u2019ll reply here.";

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2430}",
    "button{font:inherit;cursor:pointer}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:#3157d5;color:#fff;box-shadow:0 6px 20px rgba(20,30,60,.28);display:flex;align-items:center;justify-content:center;position:relative;transition:transform .15s}",
    ".bubble:hover{transform:scale(1.06)}",
    ".bubble:focus-visible,.send:focus-visible,.close:focus-visible{outline:3px solid #9db2ff;outline-offset:2px}",
    ".bubble svg{width:26px;height:26px;fill:currentColor}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#e5484d;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}",
    ".panel{position:absolute;right:0;bottom:72px;width:370px;height:min(560px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(20,30,60,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden],.badge[hidden],.typing[hidden],.status:empty{display:none}",
    ".header{background:#3157d5;color:#fff;padding:14px 16px;display:flex;align-items:center;gap:10px}",
    ".header h2{margin:0;font-size:16px;font-weight:600}",
    ".titles{flex:1;min-width:0}",
    ".status{display:block;font-size:12px;opacity:.85;font-weight:400}",
    ".close{background:transparent;border:0;color:#fff;width:30px;height:30px;border-radius:6px;display:flex;align-items:center;justify-content:center}",
    ".close:hover{background:rgba(255,255,255,.15)}",
    ".close svg{width:18px;height:18px;fill:currentColor}",
    ".scroll{flex:1;overflow-y:auto;padding:14px 14px 4px;background:#f6f7fb}",
    ".list{display:flex;flex-direction:column;gap:10px}",
    ".empty{color:#6b7285;text-align:center;margin:30px 10px;font-size:13px}",
    ".msg{max-width:85%;padding:9px 12px;border-radius:14px;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg-customer{align-self:flex-end;background:#3157d5;color:#fff;border-bottom-right-radius:4px;white-space:pre-wrap}",
    ".msg-bot,.msg-staff{align-self:flex-start;background:#fff;border:1px solid #e3e6ef;border-bottom-left-radius:4px}",
    ".msg-staff{border-color:#c9d6ff}",
    ".msg.pending{opacity:.6}",
    ".who{font-size:11px;font-weight:600;color:#3157d5;margin-bottom:2px}",
    ".msg p{margin:0 0 6px}.msg p:last-child{margin-bottom:0}",
    ".msg ul,.msg ol{margin:4px 0 6px;padding-left:20px}",
    ".msg code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef0f6;border-radius:4px;padding:1px 4px}",
    ".msg pre{background:#eef0f6;border-radius:6px;padding:8px;overflow-x:auto;margin:4px 0}",
    ".msg pre code{background:none;padding:0}",
    ".msg a{color:#2346b8}",
    ".msg blockquote{margin:4px 0 6px;padding:1px 0 1px 10px;border-left:3px solid #c9d2ea;color:#3b4256}",
    ".note{margin-top:6px;font-size:12px;color:#5d6477;font-style:italic}",
    ".cites{margin-top:8px;display:flex;flex-wrap:wrap;gap:5px;align-items:center}",
    ".cites-label{font-size:11px;color:#6b7285;margin-right:2px}",
    ".cite{font-size:11.5px;background:#eef2ff;color:#2c3f8f;border-radius:10px;padding:2px 8px;text-decoration:none;max-width:100%}",
    "a.cite:hover{text-decoration:underline}",
    ".sys{align-self:center;font-size:12px;color:#9a3b3b;text-align:center}",
    ".typing{display:flex;gap:4px;align-self:flex-start;background:#fff;border:1px solid #e3e6ef;border-radius:14px;border-bottom-left-radius:4px;padding:12px 14px;margin:10px 0 6px;width:max-content}",
    ".typing span{width:7px;height:7px;border-radius:50%;background:#9aa3b8;animation:sh-blink 1.2s infinite ease-in-out}",
    ".typing span:nth-child(2){animation-delay:.2s}.typing span:nth-child(3){animation-delay:.4s}",
    "@keyframes sh-blink{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}",
    ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e6ef;background:#fff}",
    ".input{flex:1;resize:none;border:1px solid #d3d8e5;border-radius:10px;padding:8px 10px;font:inherit;color:inherit;height:40px;max-height:120px;outline:none}",
    ".input:focus{border-color:#3157d5;box-shadow:0 0 0 3px rgba(49,87,213,.15)}",
    ".send{width:40px;height:40px;border:0;border-radius:10px;background:#3157d5;color:#fff;display:flex;align-items:center;justify-content:center}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".send svg{width:18px;height:18px;fill:currentColor}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.root{right:12px;bottom:12px}.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}.open .bubble{display:none}}",
    "@media (prefers-reduced-motion:reduce){.typing span{animation:none}.bubble{transition:none}}",
  ].join("\n");

  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  var ICON_DOWN = "M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z";
  var ICON_SEND = "M3 20.5 21 12 3 3.5V10l12 2-12 2z";

  // --- small DOM helpers -------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var store = {
    get: function (k) { try { return localStorage.getItem(KEY + k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(KEY + k, String(v)); } catch (e) { /* private mode */ } },
  };

  // --- safe markdown: builds DOM nodes, never HTML strings ----------------------------------

  var INLINE = new RegExp(
    [
      "`([^`\\n]+)`", // 1 code
      "\\[([^\\]\\n]+)\\]\\(([^()\\s]+)\\)", // 2,3 link
      "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 4 bold
      "\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*", // 5 italic
      "(https?:\\/\\/[^\\s<>()]*[^\\s<>().,;:!?'\"\\]])", // 6 bare URL
    ].join("|"),
    "g"
  );

  function safeHref(url) {
    if (/[\u0000-\u0020\u007f]/.test(url)) return null; // browsers strip these before the scheme
    if (/^[a-z][a-z0-9+.\-]*:/i.test(url)) return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
    return url; // relative
  }

  function link(href, label) {
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" });
    if (typeof label === "string") a.textContent = label;
    else label.forEach(function (n) { a.appendChild(n); });
    return a;
  }

  function inline(text, noLinks) {
    var out = [];
    var pos = 0;
    var m;
    var re = new RegExp(INLINE.source, "g");
    while ((m = re.exec(text)) !== null) {
      if (m.index > pos) out.push(document.createTextNode(text.slice(pos, m.index)));
      pos = m.index + m[0].length;
      var href;
      if (m[1] !== undefined) out.push(el("code", { text: m[1] }));
      else if (m[2] !== undefined) {
        href = noLinks ? null : safeHref(m[3]);
        if (href) out.push(link(href, inline(m[2], true)));
        else out.push.apply(out, inline(m[2], noLinks));
      } else if (m[4] !== undefined) out.push(el("strong", {}, inline(m[4], noLinks)));
      else if (m[5] !== undefined) out.push(el("em", {}, inline(m[5], noLinks)));
      else if (m[6] !== undefined) out.push(noLinks ? document.createTextNode(m[6]) : link(m[6], m[6]));
    }
    if (pos < text.length) out.push(document.createTextNode(text.slice(pos)));
    return out;
  }

  function inlineLines(lines) {
    var out = [];
    lines.forEach(function (line, i) {
      if (i) out.push(el("br"));
      out.push.apply(out, inline(line.trim(), false));
    });
    return out;
  }

  var BULLET = /^\s*[-*+]\s+(.*)$/;
  var NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
  var FENCE = /^\s*```/;
  var HEADING = /^\s*#{1,6}\s+(.*)$/;
  var QUOTE = /^\s*>\s?(.*)$/;

  function renderMarkdown(text) {
    var frag = document.createDocumentFragment();
    var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    function isBlockStart(line) {
      return /^\s*$/.test(line) || BULLET.test(line) || NUMBERED.test(line) || FENCE.test(line) || HEADING.test(line) || QUOTE.test(line);
    }
    while (i < lines.length) {
      var line = lines[i];
      var m;
      if (/^\s*$/.test(line)) { i++; continue; }
      if (FENCE.test(line)) {
        var code = [];
        for (i++; i < lines.length && !FENCE.test(lines[i]); i++) code.push(lines[i]);
        i++;
        frag.appendChild(el("pre", {}, [el("code", { text: code.join("\n") })]));
      } else if (QUOTE.test(line)) {
        var quoted = [];
        for (; i < lines.length && (m = QUOTE.exec(lines[i])); i++) quoted.push(m[1]);
        frag.appendChild(el("blockquote", {}, [renderMarkdown(quoted.join("\n"))]));
      } else if ((m = HEADING.exec(line))) {
        frag.appendChild(el("p", {}, [el("strong", {}, inline(m[1], false))]));
        i++;
      } else if (BULLET.test(line) || NUMBERED.test(line)) {
        var ordered = !BULLET.test(line);
        var pattern = ordered ? NUMBERED : BULLET;
        var list = el(ordered ? "ol" : "ul");
        if (ordered && NUMBERED.exec(line)[1] !== "1") list.setAttribute("start", NUMBERED.exec(line)[1]);
        for (; i < lines.length && (m = pattern.exec(lines[i])); i++) {
          list.appendChild(el("li", {}, inline(m[ordered ? 2 : 1], false)));
        }
        frag.appendChild(list);
      } else {
        var para = [];
        for (; i < lines.length && (para.length === 0 || !isBlockStart(lines[i])); i++) para.push(lines[i]);
        frag.appendChild(el("p", {}, inlineLines(para)));
      }
    }
    return frag;
  }

  // --- the widget ---------------------------------------------------------------------------

  var title = (script && script.getAttribute("data-title")) || "Help";
  var state = {
    ws: null,
    ready: false, // hello answered on the current socket
    attempt: 0,
    retryTimer: null,
    lastSeen: 0, // newest message id rendered on this page
    maxText: 4000,
    typingFor: 0,
    typingTimer: null,
    unread: 0,
  };
  var byId = new Map(); // message id -> element
  var pending = new Map(); // client id -> {text, node}; resent on every (re)connect until echoed

  var host = el("div", { id: "supporthub-widget" });
  var shadow = host.attachShadow({ mode: "open" });
  var ui = {};
  ui.badge = el("span", { className: "badge", hidden: "", "aria-hidden": "true" });
  ui.bubble = el("button", {
    className: "bubble", type: "button", "data-testid": "bubble",
    "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "sh-panel",
  }, [icon(ICON_CHAT), ui.badge]);
  ui.icons = { closed: ui.bubble.firstChild, open: icon(ICON_DOWN) };
  ui.title = el("h2", { id: "sh-title", text: title });
  ui.status = el("span", { className: "status", role: "status" });
  ui.close = el("button", { className: "close", type: "button", "aria-label": "Close chat" }, [icon(ICON_CLOSE)]);
  ui.list = el("div", {
    className: "list", "data-testid": "messages", role: "log",
    "aria-live": "polite", "aria-relevant": "additions", "aria-labelledby": "sh-title",
  });
  ui.empty = el("p", { className: "empty", text: "Ask us anything \u2014 we usually answer right away." });
  ui.typing = el("div", {
    className: "typing", "data-testid": "typing", hidden: "", role: "status", "aria-label": "Assistant is typing",
  }, [el("span"), el("span"), el("span")]);
  ui.scroll = el("div", { className: "scroll" }, [ui.empty, ui.list, ui.typing]);
  ui.input = el("textarea", {
    className: "input", "data-testid": "input", rows: "1",
    "aria-label": "Type your message", placeholder: "Ask a question\u2026",
  });
  ui.send = el("button", { className: "send", type: "submit", "data-testid": "send", "aria-label": "Send message" }, [icon(ICON_SEND)]);
  ui.form = el("form", { className: "composer" }, [ui.input, ui.send]);
  ui.panel = el("section", {
    className: "panel", id: "sh-panel", "data-testid": "panel", role: "dialog",
    "aria-labelledby": "sh-title", hidden: "",
  }, [el("div", { className: "header" }, [el("div", { className: "titles" }, [ui.title, ui.status]), ui.close]), ui.scroll, ui.form]);
  if (window.CSSStyleSheet && "adoptedStyleSheets" in shadow && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet(); // constructed sheets are not blocked by a page's CSP style-src
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.appendChild(el("style", { text: CSS }));
  }
  ui.root = el("div", { className: "root" }, [ui.panel, ui.bubble]);
  shadow.appendChild(ui.root);

  function isOpen() { return !ui.panel.hidden; }

  function setOpen(open) {
    ui.panel.hidden = !open;
    ui.root.classList.toggle("open", open);
    ui.bubble.setAttribute("aria-expanded", String(open));
    ui.bubble.setAttribute("aria-label", open ? "Close chat" : "Open chat");
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

  function setStatus(text) { ui.status.textContent = text; }

  function citationChip(c) {
    var label = c.section && c.section !== c.title ? c.title + " \u2014 " + c.section : c.title || c.source;
    var attrs = { className: "cite", "data-testid": "citation", title: c.source, text: label };
    if (/^https?:\/\//i.test(c.source || "")) {
      var a = link(c.source, label);
      a.className = "cite";
      a.setAttribute("data-testid", "citation");
      return a;
    }
    return el("span", attrs);
  }

  function renderMessage(f) {
    var node = el("div", { className: "msg msg-" + f.author, "data-testid": "message", "data-author": f.author });
    if (f.created_at) node.title = new Date(f.created_at).toLocaleString();
    if (f.author === "customer") {
      node.textContent = f.text; // customers' words are shown exactly as typed
      return node;
    }
    if (f.author === "staff") node.appendChild(el("div", { className: "who", text: "Support team" }));
    node.appendChild(renderMarkdown(f.text));
    if (f.handoff) node.appendChild(el("div", { className: "note", text: HANDOFF_NOTE }));
    var seen = new Set();
    var chips = (f.citations || []).filter(function (c) {
      var key = c.title + "\u0000" + c.section;
      return !seen.has(key) && seen.add(key);
    });
    if (chips.length) {
      node.appendChild(el("div", { className: "cites" }, [el("span", { className: "cites-label", text: "Sources:" })].concat(chips.map(citationChip))));
    }
    return node;
  }

  function placeInOrder(node, id) {
    node.setAttribute("data-id", String(id));
    byId.set(id, node);
    var after = null;
    for (var child = ui.list.firstChild; child; child = child.nextSibling) {
      var cid = Number(child.getAttribute("data-id"));
      if (!cid || cid > id) { after = child; break; } // pending ones stay at the end
    }
    ui.list.insertBefore(node, after);
  }

  function onMessage(f) {
    ui.empty.hidden = true;
    var mine = f.client_id && pending.get(f.client_id);
    if (mine) pending.delete(f.client_id);
    if (byId.has(f.id)) {
      if (mine) mine.node.remove();
    } else if (mine) {
      mine.node.classList.remove("pending");
      if (f.created_at) mine.node.title = new Date(f.created_at).toLocaleString();
      placeInOrder(mine.node, f.id);
    } else {
      placeInOrder(renderMessage(f), f.id);
    }
    state.lastSeen = Math.max(state.lastSeen, f.id);
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
    ui.list.appendChild(el("div", { className: "sys", role: "alert", text: text }));
    scrollDown();
  }

  function transmit(clientId, text) {
    if (state.ready && state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "message", id: clientId, text: text }));
    }
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text) return;
    if (text.length > state.maxText) {
      systemNote("That message is too long (" + text.length + " of at most " + state.maxText + " characters).");
      return;
    }
    ui.input.value = "";
    ui.empty.hidden = true;
    var clientId = uuid();
    var node = renderMessage({ author: "customer", text: text });
    node.classList.add("pending");
    ui.list.appendChild(node);
    pending.set(clientId, { text: text, node: node });
    transmit(clientId, text);
    if (!state.ws) connect();
    scrollDown();
  }

  function onFrame(event) {
    var f;
    try { f = JSON.parse(event.data); } catch (e) { return; }
    if (f.type === "session") {
      store.set("token", f.token);
      if (f.title && !(script && script.getAttribute("data-title"))) ui.title.textContent = f.title;
      if (f.max_text_length) state.maxText = f.max_text_length;
      state.ready = true;
      state.attempt = 0;
      setStatus("");
      pending.forEach(function (p, clientId) { transmit(clientId, p.text); });
    } else if (f.type === "message") {
      onMessage(f);
    } else if (f.type === "typing") {
      if (!hasReplyAfter(f.message_id || 0)) showTyping(true, f.message_id);
    } else if (f.type === "error") {
      systemNote("Sorry, something went wrong: " + f.reason);
    }
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    var ws;
    try {
      ws = new WebSocket(WS_URL);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.ready = false;
    if (!state.lastSeen) setStatus("Connecting\u2026");
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: store.get("token") || null, after: state.lastSeen }));
    };
    ws.onmessage = onFrame;
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (state.retryTimer) return;
    var delay = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    state.attempt++;
    setStatus("Reconnecting\u2026");
    state.retryTimer = setTimeout(connect, delay * (1 + Math.random() * 0.1));
  }

  ui.bubble.addEventListener("click", function () { setOpen(!isOpen()); });
  ui.close.addEventListener("click", function () { setOpen(false); ui.bubble.focus(); });
  ui.panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { setOpen(false); ui.bubble.focus(); }
  });
  ui.form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  ui.input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  window.addEventListener("online", function () {
    if (!state.ws && state.retryTimer) { state.attempt = 0; connect(); }
  });

  function mount() {
    document.body.appendChild(host);
    // Visitors who never opened the chat get no socket; returning ones catch up at once.
    if (store.get("token")) connect();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
