"""A small software rasterizer (torch on CPU) for grayscale renders of triangle meshes.

Why it exists
-------------
Two of the paper's datasets are renders of 3D models: 3D Chairs and the Basel Face Model
faces. The offline stand-ins (`synthetic_chairs`, `synthetic_heads`) render procedural meshes
with known pose, light and shape, and the real 3D Faces route renders Basel Face Model meshes
that the user supplies. Both need the same thing: a grayscale image of a mesh seen from a
given azimuth and elevation under one directional light, anti-aliased, fast enough to make
tens of thousands of small images on one CPU thread (about 1 ms per 32 x 32 head of 2,200
triangles, 0.5 ms per 64 x 64 box chair). No installed dependency does that, so this module
does.

Conventions (world coordinates)
-------------------------------
- y is up. The object's front faces +z: a face looks towards +z, a chair's seat opens
  towards +z with its back rest at -z.
- The camera always looks at the origin from ``camera_distance`` away, in direction
  ``(cos(el) sin(az), sin(el), cos(el) cos(az))`` from the origin. So azimuth 0 looks at
  the front (+z towards the camera); positive azimuth moves the camera towards +x, which
  is the object's LEFT side (a face looking along +z has its left ear at +x), so the
  object seems to turn to its own right and shows its left side. Azimuth 90 is a profile
  of the left side. Positive elevation looks down from above.
- Image x runs to the right and rows run downwards; at azimuth 0 and elevation 0 world +x
  is image right and world +y is image up.
- ``light_direction`` points FROM the object TOWARDS the light (light comes from there),
  in world coordinates. `view_to_world` turns a direction given relative to the camera
  (x right, y up, z towards the viewer) into world coordinates, for lights that stay fixed
  relative to the camera while the object turns, as in a studio.

Shading
-------
Lambertian with ambient: ``albedo * (ambient + (1 - ambient) * max(0, n . l))``, so values
stay in [0, 1]. Lighting is two-sided: a triangle seen from its back is lit as if its normal
pointed the other way, so meshes with inward winding (or open meshes seen from inside) still
shade correctly. With ``smooth=True`` the light term is computed at the vertices from
area-weighted vertex normals and interpolated (Gouraud), which suits curved surfaces; with
``smooth=False`` each triangle has its face normal (flat), which suits boxes. Albedo is
per vertex and interpolated. Interpolation is perspective-correct.

How it rasterizes (why it is fast)
----------------------------------
Everything is vectorized over all triangles of a whole batch of images at once: each
triangle is expanded into the pixel rows it covers, each row into the exact span of pixel
centres inside the triangle (so no work is spent on empty parts of bounding boxes), and the
z-buffer is a `scatter_reduce` (max of a depth key: inverse depth, or -depth orthographic)
over all fragments. Every quantity is interpolated from per-triangle screen-space planes, so
a fragment costs a few operations. Big batches of big meshes go through in passes of at most
MAX_TRIANGLES_PER_PASS triangles, which bounds memory (a 107,000-triangle mesh takes about
45 ms per 32 x 32 image).
Images are drawn at ``supersample`` times the size and area-averaged down (anti-aliasing).
Triangles with a vertex behind the camera's near plane are dropped (never the case when the
camera is outside the mesh's bounding sphere, which the default framing guarantees).
"""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

NEAR = 1e-3  # triangles with a vertex closer than this (in world units) are dropped
EDGE_EPS = 1e-4  # pixel centres this close outside an edge count as inside: no cracks on shared edges
DEFAULT_DISTANCE_IN_RADII = 4.0  # default camera distance, in bounding-sphere radii
MAX_TRIANGLES_PER_PASS = 500_000  # triangles (over all images) rasterized at once: bounds memory


def render_mesh(vertices, triangles, albedo, *, azimuth_deg, elevation_deg, light_direction, scale=None,
                camera_distance=None, **options) -> np.ndarray:
    """Render one mesh; float32 (size, size) in [0, 1], rows downwards. The single-image form of
    `render_batch`, for tests and one-off pictures.

    vertices: (V, 3) object-centred; triangles: (T, 3) int; albedo: (V,) in [0, 1] (or a
    scalar); light_direction: 3-vector; azimuth, elevation, scale and camera distance one
    number each. `options` (size, background, ambient, ...) are `render_batch`'s.
    """
    vertices = torch.as_tensor(np.asarray(vertices, dtype=np.float32))
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3), got {tuple(vertices.shape)}")
    albedo = torch.as_tensor(np.asarray(albedo, dtype=np.float32)).expand(len(vertices))
    images = render_batch(
        vertices[None],
        triangles,
        albedo[None],
        azimuth_deg=[float(azimuth_deg)],
        elevation_deg=[float(elevation_deg)],
        light_direction=torch.as_tensor(np.asarray(light_direction, dtype=np.float32)).view(1, 3),
        scale=None if scale is None else [float(scale)],
        camera_distance=None if camera_distance is None else [float(camera_distance)],
        **options,
    )
    return images[0].numpy()


def render_batch(
    vertices,
    triangles,
    albedo,
    *,
    azimuth_deg,
    elevation_deg,
    light_direction,
    size,
    background=0.0,
    ambient=0.2,
    supersample=2,
    scale=None,
    camera_distance=None,
    projection="perspective",
    smooth=True,
    cull_backfaces=False,
    normals=None,
) -> torch.Tensor:
    """Render B meshes that share one triangle list; float32 tensor (B, size, size) in [0, 1], rows downwards.

    vertices (B, V, 3), object-centred; triangles (T, 3) int; albedo (B, V), (V,) or scalar,
    in [0, 1]; azimuth_deg, elevation_deg, scale and camera_distance one per image (B,) or
    one for all; light_direction (B, 3) or (3,), in world coordinates towards the light
    (normalized here). See the module docstring for the angle conventions.

    Framing: by default the camera stands ``DEFAULT_DISTANCE_IN_RADII`` bounding-sphere radii
    away and the bounding sphere (about the origin) just fills the image; give ``scale`` (half
    the width of the view, in world units, at the origin's depth) and ``camera_distance``
    (world units) to frame several meshes alike. ``projection`` is "perspective" or
    "orthographic". ``cull_backfaces`` skips triangles seen from behind, which is faster and
    right only for closed meshes wound counter-clockwise seen from outside. ``normals``
    (B, V, 3) replaces the computed vertex normals of smooth shading (a caller that knows its
    surface analytically saves time and gets them exact).

    Large batches of large meshes are rasterized a few images at a time, so that no pass
    holds more than MAX_TRIANGLES_PER_PASS triangles (memory stays near a few hundred MB).
    """
    if projection not in ("perspective", "orthographic"):
        raise ValueError(f"projection must be 'perspective' or 'orthographic', got {projection!r}")
    vertices = torch.as_tensor(vertices, dtype=torch.float32)
    if vertices.ndim != 3 or vertices.shape[2] != 3:
        raise ValueError(f"vertices must be (B, V, 3), got {tuple(vertices.shape)}")
    n_images, n_vertices = vertices.shape[:2]
    triangles = torch.as_tensor(np.ascontiguousarray(triangles), dtype=torch.long)
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles must be (T, 3), got {tuple(triangles.shape)}")
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= n_vertices):
        raise ValueError(f"triangle indices must lie in [0, {n_vertices})")
    albedo = torch.as_tensor(albedo, dtype=torch.float32).expand(n_images, n_vertices)
    light = F.normalize(torch.as_tensor(light_direction, dtype=torch.float32).expand(n_images, 3), dim=1)
    per_image = functools.partial(_per_image, n_images)
    radius = vertices.norm(dim=2).amax(dim=1).clamp_min(1e-8)
    distance = per_image(camera_distance) if camera_distance is not None else DEFAULT_DISTANCE_IN_RADII * radius
    if scale is not None:
        scale = per_image(scale)
    elif projection == "perspective":
        scale = radius * distance / (distance**2 - radius**2).clamp_min(1e-12).sqrt()
    else:
        scale = radius
    frames = camera_frames(per_image(azimuth_deg), per_image(elevation_deg))
    if normals is not None:
        normals = torch.as_tensor(normals, dtype=torch.float32).expand(n_images, n_vertices, 3)
    shading = {"ambient": ambient, "smooth": smooth, "cull": cull_backfaces, "projection": projection}
    step = max(1, MAX_TRIANGLES_PER_PASS // max(1, len(triangles)))
    images = [torch.empty(0, size, size)]
    for start in range(0, n_images, step):
        part = slice(start, start + step)
        images.append(
            _render_pass(
                vertices[part], triangles, albedo[part], light[part], frames[part], scale[part], distance[part],
                None if normals is None else normals[part], size, supersample, background, **shading,
            )
        )
    return torch.cat(images)


def _render_pass(
    vertices, triangles, albedo, light, frames, scale, distance, normals, size, supersample, background,
    *, ambient, smooth, cull, projection,
):
    """Render a batch small enough to rasterize at once (see MAX_TRIANGLES_PER_PASS)."""
    canvas = size * supersample
    values = _project(vertices, frames, scale, distance, projection, canvas)
    values["albedo"] = albedo.contiguous()
    if smooth:
        normals = vertex_normals(vertices, triangles) if normals is None else normals
        cosine = torch.einsum("bvk,bk->bv", normals, light)
        values["light_front"] = ambient + (1 - ambient) * cosine.clamp_min(0)
        values["light_back"] = ambient + (1 - ambient) * (-cosine).clamp_min(0)
    else:  # flat: face normals come from the corners' world positions
        for axis, name in enumerate(("world_x", "world_y", "world_z")):
            values[name] = vertices[..., axis].contiguous()
    table = _triangle_table(values, triangles, light, ambient, smooth, cull)
    fine = _rasterize(table, len(vertices), canvas, background)
    if supersample > 1:
        fine = F.avg_pool2d(fine.unsqueeze(1), supersample).squeeze(1)
    return fine.clamp_(0, 1)


def _per_image(n_images, value) -> torch.Tensor:
    """A scalar or a length-B sequence as a float32 (B,) tensor."""
    return torch.as_tensor(value, dtype=torch.float32).reshape(-1).expand(n_images).contiguous()


def camera_frames(azimuth_deg, elevation_deg) -> torch.Tensor:
    """(B, 3, 3) rows: the camera's right, up and forward (towards the origin) unit vectors."""
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32).reshape(-1))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32).reshape(-1))
    el, az = torch.broadcast_tensors(el, az)
    zero = torch.zeros_like(az)
    right = torch.stack([torch.cos(az), zero, -torch.sin(az)], dim=1)
    up = torch.stack([-torch.sin(el) * torch.sin(az), torch.cos(el), -torch.sin(el) * torch.cos(az)], dim=1)
    forward = -torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], dim=1)
    return torch.stack([right, up, forward], dim=1)


def direction_from_angles(azimuth_deg, elevation_deg) -> torch.Tensor:
    """(B, 3) unit vectors (cos(el) sin(az), sin(el), cos(el) cos(az)): azimuth 0 is +z,
    positive azimuth turns towards +x, positive elevation towards +y."""
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32).reshape(-1))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32).reshape(-1))
    el, az = torch.broadcast_tensors(el, az)
    return torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], dim=1)


def view_to_world(direction, azimuth_deg, elevation_deg) -> torch.Tensor:
    """Turn (B, 3) directions given in the camera's frame (x image right, y image up, z towards
    the viewer) into world coordinates for cameras at the given azimuth and elevation.

    With it a light can stay put relative to the camera while the object turns (a studio
    light): ``view_to_world(direction_from_angles(30, 20), az, el)`` is a light from the
    viewer's upper right, whatever the pose.
    """
    frames = camera_frames(azimuth_deg, elevation_deg)
    direction = torch.as_tensor(direction, dtype=torch.float32).expand(len(frames), 3)
    right, up, forward = frames.unbind(dim=1)
    x, y, z = direction.unbind(dim=1)
    return x[:, None] * right + y[:, None] * up - z[:, None] * forward


def _project(vertices, frames, scale, distance, projection, canvas) -> dict[str, torch.Tensor]:
    """Per-vertex screen values, each (B, V) and contiguous: x and y in pixels (pixel i spans
    [i, i + 1], rows downwards), the depth key (larger is nearer: 1/z in perspective, -z
    orthographic), the perspective denominator 1/z (1 orthographic), and whether the vertex
    lies in front of the near plane."""
    view = torch.einsum("bvk,bjk->bjv", vertices, frames)  # B, 3, V
    depth = view[:, 2] + distance[:, None]
    if projection == "perspective":
        inverse_depth = 1.0 / depth.clamp_min(NEAR)
        zoom = (distance / scale)[:, None] * inverse_depth
        key, den = inverse_depth, inverse_depth
    else:
        zoom = (1.0 / scale)[:, None].expand_as(depth)
        key, den = -depth, torch.ones_like(depth)
    half = canvas / 2
    return {
        "x": (view[:, 0] * zoom + 1) * half,
        "y": (1 - view[:, 1] * zoom) * half,
        "key": key.contiguous(),
        "den": den.contiguous(),
        "in_front": depth > NEAR,
    }


def _cross(a, b) -> torch.Tensor:
    """Cross product over the last axis (faster than linalg.cross on small last axes)."""
    a0, a1, a2 = a.unbind(-1)
    b0, b1, b2 = b.unbind(-1)
    return torch.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=-1)


def vertex_normals(vertices, triangles) -> torch.Tensor:
    """(B, V, 3) unit vertex normals: the area-weighted mean of the adjacent face normals
    (face normals by the right-hand rule of the winding)."""
    vertices = torch.as_tensor(vertices, dtype=torch.float32)
    triangles = torch.as_tensor(np.ascontiguousarray(triangles), dtype=torch.long)
    corners = [vertices.index_select(1, triangles[:, c]) for c in range(3)]
    face = _cross(corners[1] - corners[0], corners[2] - corners[0])
    normals = torch.zeros_like(vertices)
    for corner in range(3):
        normals.index_add_(1, triangles[:, corner], face)
    return F.normalize(normals, dim=2)


def _rasterize(table, n_images, canvas, background):
    """Z-buffered, shaded image (B, canvas, canvas) of every triangle of every image."""
    image = torch.full((n_images * canvas * canvas,), float(background))
    if table is None:
        return image.view(n_images, canvas, canvas)
    rows = _rows(table, canvas)
    pixel, row, offset = _fragments(rows)
    if len(pixel) == 0:
        return image.view(n_images, canvas, canvas)
    key = rows["key"].index_select(0, row).addcmul_(offset, rows["key_dx"].index_select(0, row))
    nearest = torch.full_like(image, -math.inf).scatter_reduce_(0, pixel, key, "amax")
    won = torch.nonzero(key >= nearest.index_select(0, pixel)).squeeze(1)
    pixel, row, offset = pixel.index_select(0, won), row.index_select(0, won), offset.index_select(0, won)
    triangle = rows["triangle"].index_select(0, row)
    x = rows["x_start"].index_select(0, row) + offset
    y = rows["y"].index_select(0, row)

    def interpolate(name):
        plane = table[name].index_select(0, triangle)  # value at the pixel origin, d/dx, d/dy
        return plane[:, 0] + plane[:, 1] * x + plane[:, 2] * y

    den = interpolate("den")
    shade = interpolate("albedo_num") * interpolate("light_num") / (den * den)
    value = torch.zeros_like(image).scatter_reduce_(0, pixel, shade, "amax", include_self=False)
    covered = torch.zeros(len(image), dtype=torch.bool)
    covered[pixel] = True
    return torch.where(covered, value, image).view(n_images, canvas, canvas)


def _triangle_table(values, triangles, light, ambient, smooth, cull):
    """Per drawable triangle (flattened over the batch), as 1-D tensors: its image, its corners
    on screen (x0, y0, ... y2, and sorted by height, see `_edges_by_height`), and screen-space
    planes (value at the pixel origin, d/dx, d/dy; K x 3) of the depth key, the perspective
    denominator, and the albedo and light factor each times the denominator (interpolating
    those and dividing by the interpolated denominator is perspective-correct).
    None if nothing is drawable. `values` holds the per-vertex (B, V) tensors."""
    n_vertices = values["x"].shape[1]
    n_triangles = len(triangles)
    corner_index = [triangles[:, c].contiguous() for c in range(3)]
    xs = [values["x"].index_select(1, corner_index[c]) for c in range(3)]  # each B x T
    ys = [values["y"].index_select(1, corner_index[c]) for c in range(3)]
    area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0])
    keep = area.abs() > 1e-9
    if not bool(values["in_front"].all()):
        for c in range(3):
            keep &= values["in_front"].index_select(1, corner_index[c])
    if cull:
        keep &= area < 0  # counter-clockwise in a y-up view is clockwise in rows-down pixels
    flat = torch.nonzero(keep.view(-1)).squeeze(1)
    if len(flat) == 0:
        return None
    image = torch.div(flat, n_triangles, rounding_mode="floor")
    triangle = flat - image * n_triangles
    table = {"image": image}
    for c in range(3):
        table[f"x{c}"] = xs[c].view(-1).index_select(0, flat)
        table[f"y{c}"] = ys[c].view(-1).index_select(0, flat)
    area = area.view(-1).index_select(0, flat)
    vertex_rows = [image * n_vertices + triangles[:, c].index_select(0, triangle) for c in range(3)]

    def at_corners(name):
        return [values[name].view(-1).index_select(0, rows) for rows in vertex_rows]

    front = area < 0
    if smooth:
        light_front, light_back = at_corners("light_front"), at_corners("light_back")
        light_factor = [torch.where(front, f, b) for f, b in zip(light_front, light_back)]
    else:
        world = [torch.stack(corner, dim=1) for corner in zip(*(at_corners(f"world_{a}") for a in "xyz"))]
        normal = F.normalize(_cross(world[1] - world[0], world[2] - world[0]), dim=1)
        cosine = (normal * light.index_select(0, image)).sum(dim=1)
        cosine = torch.where(front, cosine, -cosine)
        light_factor = [ambient + (1 - ambient) * cosine.clamp_min(0)] * 3
    den = at_corners("den")
    albedo = at_corners("albedo")
    quantities = {
        "key": at_corners("key"),
        "den": den,
        "albedo_num": [a * d for a, d in zip(albedo, den)],
        "light_num": [light * d for light, d in zip(light_factor, den)],
    }
    # Each quantity q is a plane over the screen, q(p) = q(0) + p . grad q, where grad q
    # solves [edge1; edge2] grad q = (q1 - q0, q2 - q0).
    e1x, e1y = table["x1"] - table["x0"], table["y1"] - table["y0"]
    e2x, e2y = table["x2"] - table["x0"], table["y2"] - table["y0"]
    inverse_area = 1.0 / area
    for name, (q0, q1, q2) in quantities.items():
        rise1 = (q1 - q0) * inverse_area
        rise2 = (q2 - q0) * inverse_area
        d_dx = rise1 * e2y - rise2 * e1y
        d_dy = rise2 * e1x - rise1 * e2x
        table[name] = torch.stack([q0 - d_dx * table["x0"] - d_dy * table["y0"], d_dx, d_dy], dim=1)
    table.update(_edges_by_height(table))
    return table


def _edges_by_height(table):
    """The corners sorted by y (top, middle, bottom, as x and y) and the slopes dx/dy of the
    long edge (top to bottom) and of the two short ones: all a row needs for its span."""
    y = torch.stack([table["y0"], table["y1"], table["y2"]], dim=1)
    x = torch.stack([table["x0"], table["x1"], table["x2"]], dim=1)
    y, order = torch.sort(y, dim=1)
    x = torch.gather(x, 1, order)
    (x_top, x_mid, x_bottom), (y_top, y_mid, y_bottom) = x.unbind(1), y.unbind(1)

    def slope(xa, ya, xb, yb):
        rise = yb - ya
        return torch.where(rise > 1e-12, (xb - xa) / torch.where(rise > 1e-12, rise, torch.ones_like(rise)), torch.zeros_like(rise))

    return {
        "x_top": x_top.contiguous(),
        "y_top": y_top.contiguous(),
        "x_mid": x_mid.contiguous(),
        "y_mid": y_mid.contiguous(),
        "y_bottom": y_bottom.contiguous(),
        "slope_long": slope(x_top, y_top, x_bottom, y_bottom),
        "slope_upper": slope(x_top, y_top, x_mid, y_mid),
        "slope_lower": slope(x_mid, y_mid, x_bottom, y_bottom),
    }


def _rows(table, canvas):
    """Expand each triangle into the pixel rows it crosses, with each row's span of pixel
    centres inside the triangle: x_start (centre of its first pixel), count, y (the row's
    centre), the depth key at x_start and its x step, and the flat pixel index of x_start."""
    y_low = torch.ceil(table["y_top"] - 0.5 - EDGE_EPS).clamp_min(0)
    y_high = torch.floor(table["y_bottom"] - 0.5 + EDGE_EPS).clamp_max(canvas - 1)
    heights = (y_high - y_low + 1).clamp_min(0).long()
    triangle = torch.repeat_interleave(torch.arange(len(heights)), heights)
    starts = torch.cumsum(heights, 0) - heights
    y = y_low.index_select(0, triangle) + (torch.arange(len(triangle)) - starts.index_select(0, triangle)) + 0.5

    def get(name):
        return table[name].index_select(0, triangle)

    below_top = y - get("y_top")
    below_mid = y - get("y_mid")
    x_long = get("x_top") + below_top * get("slope_long")
    x_short = torch.where(below_mid < 0, get("x_top") + below_top * get("slope_upper"), get("x_mid") + below_mid * get("slope_lower"))
    x_start = torch.ceil(torch.minimum(x_long, x_short) - 0.5 - EDGE_EPS).clamp_min(0)
    x_end = torch.floor(torch.maximum(x_long, x_short) - 0.5 + EDGE_EPS).clamp_max(canvas - 1)
    count = (x_end - x_start + 1).clamp_min(0).long()
    x_start = torch.where(count > 0, x_start, torch.zeros_like(x_start)) + 0.5  # first pixel's centre
    key_plane = get("key")
    key = key_plane[:, 0] + key_plane[:, 1] * x_start + key_plane[:, 2] * y
    first_pixel = (get("image") * canvas + (y - 0.5).long()) * canvas + (x_start - 0.5).long()
    return {
        "triangle": triangle,
        "x_start": x_start,
        "y": y,
        "count": count,
        "key": key,
        "key_dx": key_plane[:, 1].contiguous(),
        "first_pixel": first_pixel,
    }


def _fragments(rows):
    """Every covered pixel of every row: flat pixel index, row index, and offset (pixels)
    from the row's first pixel."""
    count = rows["count"]
    row = torch.repeat_interleave(torch.arange(len(count)), count)
    starts = torch.cumsum(count, 0) - count
    offset = torch.arange(len(row)) - starts.index_select(0, row)
    pixel = rows["first_pixel"].index_select(0, row) + offset
    return pixel, row, offset.float()


# ---------------------------------------------------------------------------------------------
# Mesh helpers: closed meshes wound counter-clockwise seen from outside (safe to cull).


def _outward(vertices: np.ndarray, triangles: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Flip triangles whose normal points towards `centre`, so all are wound outwards."""
    corners = vertices[triangles]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    inward = np.einsum("tk,tk->t", normal, corners.mean(axis=1) - centre) < 0
    fixed = triangles.copy()
    fixed[inward] = fixed[inward][:, [0, 2, 1]]
    return fixed


@functools.cache
def _box_template() -> tuple[np.ndarray, np.ndarray]:
    signs = np.array([[(i & 1) * 2 - 1, (i >> 1 & 1) * 2 - 1, (i >> 2 & 1) * 2 - 1] for i in range(8)], dtype=np.float64)
    quads = [(0, 2, 6, 4), (1, 3, 7, 5), (0, 1, 5, 4), (2, 3, 7, 6), (0, 1, 3, 2), (4, 5, 7, 6)]
    triangles = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    return signs, _outward(signs, triangles, np.zeros(3))


def box_triangles() -> np.ndarray:
    """(12, 3) triangles of the 8 corners that `box_vertices` returns, wound outwards."""
    return _box_template()[1].copy()


def box_vertices(centre, axes) -> torch.Tensor:
    """Corners (..., 8, 3) of boxes (parallelepipeds) with the given centres (..., 3) and half
    axes (..., 3, 3), one half-extent vector per row. The rows must be a right-handed set
    (positive determinant) for `box_triangles` to face outwards."""
    signs = torch.as_tensor(_box_template()[0], dtype=torch.float32)
    centre = torch.as_tensor(centre, dtype=torch.float32)
    axes = torch.as_tensor(axes, dtype=torch.float32)
    return centre.unsqueeze(-2) + torch.einsum("ck,...kj->...cj", signs, axes)


def uv_sphere(
    n_longitude: int, n_latitude: int, longitude_warp: float = 0.0, latitude_warp: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit sphere as (V, 3) vertices, (T, 3) outward triangles and (V, 2) (longitude,
    latitude) in radians. Longitude 0 faces +z and grows towards +x; latitude is +pi/2 at
    the top (+y). Poles are single vertices. ``longitude_warp`` in [0, 1) packs meridians
    closer near longitude 0 (the front), ``latitude_warp`` in [0, 1) packs rings closer near
    the equator: a face needs its detail there, the crown and the back do not."""
    u = np.arange(n_longitude) / n_longitude * 2 * np.pi - np.pi
    longitude = u - longitude_warp * np.sin(u)
    v = (np.arange(1, n_latitude) / n_latitude - 0.5) * np.pi
    latitude = v - latitude_warp * np.sin(2 * v) / 2
    lon, lat = np.meshgrid(longitude, latitude)  # rings from bottom to top
    angles = np.concatenate([[[0.0, -np.pi / 2]], np.column_stack([lon.ravel(), lat.ravel()]), [[0.0, np.pi / 2]]])
    vertices = np.column_stack(
        [np.cos(angles[:, 1]) * np.sin(angles[:, 0]), np.sin(angles[:, 1]), np.cos(angles[:, 1]) * np.cos(angles[:, 0])]
    )
    rings, top = n_latitude - 1, len(angles) - 1

    def ring(r, i):
        return 1 + r * n_longitude + i % n_longitude

    triangles = []
    for i in range(n_longitude):
        triangles.append((0, ring(0, i), ring(0, i + 1)))
        triangles.append((top, ring(rings - 1, i), ring(rings - 1, i + 1)))
        for r in range(rings - 1):
            triangles.append((ring(r, i), ring(r, i + 1), ring(r + 1, i + 1)))
            triangles.append((ring(r, i), ring(r + 1, i + 1), ring(r + 1, i)))
    triangles = _outward(vertices, np.array(triangles), np.zeros(3))
    return vertices, triangles, angles
