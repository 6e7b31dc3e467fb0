// Safe markdown: builds DOM nodes, never HTML strings. Used by view.js (renderMarkdown,
// and link for citations).

var INLINE = new RegExp(
  [
    "`([^`\\n]+)`", // 1 code
    "\\[([^\\]\\n]+)\\]\\(([^()\\s]+)\\)", // 2,3 link
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 4 bold
    "\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*", // 5 italic
    "(https?:\\/\\/[^\\s<>()]*[^\\s<>().,;:!?'\"\\]])", // 6 bare URL
    "\\\\([!-\\/:-@\\[-`{-~])", // 7 backslash escape: the bot quotes customers' words this way
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
    else if (m[7] !== undefined) out.push(document.createTextNode(m[7]));
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
