// The function explorer: a built-in test function or a typed expression of two variables, its
// surface and contours, the value and gradient under the pointer, descents from the starts the
// user clicks, critical points and a multistart's basins. Every number comes from the server.
// Every answer is tagged with the function it was asked for (`S.shown`): an answer that comes
// back after another function (or box) is shown is dropped, never drawn onto it.
import {
  api, ApiFailure, el, fmt, getParams, plot, progressBar, registerReport, runJob, setParams,
  showError, toast,
} from "./common.js";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d",
  "#4d7c0f", "#92400e"];
const KINDS = {  // how each kind of critical point is marked (shape and colour, with a legend)
  minimum: { symbol: "circle", color: "#059669", label: "minimum" },
  maximum: { symbol: "triangle-up", color: "#dc2626", label: "maximum" },
  saddle: { symbol: "x", color: "#d97706", label: "saddle" },
  degenerate: { symbol: "diamond", color: "#7c3aed", label: "degenerate (test undecided)" },
};
const PLURAL = { minimum: "minima", maximum: "maxima", saddle: "saddles", degenerate: "degenerate" };
const ANIMATION_MS = 1500;
// the report's colours (viridis, readable on a projector); paths are drawn with a white
// outline so that they stand out on its dark end too
const CONTOUR_SCALE = "Viridis";
const OUTLINE = "#ffffff";
const READOUT_PROMPT = "Move the pointer over the contours.";

const S = {  // the view's state; what a link must reproduce is mirrored in the URL (f_ keys)
  source: "himmelblau", box: null, starts: [], optimizers: {}, described: null, surface: null,
  runs: null, critical: null, minima: null, logColour: null, grid: 101,
  vars: null,  // the shown function's two variables, in order (from the server)
  shown: 0,  // which load is shown: bumped each time a function or its box is shown
  loading: 0,  // the latest load asked for (an older one still in flight is dropped)
};

let N = {};  // the view's nodes

function kindOf(k) { return k.replace(/ \(non-smooth\)$/, ""); }

// -- URL state -------------------------------------------------------------------------------

function readUrl(known) {
  const p = getParams();
  if (p.get("f_fn")) S.source = p.get("f_fn");
  const box = (p.get("f_box") || "").split(",").map(Number);
  S.box = box.length === 4 && box.every(isFinite) ? box : null;
  S.starts = (p.get("f_starts") || "").split(";").filter(Boolean)
    .map((s) => s.split(",").map(Number)).filter((s) => s.length === 2 && s.every(isFinite));
  const opts = p.get("f_opt");
  for (const o of known) S.optimizers[o.name] = { on: false, lr: "", steps: 1000 };
  for (const part of (opts === null ? "gd,momentum,adam" : opts).split(",").filter(Boolean)) {
    const [name, lr, steps] = part.split(":");
    if (S.optimizers[name]) S.optimizers[name] = { on: true, lr: lr || "", steps: Number(steps) || 1000 };
  }
  if (p.get("f_log") !== null) S.logColour = p.get("f_log") === "1";
  const grid = Number(p.get("f_grid"));
  if (Number.isInteger(grid) && grid >= 2) S.grid = grid;
  return p.get("f_run") === "1";
}

function writeUrl(extra = {}) {
  const on = Object.entries(S.optimizers).filter(([, o]) => o.on)
    .map(([n, o]) => `${n}:${o.lr}:${o.steps}`);
  setParams({
    f_fn: S.source,
    f_box: S.box ? S.box.map((v) => fmt(v, 8)).join(",") : null,
    f_starts: S.starts.map((s) => s.map((v) => fmt(v, 6)).join(",")).join(";") || null,
    f_opt: on.join(",") || "-",
    f_log: S.logColour === null ? null : (S.logColour ? "1" : "0"),
    f_grid: S.grid === 101 ? null : String(S.grid),
    ...extra,
  });
}

// -- building the view ------------------------------------------------------------------------

function field(label, input) { return el("label", {}, label, input); }

function build(root, known) {
  N.select = el("select", { id: "f-builtin", "aria-label": "built-in function" },
    el("option", { value: "" }, "— type an expression —"),
    ...known.functions.map((f) => el("option", { value: f.name }, f.name.replace(/_/g, " "))));
  N.expr = el("input", { id: "f-expr", type: "text", spellcheck: "false", autocomplete: "off",
    maxlength: String(known.caps.MAX_EXPR_CHARS),
    placeholder: "e.g. x^2 + 3*sin(y), u^2 + 3*v^2 or himmelblau" });
  N.show = el("button", { id: "f-show", type: "button" }, "Show");
  N.error = el("div", { id: "f-error", class: "error", hidden: "" });
  N.boxIn = ["x from", "x to", "y from", "y to"].map((t, i) =>
    el("input", { type: "number", step: "any", class: "box", "data-i": String(i), "aria-label": t }));
  N.boxLabels = ["x from", "x to", "y from", "y to"].map((t) => el("span", { class: "box-label" }, t));
  N.grid = el("input", { id: "f-grid", type: "number", min: "2", max: String(known.caps.MAX_GRID),
    step: "1", value: String(S.grid), "aria-label": "grid points per axis" });
  N.fLabel = el("span", { id: "f-label" }, "f(x, y) =");
  N.formulas = el("div", { id: "f-formulas", class: "formulas" });
  N.readout = el("div", { id: "f-readout", class: "numbers readout" }, READOUT_PROMPT);
  N.note = el("div", { class: "note", id: "f-note" });

  const controls = el("div", { class: "panel f-controls" },
    el("h2", {}, "Function of two variables"),
    el("div", { class: "f-exprrow" }, field("built-in", N.select),
      el("label", { class: "grow" }, N.fLabel, N.expr), N.show),
    N.error,
    el("div", { class: "controls" },
      ...N.boxIn.map((b, i) => el("label", {}, N.boxLabels[i], b)),
      field("grid points per axis", N.grid)),
    N.note);
  const formulas = el("div", { class: "panel f-formula-panel" },
    el("h2", {}, "Formula and partial derivatives"), N.formulas, N.readout);

  N.contour = el("div", { id: "f-contour", class: "plot f-plot" });
  N.surface = el("div", { id: "f-surface", class: "plot f-plot" });

  N.optTable = el("div", { class: "f-opts", id: "f-opts" });
  for (let i = 0; i < 2; i++) {
    N.optTable.append(el("span", { class: "f-th" }, "optimizer"), el("span", { class: "f-th" }, "learning rate"),
      el("span", { class: "f-th" }, "steps"));
  }
  for (const o of known.optimizers) {
    const st = S.optimizers[o.name];
    const box = el("input", { type: "checkbox", "data-opt": o.name });
    box.checked = st.on;
    const lr = el("input", { type: "number", step: "any", min: "0", class: "lr", "data-opt": o.name,
      placeholder: o.default_lr === null ? "auto" : String(o.default_lr), "aria-label": `${o.name} learning rate` });
    lr.value = st.lr;
    const steps = el("input", { type: "number", min: "1", max: String(known.caps.MAX_STEPS), step: "1",
      class: "steps", "data-opt": o.name, "aria-label": `${o.name} steps` });
    steps.value = String(st.steps);
    const sync = () => {
      S.optimizers[o.name] = { on: box.checked, lr: lr.value.trim(), steps: Number(steps.value) || 1000 };
      writeUrl();
    };
    for (const i of [box, lr, steps]) i.addEventListener("change", sync);
    N.optTable.append(el("label", { class: "f-opt" }, box, el("span", { class: "name" }, o.name)),
      el("span", { class: "f-lr" }, lr), el("span", { class: "f-steps" }, steps));
  }
  N.run = el("button", { id: "f-run", type: "button" }, "Run");
  N.clear = el("button", { id: "f-clear", type: "button", class: "secondary" }, "Clear starts");
  N.crit = el("button", { id: "f-critical", type: "button", class: "secondary" }, "Critical points");
  N.critStarts = el("input", { id: "f-crit-starts", type: "number", min: "1", step: "1", value: "2500",
    max: String(known.caps.MAX_CRITICAL_STARTS), "aria-label": "critical-point search starts" });
  N.msStarts = el("input", { id: "f-ms-starts", type: "number", min: "4", step: "1", value: "2500",
    max: String(known.caps.MAX_STARTS), "aria-label": "multistart starts" });
  N.ms = el("button", { id: "f-multistart", type: "button", class: "secondary" }, "Multistart");
  N.startsNote = el("div", { class: "note", id: "f-starts-note" });
  N.runError = el("div", { class: "error", id: "f-run-error", hidden: "" });
  const runPanel = el("div", { class: "panel f-run-panel" },
    el("h2", {}, "Descent from the starts"),
    N.startsNote, N.optTable,
    el("div", { class: "controls f-buttons" }, N.run, N.clear,
      field("critical-point starts", N.critStarts), N.crit,
      field("multistart starts", N.msStarts), N.ms),
    N.runError);
  N.bar = progressBar(runPanel);
  N.valuePlot = el("div", { id: "f-values", class: "plot f-values" });
  N.results = el("div", { id: "f-results", class: "numbers f-results" });
  const valuesPanel = el("div", { class: "panel" }, el("h2", {}, "Value per step"), N.valuePlot, N.results);

  N.basins = el("div", { id: "f-basins", class: "plot f-plot" });
  N.minima = el("div", { id: "f-minima", class: "f-minima" });
  N.msPanel = el("div", { class: "row", id: "f-ms-panel", hidden: "" },
    el("div", { class: "panel" }, el("h2", {}, "Basins of attraction"), N.basins),
    el("div", { class: "panel" }, el("h2", {}, "Distinct minima"), N.minima));
  N.logBox = el("input", { type: "checkbox", id: "f-log" });
  const contourPanel = el("div", { class: "panel" },
    el("div", { class: "f-head" }, el("h2", {}, "Contours — click to place starts"),
      el("label", { class: "f-inline" }, N.logBox, "log colour scale")),
    N.contour);
  root.append(
    el("div", { class: "row" }, controls, formulas),
    el("div", { class: "row" }, contourPanel,
      el("div", { class: "panel" }, el("h2", {}, "Surface"), N.surface)),
    el("div", { class: "row" }, runPanel, valuesPanel),
    N.msPanel,
  );

  N.select.addEventListener("change", () => {
    if (N.select.value) { N.expr.value = N.select.value; load(N.select.value); }
  });
  N.show.addEventListener("click", () => load(N.expr.value));
  N.expr.addEventListener("keydown", (e) => { if (e.key === "Enter") load(N.expr.value); });
  for (const b of N.boxIn) {
    b.addEventListener("change", () => {
      const v = N.boxIn.map((i) => Number(i.value));
      if (v.every(isFinite) && v[0] < v[1] && v[2] < v[3]) load(S.source, v);
    });
  }
  N.grid.addEventListener("change", () => {
    const g = Number(N.grid.value);
    if (Number.isInteger(g) && g >= 2) load(S.source, S.box, g);
  });
  N.logBox.addEventListener("change", () => { S.logColour = N.logBox.checked; writeUrl(); drawSurface(); });
  N.run.addEventListener("click", () => run());
  N.clear.addEventListener("click", () => {
    S.starts = []; S.runs = null; writeUrl({ f_run: null }); drawSurface(); drawValues();
  });
  N.crit.addEventListener("click", () => critical());
  N.ms.addEventListener("click", () => multistart());
}

// -- loading a function -------------------------------------------------------------------------

/** The box as {name: [low, high]} in the shown function's own variables. */
function ranges() { return S.box && S.vars ? boxRanges(S.box, S.vars) : undefined; }

function boxRanges(box, vars) { return { [vars[0]]: [box[0], box[1]], [vars[1]]: [box[2], box[3]] }; }

/** A point [a, b] as {name: value} in the shown function's own variables. */
function named([a, b], vars = S.vars) { return { [vars[0]]: a, [vars[1]]: b }; }

/** What an answer is for: call before the request; after it, `.current()` says whether the
 *  function and box it was asked for are still the ones shown (critical points, multistart:
 *  a load clears them), `.sameFunction()` whether the function is (a descent, a hover). */
function tag() {
  const t = { source: S.source, shown: S.shown };
  t.sameFunction = () => S.source === t.source;
  t.current = () => t.sameFunction() && S.shown === t.shown;
  return t;
}

/** The parser's message with the expression and a caret under the column it names. */
function showExprError(e) {
  N.expr.classList.add("invalid");
  N.error.hidden = false;
  N.error.classList.add("error");
  N.error.replaceChildren(el("div", { class: "msg" }, e.message));
  if (e.column) {
    const text = e.expression || N.expr.value;
    N.error.append(el("pre", { class: "caret" }, text, "\n", " ".repeat(e.column - 1) + "^"));
    try { N.expr.setSelectionRange(e.column - 1, e.column); N.expr.focus(); } catch (_) { /* */ }
  }
}

async function post(path, body) {
  const resp = await fetch(`/api/explorer/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new ApiFailure((data && data.error) || `The server answered ${resp.status}.`, resp.status);
    if (data && data.column) { err.column = data.column; err.expression = data.expression; }
    throw err;
  }
  return data;
}

/** Show `source` over `box` ([low, high, low, high] in its variables' order; null: its usual
 *  box) on a grid of `grid` points per axis. Nothing changes until both answers are in; an
 *  answer for a load that another load has overtaken is dropped. */
async function load(source, box = null, grid = S.grid) {
  source = (source || "").trim();
  if (!source) { showExprError({ message: "Type an expression in two variables, or pick a built-in function." }); return; }
  const my = ++S.loading;
  const fresh = source !== S.source;
  let d, surface;
  try {
    // the box goes with the describe only when its variables are known (the shown function's)
    d = await post("describe", { source, ranges: box && S.vars && !fresh ? boxRanges(box, S.vars) : undefined });
    if (my !== S.loading) return;  // another function was asked for since
    const v = d.variables;
    if (!box) box = [d.ranges[v[0]][0], d.ranges[v[0]][1], d.ranges[v[1]][0], d.ranges[v[1]][1]];
    surface = await post("surface", { source, ranges: boxRanges(box, v), points: grid });
    if (my !== S.loading) return;
  } catch (e) {
    if (my !== S.loading) return;
    if (!d) showExprError(e); else showError(N.error, e.message);  // the surface's own refusal
    return;
  }
  // everything answered: show the new function at once, dropping what belonged to the old
  N.expr.classList.remove("invalid");
  showError(N.error, "");
  S.shown += 1;
  if (fresh) { S.starts = []; S.runs = null; }
  S.source = source;
  S.vars = d.variables;
  S.box = box;
  S.grid = grid;
  S.described = d;
  S.surface = surface;
  S.critical = null;
  S.minima = null;
  N.arrow = null;
  N.readout.textContent = READOUT_PROMPT;
  N.msPanel.hidden = true;
  N.expr.value = source;
  N.select.value = d.builtin ? d.builtin.name : "";
  N.fLabel.textContent = `${d.label} =`;
  const [a, b] = S.vars;
  [`${a} from`, `${a} to`, `${b} from`, `${b} to`].forEach((t, i) => {
    N.boxLabels[i].textContent = t;
    N.boxIn[i].setAttribute("aria-label", t);
    N.boxIn[i].value = String(S.box[i]);
  });
  N.grid.value = String(S.grid);
  drawFormulas(d);
  N.note.textContent = d.builtin
    ? `${d.builtin.note}${/[.?!]$/.test(d.builtin.note) ? "" : "."} Published minima: ${d.builtin.published}.` : "";
  // the colour scale the report would use (log where most of the box lies far below its top:
  // Himmelblau, Rosenbrock); a link's choice wins once
  if (S.logFromUrl === undefined) S.logFromUrl = S.logColour !== null;
  if (!S.logFromUrl || fresh) S.logColour = S.surface.colour_scale === "log";
  S.logFromUrl = false;
  N.logBox.checked = S.logColour;
  writeUrl();
  drawSurface();
  drawValues();
}

function drawFormulas(d) {
  const rows = [];
  const mathOr = (m, text) => {
    const span = el("span", { class: "math" });
    if (m) span.innerHTML = m; else span.textContent = text;  // MathML from the server's SymPy
    return span;
  };
  rows.push(el("div", { class: "f-formula" }, el("span", { class: "lhs" }, `${d.label} =`),
    mathOr(d.formula_mathml, d.formula)));
  for (const p of d.partials) {
    rows.push(el("div", { class: "f-formula", "data-var": p.variable },
      el("span", { class: "lhs" }, `∂f/∂${p.variable} =`), mathOr(p.mathml, p.text)));
  }
  for (const n of d.notes) rows.push(el("div", { class: "note" }, n));
  N.formulas.replaceChildren(...rows);
}

// -- plots ---------------------------------------------------------------------------------------

function shownZ() {
  const z = S.surface.z;
  if (!S.logColour) return z;
  let lo = Infinity;
  for (const r of z) for (const v of r) if (v !== null && v < lo) lo = v;
  return z.map((r) => r.map((v) => (v === null ? null : Math.log10(1 + v - lo))));
}

function pathTraces(three) {
  if (!S.runs) return [];
  const out = [];
  const [a, b] = S.vars;
  S.runs.runs.forEach((r, k) => {
    const color = COLORS[S.optimizerNames.indexOf(r.optimizer) % COLORS.length];
    const rows = r.path.slice(0, r.shown);
    if (!three) {  // a white outline under the path: it stands out on every colour of the scale
      out.push({ type: "scatter", mode: "lines", name: `${r.optimizer} outline`, outline: true,
        meta: k, legendgroup: r.optimizer, showlegend: false, hoverinfo: "skip",
        line: { color: OUTLINE, width: 6.5 }, x: rows.map((p) => p[0]), y: rows.map((p) => p[1]) });
    }
    const base = {
      name: `${r.optimizer} from start ${r.start + 1}`, legendgroup: r.optimizer,
      showlegend: r.start === 0, line: { color, width: 3 }, meta: k,
    };
    if (three) {
      out.push({ ...base, type: "scatter3d", mode: "lines", x: rows.map((p) => p[0]),
        y: rows.map((p) => p[1]), z: r.values.slice(0, r.shown), showlegend: false });
    } else {
      out.push({ ...base, name: r.optimizer, type: "scatter", mode: "lines+markers",
        marker: { size: 5, color, line: { color: OUTLINE, width: 1 } },
        x: rows.map((p) => p[0]), y: rows.map((p) => p[1]),
        hovertemplate: `${r.optimizer}<br>${a}=%{x:.4g}<br>${b}=%{y:.4g}<extra></extra>` });
    }
  });
  return out;
}

function markTraces(three) {
  const out = [];
  const xs = S.starts.map((s) => s[0]), ys = S.starts.map((s) => s[1]);
  if (S.starts.length && !three) {
    out.push({ type: "scatter", mode: "markers+text", name: "starts", x: xs, y: ys,
      text: S.starts.map((_, i) => String(i + 1)), textposition: "top right",
      textfont: { size: 15, color: "#111" },
      marker: { size: 13, color: "#fff", line: { color: "#111", width: 2.5 }, symbol: "circle" },
      hoverinfo: "skip" });
  }
  if (S.critical) {
    const [a, b] = S.vars;
    for (const [kind, look] of Object.entries(KINDS)) {
      const pts = S.critical.points.filter((p) => kindOf(p.kind) === kind);
      if (!pts.length) continue;
      const t = { name: `${look.label} (${pts.length})`, mode: "markers",
        x: pts.map((p) => p.point[a]), y: pts.map((p) => p.point[b]),
        marker: { symbol: look.symbol, size: three ? 6 : 15, color: look.color,
          line: { color: "#111", width: 1.5 } },
        hovertemplate: `${look.label}<br>${a}=%{x:.6g}<br>${b}=%{y:.6g}<extra></extra>` };
      if (three) out.push({ ...t, type: "scatter3d", z: pts.map((p) => p.value), showlegend: false });
      else out.push({ ...t, type: "scatter" });
    }
  }
  return out;
}

/** Three to five round tick values inside [lo, hi], none within a sixth of either end. */
function innerTicks(lo, hi) {
  const span = hi - lo, inLo = lo + span / 6, inHi = hi - span / 6;
  const mag = 10 ** Math.floor(Math.log10(span));
  let out = [];
  for (const m of [5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1]) {  // the largest round step giving 3 ticks
    const step = m * mag;
    out = [];
    for (let t = Math.ceil(inLo / step) * step; t <= inHi + 1e-9 * span; t += step) {
      out.push(Number(t.toPrecision(12)));
    }
    if (out.length >= 3) break;
  }
  return out;
}

function axisTitle(name) { return { text: name, font: { size: 17 } }; }

function drawSurface() {
  if (!S.surface) return;
  const s = S.surface;
  const z = shownZ();
  const cbTitle = S.logColour ? "log10(1 + f − min)" : "f";
  const contour = {
    type: "contour", x: s.x, y: s.y, z, name: "f", ncontours: 30, colorscale: CONTOUR_SCALE,
    contours: { coloring: "heatmap", showlines: true }, line: { width: 0.6, color: "rgba(255,255,255,.45)" },
    colorbar: { title: { text: cbTitle, side: "right", font: { size: 15 } }, thickness: 18,
      tickfont: { size: 14 } }, hoverinfo: "skip",
    showlegend: false,
  };
  const layout = {
    xaxis: { title: axisTitle(s.x_name), range: [s.x[0], s.x[s.x.length - 1]], constrain: "domain" },
    yaxis: { title: axisTitle(s.y_name), range: [s.y[0], s.y[s.y.length - 1]] },
    dragmode: false, showlegend: true,
    legend: { orientation: "h", x: 0, y: -0.16, font: { size: 14 } },
    margin: { l: 60, r: 20, t: 10, b: 90 },
    annotations: N.arrow ? [N.arrow] : [],
  };
  plot(N.contour, [contour, ...pathTraces(false), ...markTraces(false)], layout,
    { scrollZoom: false, displayModeBar: false });
  const surf = { type: "surface", x: s.x, y: s.y, z: s.z, colorscale: "Viridis", showscale: false,
    name: "f", contours: { z: { show: true, usecolormap: true, project: { z: true } } },
    surfacecolor: S.logColour ? z : undefined,
    hovertemplate: `${s.x_name}=%{x:.4g}<br>${s.y_name}=%{y:.4g}<br>f=%{z:.6g}<extra></extra>` };
  // the x and y axes meet at a corner: ticks kept away from the ends never collide there
  const axis3d = (name, lo, hi) => ({ title: { text: name, font: { size: 17 } },
    tickfont: { size: 14 }, tickvals: innerTicks(lo, hi), range: [lo, hi] });
  plot(N.surface, [surf, ...pathTraces(true), ...markTraces(true)], {
    scene: { xaxis: axis3d(s.x_name, s.x[0], s.x[s.x.length - 1]),
      yaxis: axis3d(s.y_name, s.y[0], s.y[s.y.length - 1]),
      zaxis: { title: { text: "f", font: { size: 17 } }, tickfont: { size: 14 }, nticks: 5 },
      camera: { eye: { x: 1.5, y: -1.6, z: 1.0 } } },
    margin: { l: 0, r: 0, t: 10, b: 0 }, showlegend: false,
  }, { displayModeBar: false });
  N.startsNote.textContent = S.starts.length
    ? `${S.starts.length} start${S.starts.length > 1 ? "s" : ""} (at most ${S.caps.MAX_PATHS}); click the contours to add more.`
    : "Click the contours to place one or more starts.";
}

function drawValues() {
  if (!S.runs) {
    plot(N.valuePlot, [], { xaxis: { visible: false }, yaxis: { visible: false },
      annotations: [{ text: "Run a descent to see its value per step", showarrow: false,
        xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { size: 16, color: "#667085" } }] },
    { displayModeBar: false });
    N.results.replaceChildren();
    return;
  }
  const traces = S.runs.runs.map((r) => ({
    type: "scatter", mode: "lines", name: `${r.optimizer} · start ${r.start + 1}`,
    x: r.steps.slice(0, r.shown), y: r.values.slice(0, r.shown),
    line: { color: COLORS[S.optimizerNames.indexOf(r.optimizer) % COLORS.length], width: 2.5,
      dash: ["solid", "dot", "dash", "longdash"][r.start % 4] },
  }));
  const all = S.runs.runs.flatMap((r) => r.values.slice(0, r.shown)).filter((v) => v !== null);
  const logY = all.length && all.every((v) => v > 0);
  plot(N.valuePlot, traces, {
    xaxis: { title: axisTitle("step") }, yaxis: { title: axisTitle(logY ? "f (log scale)" : "f"), type: logY ? "log" : "linear",
      exponentformat: "e" },  // 1e-15: full-size digits (a power's superscript is too small)
    legend: { orientation: "h", x: 0, y: -0.25, font: { size: 14 } }, margin: { l: 75, r: 15, t: 10, b: 40 },
  }, { displayModeBar: false });
  const [a, b] = S.runs.variables;
  const lines = S.runs.runs.map((r) =>
    `${r.optimizer.padEnd(9)} start ${r.start + 1}: ${r.stop_reason} after ${r.n_steps} steps, ` +
    `f = ${fmt(r.final_value)} at (${a}, ${b}) = (${fmt(r.final[a])}, ${fmt(r.final[b])})` +
    (r.warnings.length ? `\n   ⚠ ${r.warnings.join("\n   ⚠ ")}` : ""));
  N.results.textContent = lines.join("\n");
}

// -- hover: value and gradient, one request in flight -------------------------------------------

function dataCoords(ev) {
  const fl = N.contour._fullLayout;
  if (!fl || !fl.xaxis) return null;
  const rect = N.contour.getBoundingClientRect();
  const px = ev.clientX - rect.left - fl.xaxis._offset, py = ev.clientY - rect.top - fl.yaxis._offset;
  if (px < 0 || py < 0 || px > fl.xaxis._length || py > fl.yaxis._length) return null;
  return [fl.xaxis.p2c(px), fl.yaxis.p2c(py)];
}

const hover = { busy: false, next: null };

async function hoverAt(at) {
  if (hover.busy) { hover.next = at; return; }
  hover.busy = true;
  const t = tag();
  const [a, b] = S.vars;
  try {
    const p = await post("point", { source: S.source, at: named(at) });
    if (!t.sameFunction()) return;  // asked for a function no longer shown
    // the point the server computed at (its own echo), in the function's variables
    const where = `at (${a}, ${b}) = (${fmt(p.at[a], 4)}, ${fmt(p.at[b], 4)})\nf = ${fmt(p.value)}\n`;
    if (!p.differentiable) {
      // at a kink there is no gradient: the server's note and the one-sided partials, no arrow
      const sides = Object.entries(p.one_sided).map(([n, o]) =>
        `∂f/∂${n}: ${fmt(o.left, 4)} from the left, ${fmt(o.right, 4)} from the right`);
      N.readout.textContent = `${where}${p.note}\n${sides.join("\n")}`;
      N.arrow = null;
    } else {
      const gx = p.gradient[a], gy = p.gradient[b], norm = Math.hypot(gx, gy);
      N.readout.textContent = `${where}∇f = (${fmt(gx, 4)}, ${fmt(gy, 4)}),  |∇f| = ${fmt(norm, 4)}`;
      const len = 0.12 * Math.min(S.box[1] - S.box[0], S.box[3] - S.box[2]);
      const [px, py] = [p.at[a], p.at[b]];
      N.arrow = norm > 0 ? {
        x: px + (len * gx) / norm, y: py + (len * gy) / norm, ax: px, ay: py,
        xref: "x", yref: "y", axref: "x", ayref: "y", showarrow: true, arrowhead: 2,
        arrowsize: 1.3, arrowwidth: 3, arrowcolor: "#dc2626", text: "", name: "gradient",
      } : null;
    }
    Plotly.relayout(N.contour, { annotations: N.arrow ? [N.arrow] : [] });
  } catch (e) {
    if (t.sameFunction()) N.readout.textContent = `at (${fmt(at[0], 4)}, ${fmt(at[1], 4)}): ${e.message}`;
  } finally {
    hover.busy = false;
    if (hover.next) { const n = hover.next; hover.next = null; hoverAt(n); }
  }
}

function wirePointer() {
  N.contour.addEventListener("mousemove", (ev) => {
    const at = dataCoords(ev);
    if (at && S.surface && !N.contour.dataset.animating) hoverAt(at);
  });
  N.contour.addEventListener("click", (ev) => {
    const at = dataCoords(ev);
    if (!at || !S.surface) return;
    if (S.starts.length >= S.caps.MAX_PATHS) { toast(`At most ${S.caps.MAX_PATHS} starts (MAX_PATHS).`); return; }
    S.starts.push(at.map((v) => Number(fmt(v, 6))));  // as the link keeps it: a link reruns the same
    writeUrl();
    drawSurface();
  });
}

// -- run, critical points, multistart -------------------------------------------------------------

function chosen() {
  return Object.entries(S.optimizers).filter(([, o]) => o.on).map(([name, o]) => ({
    name, steps: o.steps, ...(o.lr !== "" && isFinite(Number(o.lr)) ? { lr: Number(o.lr) } : {}),
  }));
}

async function run() {
  showError(N.runError, "");
  if (!S.starts.length) { showError(N.runError, "Click the contours to place a start first."); return; }
  const optimizers = chosen();
  if (!optimizers.length) { showError(N.runError, "Tick at least one optimizer."); return; }
  N.run.disabled = true;
  const t = tag();
  try {
    const runs = await post("run", { source: S.source, starts: S.starts.map((p) => named(p)), optimizers });
    if (!t.sameFunction()) return;  // another function is shown now
    S.runs = runs;
    writeUrl({ f_run: "1" });
    await animate(t);
    if (t.sameFunction()) drawValues();
  } catch (e) {
    if (t.sameFunction()) showError(N.runError, e.message);
  } finally {
    N.run.disabled = false;
  }
}

/** Grow every path from its start to its end over ANIMATION_MS, then draw them whole. */
function animate(t) {
  drawSurface();
  const traces = (div, type) => {
    const idx = [];
    div.data.forEach((d, i) => { if (d.meta !== undefined && d.type === type) idx.push(i); });
    return { idx, runs: idx.map((i) => S.runs.runs[div.data[i].meta]) };
  };
  const flat = traces(N.contour, "scatter"), solid = traces(N.surface, "scatter3d");
  const runs = S.runs;
  const upTo = (r, f) => Math.max(1, Math.ceil(f * r.shown));
  const t0 = performance.now();
  let frames = 0;
  N.contour.dataset.animating = "1";
  return new Promise((resolve) => {
    const frame = (now) => {
      if (!t.sameFunction() || S.runs !== runs) {  // another function shown, or cleared
        delete N.contour.dataset.animating; resolve(); return;
      }
      const f = Math.min(1, (now - t0) / ANIMATION_MS);
      if (flat.idx.length) {
        Plotly.restyle(N.contour, {
          x: flat.runs.map((r) => r.path.slice(0, upTo(r, f)).map((p) => p[0])),
          y: flat.runs.map((r) => r.path.slice(0, upTo(r, f)).map((p) => p[1])),
        }, flat.idx);
      }
      if (solid.idx.length && frames++ % 3 === 0) {  // WebGL redraws cost more: every third frame
        Plotly.restyle(N.surface, {
          x: solid.runs.map((r) => r.path.slice(0, upTo(r, f)).map((p) => p[0])),
          y: solid.runs.map((r) => r.path.slice(0, upTo(r, f)).map((p) => p[1])),
          z: solid.runs.map((r) => r.values.slice(0, upTo(r, f))),
        }, solid.idx);
      }
      if (f < 1) requestAnimationFrame(frame);
      else { delete N.contour.dataset.animating; drawSurface(); resolve(); }
    };
    requestAnimationFrame(frame);
  });
}

async function critical() {
  showError(N.runError, "");
  N.crit.disabled = true;
  const t = tag();
  try {
    const found = await post("critical", { source: S.source, ranges: ranges(),
      starts: Number(N.critStarts.value) || 2500 });
    if (!t.current()) return;  // computed for a function (or box) no longer shown
    S.critical = found;
    drawSurface();
    const c = {};
    for (const p of S.critical.points) c[kindOf(p.kind)] = (c[kindOf(p.kind)] || 0) + 1;
    toastInfo(`${S.critical.points.length} critical points in the box` +
      (S.critical.points.length ? ": " : "") +
      Object.entries(c).map(([k, n]) => `${n} ${n === 1 ? k : PLURAL[k]}`).join(", ") +
      (found.warnings || []).map((w) => `\n⚠ ${w}`).join(""));
  } catch (e) {
    if (t.current()) showError(N.runError, e.message);
  } finally {
    N.crit.disabled = false;
  }
}

function toastInfo(text) { N.startsNote.textContent = text; }

async function multistart() {
  showError(N.runError, "");
  N.ms.disabled = true;
  const body = { source: S.source, ranges: ranges(), starts: Number(N.msStarts.value) || 2500 };
  const t = tag();
  try {
    const end = await runJob("/api/explorer/multistart", body, { bar: N.bar });
    if (!t.current()) return;  // computed for a function (or box) no longer shown
    S.minima = { ...end.result, variables: [...S.vars] };
    drawMinima();
  } catch (e) {
    if (t.current()) showError(N.runError, e.message);
  } finally {
    N.ms.disabled = false;
  }
}

function drawMinima() {
  const m = S.minima;
  const [a, b] = m.variables;
  N.msPanel.hidden = false;
  const rows = m.minima.slice(0, 20).map((p, i) => el("tr", {},
    el("td", {}, String(i + 1)), el("td", {}, `(${fmt(p.point[a])}, ${fmt(p.point[b])})`),
    el("td", {}, fmt(p.value)), el("td", {}, p.kind), el("td", {}, String(p.count)),
    el("td", {}, `${(100 * p.share).toFixed(1)} %`)));
  N.minima.replaceChildren(
    el("p", { class: "note" }, `${m.starts.toLocaleString()} starts, ${m.optimizer}; ` +
      `${m.minima.length} distinct minim${m.minima.length === 1 ? "um" : "a"} in the box` +
      (m.failed_total ? `; ${m.failed_total} did not converge` : "") +
      (m.outside_box.starts ? `; ${m.outside_box.starts} converged outside the box` : "")),
    ...(m.warnings || []).map((w) => el("p", { class: "f-warning" }, `⚠ ${w}`)),
    el("table", { class: "f-table" }, el("thead", {}, el("tr", {}, ...["#", `(${a}, ${b})`, "f", "kind", "starts", "basin share"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
  if (!m.basins) { N.basins.textContent = "No basin map: the starts do not form a grid."; return; }
  const k = m.minima.length;
  // colour index per start: 0 did not converge, 1 outside the box, 2 + minimum's index
  const z = m.basins.labels.map((r) => r.map((l) => (l >= 0 ? 2 + (l % COLORS.length) : l === -2 ? 1 : 0)));
  const palette = ["#e5e7eb", "#6b7280", ...COLORS];
  const n = palette.length;
  const colorscale = palette.flatMap((c, i) => [[i / n, c], [(i + 1) / n, c]]);
  plot(N.basins, [
    { type: "heatmap", x: m.basins.x, y: m.basins.y, z, zmin: -0.5, zmax: n - 0.5, colorscale,
      showscale: false, hoverinfo: "skip", name: "basins" },
    ...m.minima.slice(0, COLORS.length).map((p, i) => ({
      type: "scatter", mode: "markers", x: [p.point[a]], y: [p.point[b]], name: `minimum ${i + 1}: f = ${fmt(p.value, 4)} (${(100 * p.share).toFixed(1)} %)`,
      marker: { size: i === 0 ? 20 : 15, color: COLORS[i % COLORS.length], symbol: i === 0 ? "star" : "circle",
        line: { color: "#111", width: 2 } },
    })),
  ], {
    xaxis: { title: axisTitle(a), constrain: "domain" }, yaxis: { title: axisTitle(b) },
    legend: { orientation: "h", y: -0.18, font: { size: 14 } }, margin: { l: 60, r: 20, t: 10, b: 100 },
  }, { displayModeBar: false });
  return k;
}

// -- mount ---------------------------------------------------------------------------------------

export async function mount(root) {
  const known = await api("/api/explorer/functions");
  S.caps = known.caps;
  S.optimizerNames = known.optimizers.map((o) => o.name);
  const again = readUrl(known.optimizers);
  build(root, known);
  wirePointer();
  N.expr.value = S.source;
  drawValues();
  await load(S.source, S.box);
  if (again && S.starts.length && S.surface) await run();

  registerReport("explorer", () => ({
    title: `gradscape — ${S.described ? S.described.label : "function explorer"}`,
    sections: [
      { heading: "Function", text: `${S.described ? S.described.label : "f"} = ${S.described ? S.described.formula : S.source}\n` +
        (S.described ? S.described.partials.map((p) => `∂f/∂${p.variable} = ${p.text}`).join("\n") : "") },
      ...(S.runs ? [{ heading: "Descents", text: N.results.textContent }] : []),
      ...(S.minima ? [{ heading: "Multistart", text: N.minima.textContent }] : []),
    ],
    figures: [
      { heading: "Contours, starts and paths", div: N.contour },
      { heading: "Surface", div: N.surface },
      ...(S.runs ? [{ heading: "Value per step", div: N.valuePlot }] : []),
      ...(S.minima ? [{ heading: "Basins of attraction", div: N.basins }] : []),
    ],
  }));
}
