// The view's state, mirrored in the URL's hash so that a view can be shared: #model=..&input=..&layer=..
const INTS = new Set(["c", "y", "x", "target", "epoch", "co", "ci"]);
const KEYS = ["model", "input", "layer", "c", "y", "x", "target", "epoch", "tab", "scale", "co", "ci"];

export const state = { tab: "activations", scale: "layer", c: null, y: null, x: null, epoch: null };

export function loadState() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const k of KEYS) {
    if (!p.has(k)) continue;
    const v = p.get(k);
    state[k] = INTS.has(k) ? (Number.isInteger(Number(v)) ? Number(v) : null) : v;
  }
}

export function saveState() {
  const p = new URLSearchParams();
  for (const k of KEYS) if (state[k] !== null && state[k] !== undefined && state[k] !== "") p.set(k, state[k]);
  history.replaceState(null, "", `#${p.toString()}`);
}
