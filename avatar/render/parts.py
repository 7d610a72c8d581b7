"""Body parts for rendering: garment regions and DensePose's 24 parts, from per-vertex skinning labels.

Every vertex carries the SMPL-X joint that dominates its skinning (``BodyOutput.part_labels``), which
is the same for both backends. A face takes the label most of its corners share; the renderer reads
it per pixel (through ``gl_PrimitiveID``) and derives the rest there from the tables below:

* **garment regions** (bit flags): ``upper`` = torso and arms (spine, collars, upper and lower arms,
  and the pelvis above the hip joints) up to the base of the neck, ``lower`` = pelvis,
  thighs and shins, ``dress`` = both.
  Hands (wrist and fingers), the head (face, jaw, eyes), the hair and the feet (ankle, foot, toes)
  are ``protected``: no mask ever covers them. The neck is in no region. Hair triangles carry the
  label :data:`HAIR_LABEL` and the ``hair`` flag; DensePose counts them as head.
* **DensePose parts** (1–24), split into their two halves by which side of the segment's axis the
  surface point lies on (front/back, or the body's right/left for the head):

  ====================  ======================  ==========================================
  SMPL-X joint(s)       DensePose part          halves (index: side)
  ====================  ======================  ==========================================
  pelvis, spine1-3,     torso                   1: back, 2: front
  collars, neck
  right_hip             upper leg right         7: back, 9: front
  left_hip              upper leg left          8: back, 10: front
  right_knee            lower leg right         11: back, 13: front
  left_knee             lower leg left          12: back, 14: front
  left_shoulder         upper arm left          15: inner (front), 17: outer (back)
  right_shoulder        upper arm right         16: inner (front), 18: outer (back)
  left_elbow            lower arm left          19: inner (front), 21: outer (back)
  right_elbow           lower arm right         20: inner (front), 22: outer (back)
  head, jaw, eyes       head                    23: right side, 24: left side
  right_wrist + fingers right hand              3
  left_wrist + fingers  left hand               4
  left_ankle, left_foot left foot               5
  right_ankle, r_foot   right foot              6
  ====================  ======================  ==========================================

  "Left" and "right" are the body's own (DensePose's convention): the body's right appears on the
  image's left in a frontal view. The per-part UV is our own chart, not DensePose's SMPL atlas:
  V runs along the segment (0 at its proximal joint, 1 at its far end) and U around it (0 to 1 across
  each half for split parts, once round for hands and feet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# SMPL-X joint indices (the 55-joint order of avatar.body.skeleton).
PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3 = range(10)
L_FOOT, R_FOOT, NECK, L_COLLAR, R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW = range(10, 20)
L_WRIST, R_WRIST, JAW, L_EYE, R_EYE = range(20, 25)
L_HAND_JOINTS = tuple(range(25, 40))
R_HAND_JOINTS = tuple(range(40, 55))
L_MIDDLE1, R_MIDDLE1 = 28, 43
N_JOINTS = 55
HAIR_LABEL = N_JOINTS  # the label of hair triangles: one past the joints, so the tables below grow by one
N_LABELS = N_JOINTS + 1

# Garment-region bit flags, stored per face and rendered into the part buffer.
UPPER, LOWER, PROTECTED, HAIR = 1, 2, 4, 8

DENSEPOSE_PART_NAMES: dict[int, str] = {
    1: "torso back", 2: "torso front", 3: "right hand", 4: "left hand", 5: "left foot", 6: "right foot",
    7: "upper leg right back", 8: "upper leg left back", 9: "upper leg right front",
    10: "upper leg left front", 11: "lower leg right back", 12: "lower leg left back",
    13: "lower leg right front", 14: "lower leg left front", 15: "upper arm left inner",
    16: "upper arm right inner", 17: "upper arm left outer", 18: "upper arm right outer",
    19: "lower arm left inner", 20: "lower arm right inner", 21: "lower arm left outer",
    22: "lower arm right outer", 23: "head right", 24: "head left",
}


@dataclass(frozen=True)
class Segment:
    """One body segment: the joints whose vertices it owns, its axis, and its DensePose index(es).

    ``parts`` is (positive side, negative side) along ``split`` ("forward" = +Z, "left" = +X), or a
    single index for the segments DensePose does not split.
    """

    name: str
    joints: tuple[int, ...]
    axis: tuple[int, int]
    parts: tuple[int, ...]
    split: str | None


SEGMENTS: tuple[Segment, ...] = (
    Segment("torso", (PELVIS, SPINE1, SPINE2, SPINE3, L_COLLAR, R_COLLAR, NECK), (PELVIS, NECK), (2, 1),
            "forward"),
    Segment("upper_leg_right", (R_HIP,), (R_HIP, R_KNEE), (9, 7), "forward"),
    Segment("upper_leg_left", (L_HIP,), (L_HIP, L_KNEE), (10, 8), "forward"),
    Segment("lower_leg_right", (R_KNEE,), (R_KNEE, R_ANKLE), (13, 11), "forward"),
    Segment("lower_leg_left", (L_KNEE,), (L_KNEE, L_ANKLE), (14, 12), "forward"),
    Segment("upper_arm_left", (L_SHOULDER,), (L_SHOULDER, L_ELBOW), (15, 17), "forward"),
    Segment("upper_arm_right", (R_SHOULDER,), (R_SHOULDER, R_ELBOW), (16, 18), "forward"),
    Segment("lower_arm_left", (L_ELBOW,), (L_ELBOW, L_WRIST), (19, 21), "forward"),
    Segment("lower_arm_right", (R_ELBOW,), (R_ELBOW, R_WRIST), (20, 22), "forward"),
    Segment("head", (HEAD, JAW, L_EYE, R_EYE), (NECK, HEAD), (24, 23), "left"),
    Segment("right_hand", (R_WRIST, *R_HAND_JOINTS), (R_WRIST, R_MIDDLE1), (3,), None),
    Segment("left_hand", (L_WRIST, *L_HAND_JOINTS), (L_WRIST, L_MIDDLE1), (4,), None),
    Segment("left_foot", (L_ANKLE, L_FOOT), (L_ANKLE, L_FOOT), (5,), None),
    Segment("right_foot", (R_ANKLE, R_FOOT), (R_ANKLE, R_FOOT), (6,), None),
)

SEGMENT_OF_JOINT = np.full(N_LABELS, -1, dtype=np.int64)
for _k, _seg in enumerate(SEGMENTS):
    SEGMENT_OF_JOINT[list(_seg.joints)] = _k
SEGMENT_OF_JOINT[HAIR_LABEL] = SEGMENT_OF_JOINT[HEAD]  # hair is part of DensePose's head
_UPPER_JOINTS = (SPINE1, SPINE2, SPINE3, L_COLLAR, R_COLLAR, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW)
_LOWER_JOINTS = (PELVIS, L_HIP, R_HIP, L_KNEE, R_KNEE)
_PROTECTED_JOINTS = (HEAD, JAW, L_EYE, R_EYE, L_ANKLE, R_ANKLE, L_FOOT, R_FOOT, L_WRIST, R_WRIST,
                     *L_HAND_JOINTS, *R_HAND_JOINTS)
# Garment flags of each joint's surface; the pelvis also joins UPPER above the hip joints (renderer).
GARMENT_OF_JOINT = np.zeros(N_LABELS, dtype=np.int64)
GARMENT_OF_JOINT[list(_UPPER_JOINTS)] |= UPPER
GARMENT_OF_JOINT[list(_LOWER_JOINTS)] |= LOWER
GARMENT_OF_JOINT[list(_PROTECTED_JOINTS)] = PROTECTED
GARMENT_OF_JOINT[HAIR_LABEL] = PROTECTED | HAIR  # no garment mask ever covers hair
_SPLIT_DIRECTIONS = {"forward": np.array([0.0, 0.0, 1.0]), "left": np.array([1.0, 0.0, 0.0])}


@dataclass(frozen=True)
class SegmentFrames:
    """Each segment's chart on the posed body, one row per entry of :data:`SEGMENTS` (metres).

    Attributes:
        start: (S, 3) the proximal joint.
        axis: (S, 3) unit direction along the segment (V grows along it).
        side: (S, 3) unit direction perpendicular to ``axis`` whose half gets ``parts[:, 0]``.
        across: (S, 3) ``axis x side``, the reference of the angle U is measured from.
        v_range: (S, 2) the lowest position along ``axis`` of the segment's vertices and the extent.
        parts: (S, 2) DensePose index on the ``side`` half and on the other half (equal if unsplit).
        split: (S,) 1 where the segment is split in two halves.
    """

    start: NDArray[np.float64]
    axis: NDArray[np.float64]
    side: NDArray[np.float64]
    across: NDArray[np.float64]
    v_range: NDArray[np.float64]
    parts: NDArray[np.int64]
    split: NDArray[np.int64]


def face_labels(vertex_labels: NDArray[np.integer], faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """(F,) the label at least two corners of each triangle share (the first corner's when all differ)."""
    corner = np.asarray(vertex_labels, dtype=np.int64)[np.asarray(faces)]
    a, b, c = corner[:, 0], corner[:, 1], corner[:, 2]
    return np.where((a == b) | (a == c), a, np.where(b == c, b, a))


def segment_frames(vertices: NDArray[np.floating], vertex_labels: NDArray[np.integer],
                   joints: NDArray[np.floating]) -> SegmentFrames:
    """The chart of every segment of a posed body.

    Args:
        vertices: (V, 3) posed vertices, metres, Y up, facing +Z.
        vertex_labels: (V,) SMPL-X joint index dominating each vertex.
        joints: (55, 3) posed SMPL-X joints.
    """
    verts = np.asarray(vertices, dtype=np.float64)
    jts = np.asarray(joints, dtype=np.float64)
    labels = np.asarray(vertex_labels, dtype=np.int64)
    if labels.shape != (len(verts),):
        raise ValueError(f"vertex_labels must have shape ({len(verts)},), got {labels.shape}")
    if jts.shape != (N_JOINTS, 3):
        raise ValueError(f"joints must have shape ({N_JOINTS}, 3), got {jts.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_JOINTS):
        raise ValueError(f"vertex_labels must be SMPL-X joint indices in [0, {N_JOINTS - 1}]")
    n = len(SEGMENTS)
    out = {k: np.zeros((n, 3)) for k in ("start", "axis", "side", "across")}
    v_range = np.tile([0.0, 1.0], (n, 1))
    vertex_segment = SEGMENT_OF_JOINT[labels]
    for k, seg in enumerate(SEGMENTS):
        start, end = jts[seg.axis[0]], jts[seg.axis[1]]
        axis = end - start
        length = float(np.linalg.norm(axis))
        axis = axis / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])
        side = _SPLIT_DIRECTIONS[seg.split or "forward"]
        side = side - (side @ axis) * axis
        side /= max(float(np.linalg.norm(side)), 1e-9)
        along = (verts[vertex_segment == k] - start) @ axis
        if len(along):
            v_range[k] = (float(along.min()), max(float(np.ptp(along)), 1e-6))
        out["start"][k], out["axis"][k], out["side"][k] = start, axis, side
        out["across"][k] = np.cross(axis, side)
    parts = np.array([(s.parts[0], s.parts[-1]) for s in SEGMENTS], dtype=np.int64)
    split = np.array([s.split is not None for s in SEGMENTS], dtype=np.int64)
    return SegmentFrames(out["start"], out["axis"], out["side"], out["across"], v_range, parts, split)
