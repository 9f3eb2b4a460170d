// The training view (to be written).
import { el } from "./common.js";

export async function mount(root) {
  root.append(el("p", { class: "note" }, "This view is being built."));
}
