// The lecture, live: how one output value of the selected layer is made, with every number from glassnet.
import { array, get } from "explore/api.js";
import { ctx, params, render } from "explore/app.js";
import { el, fmt, mapCanvas, scale, zoomFor } from "explore/colors.js";
import { layerNav } from "explore/activations.js";
import { state, saveState } from "explore/state.js";

const MAX_CHANNELS = 16;

function table(rows, cls = "", attrs = () => ({})) {
  return el("table", { class: `num ${cls}` }, ...rows.map((row, i) => el("tr", {},
    ...row.map((v, j) => el("td", attrs(i, j, v), v === null ? "pad" : fmt(v, 4))))));
}

// The input map with the cells the window reads outlined (padding cells fall outside the map).
function windowMap(maps, k, rows, cols, argmax) {
  const a = array(maps);
  const [, h, w] = a.shape;
  const z = zoomFor(h, w, 150);
  let lo = Infinity, hi = -Infinity;
  for (let i = k * h * w; i < (k + 1) * h * w; i++) { lo = Math.min(lo, a.data[i]); hi = Math.max(hi, a.data[i]); }
  const cv = mapCanvas(a.data, k * h * w, h, w, scale(lo, hi), z);
  const box = el("div", { style: "position:relative;display:inline-block" }, cv);
  rows.forEach((r, i) => cols.forEach((c, j) => {
    if (r < 0 || r >= h || c < 0 || c >= w) return;
    const on = argmax && argmax[0] === i && argmax[1] === j;
    box.append(el("div", { style: `position:absolute;left:${1 + c * z}px;top:${1 + r * z}px;width:${z}px;height:${z}px;` +
      `box-sizing:border-box;border:${on ? 2 : 1}px solid ${on ? "#facc15" : "#22c55e"};pointer-events:none` }));
  }));
  return box;
}

function stepper(d) {
  const [oh, ow] = d.out_size;
  const go = (dy, dx) => {
    const y = state.y + dy, x = state.x + dx;
    if (y < 0 || y >= oh || x < 0 || x >= ow) return;
    [state.y, state.x] = [y, x];
    saveState();
    render();
  };
  return el("div", { class: "steps" },
    el("button", { id: "step-left", onclick: () => go(0, -1) }, "← window"),
    el("button", { id: "step-right", onclick: () => go(0, 1) }, "window →"),
    el("button", { id: "step-up", onclick: () => go(-1, 0) }, "↑"),
    el("button", { id: "step-down", onclick: () => go(1, 0) }, "↓"),
    el("span", { class: "muted" }, ` output pixel (${state.y}, ${state.x}) of ${oh} × ${ow}; one step moves the window by the stride`));
}

function result(d, parts) {
  return el("div", { class: "sum" }, ...parts,
    el("div", {}, "value in the map (glassnet's forward pass): ", el("b", { id: "lecture-value", "data-v": d.value }, fmt(d.value, 7))));
}

function conv(d) {
  const [s, dil, p] = [d.stride, d.dilation, d.padding];
  const out = [
    el("p", { class: "formula" }, `z[${d.channel}, ${d.row}, ${d.col}] = b + Σ_ci Σ_p Σ_q X[ci, ${d.row}·${s[0]} + p·${dil[0]} − ${p[0]}, ` +
      `${d.col}·${s[1]} + q·${dil[1]} − ${p[2]}] · F[${d.channel}, ci, p, q]`),
    el("p", { class: "muted" }, `stride ${s.join("×")}, padding top/bottom/left/right ${p.join("/")}, dilation ${dil.join("×")}: ` +
      `the window reads input rows ${d.rows.join(", ")} and columns ${d.cols.join(", ")} (outside the input: padding, 0)`),
    stepper(d),
  ];
  const cin = d.window.length;
  const shown = Math.min(cin, MAX_CHANNELS);
  for (let ci = 0; ci < shown; ci++) {
    const padAttr = (i, j) => (d.inside[i][j] ? {} : { class: "pad" });
    out.push(el("div", { class: "chan" },
      el("div", {}, `input channel ${ci}`, ci < (d.input_maps ? d.input_maps.shape[0] : 0) ? windowMap(d.input_maps, ci, d.rows, d.cols) : ""),
      el("div", {}, "window X", table(d.window[ci], "", padAttr)),
      el("div", {}, `kernel F[${d.channel}, ${ci}]`, table(d.kernel[ci])),
      el("div", {}, "products X·F", table(d.products[ci], "products", (i, j, v) => ({ class: "prod", "data-v": v }))),
      el("div", {}, "their sum", el("b", { class: "chsum", "data-v": d.channel_sums[ci] }, fmt(d.channel_sums[ci], 6)))));
  }
  if (cin > shown) {
    out.push(el("p", { class: "muted" }, `${cin - shown} more input channels; their sums:`),
      table([d.channel_sums.slice(shown)]));
  }
  const chsum = d.channel_sums.reduce((a, b) => a + b, 0);
  out.push(result(d, [
    el("div", {}, `Σ of the ${cin} channel sums = `, el("b", { id: "lecture-sum", "data-v": chsum }, fmt(chsum, 7))),
    el("div", {}, "+ bias b = ", el("b", { id: "lecture-bias", "data-v": d.bias }, fmt(d.bias, 7))),
    el("div", {}, "= ", el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7)), " (float64)"),
  ]));
  return out;
}

function pool(d) {
  const max = d.op === "maxpool";
  const win = d.window.map((row, i) => row.map((v, j) => (d.inside && !d.inside[i][j] && max ? null : v)));
  const attrs = (i, j) => (max && d.argmax[0] === i && d.argmax[1] === j ? { class: "max" } : {});
  const out = [
    el("p", { class: "formula" }, max ? "y = max of the window (padding counts as −∞; ties: the first maximum)"
      : `y = (sum of the window) / ${d.divisor}`),
    el("p", { class: "muted" }, `window rows ${d.rows.join(", ")}, columns ${d.cols.join(", ")}`),
  ];
  if (d.out_size) out.push(stepper(d));
  out.push(el("div", { class: "chan" },
    d.input_maps ? el("div", {}, `input channel ${d.channel}`, windowMap(d.input_maps, 0, d.rows, d.cols, max ? d.argmax : null)) : "",
    el("div", {}, "window", table(win, "", attrs))));
  out.push(result(d, max
    ? [el("div", {}, `the maximum sits at window row ${d.argmax[0]}, column ${d.argmax[1]}: in backward, the gradient is routed there only`),
      el("div", {}, "= ", el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7)))]
    : [el("div", {}, `${fmt(d.sum, 6)} / ${d.divisor} = `, el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7))),
      el("div", {}, "in backward, each window cell gets the gradient / " + d.divisor)]));
  return out;
}

function activation(d) {
  const out = [el("p", { class: "formula" }, `${d.type}: input ${fmt(d.input, 6)} → output ${fmt(d.total, 6)}`)];
  if (d.cut !== null && d.cut !== undefined) {
    out.push(el("p", {}, `ReLU cut ${d.cut} of ${d.map_size} values of this channel to 0 (the negative ones, ` +
      `${(100 * d.cut / d.map_size).toFixed(1)} %); in backward their gradient is 0 too.`));
  }
  if (d.input_map) {
    const a = array(d.input_map);
    const [h, w] = a.shape;
    let lo = Infinity, hi = -Infinity;
    for (const v of a.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const cut = new Float32Array(a.data.map((v) => (v < 0 ? 1 : 0)));
    out.push(el("div", { class: "chan" },
      el("div", {}, "input (before)", mapCanvas(a.data, 0, h, w, scale(lo, hi), zoomFor(h, w, 150))),
      el("div", {}, "where it cut (input < 0)", mapCanvas(cut, 0, h, w, { lo: 0, hi: 1, grey: true }, zoomFor(h, w, 150)))));
  }
  out.push(result(d, [el("div", {}, "= ", el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7)))]));
  return out;
}

function batchnorm(d) {
  return [el("p", { class: "formula" }, "y = (x − running mean) / √(running var + eps) · γ + β"),
    result(d, [el("div", {}, `(${fmt(d.input, 6)} − ${fmt(d.mean, 6)}) / √(${fmt(d.var, 6)} + ${d.eps}) · ${fmt(d.gamma, 6)} + ${fmt(d.beta, 6)} = `,
      el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7)))])];
}

function linear(d) {
  return [el("p", { class: "formula" }, `y[${d.unit}] = b + Σ_i W[${d.unit}, i] · x[i] over ${d.in_features} inputs`),
    el("h3", {}, "the 16 largest products |W·x|"),
    el("table", { class: "num" }, el("tr", {}, el("td", {}, "i"), el("td", {}, "x[i]"), el("td", {}, "W"), el("td", {}, "W·x")),
      ...d.largest.map((r) => el("tr", {}, el("td", {}, r.index), el("td", {}, fmt(r.x, 5)), el("td", {}, fmt(r.w, 5)), el("td", {}, fmt(r.product, 5))))),
    result(d, [el("div", {}, `Σ W·x = ${fmt(d.sum, 7)}; + b ${fmt(d.bias, 7)} = `, el("b", { id: "lecture-total", "data-v": d.total }, fmt(d.total, 7)))])];
}

export async function lectureView(pane, live) {
  const name = state.layer;
  const L = ctx.layers.get(name);
  const d = await get("detail", params({ layer: name, c: state.c, y: state.y, x: state.x }));
  if (!live()) return;
  const head = [el("h2", {}, `${name} · ${L.type}: output [${state.c}${L.shape.length === 3 ? `, ${state.y}, ${state.x}` : ""}]`), layerNav()];
  const body = { conv, maxpool: pool, avgpool: pool, adaptivepool: pool, activation, batchnorm, linear }[d.op];
  const rest = body ? body(d) : [el("p", {}, `${d.type}: value ${fmt(d.value, 7)}. Pick a convolution, pooling, activation, ` +
    "BatchNorm or linear layer to see its arithmetic.")];
  pane.replaceChildren(...head, ...rest);
}
