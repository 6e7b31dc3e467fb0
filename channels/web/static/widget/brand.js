// Branding: the hub's [web] settings (BRANDING, pasted in by channels/web/assets.py), each
// overridden by the script tag's data-* attribute: data-color, data-launcher-text,
// data-greeting, data-avatar, data-position. The text on the brand colour is white or black,
// whichever contrasts more — at least 4.58:1 for any colour, over WCAG AA's 4.5:1 — and the
// brand colour used as text on white is darkened until it reaches 4.5:1.

var WHITE = "#ffffff";
var BLACK = "#000000";
var AA = 4.5;

function hexColor(value) {
  var v = String(value || "").trim().toLowerCase();
  if (/^#[0-9a-f]{3}$/.test(v)) v = "#" + v[1] + v[1] + v[2] + v[2] + v[3] + v[3];
  return /^#[0-9a-f]{6}$/.test(v) ? v : "";
}

function luminance(hex) {
  var c = [1, 3, 5].map(function (i) {
    var x = parseInt(hex.substr(i, 2), 16) / 255;
    return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

function contrast(a, b) {
  var x = luminance(a), y = luminance(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

function darker(hex) {
  var out = "#";
  for (var i = 1; i < 7; i += 2) out += ("0" + Math.floor(parseInt(hex.substr(i, 2), 16) * 0.9).toString(16)).slice(-2);
  return out;
}

function inkOnWhite(hex) {
  var c = hex;
  while (contrast(c, WHITE) < AA) c = darker(c);
  return c;
}

function safeImage(value) {
  if (!value) return "";
  try {
    var url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch (e) {
    return "";
  }
}

var brand = (function () {
  var given = attr("data-color");
  var color = hexColor(given) || hexColor(BRANDING.color) || "#3157d5";
  if (given && !hexColor(given)) console.warn("supporthub widget: data-color must be a colour like #0a7d32; using " + color);
  var position = attr("data-position") || BRANDING.position;
  return {
    color: color,
    onColor: contrast(color, WHITE) >= contrast(color, BLACK) ? WHITE : BLACK,
    ink: inkOnWhite(color),
    launcherText: attr("data-launcher-text") || BRANDING.launcher_text || "",
    greeting: attr("data-greeting") || BRANDING.greeting || N_("Ask us anything \u2014 we usually answer right away."),
    avatar: safeImage(attr("data-avatar") || BRANDING.avatar_url),
    position: position === "left" ? "left" : "right",
  };
})();
