// Small DOM helpers for markdown.js and view.js.

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
