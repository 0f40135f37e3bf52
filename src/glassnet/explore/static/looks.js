// What the network looks at: the filters of a convolution, saliency (ds_c/dx) and Grad-CAM for the
// chosen class, and the top-k predictions.
import { array, get } from "explore/api.js";
import { ctx, className, params } from "explore/app.js";
import { el, fmt, mapCanvas, rgb, scale, zoomFor } from "explore/colors.js";
import { state } from "explore/state.js";

function filters(r) {
  const a = array(r.array);
  const [k, c, h, w] = a.shape;
  const sc = scale(r.min, r.max);
  const z = zoomFor(h, w, 40);
  const shownIn = Math.min(c, 8);
  const rows = [];
  for (let o = 0; o < k; o++) {
    const cells = [];
    for (let i = 0; i < shownIn; i++) cells.push(mapCanvas(a.data, (o * c + i) * h * w, h, w, sc, z));
    rows.push(el("div", { class: "row" }, el("span", { class: "muted", style: "display:inline-block;width:5em" }, `out ${r.start + o}`), ...cells));
  }
  return el("div", { id: "filters" },
    el("p", { class: "muted" }, `${r.shape.join(" × ")} (out × in × kh × kw); rows: output channels, ` +
      `columns: the kernel of each input channel${c > shownIn ? ` (first ${shownIn} of ${c})` : ""}; one colour scale, blue < 0 < red`),
    ...rows);
}

function overlay(raw, cam) {
  const a = array(raw), m = array(cam);
  const [c, h, w] = a.shape;
  const cv = el("canvas", { width: w, height: h, class: "map", id: "gradcam" });
  const z = zoomFor(h, w, 180);
  cv.style.width = `${w * z}px`;
  cv.style.height = `${h * z}px`;
  const g = cv.getContext("2d");
  const img = g.createImageData(w, h);
  let top = 0;
  for (const v of m.data) top = Math.max(top, v);
  const n = h * w;
  for (let i = 0; i < n; i++) {
    const base = c === 3 ? [0, 1, 2].map((k) => 255 * a.data[k * n + i]) : [0, 0, 0].map(() => 255 * a.data[i]);
    const heat = rgb(top > 0 ? m.data[i] / top : 0, { lo: 0, hi: 1 });
    img.data.set([...base.map((b, k) => Math.round(0.45 * b + 0.55 * heat[k])), 255], 4 * i);
  }
  g.putImageData(img, 0, 0);
  return cv;
}

export async function looksView(pane, live) {
  const layer = ctx.layers.get(state.layer).kind === "conv" ? state.layer : ctx.info.layers.find((l) => l.kind === "conv")?.name;
  const att = await get("attribution", params({ target: state.target === ctx.forward.pred ? null : state.target }));
  const fil = layer ? await get("filters", { layer, epoch: state.epoch }) : null;
  if (!live()) return;
  const s = array(att.saliency);
  const [c, h, w] = s.shape;
  let sal;
  if (c === 1) sal = mapCanvas(s.data, 0, h, w, scale(att.min, att.max), zoomFor(h, w, 180));
  else {
    const mag = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) mag[i] = Math.max(...[0, 1, 2].map((k) => Math.abs(s.data[k * h * w + i])));
    sal = mapCanvas(mag, 0, h, w, scale(0, Math.max(...mag)), zoomFor(h, w, 180));
  }
  sal.id = "saliency";
  const f = ctx.forward;
  pane.replaceChildren(
    el("h2", {}, `What the network looks at, for class ${className(att.target)}`),
    el("div", { class: "chan" },
      el("div", {}, c === 1 ? "saliency ds_c/dx (red: raising the pixel raises the score)" : "saliency max_ch |ds_c/dx|", sal),
      el("div", {}, att.cam ? `Grad-CAM on ${att.cam_layer}` : `Grad-CAM: ${att.cam_error}`, att.cam ? overlay(f.raw, att.cam) : ""),
      el("div", {}, el("h3", {}, "top-k"), el("table", { class: "num", id: "topk" },
        ...f.top.map((t) => el("tr", {}, el("td", {}, className(t.class)), el("td", {}, fmt(t.p, 4))))))),
    el("h3", {}, layer ? `Filters of ${layer}` : "no convolution in this model"),
    fil ? filters(fil) : "",
  );
}
