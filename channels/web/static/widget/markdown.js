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
  if (/^[\/\\]{2}/.test(url)) return null; // "//host/p" is another site; browsers read "\" as "/" here
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
var DELIMITER_CELL = /^(:?)-+(:?)$/;

// GFM tables. A row's cells are split at unescaped pipes (a leading and a trailing one are
// borders); `\|` stands for a pipe in a cell's text, even inside code.
function splitRow(line) {
  var s = line.trim().replace(/^\|/, "");
  var cells = [];
  var cell = "";
  var border = false;
  for (var k = 0; k < s.length; k++) {
    var c = s.charAt(k);
    border = c === "|";
    if (border) { cells.push(cell); cell = ""; }
    else if (c === "\\" && k + 1 < s.length) cell += c + s.charAt(++k);
    else cell += c;
  }
  if (!border) cells.push(cell);
  return cells.map(function (text) { return text.trim().replace(/\\\|/g, "|"); });
}

function hasPipe(line) { return line.replace(/\\./g, "").indexOf("|") !== -1; }

// "left", "right", "center" or "" for each column, or null when the line is no delimiter row.
function alignments(line) {
  if (!hasPipe(line)) return null;
  var aligns = [];
  var cells = splitRow(line);
  for (var k = 0; k < cells.length; k++) {
    var m = DELIMITER_CELL.exec(cells[k]);
    if (!m) return null;
    aligns.push(m[1] && m[2] ? "center" : m[2] ? "right" : m[1] ? "left" : "");
  }
  return aligns;
}

// The columns' alignments when lines[i] is a table's header row, else null.
function tableAt(lines, i) {
  if (i + 1 >= lines.length || !hasPipe(lines[i])) return null;
  var aligns = alignments(lines[i + 1]);
  return aligns && aligns.length === splitRow(lines[i]).length ? aligns : null;
}

function tableRow(line, tag, aligns) {
  var cells = splitRow(line);
  return el("tr", {}, aligns.map(function (align, k) {
    return el(tag, align ? { className: "align-" + align } : {}, inline(cells[k] || "", false));
  }));
}

// The header row, the delimiter row and the body rows; wrapped so that a wide table scrolls
// inside its bubble instead of widening the widget.
function renderTable(rows, aligns) {
  var parts = [el("thead", {}, [tableRow(rows[0], "th", aligns)])];
  if (rows.length > 2) parts.push(el("tbody", {}, rows.slice(2).map(function (row) { return tableRow(row, "td", aligns); })));
  return el("div", { className: "table-scroll" }, [el("table", {}, parts)]);
}

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
    var aligns;
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
    } else if ((aligns = tableAt(lines, i))) {
      var end = i + 2;
      while (end < lines.length && lines[end].indexOf("|") !== -1 && !isBlockStart(lines[end])) end++;
      frag.appendChild(renderTable(lines.slice(i, end), aligns));
      i = end;
    } else {
      var para = [];
      for (; i < lines.length && (para.length === 0 || !(isBlockStart(lines[i]) || tableAt(lines, i))); i++) para.push(lines[i]);
      frag.appendChild(el("p", {}, inlineLines(para)));
    }
  }
  return frag;
}
