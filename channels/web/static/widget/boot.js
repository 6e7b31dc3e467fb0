/*! supporthub chat widget — embed with one tag: <script src="https://HOST/widget.js" defer></script>
 *
 * Dependency-free. Everything lives in an open shadow root, so the host page's CSS cannot
 * reach in and ours cannot leak out. No HTML string is ever parsed: every piece of text,
 * including rendered markdown, is put in the page with createTextNode/textContent.
 * Optional attributes on the script tag: data-title="Help" (header title); data-color,
 * data-launcher-text, data-greeting, data-avatar, data-position (branding, over the hub's [web]
 * settings: brand.js); data-email and data-email-signature (the visitor's email and its
 * HMAC-SHA256 under web.identity_secret, computed on the embedding site's server) to link the
 * visitor to their contact.
 *
 * An answer may arrive as a stream (delta/citations/done frames): it is shown as a draft bubble
 * that the stored message, carrying the same reply_to, replaces in place; reset drops it.
 */

// The widget is one function cut into files with one job each: channels/web/assets.py
// pastes them into it in a fixed order (and widget.css as the string CSS), so a name
// declared in one part is visible in all of them, as in a single file.
//
// This part runs first: the guard against a second copy on the page, where the script
// came from and what its tag says, the visitor's storage, and the state that the view
// and the connection share.

if (window.__supporthubWidget) return;
window.__supporthubWidget = true;

var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
var BASE = new URL(".", script ? script.src : location.href);
var WS_URL = (BASE.protocol === "https:" ? "wss:" : "ws:") + "//" + BASE.host + BASE.pathname + "widget/ws";
var KEY = "supporthub:" + BASE.origin + BASE.pathname + ":";

function attr(name) { return (script && script.getAttribute(name)) || ""; }

var title = attr("data-title") || N_("Help"); // said with translated(): an operator's .po may say the site's own
var identity = attr("data-email") && attr("data-email-signature")
  ? { email: attr("data-email"), signature: attr("data-email-signature") }
  : null;

var store = {
  get: function (k) { try { return localStorage.getItem(KEY + k); } catch (e) { return null; } },
  set: function (k, v) { try { localStorage.setItem(KEY + k, String(v)); } catch (e) { /* private mode */ } },
};

var MAX_FILE_BYTES = 10 * 1024 * 1024; // until the server says otherwise
var state = {
  ws: null,
  ready: false, // hello answered on the current socket
  attempt: 0,
  retryTimer: null,
  notBefore: 0, // no reconnect before this time (ms): the hub opens no new session until then
  lastSeen: 0, // newest message id rendered on this page
  maxText: 4000,
  maxFile: MAX_FILE_BYTES,
  file: null, // the File chosen for the next message
  typingFor: 0,
  typingTimer: null,
  unread: 0,
  status: ["", null], // the status line's text (English) and values, said again on a change of language
};
