// The training view: a better Playground. Pick data and a model, train with early stopping and
// watch the train and validation curves grow, the best epoch marked; for one or two input features
// watch the decision boundary (classes) or the fitted curve/surface (regression) move as it learns.
// Then the run's loss landscape and top Hessian eigenvalues, its files and the Python that
// reproduces it. Every number comes from the server (the gradscape library).
import {
  ApiFailure, api, el, fmt, getParams, plot, progressBar, registerReport, runJob, setParams,
  showError, upload,
} from "./common.js";

const BLUE = "#2563eb", RED = "#dc2626", GREEN = "#059669", ORANGE = "#d97706", PURPLE = "#7c3aed";
const CLASS_COLOURS = [BLUE, RED, GREEN, ORANGE, PURPLE, "#0891b2", "#be185d", "#4d7c0f", "#92400e", "#475569"];

// URL keys (t_ prefix) and their defaults
const DEFAULTS = {
  t_data: "moons", t_target: "", t_task: "", t_split: "0", t_model: "mlp:16,16", t_act: "relu",
  t_loss: "", t_opt: "adam", t_lr: "0.03", t_epochs: "200", t_batch: "32", t_patience: "20",
  t_min_delta: "0", t_monitor: "val_loss", t_seed: "0",
};

function field(label, input, hint) {
  const lab = el("label", {}, label, input);
  if (hint) lab.title = hint;
  return lab;
}

function select(id, options, value) {
  const s = el("select", { id });
  for (const o of options) {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    s.append(el("option", { value: v }, text));
  }
  s.value = value;
  return s;
}

export async function mount(root) {
  const params = getParams();
  const get = (k) => (params.has(k) ? params.get(k) : DEFAULTS[k]);
  root.append(el("p", { class: "note t-loading" }, "Loading the datasets…"));
  let info;
  try {
    info = await api("/api/training/datasets");
  } catch (e) {
    if (!(e instanceof ApiFailure)) throw e;
    root.replaceChildren(el("div", { class: "error" }, e.message));
    return;
  }
  root.replaceChildren();

  // -- the controls ------------------------------------------------------------------------------
  const dataSel = select("t-data", [
    ...info.datasets.map((d) => [d.name, `${d.name} (${d.task === "classification" ? `${d.classes} classes` : "regression"}, ${d.n_features} feature${d.n_features > 1 ? "s" : ""})`]),
    ["upload", "upload a CSV file…"],
  ], params.get("t_upload") ? "upload" : get("t_data"));
  const fileIn = el("input", { id: "t-file", type: "file", accept: ".csv,.tsv,.txt,.dat" });
  const targetSel = el("select", { id: "t-target" });
  const taskSel = select("t-task", [["", "auto"], "classification", "regression"], get("t_task"));
  const splitIn = el("input", { id: "t-split", type: "number", min: "0", step: "1", value: get("t_split") });
  const uploadRow = el("div", { class: "controls t-upload" }, field("Data file", fileIn),
    field("Target column", targetSel));
  const dataErr = el("div", { id: "t-data-error", class: "error", hidden: "" });
  const facts = el("div", { id: "t-facts", class: "note" });

  const modelIn = el("input", { id: "t-model", type: "text", value: get("t_model"), size: "12" });
  const actSel = select("t-act", info.activations, get("t_act"));
  const lossSel = select("t-loss", [["", "by task"], ...info.losses], get("t_loss"));
  const optSel = select("t-opt", info.optimizers, get("t_opt"));
  const lrIn = el("input", { id: "t-lr", type: "number", step: "any", min: "0", value: get("t_lr") });
  const epochsIn = el("input", { id: "t-epochs", type: "number", min: "1", max: String(info.max_epochs), step: "1", value: get("t_epochs") });
  const batchIn = el("input", { id: "t-batch", type: "number", min: "0", step: "1", value: get("t_batch"), title: "0 or empty: full batch" });
  const patienceIn = el("input", { id: "t-patience", type: "number", min: "0", step: "1", value: get("t_patience"), title: "0 or empty: no early stopping" });
  const minDeltaIn = el("input", { id: "t-min-delta", type: "number", min: "0", step: "any", value: get("t_min_delta") });
  const monitorSel = select("t-monitor", [["val_loss", "validation loss"], ["val_metric", "validation metric"]], get("t_monitor"));
  const seedIn = el("input", { id: "t-seed", type: "number", min: "0", step: "1", value: get("t_seed") });
  const trainBtn = el("button", { id: "t-train", type: "button" }, "Train");
  const trainErr = el("div", { id: "t-train-error", class: "error", hidden: "" });
  for (const i of [splitIn, lrIn, epochsIn, batchIn, patienceIn, minDeltaIn, seedIn]) i.classList.add("t-num");

  const controls = el("div", { class: "panel t-controls" },
    el("h2", {}, "Data"),
    el("div", { class: "controls" }, field("Dataset", dataSel), field("Task", taskSel),
      field("Split seed", splitIn, "seeds which rows go to train, validation and test")),
    uploadRow, dataErr, facts,
    el("h2", {}, "Model and training"),
    el("div", { class: "controls" },
      field("Model", modelIn, "linear, logistic or mlp:H1,H2,... (hidden layer widths)"),
      field("Activation", actSel), field("Loss", lossSel)),
    el("div", { class: "controls" }, field("Optimizer", optSel), field("Learning rate", lrIn),
      field("Epochs", epochsIn, `at most ${info.max_epochs} (MAX_EPOCHS)`),
      field("Batch", batchIn, "rows per step; 0 for full batch"),
      field("Init seed", seedIn, "seeds the initial weights and the batches")),
    el("h2", {}, "Early stopping"),
    el("div", { class: "controls" },
      field("Patience", patienceIn, "epochs without improvement before stopping; 0: off"),
      field("Min delta", minDeltaIn, "the improvement that counts"), field("Watch", monitorSel)),
    el("div", { class: "controls" }, trainBtn), trainErr);
  const bar = progressBar(controls);

  // -- the figures -------------------------------------------------------------------------------
  const lossPlot = el("div", { id: "t-loss-plot", class: "plot t-curve" });
  const metricPlot = el("div", { id: "t-metric-plot", class: "plot t-curve" });
  const picturePlot = el("div", { id: "t-picture", class: "plot t-picture" });
  const stopNote = el("div", { id: "t-stop-note", class: "t-stop-note", hidden: "" });
  const numbers = el("div", { id: "t-numbers", class: "numbers" });
  const pictureHead = el("h2", {}, "What the model predicts");
  const curvesPanel = el("div", { class: "panel t-curves" }, el("h2", {}, "Training curves"),
    el("div", { class: "t-two" }, lossPlot, metricPlot), stopNote);
  const picturePanel = el("div", { class: "panel t-picture-panel" }, pictureHead, picturePlot);
  const numbersPanel = el("div", { class: "panel t-numbers-panel" }, el("h2", {}, "The run"), numbers);

  // after training: landscape, spectrum, export, snippet
  const landDims = select("t-land-dims", [["2", "2-D plane"], ["1", "1-D line"]], params.get("t_land_dims") || "2");
  const landDirs = select("t-land-dirs", [["random", "random directions"], ["hessian", "Hessian eigenvectors"], ["pca", "trajectory (PCA)"]], params.get("t_land_dirs") || "random");
  const landBtn = el("button", { id: "t-landscape", type: "button", disabled: "" }, "Loss landscape");
  const specBtn = el("button", { id: "t-spectrum", type: "button", disabled: "" }, "Top Hessian eigenvalues");
  const exportA = el("a", { id: "t-export", class: "button-link disabled", href: "#", "aria-disabled": "true" }, "Export run (zip)");
  const afterErr = el("div", { id: "t-after-error", class: "error", hidden: "" });
  const landPlot = el("div", { id: "t-land-plot", class: "plot t-after-plot" });
  const landNote = el("div", { id: "t-land-note", class: "note" });
  const specPlot = el("div", { id: "t-spec-plot", class: "plot t-after-plot" });
  const specNote = el("div", { id: "t-spec-note", class: "note" });
  const snippetBox = el("textarea", { id: "t-snippet", readonly: "", rows: "20", spellcheck: "false" });
  const copyBtn = el("button", { id: "t-copy", type: "button", class: "secondary" }, "Copy");
  const afterPanel = el("div", { class: "panel t-after" },
    el("h2", {}, "After training"),
    el("div", { class: "controls" }, field("Landscape", landDims), field("Directions", landDirs),
      landBtn, specBtn, exportA),
    afterErr);
  const afterBar = progressBar(afterPanel);
  const landBox = el("div", { hidden: "" }, landPlot, landNote);
  const specBox = el("div", { hidden: "" }, specPlot, specNote);
  afterPanel.append(el("div", { class: "t-two" }, landBox, specBox));
  const snippetPanel = el("div", { class: "panel t-snippet-panel", hidden: "" },
    el("h2", {}, "Python that reproduces this run"), snippetBox, el("div", { class: "controls" }, copyBtn));

  root.append(el("div", { class: "t-layout" },
    controls,
    el("div", { class: "t-main" }, curvesPanel,
      el("div", { class: "row" }, picturePanel, numbersPanel))),
  el("div", { class: "row" }, afterPanel), el("div", { class: "row" }, snippetPanel));

  // -- state -------------------------------------------------------------------------------------
  let dataset = null;      // facts of the data (POST /data)
  let uploaded = params.get("t_upload") ? { token: params.get("t_upload"), columns: [] } : null;
  let history = null;      // the live curves
  let snapshot = null;     // the latest prediction grid and its epoch
  let finished = null;     // the finished run's summary
  let running = false;

  function dataBody() {
    const body = { split_seed: Number(splitIn.value || 0), task: taskSel.value || null };
    if (dataSel.value === "upload") {
      body.dataset = null;
      body.upload = uploaded ? uploaded.token : "";
      body.target = targetSel.value || null;
    } else {
      body.dataset = dataSel.value;
    }
    return body;
  }

  function num(input) { return input.value === "" ? NaN : Number(input.value); }

  function trainBody() {
    const batch = num(batchIn), patience = num(patienceIn);
    return {
      ...dataBody(), model: modelIn.value.trim(), activation: actSel.value,
      loss: lossSel.value || null, optimizer: optSel.value, lr: num(lrIn),
      epochs: Math.trunc(num(epochsIn)), batch_size: batch > 0 ? batch : null,
      patience: patience > 0 ? patience : null, min_delta: num(minDeltaIn) || 0,
      monitor: monitorSel.value, seed: Math.trunc(num(seedIn) || 0),
    };
  }

  function saveState() {
    setParams({
      t_data: dataSel.value === "upload" ? null : dataSel.value,
      t_upload: dataSel.value === "upload" && uploaded ? uploaded.token : null,
      t_target: dataSel.value === "upload" ? targetSel.value : null,
      t_task: taskSel.value, t_split: splitIn.value, t_model: modelIn.value.trim(),
      t_act: actSel.value, t_loss: lossSel.value, t_opt: optSel.value, t_lr: lrIn.value,
      t_epochs: epochsIn.value, t_batch: batchIn.value, t_patience: patienceIn.value,
      t_min_delta: minDeltaIn.value, t_monitor: monitorSel.value, t_seed: seedIn.value,
      t_land_dims: landDims.value, t_land_dirs: landDirs.value,
    });
  }

  // -- drawing -----------------------------------------------------------------------------------
  const metricName = () => (dataset && dataset.task === "regression" ? "R²" : "accuracy");

  function bestShapes(best) {
    if (!best) return [];
    return [{ type: "line", xref: "x", yref: "paper", x0: best, x1: best, y0: 0, y1: 1,
      line: { color: GREEN, width: 2, dash: "dash" } }];
  }

  function drawCurves() {
    const h = history || { epoch: [], train_loss: [], val_loss: [], train_metric: [], val_metric: [], best: null };
    // with early stopping the star is the best (kept) epoch; without, the kept epoch is simply the
    // last, and the star marks the lowest validation loss instead (the library's labels)
    const early = h.early !== false;
    const b = early ? h.best : h.lowest;
    const starName = finished ? (early ? finished.kept_label : finished.lowest_label)
      : b ? (early ? `best epoch ${b}` : `lowest validation loss: epoch ${b}`)
        : (early ? "best epoch" : "lowest validation loss");
    const empty = h.epoch.length ? [] : [{ text: running ? "compiling…" : "press Train to see the curves grow",
      xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 16, color: "#667085" } }];
    const at = (arr) => (b && arr.length >= b ? [arr[b - 1]] : []);
    const xrange = h.epoch.length ? undefined : [0, Math.max(1, num(epochsIn) || 1)];
    const common = { xaxis: { title: { text: "epoch", standoff: 4 }, rangemode: "tozero", range: xrange }, showlegend: true,
      legend: { orientation: "h", y: -0.36, x: 0.5, xanchor: "center" }, margin: { l: 70, r: 20, t: 46, b: 100 },
      shapes: bestShapes(early ? b : null) };
    plot(lossPlot, [
      { x: h.epoch, y: h.train_loss, name: "train", mode: "lines", line: { color: BLUE, width: 2.5 } },
      { x: h.epoch, y: h.val_loss, name: "validation", mode: "lines", line: { color: ORANGE, width: 2.5 } },
      { x: b ? [b] : [], y: at(h.val_loss), name: starName, mode: "markers",
        marker: { color: GREEN, size: 12, symbol: "star" } },
    ], { ...common, title: { text: "Loss per epoch" },
      yaxis: { title: { text: finished ? finished.config.loss : "loss" }, rangemode: "tozero",
        range: h.epoch.length ? undefined : [0, 1] },
      annotations: empty }); 
    plot(metricPlot, [
      { x: h.epoch, y: h.train_metric, name: "train", mode: "lines", line: { color: BLUE, width: 2.5 } },
      { x: h.epoch, y: h.val_metric, name: "validation", mode: "lines", line: { color: ORANGE, width: 2.5 } },
      { x: b ? [b] : [], y: at(h.val_metric), name: starName, mode: "markers",
        marker: { color: GREEN, size: 12, symbol: "star" } },
    ], { ...common, title: { text: `${metricName()} per epoch` },
      yaxis: { title: { text: metricName() }, range: h.epoch.length ? undefined : [0, 1] },
      annotations: empty });
  }

  let pending = false;
  function drawSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; drawCurves(); drawPicture(); });
  }

  function pointTraces() {
    const traces = [];
    if (!dataset || !dataset.points) return traces;
    const pts = dataset.points;
    const oneD = dataset.n_features === 1;
    for (const [part, label, open] of [["train", "train", false], ["val", "validation", true]]) {
      const p = pts[part];
      if (!p) continue;
      if (dataset.task === "classification") {
        dataset.classes.forEach((cls, k) => {
          const idx = p.y.map((v, i) => (v === k ? i : -1)).filter((i) => i >= 0);
          traces.push({
            x: idx.map((i) => p.x[i][0]), y: idx.map((i) => (oneD ? k : p.x[i][1])),
            mode: "markers", type: "scatter", name: `class ${cls} (${label})`,
            legendgroup: `${part}`,
            marker: { color: open ? "rgba(0,0,0,0)" : CLASS_COLOURS[k % 10], size: open ? 7 : 6,
              line: { color: CLASS_COLOURS[k % 10], width: open ? 1.5 : 0.6 },
              symbol: k % 2 ? "diamond" : "circle" },
          });
        });
      } else if (oneD) {
        traces.push({ x: p.x.map((r) => r[0]), y: p.y, mode: "markers", type: "scatter",
          name: `${label} rows`, marker: { color: open ? "rgba(0,0,0,0)" : BLUE, size: 6,
            line: { color: BLUE, width: open ? 1.5 : 0.5 } } });
      } else {
        traces.push({ x: p.x.map((r) => r[0]), y: p.x.map((r) => r[1]), mode: "markers",
          type: "scatter", name: `${label} rows`, marker: { color: p.y, colorscale: "Viridis",
            size: 7, line: { color: open ? "#fff" : "#111", width: 1 }, showscale: false } });
      }
    }
    return traces;
  }

  function drawPicture() {
    if (!dataset) { Plotly.purge(picturePlot); pictureHead.textContent = "What the model predicts"; return; }
    if (!dataset.picture) {
      pictureHead.textContent = "What the model predicts";
      Plotly.purge(picturePlot);
      picturePlot.classList.add("t-empty");
      picturePlot.replaceChildren(el("p", { class: "note t-no-picture" },
        `${dataset.name} has ${dataset.n_features} features: a picture of the predictions needs one or two ` +
        "(moons, circles, spirals, line, or a CSV file with one or two feature columns)."));
      return;
    }
    if (picturePlot.querySelector(".t-no-picture")) picturePlot.replaceChildren();
    picturePlot.classList.remove("t-empty");
    const f = dataset.features;
    const g = snapshot && snapshot.grid;
    const traces = [];
    const cls = dataset.task === "classification";
    const what = cls ? "decision boundary" : (dataset.n_features === 1 ? "fitted curve" : "fitted surface");
    let when = " (before training)";
    if (snapshot && snapshot.final) {
      when = finished && finished.restored ? ` (the weights of epoch ${snapshot.epoch}, restored)` : ` (epoch ${snapshot.epoch}, final)`;
    } else if (snapshot) when = ` (epoch ${snapshot.epoch})`;
    pictureHead.textContent = `The ${what}${when}`;
    if (g && dataset.n_features === 2) {
      if (g.kind === "probability") {
        traces.push({ type: "heatmap", x: g.xs, y: g.ys, z: g.values, zmin: 0, zmax: 1,
          colorscale: [[0, "#bfdbfe"], [0.5, "#ffffff"], [1, "#fecaca"]],
          colorbar: { title: { text: `P(class ${dataset.classes[1]})`, side: "right" }, len: 0.85 },
          hovertemplate: `${f[0]} %{x:.3g}<br>${f[1]} %{y:.3g}<br>P = %{z:.3f}<extra></extra>` });
        traces.push({ type: "contour", x: g.xs, y: g.ys, z: g.values, showscale: false,
          contours: { start: 0.5, end: 0.5, size: 1, coloring: "none" }, line: { color: "#111", width: 3 },
          name: "boundary P = 0.5", showlegend: true, hoverinfo: "skip" });
      } else if (g.kind === "class") {
        const k = dataset.classes.length;
        const scale = [];
        for (let i = 0; i < k; i++) {
          const c = CLASS_COLOURS[i % 10];
          scale.push([i / k, c], [(i + 1) / k, c]);
        }
        traces.push({ type: "heatmap", x: g.xs, y: g.ys, z: g.values, zmin: -0.5, zmax: k - 0.5,
          colorscale: scale, opacity: 0.25, showscale: false, hoverinfo: "skip" });
      } else {
        traces.push({ type: "heatmap", x: g.xs, y: g.ys, z: g.values, colorscale: "Viridis",
          colorbar: { title: { text: dataset.features.length ? "prediction" : "", side: "right" }, len: 0.85 } });
      }
    } else if (g) {
      traces.push({ x: g.xs, y: g.values, mode: "lines", name: cls ? `P(class ${dataset.classes[1] || 1})` : "model",
        line: { color: RED, width: 3.5 } });
    }
    traces.push(...pointTraces());
    const oneD = dataset.n_features === 1;
    const box = dataset.box;
    const layout = {
      xaxis: { title: { text: f[0], standoff: 4 }, range: box[0], zeroline: false },
      yaxis: oneD ? { title: { text: cls ? "class" : "target" } }
        : { title: { text: f[1] }, range: box[1], zeroline: false },
      legend: { orientation: "h", y: -0.22, x: 0.5, xanchor: "center" }, margin: { l: 70, r: 20, t: 20, b: 110 },
      uirevision: "keep",
    };
    plot(picturePlot, traces, layout);
  }

  function showNumbers() {
    if (!finished) {
      const h = history;
      if (!h || !h.epoch.length) { numbers.textContent = dataset ? dataset.description : ""; return; }
      const i = h.epoch.length - 1;
      numbers.textContent = [
        `epoch ${h.epoch[i]} of ${h.epochs}`,
        `train loss       ${fmt(h.train_loss[i], 5)}`,
        `validation loss  ${fmt(h.val_loss[i], 5)}`,
        `validation ${metricName().padEnd(6)} ${fmt(h.val_metric[i], 4)}`,
        h.note || "",
      ].join("\n");
      return;
    }
    const m = finished.metrics, c = finished.config;
    numbers.textContent = [
      `${c.model} (${c.n_params.toLocaleString()} weights), ${c.activation}, ${c.loss}`,
      `${c.settings}, batch ${c.batch_size || "full"}`,
      `stopped: ${finished.stop_reason} after ${finished.epochs_run} epochs`,
      finished.kept_note,
      `train loss       ${fmt(m.train_loss, 5)}`,
      `validation loss  ${fmt(m.val_loss, 5)}`,
      `validation ${finished.metric} ${fmt(m[`val_${finished.metric}`], 4)}`,
      `test loss        ${fmt(finished.test_loss, 5)}`,
      `test ${finished.metric}       ${fmt(finished.test_metric, 4)}`,
    ].join("\n");
  }

  // -- data --------------------------------------------------------------------------------------
  async function loadData() {
    saveState();
    uploadRow.hidden = dataSel.value !== "upload";
    showError(dataErr, "");
    if (dataSel.value === "upload" && !(uploaded && uploaded.token)) {
      dataset = null; facts.textContent = "Choose a CSV file: every column but the target is a feature.";
      return;
    }
    try {
      dataset = await api("/api/training/data", dataBody());
      facts.textContent = `${dataset.description}. Task ${dataset.task}: ${dataset.task_reason}.`;
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      dataset = null;
      facts.textContent = "";
      showError(dataErr, e.message);
    }
    snapshot = null; history = null; finished = null;
    clearRun();
    drawCurves(); drawPicture(); showNumbers();
  }

  function fillTargets(columns, chosen) {
    targetSel.replaceChildren(...columns.map((c) => el("option", { value: c }, c)));
    if (columns.length) targetSel.value = columns.includes(chosen) ? chosen : columns[columns.length - 1];
  }

  fileIn.addEventListener("change", async () => {
    const file = fileIn.files[0];
    if (!file) return;
    showError(dataErr, "");
    try {
      uploaded = await upload(file);
      fillTargets(uploaded.columns, null);
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      uploaded = null;
      targetSel.replaceChildren();
      showError(dataErr, e.message);
      return;
    }
    await loadData();
  });
  for (const s of [dataSel, targetSel, taskSel, splitIn]) s.addEventListener("change", loadData);
  for (const i of [modelIn, actSel, lossSel, optSel, lrIn, epochsIn, batchIn, patienceIn, minDeltaIn,
    monitorSel, seedIn, landDims, landDirs]) i.addEventListener("change", saveState);

  // -- training ----------------------------------------------------------------------------------
  function clearRun() {
    stopNote.hidden = true; snippetBox.value = ""; snippetPanel.hidden = true;
    Plotly.purge(landPlot); Plotly.purge(specPlot); landNote.textContent = ""; specNote.textContent = "";
    landBox.hidden = true; specBox.hidden = true;
    setAfter(false);
  }

  function setAfter(enabled) {
    landBtn.disabled = !enabled; specBtn.disabled = !enabled;
    exportA.classList.toggle("disabled", !enabled);
    exportA.setAttribute("aria-disabled", String(!enabled));
    exportA.href = enabled ? `/api/training/runs/${finished.run}/export` : "#";
  }

  async function train() {
    if (running) return;
    saveState();
    showError(trainErr, "");
    showError(afterErr, "");
    if (!dataset) { showError(trainErr, "Choose a dataset first (the data above has an error)."); return; }
    running = true; trainBtn.disabled = true;
    finished = null; snapshot = null;
    clearRun();
    history = { epoch: [], train_loss: [], val_loss: [], train_metric: [], val_metric: [], best: null, wait: 0, epochs: 0 };
    drawCurves();
    try {
      const end = await runJob("/api/training/train", trainBody(), {
        bar,
        onEvent(ev) {
          if (ev.type === "epoch") {
            for (const k of ["train_loss", "val_loss", "train_metric", "val_metric"]) history[k].push(ev[k]);
            history.epoch.push(ev.epoch);
            history.best = ev.best_epoch || null; history.wait = ev.wait; history.epochs = ev.epochs;
            history.lowest = ev.lowest_epoch || null; history.early = ev.early_stopping; history.note = ev.note;
            showNumbers();
            drawSoon();
          } else if (ev.type === "snapshot") {
            snapshot = { epoch: ev.epoch, grid: ev.grid };
            drawSoon();
          }
        },
      });
      finished = end.result;
      const h = finished.history;
      history = { ...h, epoch: h.train_loss.map((_, i) => i + 1), best: finished.best_epoch, wait: 0, epochs: finished.config.epochs,
        lowest: finished.lowest_epoch || null, early: finished.early_stopping, note: "" };
      if (finished.grid) snapshot = { epoch: finished.best_epoch, grid: finished.grid, final: true };
      stopNote.textContent = finished.stop_note;
      stopNote.hidden = false;
      stopNote.classList.toggle("restored", finished.restored);
      stopNote.classList.toggle("diverged", finished.diverged);
      snippetBox.value = finished.snippet;
      snippetPanel.hidden = false;
      setAfter(!finished.diverged);
      drawCurves(); drawPicture(); showNumbers();
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      showError(trainErr, e.message);
    } finally {
      running = false; trainBtn.disabled = false;
    }
  }
  trainBtn.addEventListener("click", train);

  // -- after training ----------------------------------------------------------------------------
  async function landscape() {
    if (!finished) return;
    saveState();
    showError(afterErr, "");
    landBtn.disabled = true;
    const dims = Number(landDims.value);
    try {
      const end = await runJob("/api/training/landscape", {
        run: finished.run, dims, grid: dims === 2 ? 25 : 41, directions: landDirs.value,
      }, { bar: afterBar });
      const r = end.result, s = r.summary;
      landBox.hidden = false;
      const title = { text: `Training loss on ${s.description}` };
      const layout = { title: { ...title, font: { size: 16 } }, margin: { l: 70, r: 20, t: 60, b: 60 } };
      if (s.shape === "line") {
        plot(landPlot, [
          { x: r.alphas, y: r.values, mode: "lines", name: "loss", line: { color: BLUE, width: 3 } },
          { x: [0], y: [s.center_loss], mode: "markers", name: "trained weights", marker: { color: GREEN, size: 13, symbol: "star" } },
        ], { ...layout, xaxis: { title: { text: "α (step along the direction)" } }, yaxis: { title: { text: "training loss" } }, legend: { orientation: "h", y: -0.25 } });
      } else {
        const traces = [{ type: "contour", x: r.alphas, y: r.betas, z: r.values, colorscale: "Viridis", ncontours: 25,
          colorbar: { title: { text: "loss", side: "right" } }, name: "loss" },
        { x: [0], y: [0], mode: "markers", name: "trained weights", marker: { color: RED, size: 14, symbol: "star" } }];
        if (r.path && r.path.length) {
          traces.push({ x: r.path.map((p) => p[0]), y: r.path.map((p) => p[1]), mode: "lines+markers", name: "training path",
            line: { color: "#fff", width: 2 }, marker: { size: 4, color: "#fff" } });
        }
        plot(landPlot, traces, { ...layout, xaxis: { title: { text: "α (direction 1)" } }, yaxis: { title: { text: "β (direction 2)" } },
          showlegend: true, legend: { orientation: "h", y: -0.22 } });
      }
      landNote.textContent = [`loss at the trained weights ${fmt(s.center_loss, 5)}; on the grid from ${fmt(s.min, 5)} to ${fmt(s.max, 5)} (${s.rows} training rows)`,
        r.explained, ...(s.warnings || []).map((w) => `warning: ${w}`)].filter(Boolean).join(". ");
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      showError(afterErr, e.message);
    } finally {
      landBtn.disabled = !finished;
    }
  }

  async function spectrum() {
    if (!finished) return;
    showError(afterErr, "");
    specBtn.disabled = true;
    try {
      const end = await runJob("/api/training/spectrum", { run: finished.run, top: 5, bottom: 0 }, { bar: afterBar });
      const s = end.result;
      specBox.hidden = false;
      const labels = s.top.map((_, i) => `λ${i + 1}`);
      plot(specPlot, [{ type: "bar", x: labels, y: s.top, marker: { color: PURPLE },
        error_y: { type: "data", array: s.top_residual, visible: true, color: "#111" },
        text: s.top.map((v) => fmt(v, 4)), textposition: "outside", cliponaxis: false, name: "eigenvalue" }],
      { title: { text: `Top Hessian eigenvalues (${s.weights.toLocaleString()} weights)`, font: { size: 16 } },
        xaxis: { title: { text: "eigenvalue (largest first)" } }, yaxis: { title: { text: "curvature λ" }, rangemode: "tozero" },
        margin: { l: 70, r: 20, t: 60, b: 60 } });
      specNote.textContent = `Lanczos, ${s.lanczos_steps} steps on the training loss at the best weights. ` +
        `λmax = ${fmt(s.top[0], 5)}: near these weights plain gradient descent is stable below ` +
        `lr = 2/λmax = ${fmt(s.stable_lr, 4)}.`;
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      showError(afterErr, e.message);
    } finally {
      specBtn.disabled = !finished;
    }
  }
  landBtn.addEventListener("click", landscape);
  specBtn.addEventListener("click", spectrum);
  exportA.addEventListener("click", (e) => { if (!finished) e.preventDefault(); });
  copyBtn.addEventListener("click", async () => {
    snippetBox.select();
    try { await navigator.clipboard.writeText(snippetBox.value); copyBtn.textContent = "Copied"; } catch (_) {
      document.execCommand("copy"); copyBtn.textContent = "Copied";
    }
    setTimeout(() => { copyBtn.textContent = "Copy"; }, 1500);
  });

  registerReport("training", () => ({
    title: finished ? `Training ${finished.config.model} on ${finished.config.dataset}` : "Training",
    sections: [
      { heading: "Data", text: dataset ? `${dataset.description}. Task ${dataset.task}: ${dataset.task_reason}.` : "" },
      { heading: "The run", text: numbers.textContent },
      ...(finished ? [{ heading: "Stop", text: finished.stop_note }, { heading: "Python", text: finished.snippet }] : []),
      ...(landNote.textContent ? [{ heading: "Loss landscape", text: landNote.textContent }] : []),
      ...(specNote.textContent ? [{ heading: "Hessian eigenvalues", text: specNote.textContent }] : []),
    ],
    figures: [
      { heading: "Loss per epoch", div: lossPlot }, { heading: "Metric per epoch", div: metricPlot },
      { heading: pictureHead.textContent, div: picturePlot },
      { heading: "Loss landscape", div: landPlot }, { heading: "Hessian eigenvalues", div: specPlot },
    ],
  }));

  // opening a URL reproduces the view: its data (an upload by its token) and settings
  uploadRow.hidden = dataSel.value !== "upload";
  if (uploaded && params.get("t_target")) fillTargets([params.get("t_target")], params.get("t_target"));
  await loadData();
}
