/*! supporthub chat widget — embed with one tag: <script src="https://HOST/widget.js" defer></script>
 *
 * Dependency-free. Everything lives in an open shadow root, so the host page's CSS cannot
 * reach in and ours cannot leak out. No HTML string is ever parsed: every piece of text,
 * including rendered markdown, is put in the page with createTextNode/textContent.
 * Optional attributes on the script tag: data-title="Help" (header title); data-email and
 * data-email-signature (the visitor's email and its HMAC-SHA256 under web.identity_secret,
 * computed on the embedding site's server) to link the visitor to their contact.
 *
 * An answer may arrive as a stream (delta/citations/done frames): it is shown as a draft bubble
 * that the stored message, carrying the same reply_to, replaces in place; reset drops it.
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
  var MAX_FILE_BYTES = 10 * 1024 * 1024; // until the server says otherwise
  var BASE64_CHUNK = 3 * 8192; // a multiple of 3, so the chunks' base64 can be joined
  var HANDOFF_NOTE = "A person can help \u2014 they\u2019ll reply here.";

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2430}",
    "button{font:inherit;cursor:pointer}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:#3157d5;color:#fff;box-shadow:0 6px 20px rgba(20,30,60,.28);display:flex;align-items:center;justify-content:center;position:relative;transition:transform .15s}",
    ".bubble:hover{transform:scale(1.06)}",
    ".bubble:focus-visible,.send:focus-visible,.close:focus-visible,.attach:focus-visible,.thumb:focus-visible,.unattach:focus-visible{outline:3px solid #9db2ff;outline-offset:2px}",
    ".bubble svg{width:26px;height:26px;fill:currentColor}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#e5484d;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}",
    ".panel{position:absolute;right:0;bottom:72px;width:370px;height:min(560px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(20,30,60,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden],.badge[hidden],.typing[hidden],.files[hidden],.status:empty{display:none}",
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
    ".file{font-size:12.5px;opacity:.9}",
    ".rate{display:flex;gap:2px;margin:6px -4px -4px 0;justify-content:flex-end}",
    ".thumb{width:26px;height:26px;padding:0;border:1px solid transparent;border-radius:6px;background:transparent;color:#9aa3b8;display:flex;align-items:center;justify-content:center}",
    ".thumb:hover{background:#eef0f6;color:#3157d5}",
    ".thumb[aria-pressed=true]{background:#eef2ff;border-color:#c9d6ff;color:#3157d5}",
    ".thumb svg{width:14px;height:14px;fill:currentColor}",
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
    ".files{display:flex;padding:8px 10px 0;background:#fff;border-top:1px solid #e3e6ef}",
    ".files:not([hidden]) + .composer{border-top:0}",
    ".chip{display:flex;align-items:center;gap:4px;max-width:100%;background:#eef2ff;color:#2c3f8f;border-radius:12px;padding:2px 4px 2px 8px;font-size:12.5px}",
    ".chip-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".chip > svg{width:14px;height:14px;fill:currentColor;flex:none}",
    ".unattach{width:22px;height:22px;padding:0;border:0;border-radius:50%;background:transparent;color:inherit;display:flex;align-items:center;justify-content:center;flex:none}",
    ".unattach:hover{background:#dfe5fb}",
    ".unattach svg{width:14px;height:14px;fill:currentColor}",
    ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e6ef;background:#fff}",
    ".attach{width:32px;height:40px;padding:0;border:0;border-radius:10px;background:transparent;color:#6b7285;display:flex;align-items:center;justify-content:center;flex:none}",
    ".attach:hover{color:#3157d5;background:#eef0f6}",
    ".attach svg{width:20px;height:20px;fill:currentColor}",
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
  var ICON_CLIP = "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z";
  var ICON_UP = "M1 21h4V9H1zm22-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10a2 2 0 0 0 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73z";
  var ICON_THUMB_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2a2 2 0 0 0 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5a2 2 0 0 0-2-2zm4 0v12h4V3z";
  var RATINGS = [["up", "Helpful", ICON_UP], ["down", "Not helpful", ICON_THUMB_DOWN]];

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

  function attr(name) { return (script && script.getAttribute(name)) || ""; }

  var title = attr("data-title") || "Help";
  var identity = attr("data-email") && attr("data-email-signature")
    ? { email: attr("data-email"), signature: attr("data-email-signature") }
    : null;
  var state = {
    ws: null,
    ready: false, // hello answered on the current socket
    attempt: 0,
    retryTimer: null,
    lastSeen: 0, // newest message id rendered on this page
    maxText: 4000,
    maxFile: MAX_FILE_BYTES,
    file: null, // the File chosen for the next message
    typingFor: 0,
    typingTimer: null,
    unread: 0,
  };
  var byId = new Map(); // message id -> element
  var pending = new Map(); // client id -> {text, node, files, ready}; resent on every (re)connect until echoed
  var drafts = new Map(); // id of the question -> {node, text, citations, stale}: an answer being streamed
  var answered = new Set(); // ids of questions whose stored answer is shown: late stream frames are ignored

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
  ui.files = el("div", { className: "files", "data-testid": "attachments", hidden: "" });
  ui.fileInput = el("input", { type: "file", "data-testid": "file-input", hidden: "", tabindex: "-1" });
  ui.attach = el("button", {
    className: "attach", type: "button", "data-testid": "attach", "aria-label": "Attach a file", title: "Attach a file",
  }, [icon(ICON_CLIP)]);
  ui.input = el("textarea", {
    className: "input", "data-testid": "input", rows: "1",
    "aria-label": "Type your message", placeholder: "Ask a question\u2026",
  });
  ui.send = el("button", { className: "send", type: "submit", "data-testid": "send", "aria-label": "Send message" }, [icon(ICON_SEND)]);
  ui.form = el("form", { className: "composer" }, [ui.attach, ui.fileInput, ui.input, ui.send]);
  ui.panel = el("section", {
    className: "panel", id: "sh-panel", "data-testid": "panel", role: "dialog",
    "aria-labelledby": "sh-title", hidden: "",
  }, [el("div", { className: "header" }, [el("div", { className: "titles" }, [ui.title, ui.status]), ui.close]), ui.scroll, ui.files, ui.form]);
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

  function connected() { return state.ready && state.ws && state.ws.readyState === WebSocket.OPEN; }

  function sendFrame(frame) {
    if (!connected()) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function sizeText(bytes) {
    if (bytes >= 1048576) return (Math.round(bytes / 104857.6) / 10) + " MB";
    if (bytes >= 1024) return (Math.round(bytes / 102.4) / 10) + " KB";
    return bytes + " bytes";
  }

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

  function fileLine(name) { return el("div", { className: "file", text: "\uD83D\uDCCE " + name }); }

  // The answer's body: markdown, the handoff note and the sources (shared by drafts and messages).
  function fillAnswer(node, f) {
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
  }

  function ratingButtons(id) {
    return el("div", { className: "rate", role: "group", "aria-label": "Was this answer helpful?" }, RATINGS.map(function (r) {
      var button = el("button", {
        className: "thumb", type: "button", "data-rating": r[0], "aria-label": r[1], title: r[1], "aria-pressed": "false",
      }, [icon(r[2])]);
      button.addEventListener("click", function () { rate(id, r[0]); });
      return button;
    }));
  }

  function renderMessage(f) {
    var node = el("div", { className: "msg msg-" + f.author, "data-testid": "message", "data-author": f.author });
    if (f.created_at) node.title = new Date(f.created_at).toLocaleString();
    if (f.author === "customer") {
      node.textContent = f.text; // customers' words are shown exactly as typed
      if (f.filename) node.appendChild(fileLine(f.filename));
      else if (!f.text) node.appendChild(fileLine("a file")); // the history keeps no filenames
      return node;
    }
    if (f.author === "staff") node.appendChild(el("div", { className: "who", text: "Support team" }));
    fillAnswer(node, f);
    if (f.author === "bot" && f.id) node.appendChild(ratingButtons(f.id));
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
      if (f.created_at) mine.node.title = new Date(f.created_at).toLocaleString();
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
      systemNote("Not connected \u2014 please try again in a moment.");
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

  // --- files ---------------------------------------------------------------------------------

  function tooLarge(file) {
    if (file.size <= state.maxFile) return false;
    systemNote(file.name + " is too large to send (" + sizeText(file.size) + "; the limit is " + sizeText(state.maxFile) + ").");
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
    var remove = el("button", { className: "unattach", type: "button", "aria-label": "Remove " + file.name }, [icon(ICON_CLOSE)]);
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
      systemNote("That message is too long (" + text.length + " of at most " + state.maxText + " characters).");
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
          systemNote("Sorry, " + file.name + " could not be read. Please choose it again.");
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

  function onFrame(event) {
    var f;
    try { f = JSON.parse(event.data); } catch (e) { return; }
    if (f.type === "session") {
      store.set("token", f.token);
      if (f.title && !attr("data-title")) ui.title.textContent = f.title;
      if (f.max_text_length) state.maxText = f.max_text_length;
      if (f.max_file_bytes) state.maxFile = f.max_file_bytes;
      state.ready = true;
      state.attempt = 0;
      setStatus("");
      pending.forEach(function (p, clientId) { transmit(clientId, p); });
    } else if (f.type === "message") {
      onMessage(f);
    } else if (f.type === "typing") {
      var question = f.message_id || 0;
      if (!hasReplyAfter(question) && !drafts.has(question) && !answered.has(question)) showTyping(true, f.message_id);
    } else if (f.type === "delta") {
      onDelta(f);
    } else if (f.type === "citations") {
      onCitations(f);
    } else if (f.type === "reset") {
      onReset(f);
    } else if (f.type === "feedback") {
      onFeedback(f);
    } else if (f.type === "error") {
      systemNote("Sorry, something went wrong: " + f.reason);
    } // "done": the stored message follows and replaces the draft
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
      var hello = { type: "hello", token: store.get("token") || null, after: state.lastSeen };
      if (identity) hello.identity = identity;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = onFrame;
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      drafts.forEach(function (d) { d.stale = true; });
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
  ui.attach.addEventListener("click", function () { ui.fileInput.click(); });
  ui.fileInput.addEventListener("change", function () {
    var file = ui.fileInput.files && ui.fileInput.files[0];
    ui.fileInput.value = ""; // choosing the same file again fires change again
    if (file) chooseFile(file);
    ui.input.focus();
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
