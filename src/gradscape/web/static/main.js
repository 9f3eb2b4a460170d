// The page: tabs for the views (each a module loaded when first shown) and "Save as report".
import { api, getParams, reporterFor, setParams, toast } from "./common.js";

const VIEWS = ["story", "explorer", "training", "fit", "opened"];
const mounted = {};

async function show(view) {
  if (!VIEWS.includes(view)) view = "story";
  for (const v of VIEWS) {
    document.getElementById(`view-${v}`).hidden = v !== view;
    document.querySelector(`#tabs a[data-view=${v}]`).classList.toggle("active", v === view);
  }
  if (getParams().get("view") !== view) setParams({ view });
  if (!mounted[view]) {
    mounted[view] = true;
    const mod = await import(`./${view}.js`);
    await mod.mount(document.getElementById(`view-${view}`));
  }
  window.dispatchEvent(new Event("resize"));  // plotly sizes figures of a view shown again
}

for (const a of document.querySelectorAll("#tabs a")) {
  a.addEventListener("click", (e) => {
    e.preventDefault();
    // each view keeps its own keys; switching views keeps them all in the URL
    show(a.dataset.view);
  });
}

document.getElementById("save-report").addEventListener("click", async () => {
  const view = getParams().get("view") || "story";
  const reporter = reporterFor(view);
  if (!reporter) { toast("This view has nothing to save yet."); return; }
  const r = reporter();
  if (!r) { toast("This view has nothing to save yet."); return; }
  const figures = r.figures.filter((f) => f.div && f.div.data).map((f) => ({
    heading: f.heading, data: f.div.data, layout: f.div.layout,
  }));
  try {
    const resp = await fetch("/api/reports", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: r.title, sections: r.sections, figures, url: window.location.href }),
    });
    if (!resp.ok) { toast((await resp.json()).error || "Saving failed."); return; }
    const blob = await resp.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `gradscape-${view}.html`;
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (e) {
    toast(String(e.message || e));
  }
});

api("/api/health").catch((e) => toast(e.message));
show(getParams().get("view") || "story");
