// Activations: every channel of the selected layer's output as a map, values on hover; click a pixel to
// see how it was computed (the Lecture tab).
import { array, get } from "explore/api.js";
import { ctx, className, layerStats, params, selectLayer, selectPixel } from "explore/app.js";
import { el, fmt, mapCanvas, pixelAt, scale, zoomFor } from "explore/colors.js";
import { state } from "explore/state.js";

export const ROW = 20; // a 1-D layer (features) is drawn in rows of 20 units

// The colour scale the header asks for: this layer's range, all layers' range, or each channel's own.
export function chooseScale(r, a, k, n, layers) {
  if (state.scale === "shared") {
    const lo = Math.min(...layers.map((l) => l.min ?? 0)), hi = Math.max(...layers.map((l) => l.max ?? 0));
    return scale(lo, hi);
  }
  if (state.scale === "channel") {
    let lo = Infinity, hi = -Infinity;
    for (let i = k * n; i < (k + 1) * n; i++) { lo = Math.min(lo, a.data[i]); hi = Math.max(hi, a.data[i]); }
    return scale(lo, hi);
  }
  return scale(r.min, r.max);
}

// Channel maps of a (C, H, W) or (F,) array with hover read-out and click; used for gradients too.
export function mapGrid(r, layers, readout, onPick, label = "channel") {
  const a = array(r.array);
  const grid = el("div", { class: "grid" });
  if (a.shape.length === 3) {
    const [k, h, w] = a.shape;
    const z = zoomFor(h, w, k > 16 ? 72 : 132);
    for (let i = 0; i < k; i++) {
      const c = r.start + i;
      const cv = mapCanvas(a.data, i * h * w, h, w, chooseScale(r, a, i, h * w, layers), z);
      cv.dataset.channel = c;
      cv.addEventListener("mousemove", (e) => {
        const [y, x] = pixelAt(e, cv);
        readout.textContent = `${label} ${c}, row ${y}, column ${x}: ${fmt(a.data[i * h * w + y * w + x], 6)}`;
      });
      cv.addEventListener("click", (e) => onPick(c, ...pixelAt(e, cv)));
      const cell = el("div", { class: `cell${c === state.c ? " sel" : ""}` }, cv, `${label} ${c}`);
      grid.append(cell);
    }
  } else {
    const n = a.data.length, rows = Math.ceil(n / ROW);
    const padded = new Float32Array(rows * ROW).fill(NaN);
    padded.set(a.data);
    const cv = mapCanvas(padded, 0, rows, Math.min(ROW, n), scale(r.min, r.max), 16);
    cv.id = "units";
    cv.addEventListener("mousemove", (e) => {
      const [y, x] = pixelAt(e, cv);
      const j = y * ROW + x;
      if (j < n) readout.textContent = `unit ${j}: ${fmt(a.data[j], 6)}`;
    });
    cv.addEventListener("click", (e) => {
      const [y, x] = pixelAt(e, cv);
      if (y * ROW + x < n) onPick(y * ROW + x, 0, 0);
    });
    grid.append(el("div", { class: "cell" }, cv, `${n} units, ${ROW} a row`));
  }
  return grid;
}

export function layerNav() {
  const names = ctx.info.layers.map((l) => l.name);
  const i = names.indexOf(state.layer);
  return el("span", { class: "row" },
    el("button", { class: "prev-layer", disabled: i <= 0 ? "" : null, onclick: () => selectLayer(names[i - 1]) }, "◀ previous layer"),
    el("button", { class: "next-layer", disabled: i >= names.length - 1 ? "" : null, onclick: () => selectLayer(names[i + 1]) }, "next layer ▶"));
}

export async function activationsView(pane, live) {
  const name = state.layer;
  const L = ctx.layers.get(name);
  const r = await get("activation", params({ layer: name }));
  if (!live()) return;
  const st = layerStats(name);
  const readout = el("div", { class: "readout", id: "act-readout" }, "hover a map for its values; click a pixel for its arithmetic");
  const shown = r.shape.length === 3 && r.shape[0] > r.array.shape[0]
    ? el("p", { class: "muted" }, `channels ${r.start}..${r.start + r.array.shape[0] - 1} of ${r.shape[0]}`) : null;
  const parts = [
    el("h2", {}, `${name} · ${L.type} · output ${r.shape.join(" × ")}`),
    layerNav(),
    el("p", { class: "muted" }, `min ${fmt(st.min)} · max ${fmt(st.max)} · colour scale: ${state.scale}`),
    readout, shown,
    mapGrid(r, ctx.forward.layers, readout, (c, y, x) => selectPixel(c, y, x)),
  ];
  const last = ctx.info.layers[ctx.info.layers.length - 1].name === name;
  if (last) {
    const f = ctx.forward;
    parts.push(el("h3", {}, "Softmax of these logits: p_k = exp(z_k) / Σ_j exp(z_j)"),
      el("table", { class: "num", id: "softmax" }, ...f.probs.map((p, k) => el("tr", {},
        el("td", {}, className(k)), el("td", {}, fmt(f.logits[k], 4)), el("td", { "data-v": p }, fmt(p, 4))))));
  }
  pane.replaceChildren(...parts.filter(Boolean));
}
