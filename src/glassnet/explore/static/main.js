// glassnet explore: the page. Plain ES modules, no build step; every number comes from glassnet (api.js).
import { get, idle, isExport, exportInputs } from "explore/api.js";
import { ctx, loadForward, render, report, selectLayer, setStatus, showTab, className } from "explore/app.js";
import { state, loadState, saveState } from "explore/state.js";
import { drawGraph } from "explore/graph.js";
import { renderInput, buildPicker } from "explore/inputs.js";
import { activationsView } from "explore/activations.js";
import { lectureView } from "explore/lecture.js";
import { backwardView } from "explore/backward.js";
import { looksView } from "explore/looks.js";
import { trainingView, buildEpochSlider } from "explore/training.js";

ctx.views = { activations: activationsView, lecture: lectureView, backward: backwardView, looks: looksView,
  training: trainingView };

function walk(node, out) {
  out.set(node.name, node);
  for (const c of node.children || []) walk(c, out);
  return out;
}

export async function setInput(spec) {
  state.input = spec;
  state.target = null; // the new input's own class (its label, else the prediction)
  await refresh();
}

export async function refresh() {
  saveState();
  try {
    const f = await loadForward();
    renderInput(f);
    if (state.target === null || state.target === undefined || state.target >= ctx.info.classes.length) {
      state.target = f.label ?? f.pred;
    }
    document.getElementById("target").value = String(state.target);
    await render();
  } catch (err) {
    report(err, document.getElementById(`pane-${state.tab}`));
  }
}

async function start() {
  loadState();
  const info = await get("info");
  ctx.info = info;
  ctx.layers = new Map(info.layers.map((l) => [l.name, l]));
  ctx.nodes = info.graph && info.graph.tree ? walk(info.graph.tree, new Map()) : new Map();
  if (state.model && state.model !== info.model) setStatus(`the link was for model ${state.model}; this is ${info.model}`, true);
  state.model = info.model;
  document.getElementById("title").textContent = `${info.title} · ${info.model} · input ${info.input_size.join("×")}`;
  document.title = `glassnet explore: ${info.title}`;
  if (!state.input || (isExport && !exportInputs.includes(state.input))) state.input = isExport ? exportInputs[0] : info.default_input;
  if (!ctx.layers.has(state.layer)) {
    state.layer = (info.layers.find((l) => l.kind === "conv") || info.layers[0]).name;
    state.c = state.y = state.x = null;
  }
  if (state.c === null) {
    const L = ctx.layers.get(state.layer);
    [state.c, state.y, state.x] = L.shape.length === 3 ? [0, Math.floor(L.shape[1] / 2), Math.floor(L.shape[2] / 2)] : [0, 0, 0];
  }
  if (isExport || !info.epochs.includes(state.epoch)) state.epoch = null;

  const tsel = document.getElementById("target");
  tsel.replaceChildren(...info.classes.map((c, k) => Object.assign(document.createElement("option"), { value: k, textContent: `${k}: ${c}` })));
  tsel.addEventListener("change", () => { state.target = Number(tsel.value); saveState(); render(); });
  const ssel = document.getElementById("scale");
  ssel.value = state.scale;
  ssel.addEventListener("change", () => { state.scale = ssel.value; saveState(); render(); });
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));

  ctx.highlight = drawGraph(document.getElementById("graph"), info.graph, ctx.layers, (name) => {
    if (name) selectLayer(name);
    else setStatus("this box has no output of its own to show (see the boxes inside it)");
  });
  buildEpochSlider(info, async (epoch) => { state.epoch = epoch; await refresh(); });
  buildPicker(info, setInput);
  await refresh();
  await showTab(state.tab);
  await selectLayer(state.layer, true);
  document.body.dataset.ready = "1";
  idle();
}

window.addEventListener("error", (e) => setStatus(e.message, true));
start().catch((err) => { setStatus(err.message, true); document.body.dataset.busy = "0"; });
export { className };
