"""SMPL-X through the ``smplx`` package, for operators who hold the licensed model files.

The files ``SMPLX_NEUTRAL.npz``, ``SMPLX_MALE.npz`` and ``SMPLX_FEMALE.npz`` are not redistributable;
the operator downloads them from https://smpl-x.is.tue.mpg.de (free registration, non-commercial
licence, or a commercial licence from Meshcapade) and names their folder in ``FITROOM_SMPLX_DIR``.
Shape parameters are the betas (10 or more) and the expression coefficients; bodies are measured
in the ``a_pose`` so the arms stay clear of the torso loops.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar.body import skeleton
from avatar.types import Backend, BodyOutput, Sex

log = logging.getLogger(__name__)

SMPLX_DIR_ENV = "FITROOM_SMPLX_DIR"
FILE_FOR_SEX: dict[str, str] = {"unspecified": "NEUTRAL", "female": "FEMALE", "male": "MALE"}
BETA_LIMIT = 3.0  # betas are in standard deviations of the training population
EXPRESSION_LIMIT = 2.0
HOW_TO_GET = (
    "download SMPL-X (npz, v1.1) from https://smpl-x.is.tue.mpg.de after registering, unpack "
    "SMPLX_NEUTRAL.npz, SMPLX_MALE.npz and SMPLX_FEMALE.npz into one folder and set "
    f"{SMPLX_DIR_ENV} to it (or use the default backend 'anny', which needs no licence)"
)


def smplx_file(sex: Sex, model_dir: Path | None = None) -> Path:
    """The npz for ``sex``, or a FileNotFoundError saying how to obtain the files."""
    folder = model_dir or (Path(os.environ[SMPLX_DIR_ENV]) if os.environ.get(SMPLX_DIR_ENV) else None)
    if folder is None:
        raise FileNotFoundError(f"{SMPLX_DIR_ENV} is not set: {HOW_TO_GET}")
    path = Path(folder) / f"SMPLX_{FILE_FOR_SEX[sex]}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist ({SMPLX_DIR_ENV}={folder}): {HOW_TO_GET}")
    return path


class SmplxBody(torch.nn.Module):
    """SMPL-X behind the :class:`avatar.body.models.base.BodyModel` protocol."""

    kind: Backend = "smplx"

    def __init__(
        self,
        sex: Sex = "unspecified",
        model_dir: Path | None = None,
        num_betas: int = 10,
        num_expression: int = 10,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        import smplx

        path = smplx_file(sex, model_dir)
        log.info("loading SMPL-X from %s", path)
        self.model = smplx.SMPLX(
            str(path),
            num_betas=num_betas,
            num_expression_coeffs=num_expression,
            use_pca=False,
            flat_hand_mean=True,
            dtype=dtype,
        )
        self.model.requires_grad_(False)
        self.version = f"smplx {importlib.metadata.version('smplx')} ({path.name})"
        self.sex = sex
        betas = int(self.model.num_betas)
        expressions = int(self.model.num_expression_coeffs)
        self.shape_names = tuple(f"beta_{i}" for i in range(betas)) + tuple(
            f"expression_{i}" for i in range(expressions)
        )
        self.faces = torch.as_tensor(np.asarray(self.model.faces, dtype=np.int64))
        self.part_labels = self.model.lbs_weights.argmax(1).long()
        self._dtype = dtype

    def default_shape(self, sex: Sex = "unspecified", age_years: float | None = None) -> torch.Tensor:
        """The mean body of the loaded file (betas and expression 0); age is not modelled."""
        return torch.zeros(len(self.shape_names), dtype=self._dtype)

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Betas within ±3 standard deviations, expressions within ±2."""
        limits = [BETA_LIMIT if n.startswith("beta") else EXPRESSION_LIMIT for n in self.shape_names]
        hi = torch.tensor(limits, dtype=self._dtype)
        return -hi, hi

    def free_parameters(self) -> tuple[str, ...]:
        return tuple(n for n in self.shape_names if n.startswith("beta"))

    def _run(self, shape: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None) -> Any:
        if shape.dim() != 2 or shape.shape[1] != len(self.shape_names):
            raise ValueError(f"shape: expected (B, {len(self.shape_names)}), got {tuple(shape.shape)}")
        if pose.dim() != 3 or pose.shape[1:] != (skeleton.NUM_JOINTS, 3):
            raise ValueError(f"pose: expected (B, {skeleton.NUM_JOINTS}, 3), got {tuple(pose.shape)}")
        batch = shape.shape[0]
        betas = int(self.model.num_betas)
        pose = pose.to(self._dtype).expand(batch, -1, -1)
        return self.model(
            betas=shape[:, :betas].to(self._dtype),
            expression=shape[:, betas:].to(self._dtype),
            global_orient=pose[:, 0],
            body_pose=pose[:, 1:22].reshape(batch, -1),
            jaw_pose=pose[:, 22],
            leye_pose=pose[:, 23],
            reye_pose=pose[:, 24],
            left_hand_pose=pose[:, 25:40].reshape(batch, -1),
            right_hand_pose=pose[:, 40:55].reshape(batch, -1),
            transl=torch.zeros(batch, 3, dtype=self._dtype) if transl is None else transl.to(self._dtype),
            return_verts=True,
        )

    def _a_pose(self) -> torch.Tensor:
        return skeleton.named_pose("a_pose", self._dtype)[None]

    def measurement_vertices(
        self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, V, 3) the body in the ``a_pose`` (arms clear of the torso loops); (B, K, 3) for ids."""
        vertices = self._run(shape, self._a_pose(), None).vertices
        return vertices if vertex_ids is None else vertices[:, vertex_ids]

    def measurement_joints(self, shape: torch.Tensor) -> torch.Tensor:
        return self._run(shape, self._a_pose(), None).joints[:, : skeleton.NUM_JOINTS]

    def forward(
        self, shape: torch.Tensor, pose: torch.Tensor | None = None, transl: torch.Tensor | None = None
    ) -> BodyOutput:
        """(B, P) betas + expression, (B, 55, 3) pose (default ``a_pose``), (B, 3) m → posed body."""
        out = self._run(shape, self._a_pose() if pose is None else pose, transl)
        rest = self.measurement_vertices(shape)
        return BodyOutput(
            vertices=out.vertices,
            faces=self.faces,
            joints=out.joints[:, : skeleton.NUM_JOINTS],
            rest_vertices=rest,
            part_labels=self.part_labels,
        )
