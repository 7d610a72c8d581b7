// The avatar studio: body form with live validation by the API itself, avatar creation (with an optional
// face photo), the 3D viewer, the measurements table, the try-on bundle, the fit map, and deletion.
import { $, apiJson, h } from "./dom.js";
import { previewFigures } from "./bundle.js";
import { Viewer } from "./viewer.js";
import { FitMap } from "./fitmap.js";

const AVATAR_KEY = "fitroom.avatar_id"; // the size widget reads it too
const EXTRA = ["bust_girth_cm", "underbust_girth_cm", "waist_girth_cm", "hip_girth_cm", "inside_leg_cm",
  "shoulder_width_cm", "arm_length_cm", "neck_girth_cm", "thigh_girth_cm"];
const form = $("#body-form");
let avatar = null;
let viewer = null;

const imperial = () => form.querySelector("input[name=units]:checked").value === "imperial";
const numberOf = (id) => {
  const v = $(`#${id}`).value;
  return v === "" ? null : Number(v);
};

function pretty(name) {
  const base = name.replace(/_(cm|kg|years)$/, "").replace(/_/g, " ");
  return base.charAt(0).toUpperCase() + base.slice(1);
}

function unitOf(name) {
  if (name.endsWith("_kg")) return imperial() ? "lb" : "kg";
  if (name.endsWith("_years")) return "years";
  return imperial() ? "in" : "cm";
}

function buildExtraFields() {
  $("#extra-measurements").replaceChildren(...EXTRA.flatMap((name) => [
    h("label", { for: `m-${name}` }, `${pretty(name)} (${unitOf(name)})`),
    h("input", { type: "number", id: `m-${name}`, step: "0.5", "data-field": name, "aria-describedby": `err-${name}` }),
    h("p", { class: "error", id: `err-${name}` }),
  ]));
}

/** The AvatarCreate body, in the units shown (the API converts inches and pounds itself). */
function body() {
  const stature = imperial()
    ? (numberOf("stature-ft") == null ? null : numberOf("stature-ft") * 12 + (numberOf("stature-in") || 0))
    : numberOf("stature");
  const doc = {
    stature_cm: stature, body_mass_kg: numberOf("mass"), sex: $("#sex").value,
    length_unit: imperial() ? "in" : "cm", mass_unit: imperial() ? "lb" : "kg",
  };
  if (numberOf("age") != null) doc.age_years = numberOf("age");
  for (const input of form.querySelectorAll("[data-field]")) {
    if (input.value !== "") doc[input.dataset.field] = Number(input.value);
  }
  return doc;
}

/** Clear the messages; live validation keeps the photo's, which only a new photo or a submit clears. */
function clearErrors({ photo = true } = {}) {
  for (const p of form.querySelectorAll(".error")) if (photo || p.id !== "photo-error") p.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

/** Put an API error next to the field it names (or under the form). */
function showError(err, { photo = false } = {}) {
  const field = err.details?.field || err.details?.errors?.[0]?.field?.replace(/^body\./, "");
  const slot = photo ? $("#photo-error") : (field && $(`#err-${field}`)) || $("#form-error");
  slot.textContent = err.message;
  const input = photo ? $("#photo") : form.querySelector(`[aria-describedby="err-${field}"]`);
  input?.setAttribute("aria-invalid", "true");
}

let pending = 0;
async function validateLive() {
  const doc = body();
  if (doc.stature_cm == null || doc.body_mass_kg == null) return;
  const ticket = ++pending;
  try {
    await apiJson("/v1/avatars/validate", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(doc) });
    if (ticket === pending) { clearErrors({ photo: false }); $("#create").disabled = false; }
  } catch (err) {
    if (ticket !== pending || err.status !== 422) return;
    clearErrors({ photo: false });
    showError(err);
    $("#create").disabled = true;
  }
}

let timer = 0;
form.addEventListener("input", (e) => {
  if (e.target.id === "photo") { $("#photo-error").textContent = ""; return; }
  clearTimeout(timer);
  timer = setTimeout(validateLive, 250);
});

form.querySelectorAll("input[name=units]").forEach((r) => r.addEventListener("change", () => {
  form.querySelector(".metric-only").hidden = imperial();
  form.querySelector(".imperial-only").hidden = !imperial();
  form.querySelector(".mass-label").textContent = `Weight (${imperial() ? "lb" : "kg"})`;
  buildExtraFields();
performance.mark("fitroom:studio-ready");
  $("#mass").min = imperial() ? 66 : 30;
  $("#mass").max = imperial() ? 551 : 250;
}));

function progress(on) {
  const box = $("#progress");
  box.hidden = !on;
  $("#create").disabled = on;
  clearInterval(progress.timer);
  if (!on) return;
  const t0 = performance.now();
  const tick = () => { $("#progress-text").textContent = `Building your avatar… ${Math.round((performance.now() - t0) / 1000)} s`; };
  tick();
  progress.timer = setInterval(tick, 500);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearTimeout(timer);
  pending += 1; // a live check still in flight must not clear what this submit reports
  clearErrors();
  const doc = body();
  for (const [field, value] of [["stature_cm", doc.stature_cm], ["body_mass_kg", doc.body_mass_kg]]) {
    if (value == null) showError({ message: `${field}: is required`, details: { field } });
  }
  if (doc.stature_cm == null || doc.body_mass_kg == null) return;
  const photo = $("#photo").files[0];
  let init;
  if (photo) {
    const data = new FormData();
    data.append("photo", photo);
    data.append("body", JSON.stringify(doc));
    init = { method: "POST", body: data };
  } else {
    init = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(doc) };
  }
  progress(true);
  try {
    avatar = await apiJson("/v1/avatars", init);
  } catch (err) {
    progress(false);
    showError(err, { photo: Boolean(photo) && err.code !== "invalid_input" });
    return;
  }
  progress(false);
  try { localStorage.setItem(AVATAR_KEY, avatar.id); } catch { /* private mode: the widget asks instead */ }
  await showAvatar();
});

function measurementsTable() {
  const fmt = (v, name) => (v == null ? "–" : `${v.toFixed(1)} ${name.endsWith("_kg") ? "kg" : "cm"}`);
  const rows = Object.entries(avatar.measurements).map(([name, m]) => h("tr", { "data-name": name },
    h("th", { scope: "row" }, pretty(name)),
    h("td", { class: "num" }, fmt(m.target, name)),
    h("td", { class: "num" }, m.predicted ? `${fmt(m.predicted.mean, name)} (${m.predicted.lo.toFixed(1)}–${m.predicted.hi.toFixed(1)})` : "–"),
    h("td", { class: "num" }, fmt(m.achieved, name))));
  $("#measurements tbody").replaceChildren(...rows);
}

async function showAvatar() {
  for (const id of ["result", "measurements-card", "bundle-card", "delete-card"]) $(`#${id}`).hidden = false;
  $("#deleted").hidden = true;
  measurementsTable();
  try {
    viewer = viewer || new Viewer($("#viewer"));
    await viewer.show(avatar.links.mesh_glb);
    new FitMap(viewer, avatar).start();
  } catch (err) {
    $("#viewer").replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
    $("#viewer").dataset.error = err.message;
  }
  $("#result").scrollIntoView({ behavior: "smooth", block: "start" });
}

$("#reset-view").addEventListener("click", () => viewer?.resetView());

$("#bundle-make").addEventListener("click", async () => {
  const status = $("#bundle-status");
  status.textContent = "Rendering the bundle…";
  $("#bundle-make").disabled = true;
  try {
    const res = await fetch(`/v1/avatars/${avatar.id}/tryon-bundle`);
    if (!res.ok) throw new Error((await res.json()).error?.message || `HTTP ${res.status}`);
    const buffer = await res.arrayBuffer();
    $("#bundle-preview").replaceChildren(...(await previewFigures(buffer)));
    const link = $("#bundle-download");
    link.href = URL.createObjectURL(new Blob([buffer], { type: "application/zip" }));
    link.download = `tryon-bundle-${avatar.id}.zip`;
    link.hidden = false;
    status.textContent = `Bundle ready (${(buffer.byteLength / 1024 / 1024).toFixed(1)} MB).`;
  } catch (err) {
    status.textContent = `The bundle could not be made: ${err.message}`;
  } finally {
    $("#bundle-make").disabled = false;
  }
});

$("#delete").addEventListener("click", async () => {
  const id = avatar.id;
  try {
    const res = await fetch(`/v1/avatars/${id}`, { method: "DELETE" });
    if (res.status !== 204 && res.status !== 404) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    $("#form-error").textContent = `Deleting failed: ${err.message}`;
    return;
  }
  try { if (localStorage.getItem(AVATAR_KEY) === id) localStorage.removeItem(AVATAR_KEY); } catch { /* none kept */ }
  avatar = null;
  for (const sel of ["#result", "#measurements-card", "#bundle-card", "#delete-card"]) $(sel).hidden = true;
  $("#bundle-preview").replaceChildren();
  $("#bundle-download").hidden = true;
  $("#deleted").hidden = false;
  $("#deleted").textContent = "Your avatar and all its files have been deleted from this service.";
});

buildExtraFields();
performance.mark("fitroom:studio-ready");
