// What every view shares: the API client, job streams, URL state, plots, errors, reports.

/** An error the server answered with (HTTP 4xx and its JSON message). */
export class ApiFailure extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** POST `body` as JSON (or GET when body is undefined); the parsed JSON, or an ApiFailure. */
export async function api(path, body, { method, signal } = {}) {
  const init = { method: method || (body === undefined ? "GET" : "POST"), signal };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiFailure("The gradscape server cannot be reached: is `gradscape serve` still running?", 0);
  }
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    const err = new ApiFailure((data && data.error) || `The server answered ${resp.status}.`, resp.status);
    // an unreadable expression says where: the page puts a caret under that column
    if (data && data.column) { err.column = data.column; err.expression = data.expression; }
    throw err;
  }
  return data;
}

/** The page's state lives in the URL's query: a link reproduces the view. */
export function getParams() { return new URLSearchParams(window.location.search); }

export function setParams(patch) {
  const p = getParams();
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === "") p.delete(k); else p.set(k, String(v));
  }
  const url = `${window.location.pathname}?${p.toString()}`;
  window.history.replaceState(null, "", url);
}

/** Start a job (POST returns {job: id}), follow its events; resolves with the final status.
 *  `onEvent(ev)` sees every event; `bar` (from progressBar) shows progress and cancels. */
export async function runJob(path, body, { onEvent, bar } = {}) {
  const { job } = await api(path, body);
  if (bar) bar.start(job);
  return await new Promise((resolve, reject) => {
    const es = new EventSource(`/api/jobs/${job}/events`);
    es.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      if (ev.type === "progress" && bar) bar.update(ev);
      if (onEvent) onEvent(ev);
      if (ev.type === "end") {
        es.close();
        if (bar) bar.finish(ev);
        if (ev.state === "done") resolve(ev);
        else reject(new ApiFailure(ev.error || `The job ended: ${ev.state}.`, 0));
      }
    };
    es.onerror = () => {
      es.close();
      if (bar) bar.finish({ state: "failed" });
      reject(new ApiFailure("Lost the connection to the server while the job ran.", 0));
    };
  });
}

function fmtSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "…";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A progress bar with ETA and a Cancel button, inside `host`. */
export function progressBar(host) {
  const box = el("div", { class: "progress", hidden: "" });
  const meter = el("progress", { max: "1", value: "0" });
  const label = el("span", { class: "progress-label" });
  const cancel = el("button", { type: "button", class: "cancel" }, "Cancel");
  box.append(meter, label, cancel);
  host.append(box);
  let jobId = null;
  cancel.addEventListener("click", () => {
    if (jobId) api(`/api/jobs/${jobId}`, undefined, { method: "DELETE" }).catch(() => {});
  });
  return {
    start(id) { jobId = id; box.hidden = false; meter.value = 0; label.textContent = "starting…"; },
    update(ev) {
      meter.value = ev.total ? ev.done / ev.total : 0;
      label.textContent = `${ev.done.toLocaleString()} / ${ev.total.toLocaleString()} · ` +
        `${fmtSeconds(ev.elapsed)} elapsed · ETA ${fmtSeconds(ev.eta)}`;
    },
    finish(ev) { jobId = null; box.hidden = true; if (ev && ev.state === "done") meter.value = 1; },
  };
}

/** Create an element: el("div", {class: "x"}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

/** Show `message` in `target` (an element beside the input it is about), or clear it. */
export function showError(target, message) {
  target.textContent = message || "";
  target.hidden = !message;
  target.classList.add("error");
}

/** A short message at the bottom of the page (for errors with no input to sit beside). */
export function toast(message) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(t._timer);
  t._timer = setTimeout(() => { t.hidden = true; }, 6000);
}

/** Shared look of every figure: large enough for a projector. */
export const baseLayout = {
  font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 15 },
  margin: { l: 60, r: 20, t: 40, b: 55 },
  paper_bgcolor: "#fff",
  plot_bgcolor: "#fff",
  hovermode: "closest",
};

/** Plotly.react with the shared layout; `layout` overrides it. */
export function plot(node, data, layout = {}, config = {}) {
  return Plotly.react(node, data, { ...baseLayout, ...layout },
    { displaylogo: false, responsive: true, ...config });
}

/** Read a File as base64 (for POST /api/uploads). */
export function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",", 2)[1] || "");
    r.onerror = () => reject(new ApiFailure("The browser could not read the file.", 0));
    r.readAsDataURL(file);
  });
}

let health = null;

/** Upload a data file; resolves with {token, name, columns, rows, notes}. A file beyond the
 *  server's cap is refused here, before it is read, with the server's own cap. */
export async function upload(file) {
  health = health || api("/api/health");
  const cap = (await health).max_upload_bytes;
  if (file.size > cap) {
    throw new ApiFailure(`The file is ${file.size.toLocaleString("en")} bytes; the page takes files ` +
      `of at most ${cap.toLocaleString("en")} bytes (MAX_UPLOAD_BYTES = ${cap / 2 ** 20} MiB). ` +
      "Use the command line for bigger files.", 413);
  }
  return api("/api/uploads", { name: file.name, content_base64: await fileBase64(file) });
}

// -- reports: each view registers what "Save as report" freezes --------------------------------

const reporters = {};

/** `fn()` returns {title, sections: [{heading, text}], figures: [{heading, div}]}; the
 *  figures' current data and layout are read from their plotly divs when saving. */
export function registerReport(view, fn) { reporters[view] = fn; }

export function reporterFor(view) { return reporters[view]; }

export function fmt(v, digits = 6) {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}
