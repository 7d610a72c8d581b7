"""Anthropometry against geometry of known size, and its gradients against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from avatar.body import anthropometry as A
from avatar.body.loops import loop_around


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
