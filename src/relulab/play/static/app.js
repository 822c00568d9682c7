// relulab play: the page.  It holds no model of its own: it sends checked settings and button presses to its
// session on the server, polls the session's state, and draws it with Plotly.  The URL holds every setting.
"use strict";

const NUMBER_KEYS = new Set(["points", "noise", "valid", "seed", "layers", "width", "l2", "dropout", "lr",
  "momentum", "warmup", "horizon", "batch", "speed"]);
const CLASSIFICATION = new Set(["circles", "xor", "spirals", "gaussians"]);
const COLORS = {class0: "#2b6cb0", class1: "#dd6b20", train: "#2f6fab", valid: "#d9480f", grad: "#5f3dc4",
  path: "#c92a2a"};
const PLOT_CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"]};
const BASE_LAYOUT = {margin: {l: 48, r: 12, t: 8, b: 36}, font: {size: 11}, paper_bgcolor: "#fff",
  plot_bgcolor: "#fff", legend: {orientation: "h", y: 1.12, x: 0}};

const app = {drawn: {}, sid: null, limits: null, defaults: null, settings: null, version: -1, dataVersion: -1,
  data: null, running: false, busy: null, last: null, pollTimer: null, pausedAt: null, requestedHessianAt: null};

// ------------------------------------------------------------------------------------------------ server calls
class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const options = {method, headers: {}};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  if (!response.ok) throw new ApiError((json && json.error) || text || response.statusText, response.status);
  return json;
}

const sessionPath = (tail) => `/api/sessions/${app.sid}/${tail}`;

function showMessage(text) {
  const box = document.getElementById("message");
  box.textContent = text || "";
  box.hidden = !text;
}

// ------------------------------------------------------------------------------------------------ settings
function controls() { return Array.from(document.querySelectorAll("[data-key]")); }

function readControls() {
  const settings = {};
  for (const el of controls()) {
    const key = el.dataset.key;
    settings[key] = NUMBER_KEYS.has(key) ? Number(el.value) : el.value;
  }
  return settings;
}

function writeControls(settings) {
  for (const el of controls()) {
    const value = settings[el.dataset.key];
    if (value !== undefined) el.value = String(value);
  }
  refreshControlHints(settings);
}

function refreshControlHints(settings) {
  const classification = CLASSIFICATION.has(settings.data);
  document.querySelector('#loss option[value="cross_entropy"]').disabled = !classification;
  document.getElementById("noise").disabled = settings.data === "views";
  document.getElementById("points").disabled = settings.data === "views";
  for (const el of document.querySelectorAll(".when-momentum")) el.hidden = settings.optimizer !== "momentum";
  for (const el of document.querySelectorAll(".when-warmup")) el.hidden = settings.schedule !== "warmup";
  for (const el of document.querySelectorAll(".when-schedule")) el.hidden = settings.schedule === "constant";
  document.getElementById("model-title").textContent =
    classification ? "Data and decision boundary (P(class 1))" : "Data and fitted curve";
}

function urlSettings() {
  const params = new URLSearchParams(window.location.search);
  const settings = {};
  for (const [key, value] of params) settings[key] = NUMBER_KEYS.has(key) ? Number(value) : value;
  return settings;
}

function settingsQuery(settings) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(settings)) params.set(key, String(value));
  return params.toString();
}

function keepInUrl(settings) {
  window.history.replaceState(null, "", `?${settingsQuery(settings)}`);
}

function applyLimits(limits) {
  const set = (id, attr, value) => document.getElementById(id).setAttribute(attr, value);
  set("points", "max", limits.max_points);
  set("batch", "max", limits.max_points);
  set("layers", "max", limits.max_layers);
  set("width", "max", limits.max_width);
  set("speed", "max", limits.max_steps_per_second);
}

async function onSettingsChanged(event) {
  const settings = readControls();
  if (event && event.target.dataset.key === "data" && !CLASSIFICATION.has(settings.data)) {
    settings.loss = "mse";  // cross-entropy needs classes
  }
  refreshControlHints(settings);
  try {
    const answer = await api("POST", sessionPath("settings"), {settings});
    app.settings = settings;
    writeControls(settings);
    keepInUrl(settings);
    showMessage("");
    document.getElementById("export-result").hidden = true;  // the export no longer matches the settings
    if (answer.reset) {
      app.dataVersion = -1;
      hideToolResults();
    }
    await poll();
  } catch (error) {
    showMessage(error.message);
    if (app.settings) writeControls(app.settings);
  }
}

// ------------------------------------------------------------------------------------------------ session
async function startSession(settings) {
  const answer = await api("POST", "/api/sessions", {settings});
  app.sid = answer.id;
  app.settings = answer.settings;
  app.version = -1;
  app.dataVersion = -1;
  writeControls(app.settings);
  keepInUrl(app.settings);
  for (const id of ["btn-run", "btn-step", "btn-reset", "btn-export", "btn-doctor", "btn-hessian"]) {
    document.getElementById(id).disabled = false;
  }
}

async function boot() {
  const info = await api("GET", "/api/limits");
  app.limits = info.limits;
  app.defaults = info.defaults;
  applyLimits(app.limits);
  writeControls(app.defaults);
  const fromUrl = urlSettings();
  try {
    await startSession({...app.defaults, ...fromUrl});
  } catch (error) {
    if (error.status !== 400) throw error;
    showMessage(`The link's settings were refused (${error.message}); starting from the defaults.`);
    await startSession(app.defaults);
  }
  for (const el of controls()) el.addEventListener("change", onSettingsChanged);
  wireButtons();
  window.addEventListener("pagehide", () => {
    if (app.sid) navigator.sendBeacon(sessionPath("close"));
  });
  document.getElementById("python-snippet").textContent = pythonSnippet();
  schedulePoll(0);
}

function schedulePoll(delay) {
  clearTimeout(app.pollTimer);
  app.pollTimer = setTimeout(async () => {
    try {
      await poll();
    } catch (error) {
      if (error.status === 404 || error.status === 410) {
        showMessage("This session was closed (idle, or its worker stopped): a new one starts from the page's settings.");
        try { await startSession(app.settings || app.defaults); } catch (e) { showMessage(e.message); }
      } else {
        showMessage(`The server did not answer (${error.message}); retrying…`);
      }
    }
    const busy = app.running || app.busy;
    schedulePoll(document.hidden ? 5000 : busy ? 200 : 1000);
  }, delay);
}

async function poll() {
  const state = await api("GET", sessionPath("state"));
  if (state.starting) return;
  if (state.data_version !== undefined && state.data_version !== app.dataVersion) {
    app.data = await api("GET", sessionPath("data"));
    app.dataVersion = state.data_version;
  }
  if (state.version === app.version) return;
  app.version = state.version;
  app.last = state;
  app.running = state.running;
  app.busy = state.busy;
  render(state);
}

// ------------------------------------------------------------------------------------------------ buttons
function wireButtons() {
  const on = (id, fn) => document.getElementById(id).addEventListener("click", fn);
  on("btn-run", () => control(app.running ? "pause" : "start"));
  on("btn-step", () => control("step"));
  on("btn-reset", () => { hideToolResults(); control("reset"); });
  on("btn-hessian", () => tool("hessian"));
  on("btn-escape", () => tool("escape"));
  on("btn-origin", () => tool("origin"));
  on("btn-doctor", () => tool("doctor"));
  on("btn-export", exportConfig);
  on("btn-copy-link", async () => {
    try { await navigator.clipboard.writeText(window.location.href); showMessage(""); }
    catch (e) { showMessage(`Copy this link: ${window.location.href}`); }
  });
  document.getElementById("units-layer").addEventListener("change", async (event) => {
    await api("POST", sessionPath("view"), {layer: Number(event.target.value)});
    await poll();
  });
}

async function control(action) {
  try {
    const answer = await api("POST", sessionPath("control"), {action, steps: 1});
    app.running = answer.running;
    showMessage("");
    if (action === "pause") await autoHessian();
    await poll();
  } catch (error) { showMessage(error.message); }
}

async function autoHessian() {
  // "On pause": the spectrum at the point where training stopped, when the model is small enough.
  const status = app.last && app.last.status;
  if (status && status.hessian_allowed) await tool("hessian");
}

async function tool(name) {
  try {
    await api("POST", sessionPath(`tools/${name}`));
    app.busy = name;
    showMessage("");
    await poll();
  } catch (error) { showMessage(error.message); }
}

async function exportConfig() {
  const name = `play-${app.settings.data.replace("_", "-")}`;
  const tomlUrl = sessionPath(`${name}.toml`);
  try {
    const response = await fetch(tomlUrl);
    const text = await response.text();
    if (!response.ok) throw new Error(JSON.parse(text).error);
    document.getElementById("export-toml").value = text;
    const toml = document.getElementById("link-toml");
    toml.href = tomlUrl;
    toml.setAttribute("download", `${name}.toml`);
    const csv = document.getElementById("link-csv");
    csv.hidden = app.settings.data === "views";
    csv.href = `/api/export/${name}.csv?${settingsQuery(app.settings)}`;
    csv.setAttribute("download", `${name}.csv`);
    document.getElementById("link-weights").href = sessionPath("weights.safetensors");
    document.getElementById("export-result").hidden = false;
    document.getElementById("python-snippet").textContent = pythonSnippet();
  } catch (error) { showMessage(error.message); }
}

function hideToolResults() {
  for (const id of ["hessian-result", "escape-result", "doctor-result", "export-result"]) {
    document.getElementById(id).hidden = true;
  }
}

function pythonSnippet() {
  const name = app.settings ? `play-${app.settings.data.replace("_", "-")}` : "play-circles";
  return [
    "# Export the config (and the data CSV) and the weights, then:",
    "import relulab",
    "from relulab import analysis as A",
    "from relulab.train import load_config",
    "from relulab.train.session import rebuild_job",
    "",
    `job = rebuild_job(load_config("${name}.toml"))`,
    'job.model.load_state_dict(relulab.load("play-weights.safetensors"))',
    'x, y = job.loaders["train"].dataset.tensors',
    "print(A.classify(job.model, job.loss_fn, (x, y)))        # the Hessian panel",
    "print(A.escape_saddle(job.model, job.loss_fn, (x, y)))   # escape the saddle",
  ].join("\n");
}

// ------------------------------------------------------------------------------------------------ drawing
const fmt = (v, digits = 4) => (v === null || v === undefined || Number.isNaN(v)) ? "–" :
  (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)) ? v.toExponential(digits - 1) : v.toPrecision(digits);

function setNumber(id, value, digits = 4) {
  const el = document.getElementById(id);
  el.textContent = typeof value === "number" && !Number.isInteger(value) ? fmt(value, digits) : String(value);
  el.dataset.value = String(value);
}

function render(state) {
  if (state.error) showMessage(state.error);
  const status = state.status;
  const runButton = document.getElementById("btn-run");
  runButton.textContent = state.running ? "Pause" : "Start";
  runButton.disabled = !status || !!state.busy;
  document.getElementById("btn-step").disabled = !status || !!state.busy;
  if (!status) return;
  renderStatus(state);
  renderModel(state);
  renderCurves(state);
  renderUnits(state);
  renderHessian(state);
  renderEscape(state);
  renderSurface(state);
  renderDoctor(state);
  document.getElementById("btn-export").disabled = !!state.busy;
}

function renderStatus(state) {
  const s = state.status;
  const parts = [`step <b id="st-step">${s.step}</b>`, `epoch <b>${s.epoch}</b>`, `lr <b>${fmt(s.lr, 3)}</b>`,
    `train loss <b id="st-train">${fmt(s.train_loss)}</b>`, `valid loss <b id="st-valid">${fmt(s.valid_loss)}</b>`];
  if (s.accuracy !== null) parts.push(`valid accuracy <b>${(100 * s.accuracy).toFixed(1)}%</b>`);
  if (state.running) parts.push(`<span id="st-rate">${state.rate.toFixed(0)}</span> updates/s`);
  if (state.busy) parts.push(`<span class="busy">${state.busy} running…</span>`);
  document.getElementById("status").innerHTML = parts.join(" · ");
  document.getElementById("model-size").textContent =
    `${s.parameters} parameters: ${s.layer_names.join(" → ")}; ${s.train_rows} training rows, ` +
    `${s.valid_rows} validation rows, ${s.steps_per_epoch} updates per epoch`;
}

function renderModel(state) {
  const data = app.data;
  if (!data) return;
  const traces = [];
  const classification = state.status.classification;
  const pointTrace = (split, name, symbol) => {
    const xs = data[split].x;
    if (classification) {
      return {type: "scatter", mode: "markers", name, x: xs.map((p) => p[0]), y: xs.map((p) => p[1]),
        marker: {size: 6, symbol, color: data[split].y.map((c) => (c > 0.5 ? COLORS.class1 : COLORS.class0)),
          line: {color: "#fff", width: 0.6}}, hoverinfo: "skip"};
    }
    return {type: "scatter", mode: "markers", name, x: xs.map((p) => p[0]), y: data[split].y,
      marker: {size: 5, symbol, color: split === "train" ? COLORS.train : COLORS.valid, opacity: 0.7}};
  };
  const layout = {...BASE_LAYOUT, showlegend: true};
  if (classification) {
    const p = state.prediction;
    traces.push({type: "heatmap", x: p.xs, y: p.ys, z: p.z, zmin: 0, zmax: 1, showscale: true,
      colorscale: [[0, "#bcd4ee"], [0.5, "#f8f9fa"], [1, "#f8c9a4"]], colorbar: {thickness: 10, len: 0.8},
      hovertemplate: "x1 %{x:.2f}, x2 %{y:.2f}: P(1) = %{z:.3f}<extra></extra>", name: "P(class 1)"});
    traces.push({type: "contour", x: p.xs, y: p.ys, z: p.z, showscale: false, hoverinfo: "skip",
      contours: {start: 0.5, end: 0.5, size: 1, coloring: "lines"}, line: {color: "#212529", width: 2},
      name: "boundary P = 0.5", showlegend: true});
    traces.push(pointTrace("train", "train", "circle"), pointTrace("valid", "validation", "diamond-open"));
    Object.assign(layout, {xaxis: {title: {text: "x1"}, range: data.bounds[0]},
      yaxis: {title: {text: "x2"}, range: data.bounds[1], scaleanchor: "x"}});
  } else {
    traces.push(pointTrace("train", "train", "circle"), pointTrace("valid", "validation", "diamond"));
    traces.push({type: "scatter", mode: "lines", name: "model", x: state.prediction.x, y: state.prediction.y,
      line: {color: "#212529", width: 2.5}});
    const views = app.settings && app.settings.data === "views";
    Object.assign(layout, {xaxis: {title: {text: views ? "yesterday's views (standardized)" : "x"}},
      yaxis: {title: {text: views ? "today's views (thousands)" : "y"}}});
  }
  Plotly.react("plot-model", traces, layout, PLOT_CONFIG);
}

function logAxis(values, title) {
  // Log-scale ticks a reader can take in at a glance: 1…9 within a decade, 1-2-5 within two, decades beyond.
  const finite = values.filter((v) => v !== null && v > 0);
  const axis = {type: "log", title: {text: title}};
  if (!finite.length) return axis;
  const lo = Math.floor(Math.log10(Math.min(...finite))), hi = Math.ceil(Math.log10(Math.max(...finite)));
  const steps = hi - lo <= 1 ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : hi - lo <= 2 ? [1, 2, 5] : [1];
  const ticks = [];
  for (let k = lo; k <= hi; k++) for (const m of steps) ticks.push(m * 10 ** k);
  axis.tickvals = ticks;
  axis.ticktext = ticks.map((t) => (t >= 1e-3 && t < 1e4 ? String(Number(t.toPrecision(1))) : t.toExponential(0)));
  return axis;
}

function renderCurves(state) {
  const c = state.curve;
  const shapes = state.status.switches.map((s) => ({type: "line", xref: "x", yref: "paper", x0: s.step, x1: s.step,
    y0: 0, y1: 1, line: {color: "#868e96", width: 1, dash: "dot"}}));
  const annotations = state.status.switches.map((s) => ({x: s.step, y: 1, xref: "x", yref: "paper",
    text: s.what.length > 28 ? `${s.what.slice(0, 26)}…` : s.what, showarrow: false, font: {size: 9, color: "#495057"},
    textangle: -90, xanchor: "right", yanchor: "top"}));
  const mode = c.step.length < 20 ? "lines+markers" : "lines";  // a few points: show each one
  Plotly.react("plot-loss", [
    {type: "scatter", mode, name: "train", x: c.step, y: c.train, line: {color: COLORS.train}},
    {type: "scatter", mode, name: "validation", x: c.step, y: c.valid, line: {color: COLORS.valid}},
  ], {...BASE_LAYOUT, shapes, annotations, xaxis: {title: {text: "updates"}},
    yaxis: logAxis(c.train.concat(c.valid), "loss")}, PLOT_CONFIG);
  Plotly.react("plot-grad", [
    {type: "scatter", mode, name: "‖∇L‖", x: c.step, y: c.grad_norm, line: {color: COLORS.grad}},
  ], {...BASE_LAYOUT, showlegend: false, shapes, xaxis: {title: {text: "updates"}},
    yaxis: logAxis(c.grad_norm, "‖∇L‖")}, PLOT_CONFIG);
}

function changed(part, key) {
  // Plots redraw only when what they show has changed: the page stays light while the run goes on.
  if (app.drawn[part] === key) return false;
  app.drawn[part] = key;
  return true;
}

function renderUnits(state) {
  if (!changed("units", `${app.sid}:${state.units_version}:${app.settings.layers}`)) return;
  const select = document.getElementById("units-layer");
  const layers = app.settings.layers;
  if (select.options.length !== layers) {
    select.innerHTML = "";
    for (let i = 1; i <= layers; i++) select.add(new Option(String(i), String(i)));
  }
  const units = state.units;
  document.getElementById("units-empty").hidden = layers > 0;
  document.getElementById("plot-units").hidden = layers === 0;
  if (!units) { Plotly.purge("plot-units"); return; }
  select.value = String(units.layer);
  const traces = [];
  const layout = {...BASE_LAYOUT, showlegend: false, margin: {l: 30, r: 8, t: 18, b: 24}};
  if (units.maps) {
    const n = units.maps.length;
    const columns = Math.min(n, 16);
    const rows = Math.ceil(n / columns);
    const values = units.maps.flat(2).filter((v) => v !== null);
    const lo = Math.min(...values), hi = Math.max(...values);
    layout.grid = {rows, columns, pattern: "independent", xgap: 0.08, ygap: 0.15};
    layout.annotations = [];
    units.maps.forEach((map, i) => {
      const suffix = i === 0 ? "" : String(i + 1);
      traces.push({type: "heatmap", z: map, x: units.xs, y: units.ys, zmin: lo, zmax: hi, showscale: i === 0,
        colorscale: "RdBu", reversescale: true, xaxis: `x${suffix}`, yaxis: `y${suffix}`,
        colorbar: {thickness: 8, len: 0.9, x: 1.01}, hovertemplate: `unit ${i + 1}: %{z:.3f}<extra></extra>`});
      const bare = {showticklabels: false, ticks: "", showgrid: false, zeroline: false, showline: false};
      layout[`xaxis${suffix}`] = {...bare, constrain: "domain"};
      layout[`yaxis${suffix}`] = {...bare, scaleanchor: `x${suffix}`, constrain: "domain"};
      layout.annotations.push({text: `${i + 1}`, xref: `x${suffix} domain`, yref: `y${suffix} domain`, x: 0.5, y: 1.0,
        yanchor: "bottom", showarrow: false, font: {size: 9}});
    });
    layout.height = Math.max(130, 96 * rows + 30);
    document.getElementById("plot-units").style.height = `${layout.height}px`;
  } else {
    units.curves.forEach((curve, i) => traces.push({type: "scatter", mode: "lines", x: units.x, y: curve,
      name: `unit ${i + 1}`, hovertemplate: `unit ${i + 1}: %{y:.3f}<extra></extra>`}));
    Object.assign(layout, {showlegend: units.curves.length <= 12, margin: {l: 40, r: 8, t: 24, b: 30},
      xaxis: {title: {text: "x"}}, yaxis: {title: {text: "activation"}}, height: 250});
    document.getElementById("plot-units").style.height = "250px";
  }
  Plotly.react("plot-units", traces, layout, PLOT_CONFIG);
}

function renderHessian(state) {
  const h = state.hessian;
  const s = state.status;
  const note = document.getElementById("hessian-note");
  const busy = state.busy;
  document.getElementById("btn-hessian").disabled = !!busy || !s.hessian_allowed;
  document.getElementById("btn-origin").disabled = !!busy;
  const current = h && h.step === s.step;
  document.getElementById("btn-escape").disabled = !!busy || !h || !h.escapable;
  if (busy === "hessian") note.innerHTML = '<span class="busy">computing the exact Hessian…</span>';
  else if (state.tool_error && ["hessian", "escape"].includes(state.tool_error.tool)) {
    note.innerHTML = "";
    note.append(Object.assign(document.createElement("span"), {className: "error-text",
      textContent: state.tool_error.message}));
  } else if (!s.hessian_allowed) {
    note.textContent = `The exact Hessian costs one backward pass per parameter; this server computes it for ` +
      `at most ${state.limits.hessian_max_parameters} parameters (this model: ${s.parameters}).`;
  } else if (!h) note.textContent = "Pause (or press Compute) for the spectrum at the current θ.";
  else note.textContent = current ? "" : `Computed at step ${h.step}; θ has moved since (step ${s.step}).`;
  const box = document.getElementById("hessian-result");
  box.hidden = !h;
  if (!h || !changed("hessian", `${app.sid}:${h.step}:${h.loss}`)) return;
  document.getElementById("h-kind").textContent = h.kind;
  document.getElementById("h-kind").dataset.value = h.kind;
  document.getElementById("h-critical").textContent = h.critical
    ? `A critical point: ‖∇L‖ = ${fmt(h.gradient_norm, 3)} ≤ ${h.critical_gradient}.`
    : `Not a critical point (‖∇L‖ = ${fmt(h.gradient_norm, 3)} > ${h.critical_gradient}, find_critical_point's ` +
      "bar): the verdict describes the curvature at θ, as classify does, not a minimum or saddle of L.";
  setNumber("h-positive", h.positive);
  setNumber("h-negative", h.negative);
  setNumber("h-zero", h.near_zero);
  setNumber("h-tolerance", h.tolerance, 2);
  setNumber("h-threshold", h.threshold, 3);
  setNumber("h-ratio", h.minimum_ratio);
  setNumber("h-ratio-nonzero", h.ratio_nonzero);
  setNumber("h-min", h.eigenvalues[0], 5);
  setNumber("h-max", h.eigenvalues[h.eigenvalues.length - 1], 5);
  setNumber("h-grad", h.gradient_norm, 4);
  setNumber("h-loss", h.loss, 6);
  setNumber("h-step", h.step);
  setNumber("h-params", h.parameters);
  const colors = h.eigenvalues.map((v) => (v > h.threshold ? "#2f9e44" : v < -h.threshold ? "#e03131" : "#868e96"));
  Plotly.react("plot-spectrum", [{type: "bar", x: h.eigenvalues.map((_, i) => i + 1), y: h.eigenvalues,
    marker: {color: colors}, hovertemplate: "λ%{x} = %{y:.4g}<extra></extra>"}],
  {...BASE_LAYOUT, showlegend: false, xaxis: {title: {text: "eigenvalue (ascending)"}},
    yaxis: {title: {text: "λ"}, zeroline: true}}, PLOT_CONFIG);
}

function renderEscape(state) {
  const e = state.escape;
  const box = document.getElementById("escape-result");
  box.hidden = !e;
  if (!e || !changed("escape", `${app.sid}:${e.step}:${e.start_loss}:${e.loss_after}`)) return;
  const text = document.getElementById("escape-text");
  text.textContent = e.lowered
    ? `Escaped at step ${e.step}: along u (λ = ${fmt(e.eigenvalue)}), θ + ${fmt(e.eta, 3)}·u lowers L from ` +
      `${fmt(e.start_loss, 6)} to ${fmt(e.loss_after, 6)}.`
    : `At step ${e.step} no step along u (λ = ${fmt(e.eigenvalue)}) lowered L (${fmt(e.start_loss, 6)}); θ stays.`;
  text.dataset.before = String(e.start_loss);
  text.dataset.after = String(e.loss_after);
  text.dataset.eta = String(e.eta);
  Plotly.react("plot-escape", [{type: "scatter", mode: "lines+markers", x: e.step_sizes, y: e.losses,
    line: {color: COLORS.path}, marker: {size: 4}}],
  {...BASE_LAYOUT, showlegend: false, xaxis: {title: {text: "η"}}, yaxis: {title: {text: "L(θ + η·u)"}}},
  PLOT_CONFIG);
}

function renderSurface(state) {
  const panel = document.getElementById("surface-panel");
  const sf = state.surface;
  panel.hidden = !sf;
  if (!sf) return;
  const logLoss = sf.loss.map((row) => row.map((v) => (v > 0 ? Math.log10(v) : null)));
  const path = sf.path;
  const last = path.w.length - 1;
  Plotly.react("plot-surface", [
    {type: "contour", x: sf.w, y: sf.b, z: logLoss, colorscale: "Viridis", reversescale: true, ncontours: 24,
      colorbar: {title: {text: "log₁₀ L", side: "right"}, thickness: 10},
      hovertemplate: "w %{x:.3f}, b %{y:.3f}: log₁₀ L = %{z:.3f}<extra></extra>"},
    {type: "scatter", mode: "lines", x: path.w, y: path.b, name: "path", line: {color: COLORS.path, width: 2}},
    {type: "scatter", mode: "markers", x: [path.w[0]], y: [path.b[0]], name: "start",
      marker: {color: "#fff", size: 9, line: {color: COLORS.path, width: 2}}},
    {type: "scatter", mode: "markers", x: [path.w[last]], y: [path.b[last]], name: "now",
      marker: {color: COLORS.path, size: 9}},
    {type: "scatter", mode: "markers", x: [sf.best[0]], y: [sf.best[1]], name: "least squares",
      marker: {symbol: "x", color: "#fff", size: 10, line: {color: "#212529", width: 2}}},
  ], {...BASE_LAYOUT, xaxis: {title: {text: "w"}, range: [sf.w[0], sf.w[sf.w.length - 1]]},
    yaxis: {title: {text: "b"}, range: [sf.b[0], sf.b[sf.b.length - 1]]},
    legend: {orientation: "h", y: 1.08, x: 0}, margin: {l: 48, r: 12, t: 30, b: 40}}, PLOT_CONFIG);
}

function renderDoctor(state) {
  const d = state.doctor;
  const note = document.getElementById("doctor-note");
  document.getElementById("btn-doctor").disabled = !!state.busy;
  if (state.busy === "doctor") {
    note.innerHTML = '<span class="busy">the doctor is training its reference models…</span>';
  } else if (state.tool_error && state.tool_error.tool === "doctor") {
    note.textContent = state.tool_error.message;
  } else {
    note.textContent = d ? (d.step === state.status.step ? "" : `Diagnosed at step ${d.step}.`)
      : `It trains simpler and bigger reference models (${state.limits.doctor_updates} updates per learning ` +
        "rate tried) and names the problem: model bias, optimization, overfitting or mismatch.";
  }
  const box = document.getElementById("doctor-result");
  box.hidden = !d;
  if (!d || !changed("doctor", `${app.sid}:${d.step}:${d.reason}`)) return;
  document.getElementById("doctor-verdict").textContent = d.verdict;
  document.getElementById("doctor-reason").textContent = d.reason;
  const list = document.getElementById("doctor-remedies");
  list.innerHTML = "";
  for (const remedy of d.remedies) list.append(Object.assign(document.createElement("li"), {textContent: remedy}));
  document.getElementById("doctor-report").textContent = d.report;
}

window.addEventListener("DOMContentLoaded", () => {
  boot().catch((error) => showMessage(`relulab play could not start: ${error.message}`));
});
