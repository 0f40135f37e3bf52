// The input panel: the image and its preprocessing, the prediction, and the ways to choose an input
// (a test image by index, by class or misclassified; an uploaded file; a digit drawn with the mouse).
import { array, get, isExport, exportInputs, upload } from "explore/api.js";
import { ctx, className, report } from "explore/app.js";
import { el, fmt, mapCanvas, rgbCanvas, scale, zoomFor } from "explore/colors.js";
import { state } from "explore/state.js";

function picture(arr, size, signed) {
  const a = array(arr);
  const [c, h, w] = a.shape;
  const z = zoomFor(h, w, size);
  if (c === 3 && !signed) return rgbCanvas(a.data, h, w, z);
  let lo = Infinity, hi = -Infinity;
  for (const v of a.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const sc = signed ? { lo, hi: hi > lo ? hi : lo + 1, grey: true } : { lo: 0, hi: 1, grey: true };
  return mapCanvas(a.data, 0, h, w, sc, z);
}

export function renderInput(f) {
  const box = document.getElementById("input-view");
  const label = f.label === null || f.label === undefined ? "" : ` · true class ${className(f.label)}`;
  box.replaceChildren(
    el("div", { class: "muted", id: "input-name" }, `${f.input}${label}`),
    el("div", { class: "row" },
      el("div", { class: "cell" }, picture(f.raw, 120, false), "pixels [0, 1]"),
      el("div", { class: "cell" }, picture(f.x, 120, true), "what the model sees")),
    el("ol", { class: "steps-list" }, ...f.steps.map((s) => el("li", {}, s))),
  );
  const rows = f.top.map((t) => [
    el("span", { class: t.class === f.pred ? "best" : "" }, className(t.class)),
    el("div", {}, el("div", { class: "bar", style: `width:${(100 * t.p).toFixed(1)}%` })),
    el("span", { class: "prob", "data-v": t.p }, `${(100 * t.p).toFixed(1)} %`),
  ]);
  document.getElementById("prediction").replaceChildren(
    el("h3", {}, "Prediction (softmax of the logits)"),
    el("div", { id: "pred", "data-class": f.pred }, `predicted ${className(f.pred)}`),
    el("div", { class: "bars" }, ...rows.flat()),
  );
}

export function buildPicker(info, setInput) {
  const box = document.getElementById("input-pick");
  box.replaceChildren();
  const list = el("div", { class: "picklist", id: "picklist" });
  const show = async (which, cls) => {
    try {
      const r = await get("inputs", { which, class: cls });
      list.replaceChildren(...r.items.map((it) => el("button", {
        class: it.pred !== it.label ? "wrong" : "", title: `true ${className(it.label)}, predicted ${className(it.pred)}`,
        onclick: () => setInput(it.input),
      }, `#${it.input.slice(5)} ${className(it.label)}→${className(it.pred)}`)));
      if (!r.items.length) list.append(el("span", { class: "muted" }, "none"));
    } catch (err) {
      report(err, list);
    }
  };
  if (isExport) {
    box.append(el("h3", {}, "Inputs in this export"),
      el("div", { class: "picklist" }, ...exportInputs.map((s) => el("button", { onclick: () => setInput(s) }, s))),
      el("p", { class: "note" }, "A static export: uploads, drawing and other images need glassnet explore."));
    return;
  }
  if (info.test_images) {
    const idx = el("input", { type: "number", min: 0, max: info.test_images - 1, value: 0, id: "test-index", style: "width:6em" });
    const cls = el("select", { id: "pick-class" }, ...info.classes.map((c, k) => el("option", { value: k }, c)));
    box.append(
      el("h3", {}, `Test images (${info.test_images.toLocaleString()})`),
      el("div", { class: "row" }, "index ", idx, el("button", { id: "test-go", onclick: () => setInput(`test:${idx.value}`) }, "show")),
      el("div", { class: "row" },
        el("button", { onclick: () => show("all") }, "first"),
        cls, el("button", { onclick: () => show("class", cls.value) }, "of class"),
        el("button", { id: "pick-wrong", onclick: () => show("wrong") }, "misclassified")),
      list);
    show("all");
  }
  const msg = el("div", { id: "upload-msg" });
  const file = el("input", { type: "file", accept: "image/*", id: "upload" });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    await send(file.files[0], "image", msg, setInput);
    file.value = "";
  });
  box.append(el("h3", {}, "Your image"), file, msg);
  if (info.can_draw) box.append(drawPad(msg, setInput));
}

async function send(blob, kind, msg, setInput) {
  msg.textContent = "";
  msg.className = "";
  try {
    const r = await upload(blob, kind);
    await setInput(r.input);
  } catch (err) {
    msg.textContent = err.message;
    msg.className = "error";
  }
}

// Draw a digit: light strokes on black, sent as a PNG; the server frames it the MNIST way.
function drawPad(msg, setInput) {
  const cv = el("canvas", { id: "draw", width: 280, height: 280, style: "width:196px;height:196px" });
  const g = cv.getContext("2d");
  const clear = () => { g.fillStyle = "#000"; g.fillRect(0, 0, 280, 280); };
  clear();
  g.lineWidth = 22;
  g.lineCap = g.lineJoin = "round";
  g.strokeStyle = "#fff";
  let down = false;
  const at = (e) => {
    const r = cv.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * 280, ((e.clientY - r.top) / r.height) * 280];
  };
  cv.addEventListener("pointerdown", (e) => { down = true; g.beginPath(); g.moveTo(...at(e)); g.lineTo(...at(e)); g.stroke(); });
  cv.addEventListener("pointermove", (e) => { if (down) { g.lineTo(...at(e)); g.stroke(); } });
  const finish = () => {
    if (!down) return;
    down = false;
    cv.toBlob((b) => send(b, "drawing", msg, setInput), "image/png");
  };
  cv.addEventListener("pointerup", finish);
  cv.addEventListener("pointerleave", finish);
  return el("div", {}, el("h3", {}, "Draw a digit"), cv,
    el("div", {}, el("button", { id: "draw-clear", onclick: clear }, "clear"),
      el("span", { class: "muted" }, " the prediction follows each stroke")));
}

export { fmt, scale, state, ctx };
