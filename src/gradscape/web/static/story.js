// The story view: the classic line fit in weight space (the same computation as `gradscape tour`).
// Left, the data and the line y = m·x + c; right, the SSE contours over (m, c). Dragging in
// weight space moves the line; sliders show each weight's 1-D profile; "Descend" animates the
// tour's gradient descent with each weight's update rule in numbers.
import {
  api, el, fmt, getParams, plot, registerReport, setParams, showError, toast, upload,
} from "./common.js";

const C = { data: "#2563eb", line: "#dc2626", best: "#059669", path: "#d97706", point: "#7c3aed" };
const BUILTIN = "builtin";
/** Decades of SSE the loss plot shows below its largest value. */
const LOSS_DECADES = 12;

/** One request in flight; the latest point asked for wins. */
function latestOnly(send, receive, fail) {
  let busy = false, next = null;
  async function pump() {
    busy = true;
    while (next) {
      const arg = next;
      next = null;
      try { receive(await send(arg), arg); } catch (e) { fail(e); }
    }
    busy = false;
  }
  return (arg) => { next = arg; if (!busy) pump(); };
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG layer over a plotly plot, clipped to its plotting area: what moves on every mouse
 *  move (the line, the point, the path) is drawn here, since moving a plotly trace or shape
 *  redraws the whole plot (contours included: ~90 ms each on a slow machine). */
function overlay(div) {
  const outer = document.createElementNS(SVG, "svg");
  outer.setAttribute("class", "overlay");
  const inner = document.createElementNS(SVG, "svg");
  outer.append(inner);
  div.append(outer);
  const parts = {};
  return {
    part(name, tag, attrs) {
      if (!parts[name]) {
        parts[name] = document.createElementNS(SVG, tag);
        for (const [k, v] of Object.entries(attrs)) parts[name].setAttribute(k, v);
        parts[name].setAttribute("data-part", name);
        inner.append(parts[name]);
      }
      return parts[name];
    },
    /** Pixel maps of the plot's axes (null before the first draw); sizes the clip. */
    axes() {
      const fl = div._fullLayout;
      if (!fl || !fl.xaxis || !fl.yaxis || !fl.xaxis._length) return null;
      const xa = fl.xaxis, ya = fl.yaxis;
      inner.setAttribute("x", xa._offset); inner.setAttribute("y", ya._offset);
      inner.setAttribute("width", xa._length); inner.setAttribute("height", ya._length);
      const px = (v) => xa.c2p(v), py = (v) => ya.c2p(v);
      return { px, py };
    },
  };
}

function equationLines(text) {
  // "a = b = c" written one step per line, the later steps aligned under the first "="
  const parts = text.split(" = ");
  const pad = " ".repeat(parts[0].length);
  return [parts[0] + " = " + parts[1], ...parts.slice(2).map((p) => pad + " = " + p)].join("\n");
}

export async function mount(root) {
  const q = getParams();
  const state = {
    data: q.get("s_data") || BUILTIN,
    x: q.get("s_x") || null,
    y: q.get("s_y") || null,
    m: numOr(q.get("s_m"), null),
    c: numOr(q.get("s_c"), null),
    lr: numOr(q.get("s_lr"), null) > 0 ? numOr(q.get("s_lr"), null) : null,
    steps: Math.round(numOr(q.get("s_steps"), 5000)),
  };
  let D = null;          // the dataset's facts (POST /api/story/data)
  let S = null;          // the SSE surface
  let run = null;        // the last descent
  let frame = 0;         // the descent row shown
  let timer = null;
  let lastPoint = null;  // the last /point answer
  // where Descend starts: the point the user placed (by dragging, a slider, the best-fit button
  // or the URL), not where the last descent's animation left the line
  let start = { m: state.m ?? 0, c: state.c ?? 0 };

  // -- the page's parts ------------------------------------------------------------------------
  const fileInput = el("input", { type: "file", accept: ".csv,.tsv,.txt,.dat", id: "s-file" });
  const source = el("select", { id: "s-source" }, el("option", { value: BUILTIN }, "built-in: the tour's synthetic line"));
  const xCol = el("select", { id: "s-xcol" }), yCol = el("select", { id: "s-ycol" });
  const columns = el("span", { class: "columns", hidden: "" },
    el("label", {}, "x column", xCol), el("label", {}, "y column", yCol));
  const uploadError = el("div", { class: "error", id: "s-upload-error", role: "alert", hidden: "" });
  const dataNote = el("div", { class: "note", id: "s-data-note" });
  const bar = el("div", { class: "controls story-data" },
    el("label", {}, "Data", source),
    el("label", {}, "Upload a CSV (x, y columns)", fileInput),
    columns,
    uploadError);

  const dataDiv = el("div", { class: "plot", id: "s-data-plot" });
  const contourDiv = el("div", { class: "plot", id: "s-contours" });
  const pointBox = el("div", { class: "numbers story-point", id: "s-point" });
  const profileDivs = { m: el("div", { class: "plot small", id: "s-profile-m" }), c: el("div", { class: "plot small", id: "s-profile-c" }) };
  const sliders = {
    m: el("input", { type: "range", id: "s-slider-m", min: "0", max: "1", step: "0.001" }),
    c: el("input", { type: "range", id: "s-slider-c", min: "0", max: "1", step: "0.001" }),
  };
  const sliderValues = { m: el("output", { id: "s-m-value" }), c: el("output", { id: "s-c-value" }) };

  const lrSlider = el("input", { type: "range", id: "s-lr", min: "-6", max: "-2", step: "0.01" });
  const lrValue = el("output", { id: "s-lr-value" });
  const lrMark = el("div", { class: "lr-mark", id: "s-lr-mark" }, el("span", {}, "2/λmax"));
  const lrScale = el("div", { class: "lr-scale" }, el("div", { class: "stable" }, "converges"), el("div", { class: "unstable" }, "diverges"));
  const lrWrap = el("div", { class: "lr-wrap" }, lrSlider, lrScale, lrMark);
  const stepsInput = el("input", { type: "number", id: "s-steps", min: "1", max: "100000", step: "1", value: String(state.steps) });
  const descendBtn = el("button", { type: "button", id: "s-descend" }, "Descend");
  const playBtn = el("button", { type: "button", class: "secondary", id: "s-play", disabled: "" }, "Pause");
  const resetBtn = el("button", { type: "button", class: "secondary", id: "s-best" }, "Jump to the best fit");
  const scrub = el("input", { type: "range", id: "s-scrub", min: "0", max: "0", step: "1", value: "0", disabled: "" });
  const scrubLabel = el("output", { id: "s-scrub-label" }, "no descent yet");
  const rulesBox = el("div", { class: "numbers story-rules", id: "s-rules" }, "Press Descend: each step moves every weight against its own partial derivative.");
  const stopBox = el("div", { class: "story-stop", id: "s-stop", role: "status" });
  const descendError = el("div", { class: "error", id: "s-descend-error", hidden: "" });
  const lossDiv = el("div", { class: "plot small", id: "s-loss" });
  const surfDiv = el("div", { class: "plot tall", id: "s-surface3d" });

  const ovData = overlay(dataDiv), ovContour = overlay(contourDiv), ovLoss = overlay(lossDiv);
  const panel = (title, ...kids) => el("div", { class: "panel" }, el("h2", {}, title), ...kids);
  root.append(
    bar, dataNote,
    el("div", { class: "row" },
      panel("Data and the line y = m·x + c", dataDiv),
      panel("Weight space: SSE over (m, c) — click or drag to move the line", contourDiv)),
    el("div", { class: "row" },
      el("div", { class: "panel wide" }, el("h2", {}, "This line's error and its partial derivatives"), pointBox),
      panel("Slope m (c held)", el("label", { class: "slider" }, "m", sliders.m, sliderValues.m), profileDivs.m),
      panel("Intercept c (m held)", el("label", { class: "slider" }, "c", sliders.c, sliderValues.c), profileDivs.c)),
    el("div", { class: "row" },
      panel("Gradient descent",
        el("div", { class: "controls" },
          el("label", { class: "lr-label" }, el("span", {}, "learning rate η (log scale) ", lrValue), lrWrap),
          el("label", {}, "steps", stepsInput),
          descendBtn, playBtn, resetBtn),
        el("div", { class: "scrub" }, scrub, scrubLabel),
        descendError, stopBox, rulesBox),
      panel("SSE per step", lossDiv)),
    el("div", { class: "row" }, panel("The error surface in 3-D, with the descent path", surfDiv)),
  );

  // -- data ------------------------------------------------------------------------------------
  const ref = () => ({ data: state.data, x: state.x, y: state.y });

  async function loadData(which, x = null, y = null) {
    const asked = { data: which, x, y };
    const facts = await api("/api/story/data", asked);
    const surf = await api("/api/story/surface", { ...asked, grid: 101 });
    Object.assign(state, asked);
    D = facts;
    S = surf;
    run = null;
    stopTimer();
    const cf = D.closed_form;
    if (state.m === null || state.c === null) { state.m = 0; state.c = 0; }
    if (state.lr === null) state.lr = D.lr.suggested;
    dataNote.textContent = `${D.name}: ${D.n.toLocaleString()} points (${D.x_label}, ${D.y_label}). ` +
      `Closed-form best fit: m* = ${fmt(cf.m)}, c* = ${fmt(cf.c)}, SSE* = ${fmt(cf.sse)}.` +
      (D.notes.length ? " " + D.notes.join(" ") : "") +
      (D.columns_guessed ? " Choose other columns with the x column and y column menus." : "") +
      (D.shown_note ? ` (${D.shown_note})` : "");
    for (const w of ["m", "c"]) {
      const [lo, hi] = D.ranges[w];
      Object.assign(sliders[w], { min: String(lo), max: String(hi), step: String((hi - lo) / 1000) });
    }
    setupLr();
    drawAll();
    scrub.disabled = true;
    playBtn.disabled = true;
    scrubLabel.textContent = "no descent yet";
    stopBox.textContent = "";
    showError(descendError, "");
    rulesBox.textContent = "Press Descend: each step moves every weight against its own partial derivative.";
    setParams({ s_data: which === BUILTIN ? null : which, s_x: x, s_y: y });
    showColumns();
    movePoint(state.m, state.c);
  }

  // -- learning rate ---------------------------------------------------------------------------
  function setupLr() {
    const ms = D.lr.max_stable;
    const lo = Math.log10(ms) - 3, hi = Math.log10(ms) + Math.log10(5);
    Object.assign(lrSlider, { min: String(lo), max: String(hi), step: String((hi - lo) / 600) });
    lrSlider.value = String(Math.log10(state.lr));
    const f = (Math.log10(ms) - lo) / (hi - lo);
    lrMark.style.left = `calc(${(100 * f).toFixed(2)}% + ${(8 - 16 * f).toFixed(1)}px)`;
    lrScale.firstChild.style.width = `${(100 * f).toFixed(2)}%`;
    lrMark.title = `2/λmax = ${fmt(ms, 4)}: the largest stable learning rate of plain gradient descent here`;
    showLr();
  }
  function showLr() {
    const above = state.lr >= D.lr.max_stable;
    lrValue.textContent = `η = ${fmt(state.lr, 3)} · 2/λmax = ${fmt(D.lr.max_stable, 3)}` + (above ? " · above: descent diverges" : "");
    lrValue.classList.toggle("bad", above);
  }
  lrSlider.addEventListener("input", () => {
    state.lr = Number(Math.pow(10, Number(lrSlider.value)).toPrecision(3));
    showLr();
    setParams({ s_lr: state.lr });
  });
  stepsInput.addEventListener("change", () => {
    state.steps = Math.round(Number(stepsInput.value)) || 1;
    setParams({ s_steps: state.steps });
  });

  // -- drawing ---------------------------------------------------------------------------------
  function lineXY(m, c) {
    // the line across the data's x range, a little beyond it
    const xs = D.x;
    let lo = Math.min(...xs), hi = Math.max(...xs);
    const pad = 0.05 * (hi - lo);
    lo -= pad; hi += pad;
    return { x: [lo, hi], y: [m * lo + c, m * hi + c] };
  }
  function residualsXY(m, c) {
    if (D.x.length > 300) return { x: [], y: [] };
    const x = [], y = [];
    D.x.forEach((xi, i) => { x.push(xi, xi, null); y.push(D.y[i], m * xi + c, null); });
    return { x, y };
  }
  function yRange() {
    // the data's range, widened to hold y = 0 (where the line of the tour's start, m = c = 0,
    // lies) when that is within one span of the data
    let lo = Math.min(...D.y), hi = Math.max(...D.y);
    const span = hi - lo || 1;
    if (lo > 0 && lo < span) lo = 0;
    if (hi < 0 && -hi < span) hi = 0;
    const pad = 0.08 * (hi - lo);
    return [lo - pad, hi + pad];
  }


  let hooked = false;
  function drawAll() {
    const cf = D.closed_form;
    const best = lineXY(cf.m, cf.c);
    plot(dataDiv, [
      { x: D.x, y: D.y, mode: "markers", type: "scatter", name: "data", marker: { color: C.data, size: 8, opacity: 0.8 } },
      { x: [null], y: [null], mode: "lines", type: "scatter", name: "errors (residuals)", line: { color: "#9ca3af", width: 1 }, hoverinfo: "skip" },
      { x: best.x, y: best.y, mode: "lines", type: "scatter", name: "best fit (closed form)", line: { color: C.best, dash: "dash", width: 2 } },
      { x: [null], y: [null], mode: "lines", type: "scatter", name: "current line", line: { color: C.line, width: 4 } },
    ], {
      xaxis: { title: { text: D.x_label }, zeroline: false },
      yaxis: { title: { text: D.y_label }, range: yRange() },
      legend: { orientation: "h", y: -0.24 },
      margin: { l: 65, r: 15, t: 15, b: 105 },
    });

    const logz = S.sse.map((row) => row.map((v) => (v === null ? null : Math.log10(v))));
    const [m0, m1] = D.ranges.m, [c0, c1] = D.ranges.c;
    plot(contourDiv, [
      { type: "contour", x: S.m, y: S.c, z: logz, ncontours: 24, colorscale: "Viridis", reversescale: true,
        colorbar: { title: { text: "log₁₀ SSE", side: "right" }, thickness: 14 },
        contours: { coloring: "heatmap", showlines: true }, line: { width: 0.5, color: "rgba(255,255,255,.5)" },
        hoverinfo: "skip", showscale: true },
      { x: [null], y: [null], mode: "lines", type: "scatter", name: "descent path", line: { color: C.path, width: 3 } },
      { x: [cf.m], y: [cf.c], mode: "markers", type: "scatter", name: "closed-form minimum", marker: { symbol: "star", size: 20, color: C.best, line: { color: "#fff", width: 1.5 } } },
      { x: [null], y: [null], mode: "markers", type: "scatter", name: "current (m, c)", marker: { size: 16, color: C.line, line: { color: "#fff", width: 2 } } },
    ], {
      xaxis: { title: { text: "slope m" }, range: [m0, m1], fixedrange: true },
      yaxis: { title: { text: "intercept c" }, range: [c0, c1], fixedrange: true },
      dragmode: false, hovermode: false, showlegend: true,
      legend: { orientation: "h", y: -0.24 },
      margin: { l: 65, r: 15, t: 15, b: 105 },
    }, { displayModeBar: false });

    const zTop = 1.02 * Math.max(...S.sse.map((row) => Math.max(...row.filter((v) => v !== null))));
    plot(surfDiv, [
      { type: "surface", x: S.m, y: S.c, z: S.sse, colorscale: "Viridis", reversescale: true, opacity: 0.9,
        colorbar: { title: { text: "SSE", side: "right" }, thickness: 14 }, name: "SSE" },
      { type: "scatter3d", mode: "lines+markers", x: [], y: [], z: [], name: "descent path", line: { color: C.path, width: 6 }, marker: { size: 3, color: C.path } },
      { type: "scatter3d", mode: "markers", x: [cf.m], y: [cf.c], z: [cf.sse], name: "closed-form minimum", marker: { size: 6, color: C.best, symbol: "diamond" } },
      { type: "scatter3d", mode: "markers", x: [], y: [], z: [], name: "current (m, c)", marker: { size: 6, color: C.line } },
    ], {
      scene: { xaxis: { title: { text: "slope m" }, range: [m0, m1], nticks: 6 },
               yaxis: { title: { text: "intercept c" }, range: [c0, c1], nticks: 6 },
               // no label at SSE = 0: it would sit on the corner beside the first m label
               zaxis: { title: { text: "SSE" }, range: [0, zTop], tickvals: niceTicks(zTop, 5).filter((v) => v > 0) },
               camera: { eye: { x: 1.25, y: -1.9, z: 0.8 } }, aspectmode: "cube" },
      margin: { l: 0, r: 0, t: 10, b: 0 }, legend: { orientation: "h", y: 0.02 },
    });
    plot(lossDiv, [], { ...emptyLossLayout(), annotations: [{ text: "Press Descend to see<br>the SSE fall step by step",
      xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 16, color: "#667085" } }] });
    if (!hooked) {
      hooked = true;
      for (const d of [dataDiv, contourDiv, lossDiv]) d.on("plotly_afterplot", redrawSoon);
    }
  }

  function emptyLossLayout() {
    return { xaxis: { title: { text: "step" } }, yaxis: { title: { text: "SSE (log scale)" }, type: "log", dtick: 1, exponentformat: "power" },
             margin: { l: 75, r: 15, t: 15, b: 55 }, showlegend: false };
  }
  /** The loss plot's layout for the rows drawn: at most about six decade labels, and a floor
   *  LOSS_DECADES below the largest SSE (a perfect fit falls to 1e-18 and beyond: rounding). */
  function lossLayout(steps, values) {
    const pos = values.filter((v) => v !== null && v > 0);
    const out = emptyLossLayout();
    const last = steps[steps.length - 1];  // whole steps from 0, a little room for the end's dot
    out.xaxis = { ...out.xaxis, range: [-0.02 * Math.max(last, 1), 1.03 * Math.max(last, 1)], rangemode: "nonnegative" };
    if (last < 5) out.xaxis.dtick = 1;
    if (!pos.length) return out;
    const hi = Math.log10(Math.max(...pos)), lowest = Math.log10(Math.min(...pos));
    const top = Math.ceil(hi + 0.05), floor = Math.floor(Math.max(lowest, hi - LOSS_DECADES) - 0.05);
    const bottom = Math.min(floor, top - 1);
    out.yaxis = { ...out.yaxis, range: [bottom, top], dtick: Math.max(1, Math.ceil((top - bottom) / 6)) };
    if (lowest < bottom) {
      out.annotations = [{ text: `the SSE falls below 10<sup>${bottom}</sup> (not drawn: under 10<sup>−${LOSS_DECADES}</sup> × its largest)`,
        xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", yanchor: "bottom", showarrow: false,
        yshift: 14, font: { size: 13, color: "#475467" } }];
      out.margin = { ...out.margin, t: 46 };  // the note sits above the plot, clear of the labels
    }
    return out;
  }

  /** Move to (m, c): the line and markers at once, the numbers when the server answers. */
  let drawQueued = false;
  function drawPoint() {
    drawQueued = false;
    if (!D) return;
    const m = state.m, c = state.c;
    const a = ovData.axes(), b = ovContour.axes();
    if (a) {
      const cur = lineXY(m, c), res = residualsXY(m, c);
      let d = "";
      for (let i = 0; i < res.x.length; i += 3) {
        d += `M${a.px(res.x[i]).toFixed(1)},${a.py(res.y[i]).toFixed(1)}V${a.py(res.y[i + 1]).toFixed(1)}`;
      }
      ovData.part("residuals", "path", { stroke: "#9ca3af", "stroke-width": "1.2", fill: "none" }).setAttribute("d", d);
      const ln = ovData.part("line", "line", { stroke: C.line, "stroke-width": "4", "stroke-linecap": "round" });
      Object.entries({ x1: a.px(cur.x[0]), y1: a.py(cur.y[0]), x2: a.px(cur.x[1]), y2: a.py(cur.y[1]) })
        .forEach(([k, v]) => ln.setAttribute(k, Math.max(-1e6, Math.min(1e6, v)).toFixed(1)));
      Object.assign(ln.dataset, { x0: cur.x[0], y0: cur.y[0], x1: cur.x[1], y1: cur.y[1] });
    }
    if (b) {
      drawPath(b);
      const dot = ovContour.part("point", "circle", { r: "9", fill: C.line, stroke: "#fff", "stroke-width": "2" });
      dot.setAttribute("cx", clampPx(b.px(m))); dot.setAttribute("cy", clampPx(b.py(c)));
      Object.assign(dot.dataset, { m, c });
    }
    const l = ovLoss.axes();
    if (l && run) {
      const dot = ovLoss.part("step", "circle", { r: "7", fill: C.line, stroke: "#fff", "stroke-width": "1.5" });
      const i = Math.min(frame, run.frames - 1);
      dot.setAttribute("cx", clampPx(l.px(run.steps[i]))); dot.setAttribute("cy", clampPx(l.py(run.sse[i])));
    }
  }
  const clampPx = (v) => (Number.isFinite(v) ? Math.max(-1e6, Math.min(1e6, v)) : -1e6).toFixed(1);
  function drawPath(b) {
    const path = ovContour.part("path", "polyline", { stroke: C.path, "stroke-width": "3", fill: "none", "stroke-linejoin": "round" });
    if (!run) { path.setAttribute("points", ""); path.dataset.n = "0"; return; }
    const n = Math.min(frame, run.frames - 1) + 1;
    let pts = "";
    for (let i = 0; i < n; i++) pts += `${clampPx(b.px(run.m[i]))},${clampPx(b.py(run.c[i]))} `;
    path.setAttribute("points", pts);
    Object.assign(path.dataset, { n, m: run.m[n - 1], c: run.c[n - 1] });
  }
  // a plot redrawn (resized, restyled) moves its axes: redraw what lies over it
  const redrawSoon = () => { if (!drawQueued) { drawQueued = true; requestAnimationFrame(drawPoint); } };
  function movePoint(m, c, { fromDescent = false, ask = true } = {}) {
    state.m = m; state.c = c;
    // at most one redraw per frame however fast the mouse sends moves
    if (!drawQueued) { drawQueued = true; requestAnimationFrame(drawPoint); }
    for (const w of ["m", "c"]) {
      if (document.activeElement !== sliders[w]) sliders[w].value = String(w === "m" ? m : c);
      sliderValues[w].textContent = `${w} = ${fmt(w === "m" ? m : c, 5)}`;
    }
    if (!fromDescent) {
      start = { m, c };
      setParams({ s_m: Number(m.toPrecision(7)), s_c: Number(c.toPrecision(7)) });
    }
    if (ask) {
      askPoint({ ...ref(), m, c });
      askProfiles({ ...ref(), m, c, profiles: 101 });
    }
  }

  // Two channels, each with one request in flight and the latest point winning: the numbers
  // (microseconds of server work) never wait behind the profiles (two sweeps).
  // an answer about data no longer shown is dropped
  const current = (body) => body.data === state.data && body.x === state.x && body.y === state.y;
  const askPoint = latestOnly(
    (body) => api("/api/story/point", body),
    (r, body) => { if (current(body)) showPoint(r); },
    (e) => toast(e.message),
  );
  let lastProfiles = null;
  const askProfiles = latestOnly(
    (body) => api("/api/story/profiles", body),
    (r, body) => {
      if (!current(body)) return;
      lastProfiles = r;
      // drawn as the answer comes (one request in flight: at most one redraw per answer)
      drawProfiles();
    },
    (e) => toast(e.message),
  );

  function showPoint(r) {
    lastPoint = r;
    pointBox.replaceChildren(
      el("div", { class: "big" },
        el("span", {}, `m = ${fmt(r.m, 5)}`), el("span", {}, `c = ${fmt(r.c, 5)}`),
        el("span", { id: "s-sse" }, `SSE = ${fmt(r.sse)}`)),
      el("div", { class: "big" },
        el("span", { id: "s-dm" }, `∂SSE/∂m = ${fmt(r.d_m)}`),
        el("span", { id: "s-dc" }, `∂SSE/∂c = ${fmt(r.d_c)}`)),
      el("pre", {}, ["sse", "d_m", "d_c"].map((k) => equationLines(r.equations[k])).join("\n\n")),
    );
    pointBox.dataset.sse = String(r.sse);
    pointBox.dataset.m = String(r.m);
    pointBox.dataset.c = String(r.c);
    pointBox.dataset.d_m = String(r.d_m);
    pointBox.dataset.d_c = String(r.d_c);
    clearTimeout(mark3d);
    mark3d = setTimeout(() => Plotly.restyle(surfDiv, { x: [[r.m]], y: [[r.c]], z: [[r.sse]] }, [3]), 250);
  }
  let mark3d = null;

  function drawProfiles() {
    const r = lastProfiles;
    for (const w of ["m", "c"]) {
      const p = r[w];
      // the current value on the profile: SSE there is the profile's value at that weight
      const here = r.point[w];
      const other = w === "m" ? "c" : "m";
      plot(profileDivs[w], [
        { x: p.axis, y: p.values, mode: "lines", type: "scatter", name: `SSE along ${w}`, line: { color: C.data, width: 3 } },
        { x: [here], y: [r.point.sse], mode: "markers", type: "scatter", name: `current ${w}`, marker: { size: 14, color: C.line } },
        ...(p.minimum ? [{ x: [p.minimum.point[w]], y: [p.minimum.value], mode: "markers", type: "scatter", name: "lowest on this line", marker: { symbol: "star", size: 14, color: C.best } }] : []),
      ], {
        yaxis: { title: { text: `SSE (${other} = ${fmt(p.held[other], 4)})` }, range: [0, 1.05 * Math.max(...p.values.filter((v) => v !== null))] },
        xaxis: { title: { text: w === "m" ? "slope m" : "intercept c" }, range: D.ranges[w], zeroline: false },
        showlegend: false, margin: { l: 75, r: 15, t: 10, b: 55 }, hovermode: "x",
      }, { displayModeBar: false });
    }
  }

  // -- dragging in weight space ----------------------------------------------------------------
  function weightAt(e) {
    const fl = contourDiv._fullLayout;
    if (!fl) return null;
    const xa = fl.xaxis, ya = fl.yaxis, bb = contourDiv.getBoundingClientRect();
    const px = e.clientX - bb.left - xa._offset, py = e.clientY - bb.top - ya._offset;
    if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
    return { m: xa.p2l(px), c: ya.p2l(py) };
  }
  let dragging = false;
  // pointer events: a mouse, a pen or a finger on a classroom touch screen
  contourDiv.addEventListener("pointerdown", (e) => {
    const w = weightAt(e);
    if (!w) return;
    dragging = true;
    stopTimer();
    e.preventDefault();
    movePoint(w.m, w.c);
  }, true);
  window.addEventListener("pointermove", (e) => {
    if (!dragging) return;
    const w = weightAt(e);
    if (w) movePoint(w.m, w.c);
  });
  window.addEventListener("pointerup", () => { dragging = false; });
  window.addEventListener("pointercancel", () => { dragging = false; });
  for (const w of ["m", "c"]) {
    sliders[w].addEventListener("input", () => {
      stopTimer();
      const v = Number(sliders[w].value);
      movePoint(w === "m" ? v : state.m, w === "c" ? v : state.c);
    });
  }
  resetBtn.addEventListener("click", () => { stopTimer(); movePoint(D.closed_form.m, D.closed_form.c); });

  // -- descent ---------------------------------------------------------------------------------
  descendBtn.addEventListener("click", async () => {
    stopTimer();
    showError(descendError, "");
    descendBtn.disabled = true;
    try {
      // the tour's own rate (1/λmax) is sent as none, so the reply says why it was chosen
      const lr = state.lr === D.lr.suggested ? null : state.lr;
      run = await api("/api/story/descend", { ...ref(), m: start.m, c: start.c, lr, steps: state.steps });
    } catch (e) {
      showError(descendError, e.message);
      return;
    } finally {
      descendBtn.disabled = false;
    }
    const n = run.frames;
    scrub.max = String(n - 1);
    scrub.disabled = false;
    playBtn.disabled = false;
    const warn = run.warnings.length ? run.warnings : [];
    stopBox.replaceChildren(
      el("div", { class: `stop ${run.diverged ? "bad" : run.converged ? "good" : ""}`, id: "s-stop-reason" },
        run.message),
      ...warn.map((w) => el("div", { class: "warning" }, `⚠ ${w}`)),
      ...(run.converged && run.n_steps === 0 ? [el("div", { class: "note", id: "s-no-step" },
        "No step was taken: the start is already the minimum (both partial derivatives are 0 there), " +
        "so this learning rate was never tried. Place the point elsewhere to see what it does.")] : []),
      el("div", { class: "note" }, `from the point you placed: m = ${fmt(run.start.m, 5)}, c = ${fmt(run.start.c, 5)}`),
      el("div", { class: "note" }, `learning rate: ${run.lr_reason}` +
        (run.reached ? " · ended on the closed-form line" : "")));
    plot(lossDiv, [
      { x: run.steps.slice(0, n), y: run.sse.slice(0, n), mode: "lines", type: "scatter", name: "SSE", line: { color: C.path, width: 3 } },
      { x: [null], y: [null], mode: "markers", type: "scatter", name: "this step", marker: { size: 12, color: C.line } },
    ], lossLayout(run.steps.slice(0, n), run.sse.slice(0, n)));
    play(0);
  });

  function showFrame(i, { moving = false } = {}) {
    frame = i;
    const n = run.frames;
    scrub.value = String(i);
    const unshown = i === n - 1 && run.steps[i] < run.n_steps;  // the stop's step is not finite
    scrubLabel.textContent = `step ${run.steps[i].toLocaleString()} of ${run.n_steps.toLocaleString()}` +
      (unshown ? ` (step ${run.n_steps.toLocaleString()}: not a finite number)` : "") +
      (i === n - 1 ? ` · ${run.stop_reason}` : "");
    // the 3-D path keeps to the rows a figure draws (a last millionfold rise would flatten it)
    const k3 = Math.min(i, run.shown - 1) + 1;
    const ms = run.m.slice(0, k3), cs = run.c.slice(0, k3);
    const now = performance.now();
    if (!moving || now - last3d > 500) {
      last3d = now;
      Plotly.restyle(surfDiv, { x: [ms], y: [cs], z: [run.sse.slice(0, k3)] }, [1]);
    }
    const rule = run.rules[i];
    const k = run.steps[i];
    rulesBox.textContent =
      `step ${k}:  m = ${fmt(run.m[i])},  c = ${fmt(run.c[i])},  SSE = ${fmt(run.sse[i])}\n` +
      `         ∂SSE/∂m = ${fmt(run.d_m[i])},  ∂SSE/∂c = ${fmt(run.d_c[i])}\n\n` +
      (rule ? `${rule.m}\n${rule.c}` : `no step from here: ${run.message}`);
    rulesBox.dataset.step = String(k);
    // the line moves at once; the numbers and profiles follow (one request in flight each, the
    // latest frame wins, so the last frame is always answered)
    movePoint(run.m[i], run.c[i], { fromDescent: true });
  }
  let last3d = 0;

  function stopTimer() {
    if (timer !== null) cancelAnimationFrame(timer);
    timer = null;
    playBtn.textContent = "Play";
  }
  /** Play the path from row `from`: a short run one row per 150 ms, a long one in about 4 s
   *  whatever the machine's speed (rows are skipped, never slowed down). */
  function play(from) {
    stopTimer();
    const n = run.frames;
    const duration = n <= 30 ? 150 * (n - from) : 4000 * (n - from) / n;
    let t0 = null, shown = -1;
    playBtn.textContent = "Pause";
    const tick = (t) => {
      if (t0 === null) t0 = t;
      const i = Math.min(n - 1, from + Math.floor((n - from) * (t - t0) / Math.max(duration, 1)));
      if (i !== shown) { shown = i; showFrame(i, { moving: i < n - 1 }); }
      if (i >= n - 1) { stopTimer(); return; }
      timer = requestAnimationFrame(tick);
    };
    timer = requestAnimationFrame(tick);
  }
  playBtn.addEventListener("click", () => {
    if (!run) return;
    if (timer !== null) { stopTimer(); return; }
    play(frame >= run.frames - 1 ? 0 : frame);
  });
  scrub.addEventListener("input", () => { stopTimer(); if (run) showFrame(Number(scrub.value)); });

  // -- data choice and upload ------------------------------------------------------------------
  /** The column pickers of an uploaded file: "as the tour picks" or one of its columns. */
  function showColumns() {
    columns.hidden = state.data === BUILTIN || !D.columns.length;
    for (const [sel, chosen, role] of [[xCol, state.x, "x"], [yCol, state.y, "y"]]) {
      sel.replaceChildren(el("option", { value: "" }, `as gradscape tour picks (${role === "x" ? D.x_label : D.y_label})`),
        ...D.columns.map((name, i) => el("option", { value: String(i + 1) }, `${i + 1}: ${name}`)));
      sel.value = chosen || "";
    }
  }
  for (const sel of [xCol, yCol]) {
    sel.addEventListener("change", async () => {
      showError(uploadError, "");
      try {
        state.m = null; state.c = null; state.lr = null;
        await loadData(state.data, xCol.value || null, yCol.value || null);
      } catch (e) { showError(uploadError, e.message); }
    });
  }
  source.addEventListener("change", async () => {
    showError(uploadError, "");
    state.m = null; state.c = null; state.lr = null;
    try { await loadData(source.value); } catch (e) { showError(uploadError, e.message); }
  });
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    showError(uploadError, "");
    try {
      const up = await upload(file);
      state.m = null; state.c = null; state.lr = null;
      await loadData(up.token);
      source.append(el("option", { value: up.token }, `uploaded: ${up.name}`));
      source.value = up.token;
    } catch (e) {
      showError(uploadError, `${file.name}: ${e.message}`);
    }
  });

  /** Put what the overlays show into the figures' own traces (a report reads those), and take
   *  it out again once the report has read them. */
  function fillFigures() {
    const cur = lineXY(state.m, state.c), res = residualsXY(state.m, state.c);
    Plotly.restyle(dataDiv, { x: [res.x, cur.x], y: [res.y, cur.y] }, [1, 3]);
    const n = run ? Math.min(frame, run.frames - 1) + 1 : 0;
    Plotly.restyle(contourDiv, { x: [run ? run.m.slice(0, n) : [null], [state.m]], y: [run ? run.c.slice(0, n) : [null], [state.c]] }, [1, 3]);
    if (run) Plotly.restyle(lossDiv, { x: [[run.steps[n - 1]]], y: [[run.sse[n - 1]]] }, [1]);
    setTimeout(() => {
      Plotly.restyle(dataDiv, { x: [[null], [null]], y: [[null], [null]] }, [1, 3]);
      Plotly.restyle(contourDiv, { x: [[null], [null]], y: [[null], [null]] }, [1, 3]);
      if (run) Plotly.restyle(lossDiv, { x: [[null]], y: [[null]] }, [1]);
    }, 0);
  }

  registerReport("story", () => (fillFigures(), {
    title: "The classic story in weight space",
    sections: [
      { heading: "Data", text: dataNote.textContent },
      { heading: "This line", text: lastPoint ? ["sse", "d_m", "d_c"].map((k) => lastPoint.equations[k]).join("\n") : "" },
      { heading: "Gradient descent", text: run ? `${run.message}\n${run.warnings.join("\n")}\nlearning rate: ${run.lr_reason}` : "not run" },
    ],
    figures: [
      { heading: "Data and the line", div: dataDiv },
      { heading: "SSE contours over (m, c)", div: contourDiv },
      { heading: "Profile along m", div: profileDivs.m },
      { heading: "Profile along c", div: profileDivs.c },
      { heading: "SSE per step", div: lossDiv },
      { heading: "The error surface", div: surfDiv },
    ],
  }));

  try {
    await loadData(state.data, state.x, state.y);
    if (state.data !== BUILTIN) {
      source.append(el("option", { value: state.data }, `uploaded: ${D.name}`));
      source.value = state.data;
    }
  } catch (e) {
    showError(uploadError, `${e.message}`);
    state.data = BUILTIN;
    await loadData(BUILTIN);
  }
}

/** About `count` round numbers (1, 2 or 5 × 10^k apart) from 0 up to `top`. */
function niceTicks(top, count) {
  if (!(top > 0) || !Number.isFinite(top)) return [];
  const raw = top / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw);
  const out = [];
  for (let v = 0; v <= top * (1 + 1e-9); v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function numOr(text, fallback) {
  if (text === null || text === "") return fallback;
  const v = Number(text);
  return Number.isFinite(v) ? v : fallback;
}
