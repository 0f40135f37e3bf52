// Every number the page shows comes from here: the server's JSON, or the export's precomputed table.
const exportEl = document.getElementById("glassnet-export");
const exported = exportEl ? JSON.parse(exportEl.textContent) : null;

export const isExport = exported !== null;
export const exportInputs = exported ? exported.inputs : [];

export class NotPrecomputed extends Error {}

// The key of a response, as glassnet.explore.server.api_key writes it: non-empty parameters, sorted.
export function key(name, params = {}) {
  const items = Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [k, String(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return items.length ? `${name}?${items.map(([k, v]) => `${k}=${v}`).join("&")}` : name;
}

let pending = 0;
function busy(delta) {
  pending += delta;
  document.body.dataset.busy = pending > 0 ? "1" : "0";
}

export async function get(name, params = {}) {
  if (exported) {
    const k = key(name, params);
    if (k in exported.responses) return exported.responses[k];
    throw new NotPrecomputed("not in this export (it holds the chosen inputs only): run glassnet explore to compute it");
  }
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  busy(1);
  try {
    const r = await fetch(`/api/${name}?${q}`);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  } finally {
    busy(-1);
  }
}

export async function upload(blob, kind) {
  if (exported) throw new NotPrecomputed("uploads need the server: run glassnet explore");
  busy(1);
  try {
    const r = await fetch(`/api/upload?kind=${kind}`, { method: "POST", body: blob });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  } finally {
    busy(-1);
  }
}

// {shape, data: base64 float32 little-endian} -> {shape, data: Float32Array}, bit for bit.
export function array(obj) {
  const bin = atob(obj.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return { shape: obj.shape, data: new Float32Array(bytes.buffer) };
}

export function idle() {
  if (pending === 0) document.body.dataset.busy = "0";
}
