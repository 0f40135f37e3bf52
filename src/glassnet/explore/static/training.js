// Training replay: an epoch slider over the weights kept after each epoch (every view follows it),
// and the run's loss and accuracy curves.
import { ctx } from "explore/app.js";
import { el, fmt } from "explore/colors.js";
import { state } from "explore/state.js";

export function buildEpochSlider(info, onChange) {
  const box = document.getElementById("epoch-box");
  const input = document.getElementById("epoch");
  const label = document.getElementById("epoch-label");
  if (!info.epochs || !info.epochs.length) return;
  box.hidden = false;
  const stops = [...info.epochs, null]; // the last stop: the final weights
  input.max = String(stops.length - 1);
  const at = Math.max(0, stops.indexOf(state.epoch));
  input.value = String(state.epoch === null ? stops.length - 1 : at);
  const show = () => { const e = stops[Number(input.value)]; label.textContent = e === null ? "final" : `epoch ${e}`; return e; };
  show();
  input.addEventListener("input", show);
  input.addEventListener("change", () => onChange(show()));
}

const SVG = "http://www.w3.org/2000/svg";

function chart(title, series, epochs, mark) {
  const W = 420, H = 200, L = 46, B = 26;
  const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  if (!all.length) return el("div", {}, `${title}: no data`);
  const lo = Math.min(...all), hi = Math.max(...all) === lo ? lo + 1 : Math.max(...all);
  const n = epochs.length;
  const X = (i) => L + (n === 1 ? 0 : (i * (W - L - 10)) / (n - 1));
  const Y = (v) => 10 + ((hi - v) * (H - 10 - B)) / (hi - lo);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  add("text", { x: L, y: H - 6, "font-size": 10 }, "epoch");
  add("text", { x: 2, y: 14, "font-size": 10 }, fmt(hi, 3));
  add("text", { x: 2, y: H - B, "font-size": 10 }, fmt(lo, 3));
  const colors = ["#c2410c", "#2563eb"];
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === null || v === undefined ? null : `${X(i)},${Y(v)}`)).filter(Boolean);
    add("polyline", { points: pts.join(" "), fill: "none", stroke: colors[k], "stroke-width": 2 });
    add("text", { x: W - 120, y: 16 + 14 * k, "font-size": 11, fill: colors[k] }, s.name);
  });
  epochs.forEach((e, i) => add("text", { x: X(i) - 3, y: H - B + 12, "font-size": 9 }, e));
  if (mark !== null) {
    const i = epochs.indexOf(mark);
    if (i >= 0) add("line", { x1: X(i), x2: X(i), y1: 8, y2: H - B, stroke: "#111", "stroke-dasharray": "3 3" });
  }
  return el("div", { class: "curves" }, el("h3", {}, title), svg);
}

export async function trainingView(pane) {
  const h = ctx.info.history;
  if (!h || !h.length) {
    pane.replaceChildren(el("p", { class: "muted" }, "No training history: explore a run directory of glassnet train."));
    return;
  }
  const epochs = h.map((r) => r.epoch);
  const pick = (k) => h.map((r) => r[k] ?? null);
  const kept = ctx.info.epochs.length
    ? `weights kept for epochs ${ctx.info.epochs.join(", ")}: the slider at the top replays them in every view`
    : "this run kept no per-epoch weights (train with --keep-epoch-weights for the replay)";
  pane.replaceChildren(
    el("h2", {}, "Training"),
    el("p", { class: "muted" }, kept),
    el("div", { class: "chan" },
      chart("loss", [{ name: "train", values: pick("train_loss") }, { name: "validation", values: pick("val_loss") }], epochs, state.epoch),
      chart("accuracy", [{ name: "train", values: pick("train_acc") }, { name: "validation", values: pick("val_acc") }], epochs, state.epoch)),
  );
}
