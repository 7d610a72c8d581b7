// The fitroom size widget. A shop embeds it with one async script tag and a placeholder per product:
//   <div data-fitroom-item="rtr:2260466"></div>
//   <script async src="https://SERVICE/widget.js" data-fitroom-key="WIDGET_KEY"></script>
// It renders inside a shadow root (the shop's CSS cannot reach it, its CSS cannot leak out), stays
// hidden for unknown items and collapses to nothing on any error. `window.fitroom.update()` re-reads
// the placeholders after a single-page shop changes the product.
import { h } from "./dom.js";
import css from "./widget.css";

const AVATAR_KEY = "fitroom.avatar_id";
const CM_PER_IN = 2.54;
const KG_PER_LB = 0.45359237;
const HALF_SIZE = 0.5; // "runs small/large" is said when the item's offset reaches half a size step

const STRINGS = {
  en: {
    title: "Find your size",
    useAvatar: "Use my avatar",
    orForm: "or enter your height and weight",
    height: "Height", weight: "Weight", age: "Age (optional)", ft: "ft", in: "in",
    units: "Units", metric: "cm / kg", imperial: "ft-in / lb",
    submit: "Recommend my size",
    working: "Working out your size…",
    recommended: "Recommended size",
    confidence: (p) => `${p}% likely to fit`,
    small: "too small", fits: "fits", large: "too large",
    runsSmall: "This item runs small.", runsLarge: "This item runs large.",
    chartGap: (m, c, b) => `Size chart: ${m} ${c} cm, yours ${b} cm.`,
    measure: { bust_girth: "bust", waist_girth: "waist", hip_girth: "hips", underbust_girth: "underbust" },
    perSize: "Fit by size",
    sizeRow: (s, a, b, c) => `Size ${s}: ${a}% too small, ${b}% fits, ${c}% too large`,
    again: "Change my details",
    failed: "We could not recommend a size for these details.",
    brand: "A brand you know (optional)", brandSize: "Your size in that brand",
    brandNeedsSize: "Enter your size in that brand, or clear the brand.",
    sizeNeedsBrand: "Enter the brand you wear that size in.",
    unknownBrand: "We do not know this brand: pick one from the list, or clear it.",
    badSize: "We do not recognise this size (for example 8, M, UK 12, EU 38).",
  },
  "zh-CN": {
    title: "找到您的尺码",
    useAvatar: "使用我的虚拟形象",
    orForm: "或输入身高和体重",
    height: "身高", weight: "体重", age: "年龄（可选）", ft: "英尺", in: "英寸",
    units: "单位", metric: "厘米 / 公斤", imperial: "英尺英寸 / 磅",
    submit: "推荐尺码",
    working: "正在计算您的尺码…",
    recommended: "推荐尺码",
    confidence: (p) => `合身概率 ${p}%`,
    small: "偏小", fits: "合身", large: "偏大",
    runsSmall: "此商品尺码偏小。", runsLarge: "此商品尺码偏大。",
    chartGap: (m, c, b) => `尺码表：${m} ${c} 厘米，您的 ${b} 厘米。`,
    measure: { bust_girth: "胸围", waist_girth: "腰围", hip_girth: "臀围", underbust_girth: "下胸围" },
    perSize: "各尺码合身度",
    sizeRow: (s, a, b, c) => `尺码 ${s}：偏小 ${a}%，合身 ${b}%，偏大 ${c}%`,
    again: "修改我的信息",
    failed: "无法根据这些信息推荐尺码。",
    brand: "您熟悉的品牌（可选）", brandSize: "您在该品牌穿的尺码",
    brandNeedsSize: "请输入您在该品牌穿的尺码，或清空品牌。",
    sizeNeedsBrand: "请输入您穿这个尺码的品牌。",
    unknownBrand: "我们没有这个品牌的信息：请从列表中选择，或清空。",
    badSize: "无法识别这个尺码（例如 8、M、UK 12、EU 38）。",
  },
};

// the script tag says where the service is and, for a shop on another origin, which widget key to send
// (`<script async src="https://SERVICE/widget.js" data-fitroom-key="…">`; keys are bound to origins)
const SCRIPT = document.currentScript
  || [...document.scripts].find((s) => /\/widget\.js(\?|$)/.test(s.src));
const BASE = SCRIPT ? new URL(SCRIPT.src, location.href).origin : location.origin;
const KEY = SCRIPT?.dataset.fitroomKey;

function language(el) {
  const lang = el.dataset.fitroomLang || el.closest("[lang]")?.getAttribute("lang") || "en";
  return lang.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

// errors carry the API's field (known_size.brand, known_size.size) so the form can say which is wrong
async function api(path, body) {
  const headers = KEY ? { Authorization: `Bearer ${KEY}` } : {};
  const init = body ? { method: "POST", headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(body) } : { headers };
  const res = await fetch(BASE + path, init);
  if (!res.ok) {
    const err = new Error(`${path}: HTTP ${res.status}`);
    const doc = await res.json().catch(() => null);
    const details = doc?.error?.details || {};
    err.field = details.field || details.errors?.[0]?.field;
    throw err;
  }
  return res.json();
}

function storedAvatar() {
  try { return localStorage.getItem(AVATAR_KEY); } catch { return null; }
}

class Widget {
  constructor(el) {
    this.el = el;
    this.item = el.dataset.fitroomItem;
    this.lang = language(el);
    this.t = STRINGS[this.lang];
    this.values = {}; // what the shopper typed, kept across unit switches and a failed known size
    this.units = el.dataset.fitroomUnits === "imperial" ? "imperial" : "metric";
    this.root = el.shadowRoot || el.attachShadow({ mode: "open" });
    this.uid = Math.random().toString(36).slice(2, 8);
  }

  // replaced by update() for another item: an answer that arrives late must not draw over the new one
  get stale() {
    return mounted.get(this.el) !== this;
  }

  collapse() {
    if (this.stale) return;
    this.root.replaceChildren();
    this.el.hidden = true;
  }

  async start() {
    this.el.hidden = true;
    const item = await api(`/v1/items/${encodeURIComponent(this.item)}`);
    if (this.stale) return;
    if (!item.sizes?.length) return this.collapse();
    this.showForm();
    this.el.hidden = false;
    performance.mark("fitroom:widget-shown"); // bench/web.py times the widget from its script's arrival
    // the brand picker's names; without them the brand is free text the API checks
    this.brands = await api("/v1/brands").then((r) => r.data.map((b) => b.brand)).catch(() => []);
    const list = this.stale ? null : this.root.querySelector("datalist");
    if (list) list.replaceChildren(...this.brands.map((b) => h("option", { value: b })));
  }

  frame(...content) {
    const box = h("section", { class: "fr", role: "region", "aria-label": this.t.title },
      h("h2", {}, this.t.title), ...content);
    if (!this.stale) this.root.replaceChildren(h("style", {}, css), box);
    return box;
  }

  field(id, label, attrs) {
    const input = h("input", { id: `${id}-${this.uid}`, type: "number", inputmode: "decimal",
      value: this.values[id], ...attrs });
    return [h("label", { for: input.id }, label), input];
  }

  // the size she wears in a brand she knows: a brand (datalist of the service's brands) and a size label
  knownSize(error) {
    const t = this.t;
    const listId = `brands-${this.uid}`;
    const errId = `ks-err-${this.uid}`;
    const text = (id, label, attrs) => {
      const input = h("input", { id: `${id}-${this.uid}`, type: "text", value: this.values[id],
        "aria-invalid": error?.field === id ? "true" : null, "aria-describedby": error ? errId : null, ...attrs });
      return [h("label", { for: input.id }, label), input];
    };
    return h("div", { class: "pair known" },
      h("div", {}, ...text("brand", t.brand, { list: listId, autocomplete: "off", maxlength: 128 })),
      h("div", {}, ...text("bsize", t.brandSize, { maxlength: 32, autocomplete: "off" })),
      h("datalist", { id: listId }, ...(this.brands || []).map((b) => h("option", { value: b }))),
      error ? h("p", { id: errId, class: "err", role: "alert" }, error.text) : null);
  }

  remember(form) {
    for (const input of form.querySelectorAll("input")) this.values[input.id.replace(`-${this.uid}`, "")] = input.value;
  }

  showForm(error = null) {
    const t = this.t;
    const imperial = this.units === "imperial";
    const avatar = storedAvatar();
    const unitGroup = h("div", { role: "radiogroup", "aria-label": t.units, class: "units" },
      ...["metric", "imperial"].map((u) => h("button", {
        type: "button", role: "radio", "aria-checked": String(u === this.units),
        onclick: () => {
          this.remember(this.root.querySelector("form"));
          for (const k of ["cm", "ft", "in", "w"]) delete this.values[k]; // numbers in the other units
          this.units = u; this.showForm(); this.root.querySelector("[aria-checked=true]").focus();
        },
      }, t[u])));
    const height = imperial
      ? h("div", { class: "pair" },
        ...this.field("ft", `${t.height} (${t.ft})`, { min: 3, max: 7, step: 1, required: true }),
        ...this.field("in", `${t.height} (${t.in})`, { min: 0, max: 11.9, step: 0.5, value: this.values.in ?? 0 }))
      : h("div", {}, ...this.field("cm", `${t.height} (cm)`, { min: 120, max: 220, step: 0.5, required: true }));
    const weight = h("div", {}, ...this.field("w", `${t.weight} (${imperial ? "lb" : "kg"})`,
      imperial ? { min: 66, max: 551, step: 1, required: true } : { min: 30, max: 250, step: 0.5, required: true }));
    const age = h("div", {}, ...this.field("age", t.age, { min: 13, max: 100, step: 1 }));
    const form = h("form", { novalidate: false },
      unitGroup, height, weight, age, this.knownSize(error), h("button", { type: "submit", class: "primary" }, t.submit));
    form.addEventListener("submit", (e) => { e.preventDefault(); this.fromForm(form); });
    this.frame(
      avatar ? h("button", { type: "button", class: "primary", onclick: () => this.recommend({ avatar_id: avatar }) },
        t.useAvatar) : null,
      avatar ? h("p", { class: "muted" }, t.orForm) : null,
      form,
    );
    if (error) this.root.querySelector(`#${error.field}-${this.uid}`)?.focus();
  }

  fromForm(form) {
    const num = (id) => {
      const v = form.querySelector(`#${id}-${this.uid}`)?.value;
      return v === "" || v == null ? null : Number(v);
    };
    const imperial = this.units === "imperial";
    const stature = imperial ? ((num("ft") || 0) * 12 + (num("in") || 0)) * CM_PER_IN : num("cm");
    const mass = imperial ? num("w") * KG_PER_LB : num("w");
    const m = { stature_cm: Math.round(stature * 10) / 10, body_mass_kg: Math.round(mass * 10) / 10 };
    if (num("age") != null) m.age_years = num("age");
    this.remember(form);
    const brand = this.values.brand.trim();
    const size = this.values.bsize.trim();
    if (brand && !size) return this.showForm({ field: "bsize", text: this.t.brandNeedsSize });
    if (size && !brand) return this.showForm({ field: "brand", text: this.t.sizeNeedsBrand });
    this.recommend({ measurements: m, ...(brand ? { known_size: { brand, size } } : {}) });
  }

  async recommend(who) {
    const t = this.t;
    this.frame(h("p", { role: "status" }, t.working));
    let rec;
    try {
      rec = await api("/v1/sizes/recommend", { item_id: this.item, lang: this.lang, ...who });
    } catch (err) {
      // the API names a known size it cannot use: back to the form, saying which field and why
      if (err.field === "known_size.brand") return this.showForm({ field: "brand", text: t.unknownBrand });
      if (err.field === "known_size.size") return this.showForm({ field: "bsize", text: t.badSize });
      const box = this.frame(h("p", { role: "alert" }, t.failed));
      box.append(h("button", { type: "button", class: "link", onclick: () => this.showForm() }, t.again));
      return;
    }
    this.showResult(rec);
  }

  showResult(rec) {
    const t = this.t;
    const pct = (p) => Math.round(p * 100);
    // explanation: the API's sentences in the widget's language; reasons: the same facts as data
    const reasons = rec.explanation || [];
    const offset = rec.reasons?.item_offset_steps;
    const runs = offset >= HALF_SIZE ? t.runsSmall : offset <= -HALF_SIZE ? t.runsLarge : null;
    const gap = (rec.reasons?.chart || []).find((g) => g.size === rec.recommended_size);
    const bars = h("ul", { class: "bars", "aria-label": t.perSize },
      ...rec.sizes.map((s) => h("li", {
        class: s.size === rec.recommended_size ? "best" : null,
        "aria-label": t.sizeRow(s.size, pct(s.p_small), pct(s.p_fit), pct(s.p_large)),
      },
      h("span", { class: "size", "aria-hidden": "true" }, s.size),
      h("span", { class: "bar", "aria-hidden": "true" },
        h("span", { class: "small", style: `width:${s.p_small * 100}%`, title: t.small }),
        h("span", { class: "fit", style: `width:${s.p_fit * 100}%`, title: t.fits }),
        h("span", { class: "large", style: `width:${s.p_large * 100}%`, title: t.large })))));
    this.frame(
      h("p", { class: "answer", role: "status" }, `${t.recommended}: `,
        h("strong", { class: "rec-size" }, rec.recommended_size), " · ", t.confidence(pct(rec.confidence))),
      runs ? h("p", { class: "runs" }, runs) : null,
      gap ? h("p", { class: "gap" }, t.chartGap(t.measure[gap.measurement] || gap.measurement.replace(/_/g, " "),
        gap.chart_cm.toFixed(0), gap.body_cm.toFixed(0))) : null,
      reasons.length ? h("ul", { class: "reasons" }, ...reasons.map((r) => h("li", {}, r))) : null,
      h("p", { class: "legend", "aria-hidden": "true" },
        h("span", { class: "key small" }), t.small, h("span", { class: "key fit" }), t.fits,
        h("span", { class: "key large" }), t.large),
      bars,
      h("button", { type: "button", class: "link", onclick: () => this.showForm() }, t.again),
    );
  }
}

const mounted = new WeakMap();

function mount(el) {
  const previous = mounted.get(el);
  if (previous && previous.item === el.dataset.fitroomItem) return;
  const widget = new Widget(el);
  mounted.set(el, widget);
  widget.start().catch(() => widget.collapse());
}

function update() {
  for (const el of document.querySelectorAll("[data-fitroom-item]")) {
    try { mount(el); } catch { el.hidden = true; }
  }
}

window.fitroom = Object.assign(window.fitroom || {}, { update });
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", update);
else update();
