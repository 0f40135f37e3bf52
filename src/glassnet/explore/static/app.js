// Shared page state and the events every view uses: select a layer, a pixel, an input; re-render.
import { get, NotPrecomputed } from "explore/api.js";
import { state, saveState } from "explore/state.js";

export const ctx = { info: null, forward: null, layers: new Map(), views: {}, highlight: () => {}, token: 0 };

export function params(extra = {}) {
  return { input: state.input, epoch: state.epoch, ...extra };
}

export function setStatus(msg, error = false) {
  const s = document.getElementById("status");
  s.textContent = msg;
  s.classList.toggle("error", error);
}

export function report(err, where) {
  if (where) {
    where.replaceChildren();
    const p = document.createElement("p");
    p.className = err instanceof NotPrecomputed ? "note" : "error";
    p.textContent = err.message;
    where.append(p);
  }
  if (!(err instanceof NotPrecomputed)) setStatus(err.message, true);
}

export function defaultPixel(name) {
  const L = ctx.layers.get(name);
  if (!L || L.shape.length !== 3) return [0, 0, 0];
  return [0, Math.floor(L.shape[1] / 2), Math.floor(L.shape[2] / 2)];
}

export function selectLayer(name, keepPixel = false) {
  if (!ctx.layers.has(name)) return;
  state.layer = name;
  if (!keepPixel) [state.c, state.y, state.x] = defaultPixel(name);
  ctx.highlight(name);
  showNode(name);
  saveState();
  return render();
}

export function selectPixel(c, y, x, tab = "lecture") {
  [state.c, state.y, state.x] = [c, y, x];
  return showTab(tab);
}

export function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("on", b.dataset.tab === tab);
  for (const p of document.querySelectorAll(".pane")) p.classList.toggle("on", p.id === `pane-${tab}`);
  saveState();
  return render();
}

export async function render() {
  const token = ++ctx.token;
  const view = ctx.views[state.tab];
  const pane = document.getElementById(`pane-${state.tab}`);
  if (!view || !ctx.forward) return;
  try {
    await view(pane, () => token === ctx.token);
    setStatus("");
  } catch (err) {
    if (token === ctx.token) report(err, pane);
  }
}

// A layer's numbers for the current input: forward statistics by name.
export function layerStats(name) {
  return ctx.forward.layers.find((l) => l.name === name);
}

export function showNode(name) {
  const box = document.getElementById("node-info");
  const L = ctx.layers.get(name);
  if (!L) return;
  const node = ctx.nodes.get(name);
  const lines = [`${name} · ${L.type}`, `output ${L.shape.join(" × ")}`];
  if (node) {
    lines.push(`parameters ${node.params.toLocaleString()} · MACs ${node.macs === null ? "?" : node.macs.toLocaleString()}`);
    lines.push(`receptive field ${node.rf ? node.rf.join(" × ") : "-"}`);
  }
  box.replaceChildren(...lines.map((t) => Object.assign(document.createElement("div"), { textContent: t })));
}

export async function loadForward() {
  ctx.forward = await get("forward", params());
  return ctx.forward;
}

export function className(k) {
  return ctx.info.classes[k] ?? String(k);
}
ctx.rerender = () => render();
