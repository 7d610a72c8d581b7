// The fit map: pick an item and a size; the service colours the avatar by the size chart's ease per body
// region (GET /v1/avatars/{id}/fitmap.glb) and lists the regions (GET …/fitmap); this draws the legend.
import { $, apiJson, h } from "./dom.js";

export class FitMap {
  constructor(viewer, avatar) {
    this.viewer = viewer;
    this.avatar = avatar;
    this.item = $("#fm-item");
    this.size = $("#fm-size");
    this.note = $("#fm-note");
    this.item.onchange = () => this.pickItem().catch((e) => this.unavailable(e.message));
    this.size.onchange = () => this.draw().catch((e) => this.unavailable(e.message));
    $("#fm-off").onclick = () => this.plain();
  }

  async start() {
    const list = await apiJson("/v1/items?limit=40");
    if (!list.data.length) return this.unavailable("No items are in the catalogue yet.");
    this.item.replaceChildren(h("option", { value: "" }, "Choose an item…"), ...list.data.map((it) => h("option", { value: it.item_id },
      `${it.item_id}${it.brand ? ` · ${it.brand}` : ""}${it.chart_measurements.length ? "" : " (no size chart)"}`)));
    this.note.textContent = "Choose an item and a size to see where it would be tight or loose on you.";
  }

  unavailable(message) {
    this.note.textContent = message;
    $("#fm-legend").replaceChildren();
    $("#fitmap").dataset.state = "unavailable";
  }

  async pickItem() {
    this.size.replaceChildren();
    if (!this.item.value) return this.plain();
    const item = await apiJson(`/v1/items/${encodeURIComponent(this.item.value)}`);
    this.size.replaceChildren(...item.sizes.map((s) => h("option", { value: s }, s)));
    this.size.value = item.sizes[Math.floor(item.sizes.length / 2)];
    return this.draw();
  }

  query() {
    return `item_id=${encodeURIComponent(this.item.value)}&size=${encodeURIComponent(this.size.value)}`;
  }

  async draw() {
    const map = await apiJson(`/v1/avatars/${this.avatar.id}/fitmap?${this.query()}`);
    await this.viewer.show(`/v1/avatars/${this.avatar.id}/fitmap.glb?${this.query()}`, { keepView: true });
    const words = (e) => (e < -map.snug_cm ? "tight" : e > map.loose_cm ? "loose" : "fits");
    this.note.textContent = `Size ${map.size} of ${map.item_id}: ` + map.regions
      .map((r) => `${r.region} ${r.ease_cm > 0 ? "+" : ""}${r.ease_cm.toFixed(1)} cm (${words(r.ease_cm)})`).join(", ");
    const [lo, hi] = [map.scale[0].ease_cm, map.scale.at(-1).ease_cm];
    const at = (e) => `${((e - lo) / (hi - lo)) * 100}%`;
    const signed = (e) => `${e > 0 ? "+" : ""}${e} cm`;
    $("#fm-legend").replaceChildren(
      h("div", { class: "legend-bar", role: "img", "aria-label": `Colour scale from ${signed(lo)} (tight) to ${signed(hi)} (loose)`,
        style: `background: linear-gradient(to right, ${map.scale.map((s) => `rgb(${s.rgb.join(",")}) ${at(s.ease_cm)}`).join(", ")})` }),
      h("div", { class: "legend-scale" }, ...map.scale.map((s) => h("span", { style: `left: ${at(s.ease_cm)}` }, signed(s.ease_cm)))),
      h("p", { class: "muted" }, "Ease = the size chart's measurement minus yours: below zero is tight, well above is loose. Grey: the chart says nothing there."));
    $("#fitmap").dataset.state = "shown";
  }

  async plain() {
    this.note.textContent = "";
    $("#fm-legend").replaceChildren();
    $("#fitmap").dataset.state = "off";
    await this.viewer.show(this.avatar.links.mesh_glb, { keepView: true });
  }
}
