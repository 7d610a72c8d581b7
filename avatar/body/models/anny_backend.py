"""The default body model: NAVER's Anny (Apache-2.0), phenotypes plus ``measure-*`` local changes.

Phenotypes (gender, age, muscle, weight, height, proportions, each in [0, 1]) give a whole-body
look; the ``measure-*`` local changes (each in [-1, 1], MakeHuman's modelling targets) let fitting
move one girth or length without dragging the others, which is what makes the ANSUR targets
reachable. The model runs in float32 (measurements agree with float64 to well under 0.1 mm) and
reports everything in the SMPL-X frame through :mod:`avatar.body.skeleton`.
"""

from __future__ import annotations

import logging

import torch

from avatar.body import skeleton
from avatar.paths import import_anny
from avatar.types import Backend, BodyOutput, Sex

log = logging.getLogger(__name__)

LOCAL_CHANGES: tuple[str, ...] = (
    "measure-bust-circ-incr",
    "measure-underbust-circ-incr",
    "measure-waist-circ-incr",
    "measure-hips-circ-incr",
    "measure-thigh-circ-incr",
    "measure-neck-circ-incr",
    "measure-shoulder-dist-incr",
    "measure-upperarm-length-incr",
    "measure-lowerarm-length-incr",
    "measure-upperleg-height-incr",
    "measure-lowerleg-height-incr",
)
FIXED_PHENOTYPES = ("gender", "age")
SCALE_RANGE = (0.92, 1.08)
LOCAL_CHANGE_LIMIT = 2.0
GENDER: dict[str, float] = {"male": 0.0, "female": 1.0, "unspecified": 0.5}
DEFAULT_AGE_YEARS = 30.0
FD_STEP = 2e-3


def age_parameter(age_years: float) -> float:
    """Anny's age phenotype for an age in years (anchors: 11 y = 1/3, 25 y = 2/3, 90 y = 1)."""
    if age_years >= 25.0:
        return min(1.0, 2.0 / 3.0 + (age_years - 25.0) / 65.0 / 3.0)
    return max(1.0 / 3.0, 1.0 / 3.0 + (age_years - 11.0) / 14.0 / 3.0)


class AnnyBody(torch.nn.Module):
    """Anny behind the :class:`avatar.body.models.base.BodyModel` protocol."""

    kind: Backend = "anny"

    def __init__(self, local_changes: tuple[str, ...] = LOCAL_CHANGES, dtype: torch.dtype = torch.float32):
        super().__init__()
        anny = import_anny()
        log.info("loading the Anny body model (local changes: %d)", len(local_changes))
        self.model = anny.Anny(local_changes=list(local_changes) if local_changes else "none").to(dtype)
        self.model.requires_grad_(False)
        self.version = f"anny {anny.__version__}"
        self.phenotype_names = tuple(self.model.phenotype_labels)
        self.local_change_names = tuple(self.model.local_change_labels)
        self.shape_names = self.phenotype_names + self.local_change_names + ("scale",)
        self.bridge = skeleton.bridge_for(self.model)
        self.faces = self.model.get_triangular_faces().long()
        self.part_labels = self.bridge.part_labels
        self._subset_key: tuple[int, ...] = ()
        self._subset: tuple[torch.Tensor, torch.Tensor] = (
            self.model.template_vertices,
            self.model.blendshapes,
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.model.template_vertices.dtype

    def default_shape(self, sex: Sex = "unspecified", age_years: float | None = None) -> torch.Tensor:
        """(P,) average phenotypes, the sex and age given, no local change."""
        values = {name: 0.5 for name in self.phenotype_names}
        values["gender"] = GENDER[sex]
        values["age"] = age_parameter(DEFAULT_AGE_YEARS if age_years is None else age_years)
        shape = [values[n] for n in self.phenotype_names] + [0.0] * len(self.local_change_names) + [1.0]
        return torch.tensor(shape, dtype=self.dtype)

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Phenotypes in [0, 1], local changes in [-1, 1] (the full strength of each target), and a
        uniform scale within ±8 % (Anny's height phenotype alone leaves short adults out of reach)."""
        n_ph, n_lc = len(self.phenotype_names), len(self.local_change_names)
        lo = [0.0] * n_ph + [-LOCAL_CHANGE_LIMIT] * n_lc + [SCALE_RANGE[0]]
        hi = [1.0] * n_ph + [LOCAL_CHANGE_LIMIT] * n_lc + [SCALE_RANGE[1]]
        return torch.tensor(lo, dtype=self.dtype), torch.tensor(hi, dtype=self.dtype)

    def free_parameters(self) -> tuple[str, ...]:
        return tuple(n for n in self.shape_names if n not in FIXED_PHENOTYPES)

    def _coefficients(self, shape: torch.Tensor) -> torch.Tensor:
        if shape.dim() != 2 or shape.shape[1] != len(self.shape_names):
            raise ValueError(f"shape: expected (B, {len(self.shape_names)}), got {tuple(shape.shape)}")
        n = len(self.phenotype_names)
        facial = shape.new_zeros(shape.shape[0], 0)
        return self.model._get_phenotype_blendshape_coefficients(shape[:, :n], shape[:, n:-1], facial)

    def measurement_vertices(
        self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, V, 3) Anny's rest mesh (its native A-pose, arms clear of the torso), SMPL-X frame.

        With ``vertex_ids`` (K,) only those vertices are computed, (B, K, 3): fitting measures
        girths on a few hundred vertices, so their gradients skip the full blendshape product.
        """
        return self.vertices_from_coefficients(self.shape_coefficients(shape), vertex_ids)

    def shape_coefficients(self, shape: torch.Tensor) -> torch.Tensor:
        """(B, P) shape → (B, C + 1) blendshape coefficients and the scale; the mesh is simple in
        these, so fitting differentiates the (costly, python-heavy) phenotype mapping separately."""
        shape = shape.to(self.dtype)
        return torch.cat([self._coefficients(shape), shape[:, -1:]], 1)

    def coefficient_jacobian(
        self, shape: torch.Tensor, free: torch.Tensor, step: float = FD_STEP
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(P,) shape → (C + 1,) coefficients and their derivative (C + 1, F) w.r.t. ``free`` (F,)
        shape indices.

        Only the phenotype columns need central differences (the mapping is multilinear and
        python-heavy), taken in one batched call over the free phenotypes alone; each local change
        is a ReLU pair (increase, decrease) and the scale is the last coefficient, so their columns
        are exact (at a kink, the mean of both sides, as a central difference gives).
        """
        if shape.dim() != 1 or shape.shape[0] != len(self.shape_names):
            raise ValueError(f"shape: expected ({len(self.shape_names)},), got {tuple(shape.shape)}")
        n_ph, n_lc = len(self.phenotype_names), len(self.local_change_names)
        phenotypes = [j for j, i in enumerate(free.tolist()) if i < n_ph]
        steps = torch.eye(len(shape), dtype=shape.dtype)[free[phenotypes]] * step
        batch = torch.cat([shape[None], shape + steps, shape - steps])
        coeffs = self.shape_coefficients(batch).to(shape.dtype)
        k = len(phenotypes)
        jac = shape.new_zeros(coeffs.shape[1], len(free))
        jac[:, phenotypes] = ((coeffs[1 : k + 1] - coeffs[k + 1 :]) / (2 * step)).T
        first_local = coeffs.shape[1] - 1 - 2 * n_lc  # [phenotype coefficients, local pairs, scale]
        for j, i in enumerate(free.tolist()):
            if n_ph <= i < n_ph + n_lc:
                value = float(shape[i])
                column = first_local + 2 * (i - n_ph)
                jac[column, j] = 1.0 if value > 0 else 0.5 if value == 0 else 0.0
                jac[column + 1, j] = -1.0 if value < 0 else -0.5 if value == 0 else 0.0
            elif i == len(self.shape_names) - 1:
                jac[-1, j] = 1.0
        return coeffs[0], jac

    def vertices_from_coefficients(
        self, coeffs: torch.Tensor, vertex_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, C + 1) coefficients and scale → (B, V, 3) rest vertices ((B, K, 3) for ``vertex_ids``)."""
        if vertex_ids is None:
            template, basis = self.model.template_vertices, self.model.blendshapes
        else:
            key = tuple(vertex_ids.tolist())
            if self._subset_key != key:
                self._subset = (
                    self.model.template_vertices[vertex_ids],
                    self.model.blendshapes[:, vertex_ids],
                )
                self._subset_key = key
            template, basis = self._subset
        coeffs = coeffs.to(self.dtype)
        rest = template[None] + torch.einsum("cpd,bc->bpd", basis, coeffs[:, :-1])
        return skeleton.anny_to_smplx_frame(rest) * coeffs[:, -1:, None]

    def measurement_joints(self, shape: torch.Tensor) -> torch.Tensor:
        """(B, 55, 3) SMPL-X joints of the rest mesh (used to place the measurement loops)."""
        shape = shape.to(self.dtype)
        rest = self.model.get_rest_model(self._coefficients(shape))
        heads = rest["rest_bone_heads"][:, self.bridge.position_bones]
        return skeleton.anny_to_smplx_frame(heads) * shape[:, -1:, None]

    def forward(
        self, shape: torch.Tensor, pose: torch.Tensor | None = None, transl: torch.Tensor | None = None
    ) -> BodyOutput:
        """(B, P) shape, (B, 55, 3) SMPL-X pose (default ``a_pose``), (B, 3) m → posed body.

        The scale applies about the root before the translation.
        """
        shape = shape.to(self.dtype)
        batch = shape.shape[0]
        if pose is None:
            pose = skeleton.named_pose("a_pose", self.dtype)[None].expand(batch, -1, -1)
        n = len(self.phenotype_names)
        out = self.model(
            pose_parameters=self.bridge.to_anny(pose.to(self.dtype)),
            phenotype_kwargs=shape[:, :n],
            local_changes_kwargs=shape[:, n:-1],
        )
        scale = shape[:, -1:, None]
        offset = 0.0 if transl is None else transl.to(self.dtype)[:, None]
        return BodyOutput(
            vertices=skeleton.anny_to_smplx_frame(out["vertices"]) * scale + offset,
            faces=self.faces,
            joints=self.bridge.joints(out["bone_poses"]) * scale + offset,
            rest_vertices=skeleton.anny_to_smplx_frame(out["rest_vertices"]) * scale,
            part_labels=self.part_labels,
        )

    @property
    def uv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, 2) texture coordinates and (F, 3) per-face UV indices (for textured exports)."""
        return self.model.texture_coordinates, self.model.face_texture_coordinate_indices


def ensure_body_cache() -> None:
    """Set-up step: build Anny's model data with the ``measure-*`` local changes once (about 2.5 min
    and 1.5 GB at peak on 2 idle cores), drop the bulky intermediates, and cache the girth loops."""
    from avatar.body import loops
    from avatar.paths import prune_anny_cache

    body = AnnyBody()
    prune_anny_cache()
    sexes: tuple[Sex, ...] = ("female", "male", "unspecified")
    for sex in sexes:
        loops.template_loops(body, sex)
