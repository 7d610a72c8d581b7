"""One skeleton for every backend: the SMPL-X 55-joint convention, and its bridge to Anny's rig.

Downstream code (rendering, keypoints, garment masks) sees SMPL-X joint names, parents and an
axis-angle pose whatever body model made the mesh. The SMPL-X frame is metres, Y up, +Z forward,
X towards the body's left; its zero pose is a T-pose with flat hands.

Anny's rig has 104 bones in a Z-up, -Y-forward frame and rests in an A-pose with bent elbows. The
bridge below:

* maps each SMPL-X joint to one Anny bone (:data:`ANNY_BONES`; the toes share the ``*_foot`` joint),
  leaving intermediate Anny bones (``pelvis.*``, ``spine03``, ``shoulder01.*``, twist bones,
  metacarpals, ``neck02/03``) unposed so they follow their parent;
* corrects the arm chain by a constant rotation so that the SMPL-X zero pose gives a real T-pose on
  Anny too (the fingers keep Anny's relaxed rest curl);
* expresses the rotations in Anny's ``local-ref`` pose parameterization, where each bone's delta is
  a world-aligned rotation relative to its reference orientation, exactly the SMPL-X composition
  rule ``B_child = B_parent · R_child`` once the axes are swapped.

The jaw has no Anny bone in the default rig: its rotation is ignored and its position is the head's.
"""

from __future__ import annotations

import math

import torch

from avatar.types import PoseName

SMPLX_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2", "right_middle3",
    "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1", "right_ring2", "right_ring3",
    "right_thumb1", "right_thumb2", "right_thumb3",
)  # fmt: skip
NUM_JOINTS = len(SMPLX_JOINT_NAMES)  # 55

SMPLX_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)  # fmt: skip

_FINGERS = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}


def _anny_bones() -> dict[str, tuple[str, ...]]:
    """SMPL-X joint → the Anny bones its rotation drives (the first also gives its position)."""
    table: dict[str, tuple[str, ...]] = {
        "pelvis": ("root",),
        "spine1": ("spine04",),
        "spine2": ("spine02",),
        "spine3": ("spine01",),
        "neck": ("neck01",),
        "head": ("head",),
        "jaw": (),
    }
    for side, s in (("left", "L"), ("right", "R")):
        table |= {
            f"{side}_hip": (f"upperleg01.{s}",),
            f"{side}_knee": (f"lowerleg01.{s}",),
            f"{side}_ankle": (f"foot.{s}",),
            f"{side}_foot": tuple(f"toe{t}-1.{s}" for t in (3, 1, 2, 4, 5)),
            f"{side}_collar": (f"clavicle.{s}",),
            f"{side}_shoulder": (f"upperarm01.{s}",),
            f"{side}_elbow": (f"lowerarm01.{s}",),
            f"{side}_wrist": (f"wrist.{s}",),
            f"{side}_eye_smplhf": (f"eye.{s}",),
        }
        for finger, n in _FINGERS.items():
            for k in (1, 2, 3):
                table[f"{side}_{finger}{k}"] = (f"finger{n}-{k}.{s}",)
    return table


ANNY_BONES: dict[str, tuple[str, ...]] = _anny_bones()
# Where a joint has no Anny bone, the bone that stands in for its position.
ANNY_POSITION_FALLBACK: dict[str, str] = {"jaw": "head"}

# Rotation taking SMPL-X axes to Anny axes: x stays, SMPL-X up (+Y) is Anny +Z, forward (+Z) is -Y.
SMPLX_TO_ANNY = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)

# Joints whose Anny reference bone direction is rotated onto the T-pose direction (±X).
_T_POSE_AXES: dict[str, tuple[float, float, float]] = {
    **{f"left_{j}": (1.0, 0.0, 0.0) for j in ("shoulder", "elbow", "wrist")},
    **{f"right_{j}": (-1.0, 0.0, 0.0) for j in ("shoulder", "elbow", "wrist")},
}


def batch_rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle → (..., 3, 3) rotation matrices, differentiable through zero angles."""
    angle = torch.sqrt((axis_angle * axis_angle).sum(-1, keepdim=True) + 1e-16)
    axis = axis_angle / angle
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*axis.shape[:-1], 3, 3)
    sin, cos = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + sin * skew + (1.0 - cos) * (skew @ skew)


def world_rotations(local: torch.Tensor) -> torch.Tensor:
    """(B, 55, 3, 3) SMPL-X local rotations → each joint's world rotation (the chain product)."""
    out: list[torch.Tensor] = []
    for j, parent in enumerate(SMPLX_PARENTS):
        out.append(local[:, j] if parent < 0 else out[parent] @ local[:, j])
    return torch.stack(out, 1)


def _rotation_between(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """The smallest rotation (3, 3) taking unit direction ``src`` onto ``dst``."""
    src, dst = src / src.norm(), dst / dst.norm()
    axis = torch.linalg.cross(src, dst)
    sin, cos = axis.norm(), torch.dot(src, dst)
    if sin < 1e-9:
        return torch.eye(3, dtype=src.dtype)
    return batch_rodrigues(axis / sin * torch.atan2(sin, cos))


def named_pose(name: PoseName, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A named SMPL-X pose (55, 3) in axis-angle radians.

    ``t_pose`` is the zero pose; ``a_pose`` lowers the arms to 35° from the torso with the feet
    slightly apart (the try-on bundle's pose, and the pose SMPL-X bodies are measured in);
    ``neutral`` relaxes the arms to 15° from the torso with slightly bent elbows.
    """
    pose = torch.zeros(NUM_JOINTS, 3, dtype=dtype)
    index = SMPLX_JOINT_NAMES.index
    if name == "t_pose":
        return pose
    if name == "a_pose":
        arm, hip, elbow = math.radians(90 - 35), math.radians(3), 0.0
    elif name == "neutral":
        arm, hip, elbow = math.radians(90 - 15), math.radians(2), math.radians(12)
    else:
        raise ValueError(f"pose: unknown name {name!r}; expected one of a_pose, t_pose, neutral")
    # Arms come down by turning about the forward axis (+Z); left is +X, so left turns negatively.
    pose[index("left_shoulder"), 2] = -arm
    pose[index("right_shoulder"), 2] = arm
    pose[index("left_hip"), 2] = hip
    pose[index("right_hip"), 2] = -hip
    # Elbows flex forward (+Z): a turn about the upper arm's own Y axis, negative on the left.
    pose[index("left_elbow"), 1] = -elbow
    pose[index("right_elbow"), 1] = elbow
    return pose


class AnnyRigBridge(torch.nn.Module):
    """Converts SMPL-X poses to Anny ``local-ref`` pose parameters and reads SMPL-X joints back.

    Built once per Anny model from its bone labels, parents, reference orientations and skinning
    weights; every method is batched and differentiable.
    """

    driven_bones: torch.Tensor
    driven_joints: torch.Tensor
    driven_ancestors: torch.Tensor
    position_bones: torch.Tensor
    rest_offsets: torch.Tensor
    part_labels: torch.Tensor

    def __init__(
        self,
        bone_labels: list[str],
        bone_parents: list[int],
        reference_orientations: torch.Tensor,
        vertex_bone_indices: torch.Tensor,
        vertex_bone_weights: torch.Tensor,
    ) -> None:
        super().__init__()
        missing = [b for bones in ANNY_BONES.values() for b in bones if b not in bone_labels]
        if missing:
            raise ValueError(f"Anny rig: bones {missing} are missing; the bridge needs the 'anny' rig")
        self.bone_count = len(bone_labels)
        joint_of_bone = [-1] * self.bone_count
        for j, name in enumerate(SMPLX_JOINT_NAMES):
            for bone in ANNY_BONES[name]:
                joint_of_bone[bone_labels.index(bone)] = j
        # Driven bones, and for each the SMPL-X joint of its nearest driven Anny ancestor.
        driven, ancestors = [], []
        for b, j in enumerate(joint_of_bone):
            if j < 0 or b == 0:
                continue
            a = bone_parents[b]
            while joint_of_bone[a] < 0:
                a = bone_parents[a]
            driven.append(b)
            ancestors.append(joint_of_bone[a])
        self.register_buffer("driven_bones", torch.tensor(driven))
        self.register_buffer("driven_joints", torch.tensor([joint_of_bone[b] for b in driven]))
        self.register_buffer("driven_ancestors", torch.tensor(ancestors))

        position = [
            bone_labels.index(ANNY_BONES[n][0] if ANNY_BONES[n] else ANNY_POSITION_FALLBACK[n])
            for n in SMPLX_JOINT_NAMES
        ]
        self.register_buffer("position_bones", torch.tensor(position))
        self.register_buffer("rest_offsets", self._rest_offsets(bone_labels, reference_orientations))

        # Each bone's SMPL-X part: its own joint, else its nearest driven ancestor's.
        part_of_bone = []
        for b in range(self.bone_count):
            a = b
            while joint_of_bone[a] < 0 and a != 0:
                a = bone_parents[a]
            part_of_bone.append(max(joint_of_bone[a], 0))
        dominant = vertex_bone_indices.gather(1, vertex_bone_weights.argmax(1, keepdim=True))[:, 0]
        self.register_buffer("part_labels", torch.tensor(part_of_bone)[dominant.long()])

    @staticmethod
    def _rest_offsets(bone_labels: list[str], reference: torch.Tensor) -> torch.Tensor:
        """(55, 3, 3) world rotations taking Anny's reference A-pose to the SMPL-X T-pose, per joint."""
        offsets = torch.eye(3, dtype=torch.float64).repeat(NUM_JOINTS, 1, 1)
        for j, name in enumerate(SMPLX_JOINT_NAMES):
            parent = SMPLX_PARENTS[j]
            if name in _T_POSE_AXES:
                bone_axis = reference[bone_labels.index(ANNY_BONES[name][0]), :, 1].double()
                target = torch.tensor(_T_POSE_AXES[name], dtype=torch.float64)
                offsets[j] = _rotation_between(bone_axis, target)
            elif parent >= 0:
                offsets[j] = offsets[parent]  # fingers, eyes … move rigidly with their parent
        return offsets

    def to_anny(self, pose: torch.Tensor, transl: torch.Tensor | None = None) -> torch.Tensor:
        """SMPL-X pose (B, 55, 3) axis-angle [+ (B, 3) translation, m] → Anny deltas (B, 104, 4, 4).

        The result is for Anny's ``local-ref`` pose parameterization; bones without a SMPL-X joint
        get identity deltas so that they follow their parent.
        """
        if pose.dim() != 3 or pose.shape[1:] != (NUM_JOINTS, 3):
            raise ValueError(f"pose: expected shape (B, {NUM_JOINTS}, 3), got {tuple(pose.shape)}")
        batch, dtype = pose.shape[0], pose.dtype
        axes = SMPLX_TO_ANNY.to(dtype=dtype, device=pose.device)
        world = world_rotations(batch_rodrigues(pose))
        anny_world = axes @ world @ axes.T @ self.rest_offsets.to(dtype)  # (B, 55, 3, 3)
        deltas = torch.eye(4, dtype=dtype, device=pose.device).repeat(batch, self.bone_count, 1, 1)
        rotations = anny_world[:, self.driven_ancestors].transpose(-1, -2) @ anny_world[:, self.driven_joints]
        deltas[:, self.driven_bones, :3, :3] = rotations
        deltas[:, 0, :3, :3] = anny_world[:, 0]
        if transl is not None:
            deltas[:, 0, :3, 3] = transl.to(dtype) @ axes.T
        return deltas

    def joints(self, bone_poses: torch.Tensor) -> torch.Tensor:
        """Anny posed bone poses (B, 104, 4, 4) → SMPL-X joint positions (B, 55, 3) in the SMPL-X frame."""
        heads = bone_poses[:, self.position_bones, :3, 3]
        return anny_to_smplx_frame(heads)


def anny_to_smplx_frame(points: torch.Tensor) -> torch.Tensor:
    """(…, 3) points in Anny's Z-up frame → the SMPL-X / glTF Y-up frame."""
    return points @ SMPLX_TO_ANNY.to(dtype=points.dtype, device=points.device)


def bridge_for(model: torch.nn.Module) -> AnnyRigBridge:
    """The bridge of an ``anny.Anny`` model (reads its labels, parents, orientations and weights)."""
    return AnnyRigBridge(
        bone_labels=list(model.bone_labels),  # type: ignore[arg-type]
        bone_parents=[int(p) for p in model.bone_parents],  # type: ignore[union-attr]
        reference_orientations=model.reference_bone_orientations,  # type: ignore[arg-type]
        vertex_bone_indices=model.vertex_bone_indices,  # type: ignore[arg-type]
        vertex_bone_weights=model.vertex_bone_weights,  # type: ignore[arg-type]
    )
