"""The dense landmark correspondence of an SMPL-X file, built on first use and cached.

SMPL-X files are licensed (they cannot ship) and differ by release and sex, so no table can be made in
advance. The first photo avatar on a file renders that file's neutral head and maps MediaPipe's 478
landmarks onto it with the same builder as Anny's shipped table (:mod:`avatar.face.landmark_map`),
snapped into SMPL-X's own head region (the vertices its head, jaw and eye joints carry). The table is
cached under the avatar cache folder, named by the SHA-256 of the npz's bytes: a changed or different
file gets its own table, an unchanged one is read back (a file read instead of five renders).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from avatar.body import skeleton
from avatar.face.correspondence import Correspondence, load_correspondence, save_correspondence
from avatar.face.landmark_map import METHOD, build_correspondence
from avatar.paths import avatar_cache_dir
from avatar.render.mesh import PosedBody

log = logging.getLogger(__name__)

MAP_VERSION = 1  # bump when the builder changes: older cached tables are then rebuilt
HEAD_JOINTS = ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")
HEAD_REGION = 0.5  # a triangle is on the head when each corner follows those joints at least this much


@dataclass(frozen=True)
class CachedMap:
    """A file's correspondence, where it is cached, and whether this call built it (False: read)."""

    correspondence: Correspondence
    path: Path
    built: bool


def head_weights(lbs_weights: NDArray[np.floating]) -> NDArray[np.float64]:
    """(V,) how much each vertex follows the head, jaw and eye joints: 1 on the head, fading over the
    neck with SMPL-X's own skinning weights."""
    joints = [skeleton.SMPLX_JOINT_NAMES.index(n) for n in HEAD_JOINTS]
    return np.clip(np.asarray(lbs_weights, dtype=np.float64)[:, joints].sum(axis=1), 0.0, 1.0)


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, hashed once per process for as long as its size and mtime hold
    (a 100 MB npz takes a few tenths of a second to hash)."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def cache_path(npz: Path) -> Path:
    """Where the table of the SMPL-X file ``npz`` is cached."""
    return avatar_cache_dir() / "smplx_landmarks" / f"v{MAP_VERSION}_{file_digest(npz)}.json"


def neutral_body(body: Any) -> PosedBody:
    """The loaded file's mean body (betas and expression 0) in the ``a_pose``, as the map is built on."""
    with torch.no_grad():
        out = body.forward(body.default_shape()[None], skeleton.named_pose("a_pose")[None])
    return PosedBody.from_output(out)


def head_region(body: Any) -> NDArray[np.bool_]:
    """(F,) SMPL-X's head triangles, by its own skinning weights (head, jaw and eyes)."""
    on_head = head_weights(body.model.lbs_weights.double().numpy()) >= HEAD_REGION
    return np.asarray(on_head[body.faces.numpy()].all(axis=1))


def smplx_correspondence(body: Any, npz: Path) -> CachedMap:
    """The correspondence of ``body`` (an ``SmplxBody``, loaded from the file ``npz``): read from the
    cache, else built from renders of its neutral head and cached (written atomically)."""
    path = cache_path(npz)
    n_faces = len(body.faces)
    if path.is_file():
        corr = load_correspondence(path)
        if corr.triangles.max() >= n_faces:
            raise ValueError(f"{path}: the cached landmark map indexes triangle {corr.triangles.max()}, but "
                             f"the body has {n_faces}; was the body loaded from {npz}?")
        return CachedMap(corr, path, built=False)
    log.info("SMPL-X landmark map: building it for %s (first use of this file)", npz.name)
    corr, spread = build_correspondence(neutral_body(body), head_region(body))
    save_correspondence(corr, path, {
        "version": MAP_VERSION,
        "model": f"{body.version}, mean shape, neutral expression, a_pose",
        "npz_sha256": file_digest(npz),
        "n_vertices": int(len(body.model.v_template)),
        "n_faces": n_faces,
        "method": METHOD,
        "spread_mm_median": round(float(np.median(spread)) * 1000, 2),
    })
    log.info("SMPL-X landmark map cached at %s", path)
    return CachedMap(load_correspondence(path), path, built=True)  # as every later call reads it
