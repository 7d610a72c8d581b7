"""Where each of MediaPipe's 478 face-mesh landmarks lies on Anny's head: a triangle and barycentric weights.

Anny's table is fixed and versioned (``avatar/face/data/landmarks_anny_v2.json``), built once by
``python -m bench.likeness_map``; an SMPL-X file's is built on first use and cached
(:mod:`avatar.face.smplx_landmarks`). Both come from :mod:`avatar.face.landmark_map`: the neutral head
is rendered from a few yaw angles, MediaPipe runs on each render, every landmark is lifted onto the
rendered surface through the depth buffer, the views are averaged (weighted by how squarely each sees
the point) and the average is snapped onto the mesh. Barycentric points follow the surface wherever
the shape or the pose moves it, so one table serves every body shape and the fitted head.

The landmark split is fixed too: every fifth landmark (index % 5 == 0) is held out of every fit and
only scored, so a fit that merely pins the points it uses cannot look good.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.face.analysis import FACE_OVAL, N_LANDMARKS

CORRESPONDENCE_PATH = Path(__file__).resolve().parent / "data" / "landmarks_anny_v2.json"
HELD_OUT_EVERY = 5
# The lips' inner edge (MediaPipe FACEMESH_LIPS, inner ring): it opens with the mouth.
INNER_LIPS = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 95, 88, 178, 87, 14, 317, 402, 318, 324]


@dataclass(frozen=True)
class Correspondence:
    """Landmark ``i`` sits at ``sum_k bary[i, k] * vertices[faces[triangles[i], k]]``."""

    triangles: NDArray[np.int64]  # (478,)
    bary: NDArray[np.float64]  # (478, 3)

    def points(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float64]:
        """(478, 3) landmark positions on ``vertices`` (V, 3); or (478, 3, C) for fields (V, 3, C)."""
        corners = np.asarray(vertices, dtype=np.float64)[faces[self.triangles]]  # (478, 3, 3[, C])
        weights = self.bary.reshape(self.bary.shape + (1,) * (corners.ndim - 2))
        return np.asarray((corners * weights).sum(axis=1))


def held_out() -> NDArray[np.bool_]:
    """(478,) True for the landmarks no fit may use (index % 5 == 0): they are only scored."""
    return np.arange(N_LANDMARKS) % HELD_OUT_EVERY == 0


def jaw_contour() -> NDArray[np.bool_]:
    """(478,) True on the face outline: MediaPipe places it on the silhouette, which moves with the
    head's turn, so the pose step leaves it out."""
    mask = np.zeros(N_LANDMARKS, dtype=bool)
    mask[FACE_OVAL] = True
    return mask


def inner_lips() -> NDArray[np.bool_]:
    """(478,) True on the lips' inner edge, which moves apart when the mouth opens."""
    mask = np.zeros(N_LANDMARKS, dtype=bool)
    mask[INNER_LIPS] = True
    return mask


@lru_cache(maxsize=2)
def load_correspondence(path: Path = CORRESPONDENCE_PATH) -> Correspondence:
    """Read the versioned table; raises ``FileNotFoundError`` or ``ValueError`` naming what is wrong."""
    if not path.is_file():
        raise FileNotFoundError(f"landmark correspondence not found at {path}; build it with "
                                "python -m bench.likeness_map")
    data = json.loads(path.read_text())
    rows = np.asarray(data["landmarks"], dtype=np.float64)
    if rows.shape != (N_LANDMARKS, 4):
        raise ValueError(f"{path}: landmarks must be {N_LANDMARKS} rows of [triangle, b0, b1, b2], "
                         f"got shape {rows.shape}")
    bary = rows[:, 1:]
    if (bary < -1e-6).any() or not np.allclose(bary.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(f"{path}: barycentric weights must be >= 0 and sum to 1")
    return Correspondence(triangles=rows[:, 0].astype(np.int64), bary=bary)


def save_correspondence(corr: Correspondence, path: Path, about: dict[str, Any]) -> None:
    """Write ``corr`` in the format :func:`load_correspondence` reads, with the ``about`` fields
    (version, model, method…) first. Atomic: written to a temporary file in the same folder and
    renamed, so a concurrent reader sees the old table or the new one, never half of one."""
    rows = [[int(t), *(round(float(b), 6) for b in w)]
            for t, w in zip(corr.triangles, corr.bary, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps({**about, "landmarks": rows}) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
