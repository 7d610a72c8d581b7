// The try-on bundle preview: the person image with the garment masks tinted and the keypoints drawn.
import { h } from "./dom.js";
import { readStoredZip } from "./zip.js";

// COCO-18 limbs (OpenPose order): neck-shoulders-arms, neck-hips-legs, face.
const LIMBS = [[1, 2], [2, 3], [3, 4], [1, 5], [5, 6], [6, 7], [1, 8], [8, 9], [9, 10], [1, 11], [11, 12],
  [12, 13], [1, 0], [0, 14], [14, 16], [0, 15], [15, 17]];
const MASKS = [["mask_upper.png", [234, 88, 12]], ["mask_lower.png", [29, 78, 216]]];

async function bitmap(bytes) {
  return createImageBitmap(new Blob([bytes], { type: "image/png" }));
}

function figure(canvas, caption) {
  return h("figure", {}, canvas, h("figcaption", {}, caption));
}

/** Figures for the bundle in ``buffer``: person + keypoints, person + masks. */
export async function previewFigures(buffer) {
  const files = readStoredZip(buffer);
  const person = await bitmap(files["person.png"]);
  const keypoints = JSON.parse(new TextDecoder().decode(files["keypoints.json"])).pose_keypoints_2d;

  const pose = h("canvas", { width: person.width, height: person.height, class: "pose" });
  const g = pose.getContext("2d");
  g.drawImage(person, 0, 0);
  g.lineWidth = Math.max(2, person.width / 200);
  g.strokeStyle = "#0b5cad";
  const seen = (p) => p && (p[0] !== 0 || p[1] !== 0);
  for (const [a, b] of LIMBS) {
    if (!seen(keypoints[a]) || !seen(keypoints[b])) continue;
    g.beginPath();
    g.moveTo(...keypoints[a]);
    g.lineTo(...keypoints[b]);
    g.stroke();
  }
  g.fillStyle = "#f59e0b";
  for (const p of keypoints.filter(seen)) {
    g.beginPath();
    g.arc(p[0], p[1], g.lineWidth * 1.6, 0, 2 * Math.PI);
    g.fill();
  }

  const masked = h("canvas", { width: person.width, height: person.height, class: "masks" });
  const m = masked.getContext("2d");
  m.drawImage(person, 0, 0);
  const base = m.getImageData(0, 0, person.width, person.height);
  for (const [name, rgb] of MASKS) {
    if (!files[name]) continue;
    const layer = h("canvas", { width: person.width, height: person.height }).getContext("2d");
    layer.drawImage(await bitmap(files[name]), 0, 0);
    const mask = layer.getImageData(0, 0, person.width, person.height).data;
    for (let i = 0; i < mask.length; i += 4) {
      if (mask[i] > 127) for (let c = 0; c < 3; c += 1) base.data[i + c] = (base.data[i + c] + rgb[c]) / 2;
    }
  }
  m.putImageData(base, 0, 0);
  return [figure(pose, "Avatar with body keypoints"), figure(masked, "Garment masks: upper (orange), lower (blue)")];
}
