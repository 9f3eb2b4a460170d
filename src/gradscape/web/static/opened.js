// The "Open a result" view: a result file a gradscape command saved with --out DIR (a landscape,
// a spectrum, a multistart's minima, a race; of a --torch model or a --cluster run alike) shown
// with the text and the interactive figures of the report.html beside it. The server reads the
// file with the library's one reader and answers what to show (gradscape.saved.shown); this file
// only draws. An opened file is not in the URL (a link cannot carry it): the view says so.
import { ApiFailure, api, el, fileBase64, plot, registerReport, showError } from "./common.js";

function field(label, input) { return el("label", {}, label, input); }

export async function mount(root) {
  const fileIn = el("input", { id: "o-file", type: "file", accept: ".npz" });
  const note = el("p", { id: "o-note", class: "note" }, "Loading…");
  const err = el("div", { id: "o-error", class: "error", hidden: "" });
  const status = el("span", { id: "o-status", class: "note" });
  const controls = el("div", { class: "panel o-controls" },
    el("h2", {}, "Open a saved result"),
    el("div", { class: "controls" }, field("Result file (.npz)", fileIn), status),
    note, err);
  const title = el("h2", { id: "o-title", class: "o-title" });
  const sections = el("div", { id: "o-sections" });
  const figures = el("div", { id: "o-figures", class: "o-figures" });
  const results = el("div", { id: "o-results", hidden: "" }, title, sections, figures);
  root.append(controls, results);

  let caps = null;
  try {
    caps = await api("/api/opened/kinds");
    const kinds = Object.entries(caps.kinds).map(([k, verb]) => `${k} (gradscape ${verb})`).join(", ");
    note.textContent = `${caps.note} Kinds it opens: ${kinds}.`;
  } catch (e) {
    if (!(e instanceof ApiFailure)) throw e;
    note.textContent = "";
    showError(err, e.message);
    return;
  }

  let shown = null;   // the server's answer for the file shown
  let divs = [];      // its figures' plotly divs, with their captions

  function draw(answer) {
    shown = answer;
    title.textContent = `${answer.title} — ${answer.name}`;
    sections.replaceChildren(...answer.sections.map((s) =>
      el("div", { class: "panel o-section" }, el("h2", {}, s.heading),
        el("pre", { class: "numbers o-text" }, s.lines.join("\n")))));
    divs = [];
    figures.replaceChildren(...answer.figures.map((f, i) => {
      const div = el("div", { id: `o-figure-${i}`, class: "o-plot" });
      div.style.height = `${(f.figure.layout && f.figure.layout.height) || 460}px`;
      divs.push({ div, caption: f.caption });
      return el("figure", { class: "panel o-figure" }, div, el("figcaption", { class: "note" }, f.caption));
    }));
    results.hidden = false;
    for (const [i, f] of answer.figures.entries()) plot(divs[i].div, f.figure.data, f.figure.layout);
  }

  // a file that failed to open leaves nothing of the one before (nor for Save as report)
  function clear() {
    shown = null;
    divs = [];
    title.textContent = "";
    sections.replaceChildren();
    figures.replaceChildren();
    results.hidden = true;
  }

  fileIn.addEventListener("change", async () => {
    const file = fileIn.files && fileIn.files[0];
    if (!file) return;
    showError(err, "");
    if (file.size > caps.max_result_bytes) {
      clear();
      showError(err, `The file is ${file.size.toLocaleString("en")} bytes; the page opens results of at most ` +
        `${caps.max_result_bytes.toLocaleString("en")} bytes (MAX_RESULT_BYTES = ${caps.max_result_bytes / 2 ** 20} MiB); ` +
        "open the report.html written beside it instead.");
      return;
    }
    status.textContent = `Reading ${file.name}…`;
    try {
      draw(await api("/api/opened", { name: file.name, content_base64: await fileBase64(file) }));
      status.textContent = "";
    } catch (e) {  // the server's one line, or what stopped the drawing: never "Reading…" forever
      status.textContent = "";
      clear();
      showError(err, e instanceof ApiFailure ? e.message : `${file.name} could not be drawn (${e.message}).`);
    }
  });

  registerReport("opened", () => (shown ? {
    title: `${shown.title} (${shown.name})`,
    sections: shown.sections.map((s) => ({ heading: s.heading, text: s.lines.join("\n") })),
    figures: divs.map((d) => ({ heading: d.caption, div: d.div })),
  } : null));
}
