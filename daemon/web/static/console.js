// The voiced console: plain DOM, no framework, no build step.
"use strict";

const WRITE_HEADERS = { "X-Voiced-Console": "1" };
const STATE_NAMES = {
  idle: "listening", "follow-up": "listening", recording: "recording",
  transcribing: "thinking", thinking: "thinking", speaking: "speaking",
};
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function api(path, options) {
  const response = await fetch(path, { credentials: "same-origin", ...(options || {}) });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return { ok: response.ok, status: response.status, body };
}

function writeJson(method, path, data) {
  return api(path, {
    method,
    headers: { "Content-Type": "application/json", ...WRITE_HEADERS },
    body: JSON.stringify(data),
  });
}

function showMessage(id, text, ok) {
  const node = $(id);
  node.textContent = text;
  node.className = "message " + (ok ? "ok" : "error");
}

// --- live state ------------------------------------------------------------------------------

function showState(data) {
  const badge = $("state");
  const name = STATE_NAMES[data.state] || data.state;
  badge.textContent = name;
  badge.dataset.state = data.state;
  badge.className = "state " + name.split(" ")[0];
}

function showLevel(data) {
  $("level").value = data.dbfs;
  $("level-text").textContent = `${Math.round(data.dbfs)} dB`;
  $("wake").value = data.wake;
  $("wake-text").textContent = data.wake.toFixed(2);
}

function listen() {
  const events = new EventSource("/api/events");
  events.addEventListener("state", (e) => showState(JSON.parse(e.data)));
  events.addEventListener("level", (e) => showLevel(JSON.parse(e.data)));
  events.addEventListener("turn", (e) => { addTurn(JSON.parse(e.data)); loadLatency(); });
  events.addEventListener("persona", (e) => showPersona(JSON.parse(e.data)));
}

// --- conversation ------------------------------------------------------------------------------

function bubble(who, text, extra) {
  return el("div", {}, el("span", { className: "who", textContent: who }),
    el("span", { className: "text", textContent: text }), extra || null);
}

function addTurn(turn) {
  const spoken = (turn.reply_text || []).join(" ");
  const v2v = turn.timings && turn.timings.voice_to_voice_ms;
  const item = el("li", { className: turn.outcome === "ok" ? "turn" : "turn failed" },
    bubble("you", turn.asr_text || "-"), bubble($("persona-name").textContent, spoken || "-"),
    el("div", { className: "meta", textContent:
      `${turn.outcome} · ${turn.reply_source || "-"} · v2v ${v2v ? Math.round(v2v) + " ms" : "-"}` }));
  appendTurn(item);
}

function addConsoleTurn(turn) {
  const item = el("li", { className: turn.outcome === "ok" ? "chat" : "chat failed" });
  item.dataset.outcome = turn.outcome;
  item.append(bubble(turn.via === "talk" ? "you (talk)" : "you (typed)", turn.request || "-"));
  let player = null;
  if (turn.audio_url) {
    player = el("audio", { controls: true, src: turn.audio_url, preload: "auto" });
  }
  item.append(bubble($("persona-name").textContent, turn.reply || "(silence)", player));
  item.append(el("div", { className: "meta", textContent:
    `${turn.outcome} · ${turn.source} · ${Math.round(turn.seconds * 1000)} ms` +
    (turn.detail ? ` · ${turn.detail}` : "") }));
  appendTurn(item);
  if (player) player.play().catch(() => {});  // autoplay may be refused; the control stays
}

function appendTurn(item) {
  const list = $("conversation");
  list.append(item);
  while (list.children.length > 100) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

async function loadTurns() {
  const answer = await api("/api/turns?last=20");
  if (!answer.ok) return;
  for (const turn of answer.body.turns) addTurn(turn);
  showLatency(answer.body);
}

async function loadLatency() {
  const answer = await api("/api/turns?last=100");
  if (answer.ok) showLatency(answer.body);
}

function showLatency(data) {
  const stats = data.voice_to_voice_ms;
  if (!stats.n) { $("latency").textContent = "no turns yet"; return; }
  $("latency").textContent =
    `p50 ${Math.round(stats.p50)} ms · p95 ${Math.round(stats.p95)} ms · ${stats.n} turns`;
  const values = data.turns.map((t) => t.timings && t.timings.voice_to_voice_ms).filter((v) => v);
  const top = Math.max(...values, 1);
  const step = values.length > 1 ? 300 / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(78 - 76 * v / top).toFixed(1)}`);
  const chart = $("latency-chart");
  chart.replaceChildren();
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  chart.append(line);
}

// --- chat and push-to-talk ------------------------------------------------------------------------

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text) return;
  $("chat-send").disabled = true;
  showMessage("chat-message", "…", true);
  const answer = await writeJson("POST", "/api/chat", { text });
  $("chat-send").disabled = false;
  if (!answer.ok) {
    showMessage("chat-message", answer.body ? answer.body.error.message : `HTTP ${answer.status}`);
    return;
  }
  input.value = "";
  showMessage("chat-message", "", true);
  addConsoleTurn(answer.body);
}

const recorder = { context: null, stream: null, node: null, chunks: [] };

async function startTalking() {
  try {
    recorder.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    showMessage("chat-message", `microphone: ${e.message}`);
    return;
  }
  recorder.context = new AudioContext();
  const source = recorder.context.createMediaStreamSource(recorder.stream);
  recorder.node = recorder.context.createScriptProcessor(4096, 1, 1);
  recorder.chunks = [];
  recorder.node.onaudioprocess = (e) => recorder.chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  source.connect(recorder.node);
  recorder.node.connect(recorder.context.destination);
  $("talk").classList.add("recording");
}

async function stopTalking() {
  if (!recorder.context) return;
  $("talk").classList.remove("recording");
  const rate = recorder.context.sampleRate;
  recorder.node.disconnect();
  recorder.stream.getTracks().forEach((t) => t.stop());
  await recorder.context.close();
  recorder.context = null;
  const wav = encodeWav(recorder.chunks, rate);
  showMessage("chat-message", "…", true);
  const answer = await api("/api/talk", { method: "POST", headers: { "Content-Type": "audio/wav", ...WRITE_HEADERS }, body: wav });
  if (!answer.ok) {
    showMessage("chat-message", answer.body ? answer.body.error.message : `HTTP ${answer.status}`);
    return;
  }
  showMessage("chat-message", "", true);
  addConsoleTurn(answer.body);
}

function encodeWav(chunks, rate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const view = new DataView(new ArrayBuffer(44 + length * 2));
  const text = (at, s) => { for (let i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + length * 2, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data");
  view.setUint32(40, length * 2, true);
  let at = 44;
  for (const chunk of chunks) {
    for (const x of chunk) { view.setInt16(at, Math.max(-1, Math.min(1, x)) * 32767, true); at += 2; }
  }
  return new Blob([view], { type: "audio/wav" });
}

// --- persona and health ---------------------------------------------------------------------------

function showPersona(data) {
  $("persona-name").textContent = data.name;
  document.title = `${data.name} · voiced`;
}

async function loadPersona() {
  const answer = await api("/api/persona");
  if (!answer.ok) return;
  $("persona-text").value = answer.body.text;
  $("persona-path").textContent = answer.body.path;
}

async function savePersona() {
  const answer = await writeJson("PUT", "/api/persona", { text: $("persona-text").value });
  if (answer.ok) {
    showMessage("persona-message", `saved and reloaded: ${answer.body.name} (${answer.body.language})`, true);
    showPersona(answer.body);
  } else {
    const err = answer.body ? answer.body.error : { message: `HTTP ${answer.status}` };
    showMessage("persona-message", err.message);
    $("persona-message").dataset.field = err.field || "";
  }
}

async function loadHealth() {
  const list = $("health");
  list.replaceChildren(el("li", { textContent: "checking…" }));
  const answer = await api("/api/health");
  list.replaceChildren();
  if (!answer.ok) { list.append(el("li", { className: "fail", textContent: `HTTP ${answer.status}` })); return; }
  for (const check of answer.body.checks) {
    list.append(el("li", { className: check.status, textContent: `${check.status.toUpperCase()} ${check.name}: ${check.text}` }));
  }
}

async function loadSummary() {
  const answer = await api("/api/summary");
  if (!answer.ok) return;
  const s = answer.body;
  showPersona(s.persona);
  showState(s.state);
  const llm = s.llm ? `${s.llm.model} at ${s.llm.url}` : "no LLM";
  $("backends").textContent = `wake ${s.wake} · asr ${s.asr} · tts ${s.tts} · ${llm}`;
  for (const id of ["chat-send", "talk", "persona-save"]) $(id).disabled = !s.can_write;
  if (!s.can_write) showMessage("chat-message", "read-only: open the console with ?token=... to chat or edit");
}

document.addEventListener("DOMContentLoaded", async () => {
  $("chat-form").addEventListener("submit", sendChat);
  $("persona-save").addEventListener("click", savePersona);
  $("health-refresh").addEventListener("click", loadHealth);
  const talk = $("talk");
  talk.addEventListener("pointerdown", startTalking);
  talk.addEventListener("pointerup", stopTalking);
  talk.addEventListener("pointerleave", stopTalking);
  await loadSummary();
  listen();
  await Promise.all([loadTurns(), loadPersona(), loadHealth()]);
  document.body.dataset.ready = "1";
});
