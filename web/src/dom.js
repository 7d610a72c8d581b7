// Small DOM helpers shared by the studio and the dashboard.

export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "line", "rect", "circle", "path", "text", "polyline", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c != null).map((c) => (typeof c === "number" ? String(c) : c)));
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** The common error shape of the API, as one readable message. */
export async function apiJson(url, init) {
  const res = await fetch(url, init);
  const doc = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) {
    const err = new Error(doc?.error?.message || `${url}: HTTP ${res.status}`);
    err.status = res.status;
    err.code = doc?.error?.code;
    err.details = doc?.error?.details || {};
    throw err;
  }
  return doc;
}

/** Offer a file made in the page (a CSV, a fetched zip) as a download. */
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function toCsv(rows, columns) {
  const cell = (v) => {
    const s = v == null ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
