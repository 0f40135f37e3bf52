// Drawing numbers as colours. The numbers come from the server; this file only paints them.

// Colour scale of a map: signed values diverge around 0 (blue - white - red), others run black to yellow.
export function scale(lo, hi) {
  if (lo === null || hi === null) return { lo: 0, hi: 1, signed: false };
  if (lo < 0) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { lo: -m, hi: m, signed: true };
  }
  return { lo, hi: hi > lo ? hi : lo + 1, signed: false };
}

const HOT = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];

export function rgb(v, sc) {
  if (!Number.isFinite(v)) return [200, 200, 200];
  if (sc.grey) {
    const g = Math.round(255 * Math.min(1, Math.max(0, (v - sc.lo) / (sc.hi - sc.lo))));
    return [g, g, g];
  }
  if (sc.signed) {
    const t = Math.max(-1, Math.min(1, v / sc.hi));
    const a = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? [255, a, a] : [a, a, 255];
  }
  const t = Math.min(1, Math.max(0, (v - sc.lo) / (sc.hi - sc.lo))) * (HOT.length - 1);
  const i = Math.min(HOT.length - 2, Math.floor(t));
  const f = t - i;
  return HOT[i].map((c, k) => Math.round(c + f * (HOT[i + 1][k] - c)));
}

// Paint an h x w map (data[offset + y*w + x]) on a new canvas, shown `zoom` times larger.
export function mapCanvas(data, offset, h, w, sc, zoom) {
  const cv = document.createElement("canvas");
  cv.width = w;
  cv.height = h;
  cv.className = "map";
  cv.style.width = `${Math.round(w * zoom)}px`;
  cv.style.height = `${Math.round(h * zoom)}px`;
  const ctx = cv.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = rgb(data[offset + i], sc);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return cv;
}

// An RGB image (3, h, w) in [0, 1].
export function rgbCanvas(data, h, w, zoom) {
  const cv = document.createElement("canvas");
  cv.width = w;
  cv.height = h;
  cv.className = "map";
  cv.style.width = `${Math.round(w * zoom)}px`;
  cv.style.height = `${Math.round(h * zoom)}px`;
  const ctx = cv.getContext("2d");
  const img = ctx.createImageData(w, h);
  const n = h * w;
  for (let i = 0; i < n; i++) {
    const px = [0, 1, 2].map((c) => Math.round(255 * Math.min(1, Math.max(0, data[c * n + i]))));
    img.data.set([...px, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return cv;
}

// The map pixel (y, x) under a mouse event on a canvas drawn by mapCanvas.
export function pixelAt(ev, cv) {
  const r = cv.getBoundingClientRect();
  const x = Math.floor(((ev.clientX - r.left) / r.width) * cv.width);
  const y = Math.floor(((ev.clientY - r.top) / r.height) * cv.height);
  return [Math.min(cv.height - 1, Math.max(0, y)), Math.min(cv.width - 1, Math.max(0, x))];
}

export function zoomFor(h, w, target) {
  return Math.max(1, Math.min(12, target / Math.max(h, w)));
}

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1);
  return v.toFixed(digits);
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
