// The fit view: choose data (a NIST StRD example or a CSV file), type a model, fit it; then the
// verdict, the parameters with both intervals (and NIST's certified values), the curve with its
// bands, the residuals, the 1-D profiles and the SSE surface over two parameters with the
// solver's path played step by step beside its step table. Every number comes from the server
// (gradscape.fit); this file only draws.
import {
  ApiFailure, api, el, fmt, getParams, plot, progressBar, registerReport, runJob, setParams,
  showError, upload,
} from "./common.js";

// Okabe–Ito colours: told apart with every common colour-vision deficiency
const BLUE = "#0072B2", ORANGE = "#E69F00", SKY = "#56B4E9", GREEN = "#009E73",
  VERMILLION = "#D55E00", PURPLE = "#CC79A7", INK = "#1d2330";
const FRAME_MS = 450;

function field(label, input, hint) {
  const lab = el("label", {}, label, input);
  if (hint) lab.title = hint;
  return lab;
}

/** "b1=500, b2=1e-4" → {b1: 500, b2: 0.0001}; "b1=0:1000, b2=0:" → {b1: [0, 1000], b2: [0, null]}. */
function pairs(text, what, bounds) {
  const out = {};
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = part.match(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/);
    if (!m) throw new ApiFailure(`${what}: write NAME=${bounds ? "LOW:HIGH" : "VALUE"} pairs separated by commas; '${part}' is not one.`, 0);
    if (bounds) {
      const sides = m[2].split(":");
      const v = sides.map((s) => (s.trim() === "" ? null : Number(s)));
      if (sides.length !== 2 || v.some((x) => x !== null && !Number.isFinite(x))) {
        throw new ApiFailure(`${what}: '${part}' is not NAME=LOW:HIGH (leave a side empty for no bound).`, 0);
      }
      out[m[1]] = v;
    } else {
      const v = Number(m[2]);
      if (!Number.isFinite(v) || m[2].trim() === "") throw new ApiFailure(`${what}: '${m[2]}' in '${part}' is not a number.`, 0);
      out[m[1]] = v;
    }
  }
  return out;
}

/** plot() with numbers on the axes written 5.5e-4, not 550µ (SI prefixes read as units). */
function fplot(node, data, layout) {
  const e = { exponentformat: "e" };
  return plot(node, data, { ...layout, xaxis: { ...e, ...layout.xaxis }, yaxis: { ...e, ...layout.yaxis } });
}

function startText(start) { return Object.entries(start).map(([k, v]) => `${k}=${v}`).join(", "); }

export async function mount(root) {
  const params = getParams();
  root.append(el("p", { class: "note" }, "Loading the examples…"));
  let info;
  try {
    info = await api("/api/fit/examples");
  } catch (e) {
    if (!(e instanceof ApiFailure)) throw e;
    root.replaceChildren(el("div", { class: "error" }, e.message));
    return;
  }
  root.replaceChildren();
  const examples = Object.fromEntries(info.examples.map((x) => [x.name, x]));

  // -- the controls ------------------------------------------------------------------------------
  const dataSel = el("select", { id: "g-data" });
  for (const level of ["lower", "average", "higher"]) {
    const group = el("optgroup", { label: `NIST StRD, ${level} difficulty` });
    for (const x of info.examples.filter((e) => e.difficulty === level)) {
      group.append(el("option", { value: x.name }, `${x.name} (${x.n} rows)`));
    }
    dataSel.append(group);
  }
  dataSel.append(el("option", { value: "upload" }, "upload a CSV file…"));
  dataSel.value = params.get("g_upload") ? "upload" : (examples[params.get("g_data")] ? params.get("g_data") : "Misra1a");
  const fileIn = el("input", { id: "g-file", type: "file", accept: ".csv,.tsv,.txt,.dat" });
  const fileBox = el("span", { class: "g-file" }, field("Data file", fileIn));
  const facts = el("div", { id: "g-facts", class: "note" });
  const modelIn = el("input", { id: "g-model", type: "text", spellcheck: "false", autocomplete: "off",
    value: params.get("g_model") || examples[dataSel.value]?.model || "" });
  const hint = el("div", { class: "note g-hint" },
    "Write response = formula, e.g. y = b1*(1 - exp(-b2*x)). The left side names the response column " +
    "(or is an expression of columns, log(y) = …); names that are columns are inputs, every other name is a parameter.");
  const startIn = el("input", { id: "g-start", type: "text", spellcheck: "false", value: params.get("g_start") ?? "" ,
    placeholder: "b1=500, b2=1e-4" });
  const start1 = el("button", { id: "g-start1", type: "button", class: "secondary" }, "NIST start 1");
  const start2 = el("button", { id: "g-start2", type: "button", class: "secondary" }, "NIST start 2");
  const boundsIn = el("input", { id: "g-bounds", type: "text", spellcheck: "false", value: params.get("g_bounds") || "",
    placeholder: "b1=0:1000, b2=0:" });
  const weightsSel = el("select", { id: "g-weights" });
  const startsIn = el("input", { id: "g-starts", type: "number", min: "0", max: String(info.caps.starts), step: "1",
    value: params.get("g_starts") || "", placeholder: "none" });
  const fitBtn = el("button", { id: "g-fit", type: "button" }, "Fit");
  const err = el("div", { id: "g-error", class: "error", hidden: "" });
  const controls = el("div", { class: "panel g-controls" },
    el("div", { class: "controls" }, field("Data", dataSel), fileBox, facts),
    el("div", { class: "controls g-model-row" }, field("Model", modelIn), fitBtn),
    hint, err,
    el("div", { class: "controls" },
      field("Starts (NAME=VALUE, …)", startIn, "starting values; a parameter not named starts at 1"),
      el("span", { class: "g-nist-starts" }, start1, start2),
      field("Bounds (NAME=LOW:HIGH, …)", boundsIn, "an empty side is open"),
      field("Weights column", weightsSel, "wᵢ ≥ 0 multiplying each squared residual (1/σᵢ²)"),
      field("Multistart", startsIn, `number of starts in the bounds' box (every parameter bounded), at most ${info.caps.starts.toLocaleString("en")}`)));
  const bar = progressBar(controls);
  const phaseNote = el("span", { id: "g-phase", class: "note" });
  controls.append(phaseNote);

  // -- the results -------------------------------------------------------------------------------
  const verdict = el("div", { id: "g-verdict", class: "g-verdict", hidden: "" });
  const table = el("table", { id: "g-params", class: "g-table" });
  const stats = el("div", { id: "g-stats", class: "numbers" });
  const curvePlot = el("div", { id: "g-curve", class: "plot g-plot" });
  const residSel = el("select", { id: "g-resid-against" });
  const residPlot = el("div", { id: "g-resid", class: "plot g-plot" });
  const profiles = el("div", { id: "g-profiles", class: "g-profiles" });
  const xSel = el("select", { id: "g-x" });
  const ySel = el("select", { id: "g-y" });
  const playBtn = el("button", { id: "g-play", type: "button" }, "▶ Play");
  const frameIn = el("input", { id: "g-frame", type: "range", min: "0", max: "0", step: "1", value: "0" });
  const frameLabel = el("span", { id: "g-frame-label", class: "g-frame-label" });
  const contour = el("div", { id: "g-contour", class: "plot g-contour" });
  const surfNote = el("div", { id: "g-surface-note", class: "note" });
  const stepNow = el("div", { id: "g-step-now", class: "g-step-now numbers" });
  const steps = el("table", { id: "g-steps", class: "g-table g-steps" });
  const stepsBox = el("div", { class: "g-steps-box" }, steps);
  const results = el("div", { id: "g-results", hidden: "" },
    verdict,
    el("div", { class: "row" },
      el("div", { class: "panel g-params-panel" }, el("h2", {}, "Parameters"), el("div", { class: "g-table-box" }, table), stats)),
    el("div", { class: "row" },
      el("div", { class: "panel" }, el("h2", { id: "g-curve-head" }, "The data and the fitted curve"), curvePlot),
      el("div", { class: "panel" }, el("div", { class: "g-head-row" }, el("h2", {}, "Residuals"), field("against", residSel)), residPlot)),
    el("div", { class: "row" },
      el("div", { class: "panel g-surface-panel" }, el("h2", {}, "The solver's path on the SSE surface"),
        el("div", { class: "controls" }, field("across", xSel), field("up", ySel), playBtn, frameIn, frameLabel),
        el("div", { class: "g-surface" }, contour, el("div", { class: "g-step-side" }, stepNow, stepsBox)),
        surfNote)),
    el("div", { class: "row" },
      el("div", { class: "panel" }, el("h2", {}, "Profiles: the SSE along each parameter, the others re-fitted"), profiles)));
  root.append(controls, results);

  // -- state -------------------------------------------------------------------------------------
  let uploaded = params.get("g_upload") ? { token: params.get("g_upload"), columns: [] } : null;
  let result = null;     // the finished fit (the job's result)
  let surface = null;    // the surface shown
  let frame = 0, timer = null, running = false;

  function example() { return dataSel.value === "upload" ? null : examples[dataSel.value]; }

  function saveState() {
    setParams({
      g_data: dataSel.value === "upload" ? null : dataSel.value,
      g_upload: dataSel.value === "upload" && uploaded ? uploaded.token : null,
      g_model: modelIn.value.trim(), g_start: startIn.value.trim(), g_bounds: boundsIn.value.trim(),
      g_weights: weightsSel.value, g_starts: startsIn.value,
      g_x: result && surface ? surface.x_name : null, g_y: result && surface ? surface.y_name : null,
      g_fit: result ? "1" : null,
    });
  }

  function setColumns(columns, chosen) {
    weightsSel.replaceChildren(el("option", { value: "" }, "none"), ...columns.map((c) => el("option", { value: c }, c)));
    weightsSel.value = columns.includes(chosen) ? chosen : "";
  }

  function showData() {
    const x = example();
    fileBox.hidden = !!x;
    start1.hidden = start2.hidden = !x;
    if (x) {
      facts.textContent = `${x.n} rows, columns ${x.columns.join(", ")}; NIST's model: ${x.model}`;
      setColumns(x.columns, params.get("g_weights"));
    } else if (uploaded && uploaded.columns.length) {
      facts.textContent = `${uploaded.name}: ${uploaded.rows.toLocaleString("en")} rows, columns ${uploaded.columns.join(", ")}` +
        (uploaded.notes && uploaded.notes.length ? `. ${uploaded.notes.join(". ")}` : "");
      setColumns(uploaded.columns, params.get("g_weights"));
    } else {
      facts.textContent = uploaded ? "the uploaded file (from the link)" : "Choose a CSV file with a header row.";
      setColumns(params.get("g_weights") ? [params.get("g_weights")] : [], params.get("g_weights"));
    }
  }

  dataSel.addEventListener("change", () => {
    const x = example();
    if (x) { modelIn.value = x.model; startIn.value = startText(x.starts[0]); boundsIn.value = ""; }
    clearError();
    showData(); saveState();
  });
  fileIn.addEventListener("change", async () => {
    const file = fileIn.files[0];
    if (!file) return;
    clearError();
    try {
      uploaded = await upload(file);
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      uploaded = null;
      showError(err, e.message);
    }
    showData(); saveState();
  });
  start1.addEventListener("click", () => { startIn.value = startText(example().starts[0]); saveState(); });
  start2.addEventListener("click", () => { startIn.value = startText(example().starts[1]); saveState(); });
  for (const i of [modelIn, startIn, boundsIn, weightsSel, startsIn]) i.addEventListener("change", saveState);
  modelIn.addEventListener("keydown", (e) => { if (e.key === "Enter") fit(); });
  modelIn.addEventListener("input", () => modelIn.classList.remove("invalid"));

  function clearError() { modelIn.classList.remove("invalid"); showError(err, ""); }

  /** The message, and for an unreadable model the model with a caret under the column. */
  function showFailure(e) {
    err.hidden = false;
    err.classList.add("error");
    err.replaceChildren(el("div", { class: "msg" }, e.message));
    if (e.column) {
      modelIn.classList.add("invalid");
      err.append(el("pre", { class: "caret" }, e.expression || modelIn.value, "\n", " ".repeat(e.column - 1) + "^"));
      try { modelIn.setSelectionRange(e.column - 1, e.column); modelIn.focus(); } catch (_) { /* */ }
    }
  }

  function request() {
    const body = { model: modelIn.value.trim(), start: pairs(startIn.value, "Starts", false),
      bounds: pairs(boundsIn.value, "Bounds", true), weights: weightsSel.value || null,
      starts: startsIn.value === "" || Number(startsIn.value) === 0 ? null : Number(startsIn.value) };
    if (dataSel.value === "upload") {
      if (!uploaded) throw new ApiFailure("Choose a CSV file first (or pick a NIST example).", 0);
      body.upload = uploaded.token; body.example = null;
    } else body.example = dataSel.value;
    const gx = surface ? surface.x_name : params.get("g_x"), gy = surface ? surface.y_name : params.get("g_y");
    if (gx && gy && gx !== gy) body.pair = [gx, gy];
    return body;
  }

  // -- the fit -----------------------------------------------------------------------------------
  async function fit() {
    if (running) return;
    clearError();
    stop();
    let body;
    try { body = request(); } catch (e) { if (!(e instanceof ApiFailure)) throw e; showFailure(e); return; }
    running = true; fitBtn.disabled = true; phaseNote.textContent = "";
    try {
      let end;
      try {
        end = await runJob("/api/fit/fit", body, { bar, onEvent(ev) {
          if (ev.type === "phase") phaseNote.textContent = { fit: "solving…", starts: "running the starts…", profiles: "profiling each parameter…" }[ev.phase] || ev.phase;
        } });
      } catch (e) {
        // a pair from the link that this model does not have: fit again with the default pair
        if (e instanceof ApiFailure && body.pair && /is not a parameter of the model/.test(e.message)) {
          params.delete("g_x"); params.delete("g_y"); delete body.pair;
          end = await runJob("/api/fit/fit", body, { bar });
        } else throw e;
      }
      result = end.result;
      surface = result.surface;
      params.delete("g_x"); params.delete("g_y");
      draw();
      saveState();
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      showFailure(e);
    } finally {
      running = false; fitBtn.disabled = false; phaseNote.textContent = "";
    }
  }
  fitBtn.addEventListener("click", fit);

  // -- drawing -----------------------------------------------------------------------------------
  function draw() {
    results.hidden = false;
    drawVerdict(); drawTable(); drawCurve(); drawResiduals(); drawProfiles(); drawSurface();
  }

  function drawVerdict() {
    const s = result.summary;
    const icon = { converged: "✔", suspect: "⚠", failed: "✖" }[s.verdict] || "";
    verdict.hidden = false;
    verdict.className = `g-verdict g-${s.verdict}`;
    const list = (title, items) => (items.length ? [el("div", { class: "g-list-head" }, title),
      el("ul", {}, ...items.map((t) => el("li", {}, t)))] : []);
    verdict.replaceChildren(
      el("div", { class: "g-verdict-head" }, el("span", { class: "g-word" }, `${icon} ${s.verdict}`),
        el("span", { class: "g-stop" }, `stopped: ${s.stop}`)),
      el("div", { class: "g-model-shown" }, `${s.model}  ·  ${s.data}, ${s.n} rows  ·  ${s.solver.method}, ` +
        `${s.solver.evaluations} evaluations, ${fmt(s.solver.seconds * 1000, 3)} ms`),
      ...list("Warnings", s.warnings), ...list("What to try", s.suggestions), ...list("Notes", s.notes));
  }

  function drawTable() {
    const s = result.summary, c = result.certified;
    const head = ["parameter", "start", "estimate", "std. error", `Wald ${Math.round(s.level * 100)} %`,
      `profile ${Math.round(s.level * 100)} %`];
    if (c) head.push("NIST certified", "digits");
    // an interval may wrap after its "…" (a narrow window keeps every column in view)
    const interval = (iv) => (iv ? [el("span", {}, `${fmt(iv[0], 6)} …`), " ", el("span", {}, fmt(iv[1], 6))] : ["—"]);
    const rows = s.parameters.map((p) => {
      const tr = el("tr", { "data-name": p.name },
        el("th", {}, p.name), el("td", {}, fmt(p.start, 6)),
        el("td", { class: "g-est", "data-value": String(p.estimate) }, fmt(p.estimate, 9)),
        el("td", { class: "g-se", "data-value": String(p.se) }, fmt(p.se, 5)),
        el("td", { class: "g-iv" }, ...interval(p.wald)),
        el("td", { class: "g-iv", title: p.profile_note || "" }, ...interval(p.profile)));
      if (c) {
        const q = c.parameters[p.name];
        tr.append(el("td", {}, q ? fmt(q.value, 11) : "—"),
          el("td", { class: "g-digits g-iv", title: "correct significant digits of the estimate (and of its standard error)" },
            ...(q ? [el("span", {}, q.digits.toFixed(1)), " ", el("span", {}, `(se ${q.se_digits.toFixed(1)})`)] : ["—"])));
      }
      return tr;
    });
    table.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
    stats.textContent = [
      `SSE ${fmt(s.sse, 10)}${c ? `   (NIST ${fmt(c.sse, 10)}, ${c.sse_digits.toFixed(1)} digits)` : ""}`,
      `residual s.d. ${fmt(s.s, 6)} on ${s.dof} degrees of freedom   R² ${fmt(s.r2, 6)}`,
      `condition ${fmt(s.condition, 3)}   rank ${s.rank} of ${s.parameters.length}`,
      ...(s.minima.length > 1 ? [`${s.minima.length} distinct minima from ${s.starts.toLocaleString("en")} starts ` +
        "(SSE, and how many starts reached it; the fit is the lowest):",
      ...s.minima.slice(0, 6).map((m, i) => `  ${i + 1}. SSE ${fmt(m.sse, 8)}  (${m.starts.toLocaleString("en")} starts)  ` +
        Object.entries(m.params).map(([k, v]) => `${k} = ${fmt(v, 6)}`).join(", ")),
      ...(s.minima.length > 6 ? [`  … and ${s.minima.length - 6} more`] : [])] : []),
    ].join("\n");
  }

  const legendBelow = { orientation: "h", y: -0.24, x: 0.5, xanchor: "center" };

  function drawCurve() {
    const s = result.summary, r = result;
    const one = s.inputs.length === 1;
    const head = document.getElementById("g-curve-head");
    if (one) {
      head.textContent = "The data, the fitted curve and its bands";
      const bx = r.band_x.map((v) => v[0] ?? v), f = r.band_fit;
      const lvl = `${Math.round(s.level * 100)} %`;
      const band = (half, k) => f.map((v, i) => (v === null || half[i] === null ? null : v + k * half[i]));
      // no prediction band where the rows' weights differ (the library says why in its notes)
      const pred = r.band_pred.some((v) => v !== null) ? [
        { x: bx, y: band(r.band_pred, 1), mode: "lines", line: { color: ORANGE, width: 1.5, dash: "dash" }, name: `prediction band ${lvl}`, legendgroup: "p" },
        { x: bx, y: band(r.band_pred, -1), mode: "lines", line: { color: ORANGE, width: 1.5, dash: "dash" }, showlegend: false, legendgroup: "p" },
      ] : [];
      fplot(curvePlot, [
        ...pred,
        { x: bx, y: band(r.band_conf, -1), mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
        { x: bx, y: band(r.band_conf, 1), mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(86,180,233,0.45)", name: `confidence band ${lvl}` },
        { x: bx, y: f, mode: "lines", line: { color: BLUE, width: 3 }, name: "fitted curve" },
        { x: r.X.map((v) => v[0]), y: r.y, mode: "markers", marker: { color: INK, size: 7 }, name: "data" },
      ], { xaxis: { title: { text: s.inputs[0] } }, yaxis: { title: { text: s.response } },
        legend: legendBelow, margin: { l: 70, r: 20, t: 20, b: 100 } });
    } else {
      head.textContent = s.inputs.length ? "Observed against fitted" : "Observed against fitted (no input column)";
      const lo = Math.min(...r.y, ...r.fitted), hi = Math.max(...r.y, ...r.fitted);
      fplot(curvePlot, [
        { x: [lo, hi], y: [lo, hi], mode: "lines", line: { color: "#888", dash: "dot" }, name: "observed = fitted" },
        { x: r.fitted, y: r.y, mode: "markers", marker: { color: BLUE, size: 7 }, name: "data" },
      ], { xaxis: { title: { text: `fitted ${s.response}` } }, yaxis: { title: { text: `observed ${s.response}` } },
        legend: legendBelow, margin: { l: 70, r: 20, t: 20, b: 100 } });
    }
  }

  function drawResiduals() {
    const s = result.summary;
    const chosen = residSel.value;
    residSel.replaceChildren(el("option", { value: "fitted" }, `fitted ${s.response}`),
      ...s.inputs.map((n) => el("option", { value: n }, n)));
    residSel.value = ["fitted", ...s.inputs].includes(chosen) ? chosen : "fitted";
    const k = s.inputs.indexOf(residSel.value);
    const x = k < 0 ? result.fitted : result.X.map((v) => v[k]);
    fplot(residPlot, [
      { x, y: result.residuals, mode: "markers", marker: { color: VERMILLION, size: 7, symbol: "diamond" }, name: "residual" },
    ], { xaxis: { title: { text: k < 0 ? `fitted ${s.response}` : s.inputs[k] } },
      yaxis: { title: { text: "residual (observed − fitted)" }, zeroline: true, zerolinecolor: INK, zerolinewidth: 2 },
      showlegend: false, margin: { l: 80, r: 20, t: 20, b: 60 } });
  }
  residSel.addEventListener("change", drawResiduals);

  function drawProfiles() {
    const s = result.summary;
    for (const d of profiles.querySelectorAll(".plot")) Plotly.purge(d);
    profiles.replaceChildren();
    if (!result.profile_values.length) {
      profiles.append(el("p", { class: "note" }, "No profiles (intervals were not computed for this fit)."));
      return;
    }
    s.parameters.forEach((p, j) => {
      const xs = [], ys = [];
      result.profile_values[j].forEach((v, i) => {
        const e = result.profile_sse[j][i];
        if (v !== null && e !== null) { xs.push(v); ys.push(e); }
      });
      const div = el("div", { class: "plot g-profile" });
      profiles.append(div);
      const shapes = [];
      const vline = (x, color, dash) => ({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: 2, dash } });
      if (p.wald) for (const v of p.wald) if (v !== null) shapes.push(vline(v, ORANGE, "dash"));
      if (p.profile) for (const v of p.profile) if (v !== null) shapes.push(vline(v, BLUE, "solid"));
      fplot(div, [
        { x: xs, y: ys, mode: "lines+markers", line: { color: GREEN, width: 2.5 }, marker: { size: 5 }, name: "profile SSE" },
        { x: [p.estimate], y: [s.sse], mode: "markers", marker: { color: INK, size: 11, symbol: "star" }, name: "estimate" },
      ], { title: { text: p.name, font: { size: 16 } }, shapes, showlegend: false,
        xaxis: { title: { text: "", standoff: 2 }, nticks: 5 }, yaxis: { title: { text: "SSE" }, nticks: 5 },
        margin: { l: 70, r: 15, t: 40, b: 40 } });
    });
    profiles.append(el("div", { class: "note g-profile-key" },
      "Solid blue: the profile interval; dashed orange: the Wald interval; star: the estimate."));
  }

  // -- the surface and the path ------------------------------------------------------------------
  function fillPair() {
    const names = result.summary.parameters.map((p) => p.name);
    for (const sel of [xSel, ySel]) sel.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (surface) { xSel.value = surface.x_name; ySel.value = surface.y_name; }
  }

  function drawSurface() {
    fillPair();
    const panel = contour.closest(".panel");
    const steps_ = result.summary.steps;
    frameIn.max = String(Math.max(0, steps_.length - 1));
    frame = steps_.length - 1;
    frameIn.value = String(frame);
    drawSteps();
    contour.parentElement.classList.toggle("g-no-surface", !surface);
    if (!surface) {
      Plotly.purge(contour);
      contour.replaceChildren(el("p", { class: "note" }, "A surface needs two parameters; this model has one (its profile is below)."));
      xSel.disabled = ySel.disabled = true;
      panel.querySelector("h2").textContent = "The solver's steps";
      showFrame();
      return;
    }
    xSel.disabled = ySel.disabled = false;
    panel.querySelector("h2").textContent = "The solver's path on the SSE surface";
    const z = surface.sse.map((row) => row.map((v) => (v === null || v <= 0 ? null : Math.log10(v))));
    const est = result.summary.parameters;
    const ex = est.find((p) => p.name === surface.x_name).estimate, ey = est.find((p) => p.name === surface.y_name).estimate;
    fplot(contour, [
      { type: "contour", x: surface.x, y: surface.y, z, colorscale: "Viridis", ncontours: 30,
        customdata: surface.sse, hovertemplate: `${surface.x_name} %{x:.6g}<br>${surface.y_name} %{y:.6g}<br>SSE %{customdata:.6g}<extra></extra>`,
        colorbar: { title: { text: "log₁₀ SSE", side: "right" } }, contours: { coloring: "heatmap", showlines: true }, line: { width: 0.5, color: "rgba(255,255,255,0.35)" } },
      { x: [], y: [], mode: "lines+markers", name: "solver's path", line: { color: "#fff", width: 3 },
        marker: { color: "#fff", size: 8, line: { color: INK, width: 1.5 } } },
      { x: [], y: [], mode: "markers", name: "this step", marker: { color: ORANGE, size: 16, symbol: "circle", line: { color: INK, width: 2 } } },
      { x: [ex], y: [ey], mode: "markers", name: "estimate", marker: { color: PURPLE, size: 16, symbol: "star", line: { color: "#fff", width: 1.5 } } },
    ], { xaxis: { title: { text: surface.x_name }, range: [surface.x[0], surface.x[surface.x.length - 1]] },
      yaxis: { title: { text: surface.y_name }, range: [surface.y[0], surface.y[surface.y.length - 1]] },
      legend: legendBelow, margin: { l: 80, r: 20, t: 20, b: 100 } });
    const others = surface.others.length ? ` Others held at their estimates (${surface.others.join(", ")}); the path moves them too, so it is a projection.` : "";
    surfNote.textContent = `The SSE over ${surface.x_name} and ${surface.y_name}.${others}` +
      (surface.warnings.length ? ` ${surface.warnings.join(" ")}` : "");
    showFrame();
  }

  function drawSteps() {
    const heads = ["step", "SSE", "‖gradient‖", "damping", "step length"];
    steps.replaceChildren(el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...result.summary.steps.map((s) => el("tr", { "data-step": String(s.iteration) },
        el("td", {}, String(s.iteration)), el("td", {}, fmt(s.sse, 7)), el("td", {}, fmt(s.gradient_norm, 3)),
        el("td", {}, fmt(s.damping, 3)), el("td", {}, fmt(s.step, 3))))));
  }

  function showFrame() {
    const all = result.summary.steps, s = all[frame];
    frameLabel.textContent = `step ${frame} of ${all.length - 1}`;
    frameIn.value = String(frame);
    const names = result.summary.parameters.map((p) => p.name);
    const at = result.path[frame] || [];
    stepNow.textContent = [`step ${frame} of ${all.length - 1}`,
      ...names.map((n, j) => `${n.padEnd(8)} ${fmt(at[j], 8)}`),
      `SSE        ${fmt(s.sse, 8)}`, `‖gradient‖ ${fmt(s.gradient_norm, 4)}`,
      `damping    ${fmt(s.damping, 4)}`, `step       ${fmt(s.step, 4)}`].join("\n");
    for (const tr of steps.querySelectorAll("tr.current")) tr.classList.remove("current");
    const row = steps.querySelector(`tr[data-step="${frame}"]`);
    if (row) {
      row.classList.add("current");
      const box = stepsBox;
      if (row.offsetTop < box.scrollTop + 30 || row.offsetTop > box.scrollTop + box.clientHeight - 30) box.scrollTop = row.offsetTop - box.clientHeight / 2;
    }
    if (surface && contour.data) {
      const px = surface.path_x.slice(0, frame + 1), py = surface.path_y.slice(0, frame + 1);
      Plotly.restyle(contour, { x: [px, [px[px.length - 1]]], y: [py, [py[py.length - 1]]] }, [1, 2]);
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    playBtn.textContent = "▶ Play";
  }

  function play() {
    if (!result) return;
    if (timer) { stop(); return; }
    const last = result.summary.steps.length - 1;
    if (frame >= last) frame = 0;
    showFrame();
    playBtn.textContent = "■ Pause";
    timer = setInterval(() => {
      frame += 1;
      showFrame();
      if (frame >= last) stop();
    }, FRAME_MS);
  }
  playBtn.addEventListener("click", play);
  frameIn.addEventListener("input", () => { stop(); frame = Number(frameIn.value); showFrame(); });

  async function changePair(e) {
    if (!result || !surface) return;
    // the same parameter on both axes: the other axis takes the one this axis had (a swap)
    if (xSel.value === ySel.value) {
      if (e.target === xSel) ySel.value = surface.x_name; else xSel.value = surface.y_name;
    }
    stop();
    try {
      surface = await api("/api/fit/surface", { fit: result.fit, x: xSel.value, y: ySel.value, points: 61 });
      surfNote.classList.remove("error");
      drawSurface();
      saveState();
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      showError(surfNote, e.message);
    }
  }
  xSel.addEventListener("change", changePair);
  ySel.addEventListener("change", changePair);

  registerReport("fit", () => ({
    title: result ? `Fit: ${result.summary.model}` : "Fit",
    sections: result ? [
      { heading: "Verdict", text: verdict.innerText },
      { heading: "Parameters", text: table.innerText },
      { heading: "Statistics", text: stats.textContent },
      { heading: "Solver's steps", text: steps.innerText },
    ] : [],
    figures: [
      { heading: document.getElementById("g-curve-head").textContent, div: curvePlot },
      { heading: "Residuals", div: residPlot },
      { heading: "The solver's path on the SSE surface", div: contour },
      ...[...profiles.querySelectorAll(".plot")].map((d, j) => ({ heading: `Profile of ${result.summary.parameters[j].name}`, div: d })),
    ],
  }));

  // opening a URL reproduces the view: its data, model, settings and (g_fit) the fit
  if (!params.has("g_start") && example()) startIn.value = startText(example().starts[0]);
  showData();
  saveState();
  if (params.get("g_fit") === "1") await fit();
}
