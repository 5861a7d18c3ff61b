// LeNet.NET page: a drawing pad that asks POST /api/predict?layers=true while you draw, and shows
// the guesses, the 28x28 input the network sees, and every layer's output. Plain JavaScript, no build.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad"), ctx = pad.getContext("2d", { willReadFrequently: true });
const state = {
  model: null,          // name of the selected model
  details: {},          // name -> GET /api/models/{name} (summary and kernels)
  erasing: false,
  drawing: false,
  blank: true,
  undo: [],
  inFlight: false,
  pending: false,
  last: null,           // last predict response
  view: null,           // where an uploaded image sits on the pad: {s, ox, oy} (null: the pad's own pixels)
  hidden: new Set(),    // layer names the user hid
  selected: null,       // {layer, index, x, y}
  layerKey: "",
};

// ---------- drawing pad ----------
function resetPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}
resetPad();

function setBlank(blank) {
  state.blank = blank;
  $("pad-hint").classList.toggle("hidden", !blank);
}

function pointFrom(e) {
  const r = pad.getBoundingClientRect();
  return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
}

function brushWidth(e) {
  const base = Number($("brush").value) * (state.erasing ? 1.6 : 1);
  // Pens report pressure; mice report 0.5 while pressed.
  return e.pointerType === "pen" && e.pressure > 0 ? base * (0.5 + e.pressure) : base;
}

function stroke(from, to, width) {
  ctx.strokeStyle = ctx.fillStyle = state.erasing ? "#fff" : "#111";
  ctx.lineWidth = width;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

let lastPoint = null;
pad.addEventListener("pointerdown", (e) => {
  if (e.button !== 0 && e.pointerType === "mouse") return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  pushUndo();
  state.drawing = true;
  lastPoint = pointFrom(e);
  stroke(lastPoint, { x: lastPoint.x + 0.01, y: lastPoint.y }, brushWidth(e));
  if (!state.erasing) setBlank(false);
  schedulePredict();
});
pad.addEventListener("pointermove", (e) => {
  if (!state.drawing) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = pointFrom(ev);
    stroke(lastPoint, p, brushWidth(ev));
    lastPoint = p;
  }
  schedulePredict();
});
const endStroke = () => {
  if (!state.drawing) return;
  state.drawing = false;
  if (state.erasing) setBlank(isPadBlank());
  schedulePredict();
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function isPadBlank() {
  const data = ctx.getImageData(0, 0, pad.width, pad.height).data;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 200) return false;
  return true;
}

function pushUndo() {
  state.undo.push({ image: ctx.getImageData(0, 0, pad.width, pad.height), blank: state.blank });
  if (state.undo.length > 40) state.undo.shift();
}

function undo() {
  const s = state.undo.pop();
  if (!s) return;
  ctx.putImageData(s.image, 0, 0);
  setBlank(s.blank);
  schedulePredict();
}

function clearPad() {
  if (!state.blank) pushUndo();
  resetPad();
  setBlank(true);
  showEmpty();
}

function setTool(erasing) {
  state.erasing = erasing;
  $("pen").setAttribute("aria-pressed", String(!erasing));
  $("eraser").setAttribute("aria-pressed", String(erasing));
}

$("pen").addEventListener("click", () => setTool(false));
$("eraser").addEventListener("click", () => setTool(true));
$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearPad);
$("brush").addEventListener("input", () => { $("brush-value").value = $("brush").value; });
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); undo(); }
  else if (e.key === "Delete") clearPad();
  else if (e.key === "p" || e.key === "P") setTool(false);
  else if (e.key === "e" || e.key === "E") setTool(true);
  else if (e.key === "Escape") closeDetail();
});

// ---------- uploads ----------
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) upload(file);
  $("file").value = "";
});
const wrap = $("pad-wrap");
wrap.addEventListener("dragover", (e) => { e.preventDefault(); wrap.classList.add("dragging"); });
wrap.addEventListener("dragleave", () => wrap.classList.remove("dragging"));
wrap.addEventListener("drop", (e) => {
  e.preventDefault();
  wrap.classList.remove("dragging");
  const file = e.dataTransfer.files[0];
  if (file) upload(file);
});

async function upload(file) {
  setStatus(`Reading ${file.name}…`);
  const result = await callPredict(file, file.type || "application/octet-stream", true);
  if (!result) return;
  // Show the uploaded picture on the pad, so drawing can go on from it.
  try {
    const bitmap = await createImageBitmap(file);
    pushUndo();
    resetPad();
    const s = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * s, h = bitmap.height * s;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    state.view = { s, ox: (pad.width - w) / 2, oy: (pad.height - h) / 2 };
    setBlank(false);
    drawBoxes(result);
  } catch { /* the server read it; the browser could not draw it (e.g. BMP variants): keep the result */ }
  setStatus(`${file.name}: read as ${result.number}${result.uncertain ? " (unsure)" : ""}.`);
}

// The box of every digit read, on the pad: green when sure, orange when unsure.
function drawBoxes(r) {
  const c = $("boxes").getContext("2d");
  c.clearRect(0, 0, pad.width, pad.height);
  if (!r || !r.digits) return;
  const v = state.view ?? { s: 1, ox: 0, oy: 0 };
  c.lineWidth = 2;
  c.font = "bold 14px system-ui, sans-serif";
  for (const d of r.digits) {
    const [x, y, w, h] = d.box;
    const bx = v.ox + x * v.s, by = v.oy + y * v.s;
    c.strokeStyle = c.fillStyle = d.uncertain ? "#ef6c00" : "#2e7d32";
    c.strokeRect(bx - 2, by - 2, w * v.s + 4, h * v.s + 4);
    c.fillText(String(d.digit), bx, Math.max(14, by - 5));
  }
}

function showStages(stages) {
  const list = $("stage-list");
  list.innerHTML = "";
  $("stages").hidden = !stages;
  if (!stages) return;
  for (const st of stages) {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${st.png}`;
    img.alt = st.title;
    img.width = st.width; img.height = st.height;
    const cap = document.createElement("figcaption");
    cap.textContent = st.title;
    fig.append(img, cap);
    list.append(fig);
  }
}

// ---------- prediction ----------
function schedulePredict() {
  if (state.inFlight) { state.pending = true; return; }
  state.inFlight = true;
  state.pending = false;
  requestAnimationFrame(async () => {
    if (state.blank) { state.inFlight = false; showEmpty(); return; }
    const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
    await callPredict(blob, "image/png");
    state.inFlight = false;
    if (state.pending) schedulePredict();
  });
}

async function callPredict(body, type, withStages = false) {
  try {
    const url = `api/predict?layers=true&top=2${withStages ? "&stages=true" : ""}&model=${encodeURIComponent(state.model ?? "")}`;
    const response = await fetch(url, { method: "POST", body, headers: { "Content-Type": type } });
    const json = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
    if (!response.ok) { setStatus(json.error ?? `Error ${response.status}`, true); return null; }
    setStatus("");
    state.last = json;
    if (!withStages) { state.view = null; showStages(null); } else showStages(json.stages);
    showResult(json);
    drawBoxes(json);
    if (typeof compareWith === "function") compareWith(body, type, withStages, json);
    return json;
  } catch (err) {
    setStatus(`Could not reach the server: ${err.message}`, true);
    return null;
  }
}

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

const pct = (p) => p >= 0.9995 ? "100%" : p > 0 && p < 0.001 ? "<0.1%" : `${(p * 100).toFixed(p < 0.0005 ? 0 : 1)}%`;

function buildBars() {
  const bars = $("bars");
  bars.innerHTML = "";
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill"></span></span><span class="pct">0%</span>`;
    li.setAttribute("aria-label", `${d}: 0%`);
    bars.appendChild(li);
  }
}
buildBars();

function showEmpty() {
  state.last = null;
  state.view = null;
  drawBoxes(null);
  showStages(null);
  $("number").value = "–";
  $("strip").hidden = true;
  $("compare").hidden = true;
  $("digits").innerHTML = "";
  $("doubt").hidden = true;
  $("guess1").value = "–"; $("guess2").value = "–";
  $("prob1").textContent = "\u00a0"; $("prob2").textContent = "\u00a0";
  for (const li of $("bars").children) {
    li.classList.remove("top");
    li.querySelector(".fill").style.width = "0";
    li.querySelector(".pct").textContent = "0%";
  }
  const seen = $("seen").getContext("2d");
  seen.fillStyle = "#000"; seen.fillRect(0, 0, 28, 28);
  setStatus("");
}

// The phone strip: the reading, shown while the guess panel itself is out of sight.
const strip = { visible: true };
function updateStrip() {
  const has = state.last != null;
  $("strip").hidden = !has || strip.visible;
}
if ("IntersectionObserver" in window) {
  new IntersectionObserver((entries) => {
    // In sight means whole: a reading cut off by the screen's edge counts as out of sight.
    for (const e of entries) strip.visible = e.intersectionRatio >= 0.99;
    updateStrip();
  }, { threshold: [0, 0.5, 0.99, 1] }).observe(document.querySelector(".result .reading"));
}

function showResult(r) {
  $("number").value = r.number ?? String(r.digit);
  $("strip-number").value = r.number ?? String(r.digit);
  $("strip-prob").textContent = r.top?.[0] ? pct(r.top[0].probability) : "";
  $("strip-doubt").hidden = !r.uncertain;
  const chips = $("digits");
  chips.innerHTML = "";
  if (r.digits && r.digits.length > 1) {
    for (const d of r.digits) {
      const chip = document.createElement("span");
      chip.textContent = `${d.digit} ${pct(d.probabilities[d.digit])}`;
      chip.classList.toggle("unsure", d.uncertain);
      if (d.uncertain) chip.title = `Unsure: ${d.reason}`;
      chips.append(chip);
    }
  }
  $("doubt").hidden = !r.uncertain;
  $("doubt").textContent = r.uncertain ? `Unsure: ${r.reason}. The answer may be wrong.` : "";
  const [first, second] = r.top;
  $("guess1").value = String(first.digit);
  $("prob1").textContent = pct(first.probability);
  $("guess2").value = second ? String(second.digit) : "–";
  $("prob2").textContent = second ? pct(second.probability) : "\u00a0";
  [...$("bars").children].forEach((li, d) => {
    const p = r.probabilities[d];
    li.classList.toggle("top", d === r.digit);
    li.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    li.querySelector(".pct").textContent = pct(p);
    li.setAttribute("aria-label", `${d}: ${pct(p)}`);
  });
  const seen = $("seen").getContext("2d");
  const img = seen.createImageData(28, 28);
  r.input28.forEach((v, i) => { img.data.set([v, v, v, 255], i * 4); });
  seen.putImageData(img, 0, 0);
  if (r.layers) showLayers(r.layers);
  updateStrip();
}

// ---------- layers ----------
function gray(v, lo, hi) {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  return Math.round(Math.max(0, Math.min(1, t)) * 255);
}

// Diverging blue-white-red, centred on zero; t in [-1, 1].
function diverging(t) {
  t = Math.max(-1, Math.min(1, t));
  const white = [247, 247, 247], blue = [33, 102, 172], red = [178, 24, 43];
  const end = t < 0 ? blue : red, a = Math.abs(t);
  return white.map((w, i) => Math.round(w + (end[i] - w) * a));
}

function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2); }

function mapScale(h) { return h >= 24 ? 2 : h >= 10 ? 4 : h >= 5 ? 8 : 12; }

function layerEl(li) { return $("layers").querySelector(`:scope > section[data-index="${li}"]`); }

function showLayers(layers) {
  const key = state.model + "|" + layers.map((l) => l.name + l.shape.join("x")).join(",");
  if (key !== state.layerKey) buildLayers(layers, key);
  drawInput();
  layers.forEach((layer, li) => {
    const el = layerEl(li);
    if (state.hidden.has(layer.name)) return;
    const [c, h, w] = layer.shape, v = layer.values;
    let lo = Infinity, hi = -Infinity;
    for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; }
    if (li === layers.length - 1) { drawOutputs(el, layer); return; }
    const scale = el.querySelector(".scale");
    if (h * w > 1) {
      scale.innerHTML = `<span>${fmt(lo)}</span><span class="ramp grey"></span><span>${fmt(hi)}</span>`;
      scale.title = `black = ${fmt(lo)}, white = ${fmt(hi)} (this layer's range for your digit)`;
      el.querySelectorAll(".map canvas:not(.hl)").forEach((cv, m) => {
        const g = cv.getContext("2d"), img = g.createImageData(w, h);
        for (let i = 0; i < h * w; i++) { const q = gray(v[m * h * w + i], lo, hi); img.data.set([q, q, q, 255], i * 4); }
        g.putImageData(img, 0, 0);
      });
    } else {
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      scale.innerHTML = `<span>−${fmt(m)}</span><span class="ramp diverging"></span><span>+${fmt(m)}</span>`;
      scale.title = `blue = −${fmt(m)}, white = 0, red = +${fmt(m)}`;
      el.querySelectorAll(".unit").forEach((u, i) => {
        const [r, g, b] = diverging(v[i] / m);
        u.style.background = `rgb(${r},${g},${b})`;
        u.title = `${layer.name} unit ${i}: ${v[i].toFixed(4)}`;
      });
    }
  });
  if (state.selected) showDetail();
}

function buildLayers(layers, key) {
  state.layerKey = key;
  state.selected = null;
  closeDetail();
  const list = $("layers");
  list.innerHTML = "";
  layers.forEach((layer, li) => {
    const [c, h, w] = layer.shape;
    const isOutput = li === layers.length - 1;
    const section = document.createElement("section");
    section.className = "layer";
    section.dataset.layer = layer.name;
    section.dataset.index = String(li);
    const id = `layer-${li}`;
    section.innerHTML = `<div class="layer-head">
        <h3 id="${id}-title">${layer.name}</h3>
        <span class="shape">${layer.kind} · ${c > 1 && h * w > 1 ? `${c} maps ${h}x${w}` : `${c * h * w} units`}</span>
        ${isOutput ? "" : `<span class="scale" data-testid="scale" aria-label="colour scale"></span>`}
        <label><input type="checkbox" ${state.hidden.has(layer.name) ? "" : "checked"} aria-controls="${id}-body"> Show</label>
      </div>`;
    const body = document.createElement("div");
    body.id = `${id}-body`;
    body.setAttribute("aria-labelledby", `${id}-title`);
    if (isOutput) {
      body.className = "outputs";
      for (let d = 0; d < 10; d++) {
        const b = document.createElement("button");
        b.type = "button";
        b.innerHTML = `<span class="col"></span><span>${d}</span>`;
        b.addEventListener("click", () => select(li, d));
        body.appendChild(b);
      }
    } else if (h * w > 1) {
      body.className = "maps";
      const s = mapScale(h);
      for (let m = 0; m < c; m++) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "map";
        b.setAttribute("aria-pressed", "false");
        b.setAttribute("aria-label", `${layer.name} feature map ${m}`);
        const cv = document.createElement("canvas");
        cv.width = w; cv.height = h;
        cv.style.width = `${w * s}px`; cv.style.height = `${h * s}px`;
        b.append(cv, overlay(w, h, s));
        hoverable(cv, li, m, w, h);
        b.addEventListener("click", (e) => {
          const r = cv.getBoundingClientRect();
          const px = e.detail > 0 ? Math.floor((e.clientX - r.left) / r.width * w) : Math.floor(w / 2);
          const py = e.detail > 0 ? Math.floor((e.clientY - r.top) / r.height * h) : Math.floor(h / 2);
          select(li, m, Math.max(0, Math.min(w - 1, px)), Math.max(0, Math.min(h - 1, py)));
        });
        body.appendChild(b);
      }
    } else {
      body.className = "units";
      const n = c * h * w;
      body.style.gridTemplateColumns = `repeat(${n > 40 ? 20 : Math.min(n, 12)}, minmax(0, 22px))`;
      for (let i = 0; i < n; i++) {
        const u = document.createElement("button");
        u.type = "button";
        u.className = "unit";
        u.setAttribute("aria-pressed", "false");
        u.setAttribute("aria-label", `${layer.name} unit ${i}`);
        u.addEventListener("click", () => select(li, i));
        u.addEventListener("pointerenter", () => showConnections(li, i, 0, 0));
        u.addEventListener("pointerleave", () => showConnections());
        body.appendChild(u);
      }
    }
    body.hidden = state.hidden.has(layer.name);
    section.appendChild(body);
    section.querySelector("input").addEventListener("change", (e) => {
      if (e.target.checked) state.hidden.delete(layer.name); else state.hidden.add(layer.name);
      body.hidden = !e.target.checked;
      if (e.target.checked && state.last?.layers) showLayers(state.last.layers);
    });
    list.appendChild(section);
  });
  list.prepend(inputSection());
  const rbf = state.details[state.model]?.rbfBitmaps;
  if (rbf) list.appendChild(rbfSection(rbf));
}

// ---------- connections: what feeds a unit ----------
// The network's input as a map of its own (32x32 for lenet5-1998, which pads MNIST's 28x28 by 2),
// so the part of it a unit sees can be shown.
function inputSection() {
  const shape = state.details[state.model]?.inputShape ?? [1, 28, 28];
  const side = shape[1], s = mapScale(side) * 2;
  const section = document.createElement("section");
  section.className = "layer input-layer";
  section.dataset.index = "-1";
  section.innerHTML = `<div class="layer-head"><h3>input</h3><span class="shape">${side}x${side}, what the first layer reads${side > 28 ? ` (the 28x28 digit with a ${(side - 28) / 2}-pixel border)` : ""}</span></div>`;
  const body = document.createElement("div");
  body.className = "maps";
  const b = document.createElement("div");
  b.className = "map";
  const cv = document.createElement("canvas");
  cv.width = side; cv.height = side;
  cv.style.width = `${side * s}px`; cv.style.height = `${side * s}px`;
  cv.setAttribute("aria-label", "the network's input");
  b.append(cv, overlay(side, side, s));
  body.appendChild(b);
  section.appendChild(body);
  return section;
}

function drawInput() {
  const cv = layerEl(-1)?.querySelector("canvas");
  if (!cv || !state.last) return;
  const side = cv.width, pad = (side - 28) / 2, g = cv.getContext("2d"), img = g.createImageData(side, side);
  for (let i = 0; i < side * side; i++) img.data.set([0, 0, 0, 255], i * 4);
  state.last.input28.forEach((v, i) => img.data.set([v, v, v, 255], (((i / 28) | 0) + pad) * side * 4 + ((i % 28) + pad) * 4));
  g.putImageData(img, 0, 0);
}

function overlay(w, h, s) {
  const o = document.createElement("canvas");
  o.className = "hl";
  o.width = w * s; o.height = h * s;
  o.dataset.cell = String(s);
  o.style.width = `${w * s}px`; o.style.height = `${h * s}px`;
  o.setAttribute("aria-hidden", "true");
  return o;
}

function hoverable(cv, li, m, w, h) {
  cv.addEventListener("pointermove", (e) => {
    const r = cv.getBoundingClientRect();
    const x = Math.max(0, Math.min(w - 1, Math.floor((e.clientX - r.left) / r.width * w)));
    const y = Math.max(0, Math.min(h - 1, Math.floor((e.clientY - r.top) / r.height * h)));
    showConnections(li, m, x, y);
  });
  cv.addEventListener("pointerleave", () => showConnections());
}

// One step back through a layer's window: a rectangle of units [x, y, w, h] to the rectangle of the
// layer before that they read.
function back([x, y, w, h], win) {
  return [x * win.stride - win.pad, y * win.stride - win.pad, (w - 1) * win.stride + win.size, (h - 1) * win.stride + win.size];
}

function clearConnections() {
  document.querySelectorAll("#layers canvas.hl").forEach((o) => o.getContext("2d").clearRect(0, 0, o.width, o.height));
  document.querySelectorAll("#layers .feeds, #layers .dim").forEach((e) => e.classList.remove("feeds", "dim"));
}

// Shows what feeds unit (x, y) of map m in layer li: the rectangle of the input it sees, the maps of
// the layer before that feed it (for C3 only those its connection table names), and the weights on
// the way as a heatmap over the window they read. No arguments: back to the selected unit, or nothing.
function showConnections(li, m, x, y) {
  clearConnections();
  const info = $("connection");
  if (li === undefined) {
    const sel = state.selected;
    if (sel && sel.layerIndex < (state.last?.layers?.length ?? 0) - 1) return showConnections(sel.layerIndex, sel.index, sel.x ?? 0, sel.y ?? 0);
    info.textContent = ""; delete info.dataset.region; delete info.dataset.feeds; delete info.dataset.unit;
    return;
  }
  const details = state.details[state.model], layers = details?.layers;
  if (!layers || !layers[li] || li === layers.length - 1) return;
  const L = layers[li], inShape = details.inputShape;
  const prevShape = li === 0 ? inShape : layers[li - 1].outputShape;
  const prevName = li === 0 ? "the input" : layers[li - 1].name;
  const win = L.window;
  let feeds, kernels = null, region;
  if (win) {
    region = back([x, y, 1, 1], win);
    if (L.kind === "Conv2d") {
      kernels = details.kernels.find((k) => k.layer === L.name)?.kernels[m] ?? null;
      feeds = kernels ? kernels.map((k, ci) => (k ? ci : -1)).filter((ci) => ci >= 0) : [];
    } else feeds = [m];
  } else {
    feeds = [...Array(prevShape[0] * prevShape[1] * prevShape[2]).keys()];
    region = [0, 0, prevShape[2], prevShape[1]];
  }
  const self = layerEl(li);
  const selfMap = self?.querySelectorAll(".maps .map")[m];
  if (selfMap) paintRect(selfMap.querySelector(".hl"), [x, y, 1, 1], "#ffb300");
  else self?.querySelectorAll(".units .unit")[m]?.classList.add("feeds");
  // The layer before: the maps (or units) that feed it, with their weights where it has a kernel.
  const prev = layerEl(li - 1);
  let max = 0;
  if (kernels) for (const k of kernels) if (k) for (const v of k) max = Math.max(max, Math.abs(v));
  const prevMaps = prev ? [...prev.querySelectorAll(".maps .map")] : [];
  if (prevMaps.length && prevShape[1] * prevShape[2] > 1) {
    prevMaps.forEach((el, ci) => {
      if (!feeds.includes(ci)) { el.classList.add("dim"); return; }
      el.classList.add("feeds");
      const o = el.querySelector(".hl");
      if (kernels?.[ci]) paintWeights(o, region, kernels[ci], win.size, max);
      paintRect(o, region, "#ffb300");
    });
  } else if (prev) {
    const set = new Set(feeds);
    prev.querySelectorAll(".units .unit").forEach((u, i) => u.classList.add(set.has(i) ? "feeds" : "dim"));
  }
  // The input: compose the windows back to it.
  let r = [x, y, 1, 1];
  for (let l = li; l >= 0; l--) {
    const wl = layers[l].window;
    if (!wl) { r = [0, 0, inShape[2], inShape[1]]; break; }
    r = back(r, wl);
  }
  const x0 = Math.max(0, r[0]), y0 = Math.max(0, r[1]);
  const x1 = Math.min(inShape[2], r[0] + r[2]), y1 = Math.min(inShape[1], r[1] + r[3]);
  const seen = [x0, y0, x1 - x0, y1 - y0];
  if (li > 0) paintRect(layerEl(-1)?.querySelector(".hl"), seen, "#ffb300", true);
  info.dataset.unit = `${L.name}:${m}:${x},${y}`;
  info.dataset.region = seen.join(",");
  info.dataset.feeds = feeds.length > 64 ? "all" : feeds.join(",");
  const fed = feeds.length === prevShape[0] && prevShape[0] > 1 ? `all ${prevShape[0]} maps of ${prevName}`
    : feeds.length > 64 ? `all ${feeds.length} units of ${prevName}`
    : li === 0 ? "the input" : `${prevName} map${feeds.length > 1 ? "s" : ""} ${feeds.join(", ")}`;
  const where = (L.outputShape[1] * L.outputShape[2] > 1) ? ` at (${x}, ${y})` : "";
  info.textContent = `${L.name} ${L.outputShape[1] * L.outputShape[2] > 1 ? "map" : "unit"} ${m}${where} sees a ${seen[2]}x${seen[3]} square of the input `
    + `(columns ${x0}–${x1 - 1}, rows ${y0}–${y1 - 1}) and is fed by ${fed}${kernels ? `, through ${win.size}x${win.size} weights each` : ""}.`;
}

function paintRect(o, [x, y, w, h], colour, shadeOutside = false) {
  if (!o) return;
  const s = Number(o.dataset.cell), g = o.getContext("2d");
  if (shadeOutside) {
    g.fillStyle = "rgba(255, 255, 255, .28)";
    g.fillRect(0, 0, o.width, o.height);
    g.clearRect(x * s, y * s, w * s, h * s);
  }
  g.strokeStyle = colour;
  g.lineWidth = Math.max(2, s / 3);
  g.strokeRect(x * s + 1, y * s + 1, w * s - 2, h * s - 2);
}

function paintWeights(o, [x, y], weights, k, max) {
  const s = Number(o.dataset.cell), g = o.getContext("2d");
  for (let j = 0; j < k; j++)
    for (let i = 0; i < k; i++) {
      const [r, gg, b] = diverging(weights[j * k + i] / (max || 1));
      g.fillStyle = `rgba(${r}, ${gg}, ${b}, .85)`;
      g.fillRect((x + i) * s, (y + j) * s, s, s);
    }
}

function drawOutputs(el, layer) {
  const p = state.last.probabilities;
  el.querySelectorAll(".outputs button").forEach((b, d) => {
    b.querySelector(".col").style.height = `${Math.max(2, p[d] * 70)}px`;
    b.setAttribute("aria-label", `output ${d}: probability ${pct(p[d])}, raw ${layer.values[d].toFixed(3)}`);
  });
}

function rbfSection(rbf) {
  const section = document.createElement("section");
  section.className = "layer";
  section.innerHTML = `<div class="layer-head"><h3>RBF centres</h3><span class="shape">the fixed 7x12 bitmaps the output layer compares F6 with (−1 white, +1 black)</span></div>`;
  const row = document.createElement("div");
  row.className = "bitmaps";
  rbf.digits.forEach((bits, d) => {
    const cv = document.createElement("canvas");
    cv.width = rbf.width; cv.height = rbf.height;
    cv.setAttribute("aria-label", `bitmap of ${d}`);
    const g = cv.getContext("2d"), img = g.createImageData(rbf.width, rbf.height);
    bits.forEach((b, i) => { const q = b > 0 ? 20 : 245; img.data.set([q, q, q, 255], i * 4); });
    g.putImageData(img, 0, 0);
    row.appendChild(cv);
  });
  section.appendChild(row);
  return section;
}

function select(layerIndex, index, x, y) {
  state.selected = { layerIndex, index, x, y };
  document.querySelectorAll('#layers [aria-pressed="true"]').forEach((b) => b.setAttribute("aria-pressed", "false"));
  const body = layerEl(layerIndex)?.querySelector(".maps, .units, .outputs");
  body?.children[index]?.setAttribute("aria-pressed", "true");
  showConnections();
  showDetail().then(() => {
    // In one column (a phone) the details are below every layer: bring them into sight.
    const d = $("detail"), box = d.getBoundingClientRect();
    if (box.top > window.innerHeight - 40 || box.bottom < 0) d.scrollIntoView({ block: "start", behavior: "smooth" });
  });
}

function closeDetail() {
  $("detail").hidden = true;
  state.selected = null;
  document.querySelectorAll('#layers [aria-pressed="true"]').forEach((b) => b.setAttribute("aria-pressed", "false"));
}

async function showDetail() {
  const sel = state.selected, r = state.last;
  if (!sel || !r?.layers) return;
  const layer = r.layers[sel.layerIndex];
  const [c, h, w] = layer.shape, hw = h * w;
  const detail = $("detail");
  detail.hidden = false;
  detail.innerHTML = "";
  const close = document.createElement("button");
  close.type = "button"; close.className = "close"; close.textContent = "✕";
  close.setAttribute("aria-label", "Close details");
  close.addEventListener("click", closeDetail);
  detail.appendChild(close);
  const title = document.createElement("h3");
  const isOutput = sel.layerIndex === r.layers.length - 1;
  if (isOutput) {
    title.textContent = `${layer.name}: digit ${sel.index}`;
    detail.append(title, para(`Probability ${pct(r.probabilities[sel.index])}; raw output ${layer.values[sel.index].toFixed(4)}.`));
    return;
  }
  if (hw > 1) {
    const values = layer.values.slice(sel.index * hw, (sel.index + 1) * hw);
    const at = values[sel.y * w + sel.x];
    const mean = values.reduce((a, b) => a + b, 0) / hw;
    title.textContent = `${layer.name}, map ${sel.index}`;
    detail.append(title,
      para(`Unit (${sel.x}, ${sel.y}): ${at.toFixed(4)}`),
      para(`min ${Math.min(...values).toFixed(3)} · mean ${mean.toFixed(3)} · max ${Math.max(...values).toFixed(3)}`, "stats"));
  } else {
    title.textContent = `${layer.name}, unit ${sel.index}`;
    detail.append(title, para(`Value ${layer.values[sel.index].toFixed(4)}`));
  }
  const details = await modelDetails(state.model);
  const conv = details?.kernels?.find((k) => k.layer === layer.name);
  if (!conv) {
    const kind = layer.kind;
    detail.append(para(kind.includes("Pool") || kind === "Subsampling"
      ? "A pooling layer has no kernel: each unit summarises a 2x2 block of the map before it."
      : kind === "Dense" ? "A dense layer: every unit is connected to every unit of the layer before." : "", "hint"));
    return;
  }
  const kernels = conv.kernels[sel.index];
  let m = 0;
  for (const k of kernels) if (k) for (const v of k) m = Math.max(m, Math.abs(v));
  const [, cin, k] = conv.shape;
  detail.append(para(`Kernels of this map (${k}x${k} for each of ${cin} input map${cin > 1 ? "s" : ""}), bias ${conv.bias[sel.index].toFixed(4)}:`));
  const grid = document.createElement("div");
  grid.className = "kernels";
  const shown = Math.min(cin, 64);
  for (let ci = 0; ci < shown; ci++) {
    const cell = document.createElement("div");
    cell.className = "kernel";
    const weights = kernels[ci];
    if (!weights) {
      cell.classList.add("off");
      cell.textContent = `${ci}: —`;
      cell.title = `Input map ${ci} is not connected (the paper's Table I)`;
    } else {
      const cv = document.createElement("canvas");
      cv.width = k; cv.height = k;
      const g = cv.getContext("2d"), img = g.createImageData(k, k);
      weights.forEach((v, i) => img.data.set([...diverging(v / (m || 1)), 255], i * 4));
      g.putImageData(img, 0, 0);
      cv.setAttribute("aria-label", `kernel from input map ${ci}`);
      cell.append(cv, document.createTextNode(`in ${ci}`));
    }
    grid.appendChild(cell);
  }
  detail.appendChild(grid);
  if (cin > shown) detail.append(para(`(first ${shown} of ${cin} input maps)`, "hint"));
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = `<span>−${m.toFixed(2)}</span><span class="ramp"></span><span>+${m.toFixed(2)}</span>`;
  detail.appendChild(legend);
}

function para(text, cls) {
  const p = document.createElement("p");
  p.textContent = text;
  if (cls) p.className = cls;
  return p;
}

async function modelDetails(name) {
  if (!state.details[name]) {
    const response = await fetch(`api/models/${encodeURIComponent(name)}`);
    if (!response.ok) return null;
    state.details[name] = await response.json();
  }
  return state.details[name];
}

// ---------- models ----------
async function loadModels(select = state.model) {
  try {
    const response = await fetch("api/models");
    const models = await response.json();
    const picker = $("model");
    const compare = $("compare-model"), compared = compare.value;
    picker.innerHTML = "";
    compare.length = 1;
    for (const m of models) {
      const option = document.createElement("option");
      option.value = m.name;
      option.textContent = m.testAccuracy ? `${m.name} (${(m.testAccuracy * 100).toFixed(2)}%)` : m.name;
      option.dataset.info = `${m.architecture} · ${m.parameters.toLocaleString("en")} parameters · ${m.connections.toLocaleString("en")} connections`
        + (m.testAccuracy ? ` · ${(m.testAccuracy * 100).toFixed(2)}% on the MNIST test set` : "");
      option.dataset.source = m.source;
      if (select ? m.name === select : m.default) option.selected = true;
      picker.appendChild(option);
      compare.appendChild(new Option(option.textContent, m.name, false, m.name === compared));
    }
    if (picker.value !== state.model) await chooseModel(picker.value);
    return models;
  } catch (err) {
    setStatus(`Could not load the models: ${err.message}`, true);
  }
}

async function chooseModel(name) {
  state.model = name;
  const option = [...$("model").options].find((o) => o.value === name);
  $("model-info").textContent = option?.dataset.info ?? "";
  await modelDetails(name);
  state.layerKey = "";
  if (!state.blank) schedulePredict();
}

$("model").addEventListener("change", (e) => chooseModel(e.target.value));
showEmpty();
loadModels();
