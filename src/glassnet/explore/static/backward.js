// Backward: dL/d(output) of every layer for the chosen class (L = cross-entropy, −log p_c), and a
// convolution's weight gradient by the lecture's rule dF = X correlated with dZ, beside glassnet's own.
import { array, get } from "explore/api.js";
import { ctx, className, params } from "explore/app.js";
import { el, fmt, mapCanvas, scale, zoomFor } from "explore/colors.js";
import { layerNav, mapGrid } from "explore/activations.js";
import { state, saveState } from "explore/state.js";

function table(rows, id) {
  return el("table", { class: "num", id }, ...rows.map((r) => el("tr", {}, ...r.map((v) => el("td", { "data-v": v }, fmt(v, 5))))));
}

function small(rows2d, label) {
  const h = rows2d.length, w = rows2d[0].length;
  const data = new Float32Array(rows2d.flat());
  let m = 0;
  for (const v of data) m = Math.max(m, Math.abs(v));
  return el("div", { class: "cell" }, mapCanvas(data, 0, h, w, scale(-m || -1, m || 1), zoomFor(h, w, 130)), label);
}

async function weightGradient(L, target) {
  const cout = L.shape[0];
  const co = Math.min(state.co ?? 0, cout - 1);
  const w = await get("wgrad", params({ target, layer: L.name, co, ci: state.ci ?? 0, p: 0, q: 0 }));
  const nin = (n, v, max, key) => el("label", {}, `${n} `, el("input", {
    type: "number", min: 0, max, value: v, style: "width:4em",
    onchange: (e) => { state[key] = Number(e.target.value); saveState(); ctx.rerender(); },
  }));
  const diff = Math.max(...w.dF.flat().map((v, i) => Math.abs(v - w.library.flat()[i])));
  return [
    el("h3", {}, `Weight gradient of ${L.name}: dF[co, ci] = X[ci] correlated with dZ[co]`),
    el("div", { class: "row" }, nin("co", w.out_channel, cout - 1, "co"), nin("ci", w.in_channel, 1e6, "ci")),
    el("p", { class: "formula" }, "dF[co, ci, p, q] = Σ_i Σ_j X[ci, i·s + p·d − pad, j·s + q·d − pad] · dZ[co, i, j]"),
    el("div", { class: "chan" },
      small(w.dZ, `dZ[${w.out_channel}] = dL/d(output)`),
      small(w.x, `X[${w.in_channel}] under dZ for entry (0, 0)`),
      small(w.products, "their products"),
      el("div", {}, "entry (0, 0) = Σ products = ", el("b", { id: "wgrad-entry", "data-v": w.entry_value }, fmt(w.entry_value, 7)))),
    el("div", { class: "chan" },
      el("div", {}, "dF by the rule (float64)", table(w.dF, "wgrad-rule")),
      el("div", {}, "glassnet's weight.grad (its backward)", table(w.library, "wgrad-library")),
      el("div", {}, "largest difference ", el("b", { id: "wgrad-diff" }, fmt(diff, 3)))),
  ];
}

export async function backwardView(pane, live) {
  const name = state.layer;
  const L = ctx.layers.get(name);
  const target = state.target;
  const b = await get("backward", params({ target }));
  const g = await get("gradient", params({ target, layer: name }));
  let wg = [];
  if (L.kind === "conv") wg = await weightGradient(L, target);
  if (!live()) return;
  const readout = el("div", { class: "readout" }, "hover a map for dL/d(value)");
  pane.replaceChildren(
    el("h2", {}, `Backward for class ${className(target)}: L = −log p_c = ${fmt(b.loss, 5)}`),
    el("p", { class: "muted" }, "dL/d(logits) = p − onehot(c): ", b.dlogits.map((v) => fmt(v, 3)).join("  ")),
    layerNav(),
    el("h3", {}, `dL/d(output of ${name}) · ${g.shape.join(" × ")} · min ${fmt(g.min)} max ${fmt(g.max)}`),
    readout,
    mapGrid(g, b.layers, readout, () => {}),
    ...wg,
  );
}
