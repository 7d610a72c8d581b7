"""Anthropometry against geometry of known size, its gradients against finite differences, and the
landmarks behind lengths and widths on shapes of known geometry and on the Anny templates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from avatar.body import anthropometry as A
from avatar.body import loops
from avatar.body.loops import (
    ACROMION_LATERAL_M,
    ACROMION_RADIUS_M,
    acromion_vertex,
    loop_around,
    radial_styloid_vertex,
)
from avatar.body.models import create
from avatar.body.skeleton import NUM_JOINTS, SMPLX_JOINT_NAMES


def _mesh(mesh: trimesh.Trimesh) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(mesh.vertices, dtype=torch.float64)[None], torch.tensor(mesh.faces, dtype=torch.int64)


def _mid_loop(mesh: trimesh.Trimesh, height: float) -> A.BaryLoop:
    return loop_around(
        np.asarray(mesh.vertices), np.asarray(mesh.faces), np.array([0.0, height, 0.0]),
        np.array([0.0, 1.0, 0.0]), np.array([0.0, height, 0.0]),
    )  # fmt: skip


@pytest.mark.parametrize("sections", [8, 64])
def test_cylinder_girth_and_volume(sections: int) -> None:
    radius, height = 0.15, 0.6
    cyl = trimesh.creation.cylinder(radius=radius, height=height, sections=sections)
    cyl.apply_transform(trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0]))  # axis along Y
    vertices, faces = _mesh(cyl)
    loop = _mid_loop(cyl, 0.05)
    polygon = 2 * sections * radius * math.sin(math.pi / sections)
    assert A.girth(vertices, loop).item() == pytest.approx(polygon, rel=1e-9)
    area = 0.5 * sections * radius**2 * math.sin(2 * math.pi / sections)
    assert A.volume(vertices, faces).item() == pytest.approx(area * height, rel=1e-9)
    assert A.stature(vertices).item() == pytest.approx(height, rel=1e-12)
    if sections == 64:
        assert A.girth(vertices, loop).item() == pytest.approx(2 * math.pi * radius, rel=2e-3)


def test_box_girth_mass_and_landmarks() -> None:
    extents = (0.3, 1.7, 0.2)
    box = trimesh.creation.box(extents=extents)
    vertices, faces = _mesh(box)
    loop = _mid_loop(box, 0.1)
    assert A.girth(vertices, loop).item() == pytest.approx(2 * (0.3 + 0.2), rel=1e-9)
    assert A.mass(vertices, faces).item() == pytest.approx(0.3 * 1.7 * 0.2 * A.DENSITY_KG_M3, rel=1e-9)
    top = int(np.argmax(box.vertices[:, 1] + box.vertices[:, 0]))
    point = A.BaryLoop(
        torch.tensor([[top, top, top]]), torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), False
    )
    assert A.height_above_sole(vertices, point).item() == pytest.approx(1.7)


def test_tape_bridges_concavities() -> None:
    """A star-shaped cross-section measures as its convex hull, like a tape measure."""
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    radii = np.where(np.arange(16) % 2 == 0, 0.2, 0.1)
    ring = np.stack([radii * np.cos(angles), np.zeros(16), radii * np.sin(angles)], 1)
    vertices = torch.tensor(ring)[None]
    loop = A.BaryLoop(torch.arange(16)[:, None].repeat(1, 3), torch.tensor([[1.0, 0.0, 0.0]] * 16), True)
    outer = ring[::2]
    hull = np.linalg.norm(outer - np.roll(outer, -1, 0), axis=1).sum()
    assert A.girth(vertices, loop).item() == pytest.approx(hull, rel=1e-9)
    assert A.polyline_length(vertices, closed=True).item() > hull


def test_gradients_match_finite_differences() -> None:
    cyl = trimesh.creation.cylinder(radius=0.1, height=0.5, sections=8)
    cyl.apply_transform(trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0]))
    vertices, faces = _mesh(cyl)
    loop = _mid_loop(cyl, 0.0)
    # Jitter so no two vertices tie for the highest or lowest (max is not differentiable at ties).
    jitter = torch.from_numpy(np.random.default_rng(0).normal(0.0, 1e-3, vertices.shape))
    v = (vertices + jitter).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: A.girth(x, loop), (v,))
    assert torch.autograd.gradcheck(lambda x: A.volume(x, faces), (v,))
    assert torch.autograd.gradcheck(lambda x: A.stature(x), (v,))


def test_degenerate_loop_is_refused() -> None:
    """Points on one line have no 2-D hull: a clear error, not a meaningless girth."""
    line = torch.tensor([[float(i), 0.0, 0.0] for i in range(6)], dtype=torch.float64)[None]
    loop = A.BaryLoop(torch.arange(6)[:, None].repeat(1, 3), torch.tensor([[1.0, 0.0, 0.0]] * 6), True)
    with pytest.raises(ValueError, match="loop"):
        A.girth(line, loop)


def test_acromion_is_the_top_of_a_shoulder_over_the_lateral_half_of_the_joint() -> None:
    """A sphere around the shoulder joint: the acromion is the highest point over the vertical line
    1.5 cm lateral of the joint, i.e. at radius r, height sqrt(r² - 1.5²) above the centre."""
    ball = trimesh.creation.icosphere(subdivisions=5, radius=0.05)
    joint = np.array([0.18, 1.40, 0.0])
    vertices = np.asarray(ball.vertices) + joint
    for sign in (1.0, -1.0):
        mirrored = vertices * np.array([sign, 1.0, 1.0])
        point = mirrored[acromion_vertex(mirrored, joint * np.array([sign, 1.0, 1.0]), sign)]
        lateral = sign * (point[0] - sign * joint[0])
        assert lateral == pytest.approx(ACROMION_LATERAL_M, abs=ACROMION_RADIUS_M)
        assert point[1] - joint[1] == pytest.approx(math.sqrt(0.05**2 - lateral**2), abs=2e-3)
        assert abs(point[2]) < ACROMION_RADIUS_M


def test_radial_styloid_is_the_thumb_side_of_the_wrist() -> None:
    """A forearm cylinder along -Y with the thumb towards +Z: the styloid is on the +Z surface, level
    with the wrist joint."""
    angle, height = np.meshgrid(np.linspace(0, 2 * math.pi, 48, endpoint=False), np.arange(0.85, 1.15, 0.005))
    ring = np.stack([0.025 * np.cos(angle), height, 0.025 * np.sin(angle)], -1).reshape(-1, 3)
    vertices = ring + np.array([0.3, 0.0, 0.0])
    joints = np.zeros((NUM_JOINTS, 3))
    joints[SMPLX_JOINT_NAMES.index("left_elbow")] = [0.3, 1.12, 0.0]
    joints[SMPLX_JOINT_NAMES.index("left_wrist")] = [0.3, 0.90, 0.0]
    joints[SMPLX_JOINT_NAMES.index("left_thumb1")] = [0.3, 0.87, 0.04]
    point = vertices[radial_styloid_vertex(vertices, joints)]
    assert point[2] == pytest.approx(0.025, abs=1e-3) and abs(point[0] - 0.3) < 5e-3
    assert abs(point[1] - 0.90) < 0.01


def test_template_landmarks_sit_where_their_anatomy_is() -> None:
    body = create("anny")
    for sex in ("female", "male"):
        shape = body.default_shape(sex)[None]
        with torch.no_grad():
            vertices = body.measurement_vertices(shape)[0].double()
            joints = body.measurement_joints(shape)[0].double()
        marks = {n: A.landmark(vertices[None], loop)[0] for n, loop in loops.template_loops(body, sex).items()
                 if not loop.closed}
        for side, sign in (("left", 1.0), ("right", -1.0)):
            joint = joints[SMPLX_JOINT_NAMES.index(f"{side}_shoulder")]
            acromion = marks[f"acromion_{side}"]
            assert 0.02 < float(acromion[1] - joint[1]) < 0.10  # on the top of the shoulder
            assert 0.0 < sign * float(acromion[0] - joint[0]) < 0.04  # over the joint's lateral half
        wrist = joints[SMPLX_JOINT_NAMES.index("left_wrist")]
        assert float(torch.linalg.norm(marks["wrist_left"] - wrist)) < 0.04
        crotch = marks["crotch"]
        assert abs(float(crotch[0])) < 0.012 and float(crotch[1]) < float(joints[0, 1])  # midline, low
        widths = A.measure(vertices[None], body.faces, loops.template_loops(body, sex),
                           ("shoulder_width_cm", "arm_length_cm", "inside_leg_cm", "stature_cm"))
        assert 0.2 < float(widths["shoulder_width_cm"][0] / widths["stature_cm"][0]) < 0.26
        assert 0.31 < float(widths["arm_length_cm"][0] / widths["stature_cm"][0]) < 0.36
        assert 0.44 < float(widths["inside_leg_cm"][0] / widths["stature_cm"][0]) < 0.50
