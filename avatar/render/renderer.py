"""Headless OpenGL rendering (moderngl on EGL, CPU rasterisation by Mesa's llvmpipe).

One geometry pass writes every buffer the bundle needs through multiple render targets, so colour,
part labels, UV, depth and normals come from the same rasterisation and agree pixel for pixel:

* target 0, RGBA8: the lit person over the light-grey background;
* target 1, RGBA8: DensePose part index, U, V, garment flags (8 bits each: all the PNGs keep);
* target 2, RGBA8: camera-space normal (OpenGL axes) encoded as (n + 1) / 2;
* target 3, R32F: camera depth in metres (0 on the background).

Byte targets keep the read-back small (about 10 MB at 768x1024), which is most of a frame's cost on a
CPU rasteriser.

Triangles are drawn unindexed so that per-face labels are flat (no interpolation across a part
boundary) while positions, normals, colours and UV interpolate smoothly.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render.camera import Camera
from avatar.render.parts import (
    GARMENT_OF_JOINT,
    HAIR,
    HAIR_LABEL,
    N_LABELS,
    SEGMENT_OF_JOINT,
    SEGMENTS,
    SegmentFrames,
)

log = logging.getLogger(__name__)

DEBIAN_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri")
BACKGROUND_RGB = (0.90, 0.90, 0.90)  # plain light grey, as studio try-on photos have
FACE_ROW = 4096  # triangles per row of the per-triangle label texture


class RendererUnavailableError(RuntimeError):
    """The machine has no usable EGL/OpenGL; the message names the Debian packages to install."""


_VERTEX_SHADER = """
#version 330
uniform mat3 u_rot;
uniform vec3 u_trans;
uniform mat4 u_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_tex;
out vec3 v_world;
out vec3 v_cam;
out vec3 v_normal;
out vec2 v_tex;
void main() {
    vec3 cam = u_rot * in_pos + u_trans;   // OpenCV camera frame
    v_world = in_pos;
    v_cam = cam;
    v_normal = u_rot * in_normal;
    v_tex = in_tex;
    gl_Position = u_proj * vec4(cam, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330
const int N_SEGMENTS = @N_SEGMENTS@;
const int N_LABELS = @N_LABELS@;
const int HAIR_LABEL = @HAIR_LABEL@;
const int FACE_ROW = @FACE_ROW@;
const float PI = 3.14159265358979;
uniform sampler2D u_texture;
uniform bool u_use_texture;
uniform vec3 u_skin;
uniform usampler2D u_face_joint;          // SMPL-X joint of each triangle, FACE_ROW per texture row
uniform int u_joint_segment[N_LABELS];
uniform int u_joint_flags[N_LABELS];
uniform vec3 u_hair;                      // hair albedo, sRGB
uniform bool u_paint_eyes;                // the texture has no eyes: paint them
uniform float u_hip_y;
uniform float u_collar_y;                 // the upper region stops here: the neck stays visible
uniform vec3 u_eye_centre[2];             // eyeball centres (left, right), world metres
uniform vec3 u_seg_start[N_SEGMENTS];
uniform vec3 u_seg_axis[N_SEGMENTS];
uniform vec3 u_seg_side[N_SEGMENTS];
uniform vec3 u_seg_across[N_SEGMENTS];
uniform vec2 u_seg_v[N_SEGMENTS];         // lowest position along the axis, extent
uniform ivec2 u_seg_parts[N_SEGMENTS];    // DensePose index on the side half, on the other half
uniform int u_seg_split[N_SEGMENTS];
in vec3 v_world;
in vec3 v_cam;
in vec3 v_normal;
in vec2 v_tex;
layout(location = 0) out vec4 f_color;
layout(location = 1) out vec4 f_parts;
layout(location = 2) out vec4 f_normal;
layout(location = 3) out float f_depth;
void main() {
    vec3 n = normalize(v_normal);
    vec3 to_eye = normalize(-v_cam);
    vec3 shade_n = dot(n, to_eye) < 0.0 ? -n : n;
    vec3 albedo = u_skin;
    if (u_use_texture) {
        vec4 t = texture(u_texture, v_tex);
        albedo = mix(albedo, t.rgb, t.a);
    }
    // Soft studio light (directions towards the lights, OpenCV camera axes: y down, z away): a large
    // wrapped key from the upper front-left, a fill from the front-right, and a sky/ground ambient.
    vec3 key = normalize(vec3(-0.4, -0.6, -1.0));
    vec3 fill = normalize(vec3(0.7, -0.1, -0.8));
    float wrap_key = max((dot(shade_n, key) + 0.4) / 1.4, 0.0);
    float wrap_fill = max((dot(shade_n, fill) + 0.5) / 1.5, 0.0);
    float sky = 0.5 - 0.5 * shade_n.y;       // normals facing up (y < 0) get the sky
    float light = 0.30 + 0.10 * sky + 0.50 * wrap_key + 0.18 * wrap_fill;
    ivec2 texel = ivec2(gl_PrimitiveID % FACE_ROW, gl_PrimitiveID / FACE_ROW);
    int joint = int(texelFetch(u_face_joint, texel, 0).r);
    if (joint == HAIR_LABEL) {
        // Light strands: a streak pattern round the head (u) that drifts slowly down the strands (v).
        float x = v_tex.x * 2.0 * PI;
        float strand = sin(x * 97.0 + 5.0 * sin(v_tex.y * 7.0 + x * 3.0)) * sin(x * 41.0 + 2.0 * v_tex.y);
        float fine = sin(x * 263.0 + 3.0 * sin(x * 11.0));
        float under = smoothstep(0.36, 0.5, v_tex.y) * (1.0 - step(0.5, v_tex.y));  // the cap's lower edge
        albedo = u_hair * (0.97 + 0.03 * strand + 0.02 * fine - 0.12 * under);
    } else if (u_paint_eyes && (joint == 23 || joint == 24)) {
        // Eyeballs without eyes in the texture: paint sclera, brown iris and pupil round the forward axis.
        float c = normalize(v_world - u_eye_centre[joint - 23]).z;
        albedo = c > 0.985 ? vec3(0.04) : (c > 0.90 ? vec3(0.28, 0.18, 0.11) : vec3(0.90, 0.88, 0.85));
    }
    f_color = vec4(pow(albedo * light, vec3(1.0 / 1.1)), 1.0);

    int seg = u_joint_segment[joint];
    int flags = u_joint_flags[joint];
    if (joint == 0 && v_world.y > u_hip_y) flags |= 1;   // pelvis above the hips: under a top too
    if (v_world.y > u_collar_y) flags &= ~1;
    vec3 rel = v_world - u_seg_start[seg];
    float along = dot(rel, u_seg_axis[seg]);
    float v = clamp((along - u_seg_v[seg].x) / u_seg_v[seg].y, 0.0, 1.0);
    vec3 radial = rel - along * u_seg_axis[seg];
    float theta = atan(dot(radial, u_seg_side[seg]), dot(radial, u_seg_across[seg]));
    int part;
    float u;
    if (u_seg_split[seg] == 1) {
        part = theta >= 0.0 ? u_seg_parts[seg].x : u_seg_parts[seg].y;
        u = abs(theta) / PI;
    } else {
        part = u_seg_parts[seg].x;
        u = (theta + PI) / (2.0 * PI);
    }
    f_parts = vec4(float(part) / 255.0, u, v, float(flags) / 255.0);
    f_normal = vec4(0.5 * vec3(n.x, -n.y, -n.z) + 0.5, 1.0);   // OpenGL camera axes
    f_depth = v_cam.z;
}
""".replace("@N_SEGMENTS@", str(len(SEGMENTS))).replace("@N_LABELS@", str(N_LABELS)).replace(
    "@HAIR_LABEL@", str(HAIR_LABEL)).replace(
    "@FACE_ROW@", str(FACE_ROW)
)


@dataclass(frozen=True)
class RenderMesh:
    """An indexed triangle mesh with what the shader needs to label every pixel.

    Attributes:
        positions: (N, 3) world positions, metres, Y up, facing +Z.
        normals: (N, 3) smooth unit normals.
        texcoords: (N, 2) UV into ``texture`` (origin bottom-left; ignored without a texture).
        triangles: (F, 3) vertex indices.
        face_joint: (F,) SMPL-X joint owning each triangle.
        frames: the chart of every body segment (DensePose part and UV).
        hip_y: height of the hip joints, metres (the pelvis above it also belongs to the upper region).
        collar_y: height above which nothing is in the upper region (the base of the neck, metres).
        eye_centres: (2, 3) left and right eyeball centres (SMPL-X eye joints), metres.
        skin_rgb: albedo where no texture covers the body, sRGB in [0, 1].
        texture: optional (H, W, 4) uint8 RGBA image blended over the albedo by its alpha.
        hair_rgb: albedo of the hair triangles (label :data:`HAIR_LABEL`), sRGB in [0, 1].
        paint_eyes: paint iris and pupil on the eyeballs (the texture, if any, has no eyes).
    """

    positions: NDArray[np.float32]
    normals: NDArray[np.float32]
    texcoords: NDArray[np.float32]
    triangles: NDArray[np.int64]
    face_joint: NDArray[np.int64]
    frames: SegmentFrames
    hip_y: float
    collar_y: float
    eye_centres: NDArray[np.float64]
    skin_rgb: tuple[float, float, float]
    texture: NDArray[np.uint8] | None = None
    hair_rgb: tuple[float, float, float] = (0.2, 0.15, 0.1)
    paint_eyes: bool = True


@dataclass
class RenderBuffers:
    """What one pass produced, each (H, W, ...) with row 0 at the image top.

    Attributes:
        rgba: (H, W, 4) uint8: RGB of the lit person on the light-grey background; alpha 255 where a
            triangle was drawn (the silhouette, independent of the label and depth targets).
        parts: (H, W, 4) uint8: DensePose part index (0 = background), U and V scaled to 0–255, and
            the garment flags of :mod:`avatar.render.parts`.
        normal: (H, W, 3) uint8 camera-space unit normal (OpenGL axes) as (n + 1) / 2 * 255, 0 on the
            background.
        depth: (H, W) float32 camera depth in metres, 0 on the background.
    """

    rgba: NDArray[np.uint8]
    parts: NDArray[np.uint8]
    normal: NDArray[np.uint8]
    depth: NDArray[np.float32]

    @property
    def color(self) -> NDArray[np.uint8]:
        return self.rgba[..., :3]

    @property
    def part(self) -> NDArray[np.uint8]:
        return self.parts[..., 0]

    @property
    def flags(self) -> NDArray[np.uint8]:
        return self.parts[..., 3]

    @property
    def hair(self) -> NDArray[np.bool_]:
        """Where hair is the visible surface."""
        return (self.flags & HAIR) > 0

    @cached_property
    def silhouette(self) -> NDArray[np.bool_]:
        """Where the body covers the image, from the colour target's coverage."""
        return self.rgba[..., 3] > 0


def create_egl_context() -> Any:
    """A standalone moderngl context on EGL, or an error that says which Debian packages to install."""
    try:
        import moderngl

        return moderngl.create_context(standalone=True, backend="egl")  # type: ignore[arg-type]
    except Exception as exc:  # moderngl/glcontext raise bare Exceptions when libEGL or a driver is missing
        packages = " ".join(DEBIAN_PACKAGES)
        raise RendererUnavailableError(
            f"headless OpenGL (EGL) is unavailable: {exc}. Install the Debian packages {packages} "
            f"(apt-get install {packages}) or run scripts/setup.sh as root."
        ) from exc


class Renderer:
    """Owns one EGL context and offscreen framebuffers; renders meshes through one camera at a time.

    A context belongs to the thread that made it: use :func:`render`, which keeps one renderer on a
    dedicated thread.
    """

    def __init__(self) -> None:
        self.ctx = create_egl_context()
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self._fbos: dict[tuple[int, int], Any] = {}
        self._blank = self.ctx.texture((1, 1), 4, bytes(4))  # bound when a mesh has no texture
        self.program["u_joint_segment"].write(SEGMENT_OF_JOINT.astype("i4").tobytes())
        self.program["u_joint_flags"].write(GARMENT_OF_JOINT.astype("i4").tobytes())
        log.debug("EGL renderer: %s", self.ctx.info.get("GL_RENDERER"))

    def _framebuffer(self, width: int, height: int) -> Any:
        key = (width, height)
        if key not in self._fbos:
            targets = [self.ctx.texture((width, height), 4, dtype="f1") for _ in range(3)]
            targets.append(self.ctx.texture((width, height), 1, dtype="f4"))
            depth = self.ctx.depth_renderbuffer((width, height))
            # The colour target alone, to clear it to the background while the others clear to 0.
            colour_only = self.ctx.framebuffer(color_attachments=[targets[0]])
            everything = self.ctx.framebuffer(color_attachments=targets, depth_attachment=depth)
            self._fbos[key] = (everything, colour_only)
        return self._fbos[key]

    def render(self, mesh: RenderMesh, camera: Camera) -> RenderBuffers:
        """Rasterise ``mesh`` through ``camera`` into every buffer at once."""
        import moderngl

        w, h = camera.width, camera.height
        fbo, colour_only = self._framebuffer(w, h)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        colour_only.clear(*BACKGROUND_RGB, 0.0)
        fbo.use()
        self.ctx.viewport = (0, 0, w, h)
        # The projection puts image row 0 at the bottom of GL's window, which mirrors the winding: the
        # body's outward (counter-clockwise) faces reach GL as clockwise, so "front" culls the far side.
        self.ctx.enable(moderngl.CULL_FACE | moderngl.DEPTH_TEST)
        self.ctx.cull_face = "front"
        prog = self.program
        prog["u_rot"].write(camera.rotation.T.astype("f4").tobytes())  # GLSL matrices are column-major
        prog["u_trans"].value = tuple(float(x) for x in camera.translation)
        prog["u_proj"].write(camera.opengl_projection().T.copy().tobytes())
        prog["u_skin"].value = tuple(float(c) for c in mesh.skin_rgb)
        prog["u_hair"].value = tuple(float(c) for c in mesh.hair_rgb)
        prog["u_paint_eyes"].value = mesh.paint_eyes
        prog["u_hip_y"].value = float(mesh.hip_y)
        prog["u_collar_y"].value = float(mesh.collar_y)
        prog["u_eye_centre"].write(np.asarray(mesh.eye_centres, dtype="f4").tobytes())
        frames = mesh.frames
        for name, values in (("u_seg_start", frames.start), ("u_seg_axis", frames.axis),
                             ("u_seg_side", frames.side), ("u_seg_across", frames.across)):
            prog[name].write(np.asarray(values, dtype="f4").tobytes())
        prog["u_seg_v"].write(np.asarray(frames.v_range, dtype="f4").tobytes())
        prog["u_seg_parts"].write(np.asarray(frames.parts, dtype="i4").tobytes())
        prog["u_seg_split"].write(np.asarray(frames.split, dtype="i4").tobytes())
        n_faces = len(mesh.triangles)
        rows = -(-n_faces // FACE_ROW)
        labels = np.zeros(rows * FACE_ROW, dtype=np.uint8)
        labels[:n_faces] = mesh.face_joint
        face_tex = self.ctx.texture((FACE_ROW, rows), 1, labels.tobytes(), dtype="u1")
        face_tex.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
        face_tex.use(1)
        prog["u_face_joint"].value = 1
        texture = None
        self._blank.use(0)
        if mesh.texture is not None:
            th, tw = mesh.texture.shape[:2]
            texture = self.ctx.texture((tw, th), 4, np.ascontiguousarray(mesh.texture[::-1]).tobytes())
            texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
            texture.use(0)
        prog["u_texture"].value = 0
        prog["u_use_texture"].value = texture is not None
        data = np.concatenate([mesh.positions, mesh.normals, mesh.texcoords], axis=1).astype("f4")
        vbo = self.ctx.buffer(np.ascontiguousarray(data).tobytes())
        ibo = self.ctx.buffer(np.ascontiguousarray(mesh.triangles, dtype="u4").tobytes())
        vao = self.ctx.vertex_array(prog, [(vbo, "3f 3f 2f", "in_pos", "in_normal", "in_tex")], ibo,
                                    index_element_size=4)
        try:
            vao.render(moderngl.TRIANGLES)
            color = np.frombuffer(fbo.read(attachment=0, components=4), np.uint8)
            parts = np.frombuffer(fbo.read(attachment=1, components=4), np.uint8)
            normal = np.frombuffer(fbo.read(attachment=2, components=3, alignment=1), np.uint8)
            depth = np.frombuffer(fbo.read(attachment=3, components=1, dtype="f4"), np.float32)
        finally:
            for resource in (vao, vbo, ibo, face_tex, texture):
                if resource is not None:
                    resource.release()
        return RenderBuffers(
            rgba=color.reshape(h, w, 4),
            parts=parts.reshape(h, w, 4),
            normal=normal.reshape(h, w, 3),
            depth=depth.reshape(h, w),
        )


_local = threading.local()
# Every GL call runs on this one thread: an EGL context is current on one thread only, and one
# context (with its framebuffers) serves the whole process however many request threads there are.
_render_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fitroom-render")


def _thread_renderer() -> Renderer:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = Renderer()
        _local.renderer = renderer
    return renderer


def render(mesh: RenderMesh, camera: Camera) -> RenderBuffers:
    """Render on the process's render thread (creating its context on first use, about 50 ms)."""
    return _render_thread.submit(lambda: _thread_renderer().render(mesh, camera)).result()
