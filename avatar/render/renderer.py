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
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render.camera import Camera

log = logging.getLogger(__name__)

DEBIAN_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri")
BACKGROUND_RGB = (0.90, 0.90, 0.90)  # plain light grey, as studio try-on photos have


class RendererUnavailableError(RuntimeError):
    """The machine has no usable EGL/OpenGL; the message names the Debian packages to install."""


_VERTEX_SHADER = """
#version 330
uniform mat3 u_rot;
uniform vec3 u_trans;
uniform mat4 u_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
in vec2 in_tex;
in vec2 in_dpuv;
in vec2 in_label;
out vec3 v_cam;
out vec3 v_normal;
out vec3 v_color;
out vec2 v_tex;
out vec2 v_dpuv;
flat out vec2 v_label;
void main() {
    vec3 cam = u_rot * in_pos + u_trans;   // OpenCV camera frame
    v_cam = cam;
    v_normal = u_rot * in_normal;
    v_color = in_color;
    v_tex = in_tex;
    v_dpuv = in_dpuv;
    v_label = in_label;
    gl_Position = u_proj * vec4(cam, 1.0);
}
"""

_BACKGROUND_VERTEX = """
#version 330
in vec2 in_xy;
void main() { gl_Position = vec4(in_xy, 1.0, 1.0); }
"""

_BACKGROUND_FRAGMENT = """
#version 330
uniform vec3 u_background;
layout(location = 0) out vec4 f_color;
layout(location = 1) out vec4 f_parts;
layout(location = 2) out vec4 f_normal;
layout(location = 3) out float f_depth;
void main() {
    f_color = vec4(u_background, 0.0);
    f_parts = vec4(0.0);
    f_normal = vec4(0.0);
    f_depth = 0.0;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2D u_texture;
uniform bool u_use_texture;
in vec3 v_cam;
in vec3 v_normal;
in vec3 v_color;
in vec2 v_tex;
in vec2 v_dpuv;
flat in vec2 v_label;
layout(location = 0) out vec4 f_color;
layout(location = 1) out vec4 f_parts;
layout(location = 2) out vec4 f_normal;
layout(location = 3) out float f_depth;
void main() {
    vec3 n = normalize(v_normal);
    vec3 to_eye = normalize(-v_cam);
    vec3 shade_n = dot(n, to_eye) < 0.0 ? -n : n;
    vec3 albedo = v_color;
    if (u_use_texture) {
        vec4 t = texture(u_texture, v_tex);
        albedo = mix(albedo, t.rgb, t.a);
    }
    // Soft studio light: a large key from upper front-left, a fill from the right, a sky/ground ambient.
    vec3 key = normalize(vec3(-0.4, -0.6, -1.0));
    vec3 fill = normalize(vec3(0.7, -0.1, -0.8));
    float wrap_key = max((dot(shade_n, -key) + 0.4) / 1.4, 0.0);
    float wrap_fill = max((dot(shade_n, -fill) + 0.5) / 1.5, 0.0);
    float sky = 0.5 - 0.5 * shade_n.y;       // camera y points down: normals facing up get the sky
    float light = 0.42 + 0.10 * sky + 0.48 * wrap_key + 0.16 * wrap_fill;
    f_color = vec4(pow(albedo * light, vec3(1.0 / 1.1)), 1.0);
    f_parts = vec4(v_label.x / 255.0, v_dpuv, v_label.y / 255.0);
    f_normal = vec4(0.5 * vec3(n.x, -n.y, -n.z) + 0.5, 1.0);   // OpenGL camera axes
    f_depth = v_cam.z;
}
"""


@dataclass(frozen=True)
class RenderMesh:
    """Unindexed triangle soup ready for the GPU: every array has one row per face corner (F * 3).

    Attributes:
        positions: (N, 3) world positions, metres.
        normals: (N, 3) smooth unit normals.
        colors: (N, 3) linear RGB albedo in [0, 1].
        texcoords: (N, 2) UV into ``texture`` (ignored without a texture).
        densepose_uv: (N, 2) DensePose-style UV of the corner's part.
        labels: (N, 2) per-face (DensePose part index, garment flags), equal on a face's 3 corners.
        texture: optional (H, W, 4) uint8 RGBA image blended over the albedo by its alpha.
    """

    positions: NDArray[np.float32]
    normals: NDArray[np.float32]
    colors: NDArray[np.float32]
    texcoords: NDArray[np.float32]
    densepose_uv: NDArray[np.float32]
    labels: NDArray[np.float32]
    texture: NDArray[np.uint8] | None = None


@dataclass
class RenderBuffers:
    """What one pass produced, each (H, W, ...) with row 0 at the image top.

    Attributes:
        color: (H, W, 3) uint8 RGB, background light grey.
        parts: (H, W, 4) uint8: DensePose part index (0 = background), U and V scaled to 0–255, and
            the garment flags of :mod:`avatar.render.parts`.
        normal: (H, W, 3) uint8 camera-space unit normal (OpenGL axes) as (n + 1) / 2 * 255, 0 on the
            background.
        depth: (H, W) float32 camera depth in metres, 0 on the background.
    """

    color: NDArray[np.uint8]
    parts: NDArray[np.uint8]
    normal: NDArray[np.uint8]
    depth: NDArray[np.float32]

    @property
    def part(self) -> NDArray[np.uint8]:
        return self.parts[..., 0]

    @property
    def flags(self) -> NDArray[np.uint8]:
        return self.parts[..., 3]

    @cached_property
    def silhouette(self) -> NDArray[np.bool_]:
        return self.parts[..., 0] > 0


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

    A context belongs to the thread that made it, so callers share a renderer per thread through
    :func:`get_renderer`.
    """

    def __init__(self) -> None:
        self.ctx = create_egl_context()
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self._fbos: dict[tuple[int, int], Any] = {}
        self._blank = self.ctx.texture((1, 1), 4, bytes(4))  # bound when a mesh has no texture
        background = self.ctx.program(vertex_shader=_BACKGROUND_VERTEX, fragment_shader=_BACKGROUND_FRAGMENT)
        background["u_background"].value = BACKGROUND_RGB
        quad = self.ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype="f4").tobytes())
        self._background_vao = self.ctx.vertex_array(background, [(quad, "2f", "in_xy")])
        log.debug("EGL renderer: %s", self.ctx.info.get("GL_RENDERER"))

    def _framebuffer(self, width: int, height: int) -> Any:
        key = (width, height)
        if key not in self._fbos:
            targets = [self.ctx.texture((width, height), 4, dtype="f1") for _ in range(3)]
            targets.append(self.ctx.texture((width, height), 1, dtype="f4"))
            depth = self.ctx.depth_renderbuffer((width, height))
            self._fbos[key] = self.ctx.framebuffer(color_attachments=targets, depth_attachment=depth)
        return self._fbos[key]

    def render(self, mesh: RenderMesh, camera: Camera) -> RenderBuffers:
        """Rasterise ``mesh`` through ``camera`` into every buffer at once."""
        import moderngl

        w, h = camera.width, camera.height
        fbo = self._framebuffer(w, h)
        fbo.use()
        self.ctx.viewport = (0, 0, w, h)
        self.ctx.disable(moderngl.CULL_FACE)
        self.ctx.disable(moderngl.DEPTH_TEST)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self._background_vao.render(moderngl.TRIANGLE_STRIP)
        self.ctx.enable(moderngl.DEPTH_TEST)
        prog = self.program
        prog["u_rot"].write(camera.rotation.T.astype("f4").tobytes())  # GLSL matrices are column-major
        prog["u_trans"].value = tuple(float(x) for x in camera.translation)
        prog["u_proj"].write(camera.opengl_projection().T.copy().tobytes())
        texture = None
        self._blank.use(0)
        if mesh.texture is not None:
            th, tw = mesh.texture.shape[:2]
            texture = self.ctx.texture((tw, th), 4, np.ascontiguousarray(mesh.texture[::-1]).tobytes())
            texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
            texture.use(0)
        prog["u_use_texture"].value = texture is not None
        columns = [mesh.positions, mesh.normals, mesh.colors, mesh.texcoords, mesh.densepose_uv, mesh.labels]
        data = np.concatenate(columns, axis=1).astype("f4")
        vbo = self.ctx.buffer(np.ascontiguousarray(data).tobytes())
        names = ("in_pos", "in_normal", "in_color", "in_tex", "in_dpuv", "in_label")
        vao = self.ctx.vertex_array(prog, [(vbo, "3f 3f 3f 2f 2f 2f", *names)])
        try:
            vao.render(moderngl.TRIANGLES)
            color = np.frombuffer(fbo.read(attachment=0, components=3, alignment=1), np.uint8)
            parts = np.frombuffer(fbo.read(attachment=1, components=4), np.uint8)
            normal = np.frombuffer(fbo.read(attachment=2, components=3, alignment=1), np.uint8)
            depth = np.frombuffer(fbo.read(attachment=3, components=1, dtype="f4"), np.float32)
        finally:
            vao.release()
            vbo.release()
            if texture is not None:
                texture.release()
        return RenderBuffers(
            color=color.reshape(h, w, 3),
            parts=parts.reshape(h, w, 4),
            normal=normal.reshape(h, w, 3),
            depth=depth.reshape(h, w),
        )


_local = threading.local()


def get_renderer() -> Renderer:
    """This thread's renderer, created on first use (context creation costs tens of milliseconds)."""
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = Renderer()
        _local.renderer = renderer
    return renderer
