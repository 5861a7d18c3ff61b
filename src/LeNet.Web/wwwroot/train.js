// LeNet.NET page, second part: the Train tab (POST /api/train, then its events over Server-Sent
// Events: curves, the guesses on a strip of test digits, the first layers' kernels), and the compare
// view of the Draw tab (the same drawing through a second model). Uses app.js's helpers.
"use strict";

// ---------- tabs ----------
function showTab(name) {
  for (const t of ["draw", "train"]) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
    $(`view-${t}`).hidden = t !== name;
  }
  if (name === "train") drawCharts();
}
$("tab-draw").addEventListener("click", () => showTab("draw"));
$("tab-train").addEventListener("click", () => showTab("train"));

// ---------- the form ----------
// Each architecture's recipe when it is picked (the CLI's defaults; lenet5 the --fast recipe).
const recipes = {
  "lenet5": { epochs: 5, batch: 64, optimizer: "adam", lr: 0.016, labelSmoothing: 0.1 },
  "lenet5-1998": { epochs: 20, batch: 32, optimizer: "adam", lr: 0.001, labelSmoothing: 0 },
  "cnn-wide": { epochs: 12, batch: 128, optimizer: "adam", lr: 0.001, labelSmoothing: 0 },
  "cnn-deep": { epochs: 20, batch: 128, optimizer: "adam", lr: 0.002, labelSmoothing: 0.1 },
  "cnn-bn": { epochs: 20, batch: 128, optimizer: "adam", lr: 0.004, labelSmoothing: 0.1, augment: true, elastic: true },
};
const form = $("train-form");
$("train-arch").addEventListener("change", (e) => {
  const r = recipes[e.target.value];
  for (const [k, v] of Object.entries({ augment: false, elastic: false, ...r })) {
    if (typeof v === "boolean") form.elements[k].checked = v; else form.elements[k].value = v;
  }
  form.elements.labelSmoothing.disabled = e.target.value === "lenet5-1998";
});

const run = {
  id: null, source: null, done: true, paused: false,
  total: 0, stepsPerEpoch: 0, epochs: 0,
  steps: [], epochsDone: [],        // {step, loss, accuracy} per logged step; {step, testLoss, testAccuracy} per epoch
  labels: [], images: null,
  kept: [],                          // models kept at `keep` steps during the run
};

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = form.elements;
  const body = {
    arch: f.arch.value, epochs: Number(f.epochs.value), batch: Number(f.batch.value), optimizer: f.optimizer.value,
    lr: Number(f.lr.value), limit: Number(f.limit.value), augment: f.augment.checked,
  };
  body.elastic = f.elastic.checked;
  if (!f.labelSmoothing.disabled && f.labelSmoothing.value !== "") body.labelSmoothing = Number(f.labelSmoothing.value);
  body.keep = f.keep.value ? [Number(f.keep.value)] : [];
  trainStatus("Starting…");
  $("train-done").hidden = true;
  const response = await fetch("api/train", { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  const json = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
  if (!response.ok) { trainStatus(json.error ?? `Error ${response.status}`, true); return; }
  follow(json.id);
});

$("train-stop").addEventListener("click", () => control("stop"));
$("train-pause").addEventListener("click", () => control(run.paused ? "resume" : "pause"));

async function control(what) {
  if (!run.id) return;
  const response = await fetch(`api/train/${encodeURIComponent(run.id)}/${what}`, { method: "POST" });
  if (!response.ok) { const j = await response.json().catch(() => ({})); trainStatus(j.error ?? `Error ${response.status}`, true); }
}

function setRunning(running) {
  $("train-start").disabled = running;
  $("train-stop").disabled = !running;
  $("train-pause").disabled = !running;
  for (const el of form.elements) if (el.tagName !== "BUTTON") el.disabled = running || (el.name === "labelSmoothing" && $("train-arch").value === "lenet5-1998");
}

function trainStatus(text, error = false) {
  $("train-status").textContent = text;
  $("train-status").classList.toggle("error", error);
}

// ---------- the events ----------
function follow(id) {
  run.source?.close();
  Object.assign(run, { id, done: false, paused: false, steps: [], epochsDone: [], kept: [] });
  setRunning(true);
  $("train-pause").textContent = "Pause";
  const source = new EventSource(`api/train/${encodeURIComponent(id)}/events`);
  run.source = source;
  source.onmessage = (m) => onEvent(JSON.parse(m.data));
  source.onerror = () => { if (run.done) source.close(); };
}

// Drawing waits for the next frame, and several events in between draw once.
let frame = 0, pendingStatus = null;
function redrawSoon() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (pendingStatus !== null) { trainStatus(pendingStatus); pendingStatus = null; }
    drawCharts();
  });
}

function onEvent(e) {
  switch (e.type) {
    case "start":
      run.total = e.totalSteps; run.stepsPerEpoch = e.stepsPerEpoch; run.epochs = e.options.epochs;
      run.labels = e.strip.labels;
      run.images = Uint8Array.from(atob(e.strip.images), (c) => c.charCodeAt(0));
      buildStrip();
      trainStatus(`Training ${e.model}: ${e.options.architecture}, ${e.trainImages.toLocaleString("en")} images, ${e.options.epochs} epoch${e.options.epochs > 1 ? "s" : ""} of ${e.stepsPerEpoch.toLocaleString("en")} steps.`);
      break;
    case "step":
      run.steps.push({ step: e.step, loss: e.loss, accuracy: e.accuracy });
      pendingStatus = (`Epoch ${e.epoch}/${e.epochs} · step ${e.step.toLocaleString("en")}/${run.total.toLocaleString("en")} · `
        + `${Math.round(e.imagesPerSecond).toLocaleString("en")} images/s · loss ${e.loss.toFixed(3)} · accuracy ${(e.accuracy * 100).toFixed(1)}% · `
        + `lr ${e.lr.toPrecision(2)} · ETA ${duration(e.etaSeconds)}`);
      redrawSoon();
      break;
    case "epoch":
      run.epochsDone.push({ step: e.step, testLoss: e.testLoss, testAccuracy: e.testAccuracy });
      redrawSoon();
      break;
    case "snapshot":
      showStrip(e.guesses, e.step);
      if (e.kernels) showKernels(e.kernels);
      break;
    case "kept":
      run.kept.push(e.model);
      loadModels();
      break;
    case "paused": pendingStatus = null; run.paused = true; $("train-pause").textContent = "Resume"; trainStatus(`Paused at step ${e.step}.`); break;
    case "resumed": run.paused = false; $("train-pause").textContent = "Pause"; break;
    case "done":
    case "error":
      run.done = true;
      pendingStatus = null;
      run.source?.close();
      setRunning(false);
      if (e.type === "error") { trainStatus(e.error, true); break; }
      trainStatus(`${e.stopped ? `Stopped (${e.reason})` : "Done"} after ${e.step.toLocaleString("en")} steps in ${duration(e.seconds)}: `
        + `${(e.testAccuracy * 100).toFixed(2)}% on the 10,000 MNIST test digits, ${Math.round(e.imagesPerSecond).toLocaleString("en")} images/s.`);
      finished(e.model);
      redrawSoon();
      break;
  }
}

function duration(s) {
  if (!(s >= 0)) return "–";
  return s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function finished(model) {
  await loadModels();
  const done = $("train-done");
  done.hidden = false;
  done.innerHTML = "";
  const use = document.createElement("button");
  use.type = "button";
  use.textContent = "Draw with it";
  // The tutorials' comparison: the finished model beside its early copy, on the same drawing.
  const early = run.kept.find((k) => [...$("compare-model").options].some((o) => o.value === k));
  use.addEventListener("click", async () => {
    $("model").value = model;
    if (early) $("compare-model").value = early;
    await chooseModel(model);
    showTab("draw");
  });
  const lenet = Object.assign(document.createElement("a"), { href: `api/models/${encodeURIComponent(model)}/file`, textContent: "Download .lenet", className: "button" });
  const onnx = Object.assign(document.createElement("a"), { href: `api/models/${encodeURIComponent(model)}/onnx`, textContent: ".onnx", className: "button" });
  done.append(document.createTextNode(`${model} is in the model picker${early ? `, and its early copy ${early}` : ""}. `), use, lenet, onnx);
  if (early) done.append(para(`"Draw with it" compares the two on your drawing.`, "hint"));
}

// ---------- charts ----------
function chartColours() {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  return { text: dark ? "#a0a6b6" : "#5d6475", grid: dark ? "#323746" : "#e3e6ee", train: dark ? "#7ea2ff" : "#2f5bd3", test: dark ? "#ffb74d" : "#e65100" };
}

function drawCharts() {
  if ($("view-train").hidden) return;
  chart($("chart-loss"), "loss", run.steps.map((p) => [p.step, p.loss]), run.epochsDone.map((p) => [p.step, p.testLoss]), false);
  chart($("chart-accuracy"), "accuracy", run.steps.map((p) => [p.step, p.accuracy * 100]), run.epochsDone.map((p) => [p.step, p.testAccuracy * 100]), true);
}

// A step of 1, 2 or 5 times a power of ten that gives about `count` ticks over `span`.
function niceStep(span, count) {
  const raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

function chart(cv, name, train, test, percent) {
  const g = cv.getContext("2d"), W = cv.width, H = cv.height, c = chartColours();
  const L = 46, R = 12, T = 12, B = 30;
  g.clearRect(0, 0, W, H);
  g.font = "12px system-ui, sans-serif";
  const all = train.concat(test);
  const xMax = Math.max(run.total || 1, ...all.map((p) => p[0]));
  let yMin = 0, yMax;
  if (percent) {
    yMax = 100;
    if (all.length) yMin = Math.max(0, Math.floor(Math.min(...all.map((p) => p[1])) / 10) * 10);
  } else yMax = Math.max(0.1, ...all.map((p) => p[1]));
  const step = niceStep(yMax - yMin, 4);
  if (!percent) yMax = Math.ceil(yMax / step) * step;
  const X = (x) => L + (W - L - R) * x / xMax, Y = (y) => T + (H - T - B) * (1 - (y - yMin) / (yMax - yMin || 1));
  g.strokeStyle = c.grid; g.fillStyle = c.text; g.lineWidth = 1;
  g.textAlign = "right";
  for (let v = yMin; v <= yMax + step / 1e3; v += step) {
    const y = Y(v);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.fillText(percent ? `${v.toFixed(0)}%` : v.toFixed(step < 0.1 ? 2 : 1), L - 6, y + 4);
  }
  // The x axis in epochs: a tick at each (or every few) epoch ends.
  g.textAlign = "center";
  const every = Math.max(1, Math.ceil(run.epochs / 10));
  for (let e = every; e <= run.epochs && run.stepsPerEpoch; e += every) g.fillText(`${e}`, X(e * run.stepsPerEpoch), H - 12);
  g.textAlign = "left"; g.fillText("epoch", L - 40, H - 12);
  const line = (pts, colour, dots) => {
    if (!pts.length) return;
    g.strokeStyle = g.fillStyle = colour; g.lineWidth = 2;
    g.beginPath();
    pts.forEach(([x, y], i) => (i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
    g.stroke();
    if (dots) for (const [x, y] of pts) { g.beginPath(); g.arc(X(x), Y(y), 4, 0, 7); g.fill(); }
  };
  line(train, c.train, false);
  line(test, c.test, true);
  g.textAlign = "right";
  g.fillStyle = c.train; g.fillText("training", W - R - 40, T + 14);
  g.fillStyle = c.test; g.fillText("test", W - R - 4, T + 14);
  cv.dataset.points = String(train.length);
  cv.dataset.testPoints = String(test.length);
}

// ---------- the strip of test digits ----------
function buildStrip() {
  const strip = $("guess-strip");
  strip.innerHTML = "";
  run.labels.forEach((label, i) => {
    const fig = document.createElement("figure");
    const cv = document.createElement("canvas");
    cv.width = 28; cv.height = 28;
    const g = cv.getContext("2d"), img = g.createImageData(28, 28);
    for (let p = 0; p < 784; p++) { const v = run.images[i * 784 + p]; img.data.set([v, v, v, 255], p * 4); }
    g.putImageData(img, 0, 0);
    cv.setAttribute("aria-label", `test digit ${i + 1}, a ${label}`);
    const cap = document.createElement("figcaption");
    cap.textContent = "–";
    fig.append(cv, cap);
    strip.appendChild(fig);
  });
}

function showStrip(guesses, step) {
  const figs = $("guess-strip").children;
  let right = 0;
  guesses.forEach((g, i) => {
    const fig = figs[i];
    if (!fig) return;
    const ok = g === run.labels[i];
    right += ok;
    fig.className = ok ? "right" : "wrong";
    fig.querySelector("figcaption").textContent = String(g);
    fig.title = ok ? `read as ${g}: right` : `read as ${g}, but it is a ${run.labels[i]}`;
  });
  $("guess-strip").dataset.step = String(step);
  $("guess-strip").dataset.right = String(right);
  $("strip-score").textContent = `${right} of ${guesses.length} right at step ${step.toLocaleString("en")}`;
}

// ---------- kernels ----------
function showKernels(layers) {
  const box = $("train-kernels");
  if (box.children.length !== layers.length) {
    box.innerHTML = "";
    for (const k of layers) {
      const [cout, cin, ks] = k.shape;
      const row = document.createElement("div");
      row.className = "krow";
      row.innerHTML = `<span>${k.layer}</span>`;
      const cv = document.createElement("canvas");
      // One column of cin kernels per output map, one pixel gap between kernels.
      cv.width = cout * (ks + 1); cv.height = cin * (ks + 1);
      const scale = cin > 1 ? 4 : 8;
      cv.style.width = `${cv.width * scale}px`; cv.style.height = `${cv.height * scale}px`;
      cv.style.maxWidth = "100%"; cv.style.height = "auto";
      cv.setAttribute("aria-label", `${k.layer} kernels: ${cout} maps${cin > 1 ? ` × ${cin} inputs` : ""}`);
      row.appendChild(cv);
      box.appendChild(row);
    }
  }
  layers.forEach((k, li) => {
    const [cout, cin, ks] = k.shape;
    const cv = box.children[li].querySelector("canvas"), g = cv.getContext("2d");
    const img = g.createImageData(cv.width, cv.height);
    let m = 0;
    for (const o of k.kernels) for (const w of o) if (w) for (const v of w) m = Math.max(m, Math.abs(v));
    for (let co = 0; co < cout; co++)
      for (let ci = 0; ci < cin; ci++) {
        const w = k.kernels[co][ci];
        for (let j = 0; j < ks; j++)
          for (let i = 0; i < ks; i++) {
            const px = ((ci * (ks + 1) + j) * cv.width + co * (ks + 1) + i) * 4;
            img.data.set(w ? [...diverging(w[j * ks + i] / (m || 1)), 255] : [128, 128, 128, 60], px);
          }
      }
    g.putImageData(img, 0, 0);
  });
}

// ---------- compare ----------
$("compare-model").addEventListener("change", () => {
  if (!$("compare-model").value) { $("compare").hidden = true; return; }
  if (!state.blank) schedulePredict();
});

// Called by app.js after each prediction: the same image through the second model.
async function compareWith(body, type, withStages, first) {
  const other = $("compare-model").value;
  if (!other) { $("compare").hidden = true; return; }
  const url = `api/predict?layers=true&top=2&model=${encodeURIComponent(other)}`;
  const response = await fetch(url, { method: "POST", body, headers: { "Content-Type": type } });
  const second = await response.json().catch(() => null);
  if (!response.ok || !second) return;
  $("compare").hidden = false;
  const cols = $("compare-cols");
  cols.innerHTML = "";
  cols.append(compareColumn(first, "a"), compareColumn(second, "b"));
}

function compareColumn(r, which) {
  const col = document.createElement("div");
  col.className = "compare-col";
  col.dataset.testid = `compare-${which}`;
  col.setAttribute("data-testid", `compare-${which}`);
  const top = r.top[0];
  col.innerHTML = `<h3>${r.model}</h3><div class="big" data-testid="compare-guess-${which}">${r.number ?? r.digit}</div>
    <p class="hint">${pct(top.probability)} sure${r.top[1] ? ` · then ${r.top[1].digit} (${pct(r.top[1].probability)})` : ""}${r.uncertain ? " · unsure" : ""}</p>`;
  const bars = document.createElement("div");
  bars.className = "mini-bars";
  r.probabilities.forEach((p, d) => {
    const b = document.createElement("span");
    b.innerHTML = `<i style="height:${Math.max(2, p * 48).toFixed(0)}px"></i>${d}`;
    b.title = `${d}: ${pct(p)}`;
    if (d === r.digit) b.className = "top";
    bars.appendChild(b);
  });
  col.appendChild(bars);
  for (const layer of r.layers.slice(0, -1)) {
    const [c, h, w] = layer.shape;
    const div = document.createElement("div");
    div.className = "mini-layer";
    div.innerHTML = `<span>${layer.name} · ${c > 1 && h * w > 1 ? `${c} maps ${h}x${w}` : `${c * h * w} units`}</span>`;
    const maps = document.createElement("div");
    maps.className = "mini-maps";
    let lo = Infinity, hi = -Infinity;
    for (const v of layer.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (h * w > 1) {
      const s = Math.max(1, Math.round(mapScale(h) * 0.75));
      for (let m = 0; m < Math.min(c, 32); m++) {
        const cv = document.createElement("canvas");
        cv.width = w; cv.height = h;
        cv.style.width = `${w * s}px`; cv.style.height = `${h * s}px`;
        const g = cv.getContext("2d"), img = g.createImageData(w, h);
        for (let i = 0; i < h * w; i++) { const q = gray(layer.values[m * h * w + i], lo, hi); img.data.set([q, q, q, 255], i * 4); }
        g.putImageData(img, 0, 0);
        maps.appendChild(cv);
      }
    } else {
      const n = c * h * w, cv = document.createElement("canvas");
      const per = Math.min(n, 42), rows = Math.ceil(n / per);
      cv.width = per; cv.height = rows;
      cv.style.width = `${per * 6}px`; cv.style.height = `${rows * 6}px`;
      const g = cv.getContext("2d"), img = g.createImageData(per, rows), mm = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      for (let i = 0; i < n; i++) img.data.set([...diverging(layer.values[i] / mm), 255], i * 4);
      g.putImageData(img, 0, 0);
      maps.appendChild(cv);
    }
    div.appendChild(maps);
    col.appendChild(div);
  }
  return col;
}

// A page opened while a run goes on follows it.
(async () => {
  try {
    const info = await (await fetch("api/train")).json();
    if (!info.allowed) {
      $("train-note").textContent = "Training from the page is off on this server: it listens beyond this machine. Start it with lenet serve --allow-training to allow it.";
      $("train-start").disabled = true;
    }
    form.elements.epochs.max = info.limits.maxEpochs;
    form.elements.batch.max = info.limits.maxBatch;
    if (info.current) follow(info.current);
  } catch { /* the Draw tab works without it */ }
})();
