// The network as an SVG graph, from glassnet.summary's rows: Sequential parts stacked, Inception's branches
// side by side (joined by the concatenation), a residual block's body beside its shortcut (joined by the add).
import { el, fmt } from "explore/colors.js";

const NW = 190, NH = 36, GAP = 12, SIDE = 14;
const SVG = "http://www.w3.org/2000/svg";

function kindClass(type) {
  if (/Conv/.test(type)) return "conv";
  if (/Pool/.test(type)) return "pool";
  if (/ReLU|Sigmoid|Tanh/.test(type)) return "act";
  if (type === "Add" || type === "Concat") return "join";
  return "";
}

function leaf(node, label) {
  return { w: NW, h: NH, boxes: [{ node, label, x: 0, y: 0 }], edges: [], frames: [] };
}

function shift(item, dx, dy) {
  return {
    w: item.w, h: item.h,
    boxes: item.boxes.map((b) => ({ ...b, x: b.x + dx, y: b.y + dy })),
    edges: item.edges.map(([a, b, c, d]) => [a + dx, b + dy, c + dx, d + dy]),
    frames: item.frames.map((f) => ({ ...f, x: f.x + dx, y: f.y + dy })),
  };
}

function merge(parts, w, h) {
  return { w, h, boxes: parts.flatMap((p) => p.boxes), edges: parts.flatMap((p) => p.edges), frames: parts.flatMap((p) => p.frames) };
}

function stack(items) {
  items = items.filter(Boolean);
  if (!items.length) return null;
  const w = Math.max(...items.map((i) => i.w));
  let y = 0;
  const placed = [];
  const edges = [];
  for (const it of items) {
    if (placed.length) edges.push([w / 2, y - GAP, w / 2, y]);
    placed.push(shift(it, (w - it.w) / 2, y));
    y += it.h + GAP;
  }
  const out = merge(placed, w, y - GAP);
  out.edges.push(...edges);
  return out;
}

// Branches side by side between a split (top) and a join box (bottom).
function branches(cols, join, name) {
  cols = cols.filter(Boolean);
  const w = cols.reduce((s, c) => s + c.w, 0) + SIDE * (cols.length - 1);
  const top = GAP;
  const hb = Math.max(...cols.map((c) => c.h));
  const placed = [];
  const edges = [];
  let x = 0;
  for (const c of cols) {
    placed.push(shift(c, x, top));
    edges.push([w / 2, 0, x + c.w / 2, top]);
    edges.push([x + c.w / 2, top + c.h, x + c.w / 2, top + hb + GAP]);
    x += c.w + SIDE;
  }
  const j = shift(join, (w - join.w) / 2, top + hb + GAP);
  const out = merge([...placed, j], w, top + hb + GAP + join.h);
  out.edges.push(...edges);
  out.frames.push({ x: -4, y: 2, w: w + 8, h: out.h - 2, name });
  return out;
}

function build(node) {
  const kids = node.children.filter((c) => c.role !== "aux");
  if (!kids.length) return leaf(node);
  if (node.kind === "concat") {
    const join = leaf({ ...node, children: [], type: "Concat" }, `${node.name} (concat)`);
    return branches(kids.map(build), join, node.name);
  }
  if (node.kind === "residual") {
    const body = stack(kids.filter((c) => c.role === "body").map(build));
    const short = stack(kids.filter((c) => c.role === "shortcut").map(build));
    const add = kids.find((c) => c.role === "add");
    const after = kids.filter((c) => c.role === "");
    const joined = branches([body, short], leaf({ ...add, name: node.name, children: [], type: "Add" }, `${node.name} (add)`), node.name);
    return stack([joined, ...after.map(build)]);
  }
  return stack(kids.map(build));
}

export function drawGraph(container, graph, tapped, onSelect) {
  container.replaceChildren();
  if (!graph || graph.error) {
    container.append(el("p", { class: "muted" }, `no graph: ${graph ? graph.error : "summary unavailable"}`));
    return () => {};
  }
  const lay = build(graph.tree);
  const svg = document.createElementNS(SVG, "svg");
  const pad = 8;
  const [W, H] = [lay.w + 2 * pad, lay.h + 2 * pad];
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("id", "graph-svg");
  const size = (fit) => {
    svg.setAttribute("width", fit ? "100%" : W);
    if (fit) svg.removeAttribute("height");
    else svg.setAttribute("height", H);
  };
  size(false);
  const fit = el("label", { class: "muted" }, el("input", { type: "checkbox", id: "graph-fit", onchange: (e) => size(e.target.checked) }),
    " fit the width");
  const g = document.createElementNS(SVG, "g");
  g.setAttribute("transform", `translate(${pad},${pad})`);
  svg.append(g);
  for (const f of lay.frames) {
    const r = document.createElementNS(SVG, "rect");
    Object.entries({ x: f.x, y: f.y, width: f.w, height: f.h, class: "frame" }).forEach(([k, v]) => r.setAttribute(k, v));
    g.append(r);
  }
  for (const [x1, y1, x2, y2] of lay.edges) {
    const p = document.createElementNS(SVG, "path");
    const my = (y1 + y2) / 2;
    p.setAttribute("d", `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`);
    p.setAttribute("class", "edge");
    g.append(p);
  }
  const byName = new Map();
  for (const b of lay.boxes) {
    const n = b.node;
    const box = document.createElementNS(SVG, "g");
    box.setAttribute("class", `node ${kindClass(n.type)}`);
    box.setAttribute("transform", `translate(${b.x},${b.y})`);
    box.dataset.name = n.name;
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ width: NW, height: NH }).forEach(([k, v]) => rect.setAttribute(k, v));
    const t1 = document.createElementNS(SVG, "text");
    t1.setAttribute("x", 6);
    t1.setAttribute("y", 14);
    t1.textContent = `${b.label || n.name}  ${n.type}`;
    const t2 = document.createElementNS(SVG, "text");
    t2.setAttribute("x", 6);
    t2.setAttribute("y", 28);
    t2.setAttribute("class", "sub");
    const rf = n.rf ? ` · RF ${n.rf.join("×")}` : "";
    t2.textContent = `${(n.shape || []).join("×")} · ${n.params.toLocaleString()} p${rf}`;
    const title = document.createElementNS(SVG, "title");
    title.textContent = info(n);
    box.append(rect, t1, t2, title);
    const target = tapped.has(n.name) ? n.name : null;
    box.addEventListener("click", () => onSelect(target, n));
    g.append(box);
    if (!byName.has(n.name)) byName.set(n.name, box);
  }
  if (lay.w + 2 * pad > 330) container.append(fit);
  container.append(svg);
  // highlight the selected layer's box and scroll it into view
  return (name) => {
    for (const b of g.querySelectorAll(".node.sel")) b.classList.remove("sel");
    const b = byName.get(name);
    if (b) {
      b.classList.add("sel");
      b.scrollIntoView({ block: "nearest", inline: "center" });
    }
  };
}

export function info(n) {
  const macs = n.macs === null || n.macs === undefined ? "unknown" : n.macs.toLocaleString();
  return `${n.name} (${n.type})\noutput ${(n.shape || []).join(" × ")}\nparameters ${n.params.toLocaleString()}` +
    `\nMACs ${macs}\nreceptive field ${n.rf ? n.rf.join(" × ") : "-"}`;
}

export { fmt };
