// The connection: one websocket at a time, the hello that resumes the session after the
// last message seen, and reconnecting with backoff. Each frame received goes to the view's
// handler for it (view.js: onSession, onMessage, onTyping, …), a lost socket to onDisconnect.

var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

function connected() { return state.ready && state.ws && state.ws.readyState === WebSocket.OPEN; }

function sendFrame(frame) {
  if (!connected()) return false;
  state.ws.send(JSON.stringify(frame));
  return true;
}

function onFrame(event) {
  var f;
  try { f = JSON.parse(event.data); } catch (e) { return; }
  if (f.type === "session") {
    store.set("token", f.token);
    state.ready = true;
    state.attempt = 0;
    onSession(f);
  } else if (f.type === "message") {
    onMessage(f);
  } else if (f.type === "typing") {
    onTyping(f);
  } else if (f.type === "delta") {
    onDelta(f);
  } else if (f.type === "citations") {
    onCitations(f);
  } else if (f.type === "reset") {
    onReset(f);
  } else if (f.type === "feedback") {
    onFeedback(f);
  } else if (f.type === "rating") {
    onRating(f);
  } else if (f.type === "slow_down") {
    onSlowDown(f);
  } else if (f.type === "try_again") {
    onTryAgain(f);
  } else if (f.type === "error") {
    onError(f);
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
  if (!state.lastSeen) setStatus(N_("Connecting\u2026"));
  ws.onopen = function () {
    var hello = { type: "hello", token: store.get("token") || null, after: state.lastSeen, language: wanted || language };
    if (identity) hello.identity = identity;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = onFrame;
  ws.onclose = function () {
    if (state.ws !== ws) return;
    state.ws = null;
    state.ready = false;
    onDisconnect();
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (state.retryTimer) return;
  var delay = Math.max(BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)], state.notBefore - Date.now());
  state.attempt++;
  if (state.notBefore <= Date.now()) setStatus(N_("Reconnecting\u2026"));
  state.retryTimer = setTimeout(connect, delay * (1 + Math.random() * 0.1));
}

window.addEventListener("online", function () {
  if (!state.ws && state.retryTimer) { state.attempt = 0; connect(); }
});
