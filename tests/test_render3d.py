"""Behavioural tests of the software rasterizer: geometry lands where the camera conventions
say, the z-buffer keeps the nearest surface, shading follows the light, edges are
anti-aliased, and the batched path matches the one-mesh entry point."""

import numpy as np
import pytest
import torch

from infogan.data.synthetic.render3d import (
    box_triangles,
    box_vertices,
    direction_from_angles,
    render_batch,
    render_mesh,
    uv_sphere,
    view_to_world,
)

SPHERE_VERTICES, SPHERE_TRIANGLES, _ = uv_sphere(48, 32)
FRONT = dict(azimuth_deg=0.0, elevation_deg=0.0)


def box(centre, half_sizes):
    """Vertices (8, 3) and outward triangles (12, 3) of an axis-aligned box."""
    return box_vertices(torch.tensor(centre, dtype=torch.float32), torch.diag(torch.tensor(half_sizes))).numpy(), box_triangles()


def merge(*meshes):
    """One mesh from several (vertices, triangles) pairs."""
    vertices, triangles, offset = [], [], 0
    for v, t in meshes:
        vertices.append(v)
        triangles.append(t + offset)
        offset += len(v)
    return np.concatenate(vertices), np.concatenate(triangles)


def centroid(mask):
    """(x, y) centre of a boolean image, in pixels, rows downwards."""
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean()


def test_sphere_is_a_centred_disc_of_the_right_size():
    """Radius 0.5 in a view 2 wide at 64 px: a disc of radius 16 px; with ambient 1 every
    covered pixel is 1, so the image's sum is the covered area."""
    image = render_mesh(
        0.5 * SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, **FRONT, light_direction=[0, 0, 1], size=64,
        scale=1.0, camera_distance=10.0, projection="orthographic", ambient=1.0,
    )
    assert image.shape == (64, 64) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image.sum() == pytest.approx(np.pi * 16**2, rel=0.01)
    x, y = centroid(image > 0)
    assert x == pytest.approx(31.5, abs=0.2) and y == pytest.approx(31.5, abs=0.2)


def test_default_framing_fits_the_bounding_sphere():
    image = render_mesh(SPHERE_VERTICES * 3.0, SPHERE_TRIANGLES, 1.0, **FRONT, light_direction=[0, 0, 1], size=64)
    rows, cols = np.nonzero(image > 0.05)
    assert rows.min() <= 2 and cols.min() <= 2 and rows.max() >= 61 and cols.max() >= 61
    assert image[0, 0] == 0 and image[32, 0] < image[32, 4]


def test_world_axes_map_to_image_directions():
    """+x is image right and +y image up from the front; from azimuth 90 (camera at +x),
    world +z is image left, and from elevation 90 (camera above), world -z is image up."""
    kw = dict(light_direction=[0, 0, 1], size=32, scale=2.0, camera_distance=8.0, background=0.0)
    right = render_mesh(*box([1.0, 0, 0], [0.3] * 3), 1.0, **FRONT, **kw)
    up = render_mesh(*box([0, 1.0, 0], [0.3] * 3), 1.0, **FRONT, **kw)
    front_from_side = render_mesh(*box([0, 0, 1.0], [0.3] * 3), 1.0, azimuth_deg=90.0, elevation_deg=0.0, **kw)
    back_from_above = render_mesh(*box([0, 0, -1.0], [0.3] * 3), 1.0, azimuth_deg=0.0, elevation_deg=90.0, **kw)
    assert centroid(right > 0)[0] > 20 and abs(centroid(right > 0)[1] - 15.5) < 1
    assert centroid(up > 0)[1] < 12 and abs(centroid(up > 0)[0] - 15.5) < 1
    assert centroid(front_from_side > 0)[0] < 12
    assert centroid(back_from_above > 0)[1] < 12


def test_positive_azimuth_shows_the_objects_left_side():
    """A marker on the object's left (+x) is seen at azimuth +90 and hidden at -90."""
    body = box([0, 0, 0], [0.5, 0.5, 0.5])
    marker = box([0.7, 0, 0], [0.1, 0.1, 0.1])
    vertices, triangles = merge(body, marker)
    albedo = np.r_[np.full(8, 0.3), np.full(8, 1.0)]
    kw = dict(elevation_deg=0.0, light_direction=[0, 0, 1], size=32, ambient=1.0, smooth=False)
    seen = render_mesh(vertices, triangles, albedo, azimuth_deg=90.0, **kw)
    hidden = render_mesh(vertices, triangles, albedo, azimuth_deg=-90.0, **kw)
    assert seen.max() > 0.95 and hidden.max() < 0.35


def test_z_buffer_keeps_the_nearest_surface_whatever_the_order():
    near = (np.array([[-1, -1, 0.5], [1, -1, 0.5], [1, 1, 0.5], [-1, 1, 0.5]], dtype=np.float32), np.array([[0, 1, 2], [0, 2, 3]]))
    far = (near[0] * [1, 1, -1], near[1])
    albedo = np.r_[np.full(4, 0.9), np.full(4, 0.3)]
    kw = dict(light_direction=[0, 0, 1], size=16, ambient=1.0, scale=2.0, camera_distance=6.0)
    for vertices, triangles, shade in ((*merge(near, far), albedo), (*merge(far, near), albedo[::-1])):
        from_front = render_mesh(vertices, triangles, shade, **FRONT, **kw)
        from_back = render_mesh(vertices, triangles, shade, azimuth_deg=180.0, elevation_deg=0.0, **kw)
        assert from_front[8, 8] == pytest.approx(0.9, abs=1e-5)
        assert from_back[8, 8] == pytest.approx(0.3, abs=1e-5)


def test_lit_side_is_brighter_and_turning_the_light_moves_it():
    def halves(light):
        image = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, **FRONT, light_direction=light, size=32, ambient=0.1)
        return image[:, :16].mean(), image[:, 16:].mean(), image

    left, right, _ = halves([1, 0, 0.3])
    assert right > 2 * left
    left, right, _ = halves([-1, 0, 0.3])
    assert left > 2 * right
    *_, from_camera = halves([0, 0, 1])
    ys, xs = np.unravel_index(np.argmax(from_camera), from_camera.shape)
    assert abs(xs - 15.5) <= 1.5 and abs(ys - 15.5) <= 1.5
    assert from_camera.max() == pytest.approx(1.0, abs=0.02)


def test_lambert_and_ambient_values_on_a_flat_face():
    """A camera-facing square lit at 60 degrees: albedo * (ambient + (1 - ambient) cos 60)."""
    vertices, triangles = box([0, 0, 0], [1.0, 1.0, 0.1])
    light = [np.sin(np.pi / 3), 0, np.cos(np.pi / 3)]
    image = render_mesh(vertices, triangles, 0.8, **FRONT, light_direction=light, size=16, ambient=0.25, smooth=False, scale=2.0, camera_distance=10.0)
    assert image[8, 8] == pytest.approx(0.8 * (0.25 + 0.75 * 0.5), abs=1e-4)


def test_albedo_is_interpolated_across_a_triangle():
    vertices = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], dtype=np.float32)
    albedo = np.array([0.0, 1.0, 1.0, 0.0])
    image = render_mesh(vertices, [[0, 1, 2], [0, 2, 3]], albedo, **FRONT, light_direction=[0, 0, 1], size=32, ambient=1.0, scale=1.0, camera_distance=20.0, projection="orthographic")
    row = image[16]
    assert np.all(np.diff(row) > 0) and row[0] < 0.05 and row[-1] > 0.95


def test_edges_are_antialiased_by_supersampling():
    kw = dict(**FRONT, light_direction=[0, 0, 1], size=32, ambient=1.0)
    sharp = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, supersample=1, **kw)
    smooth = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, supersample=4, **kw)
    assert set(np.unique(sharp)) <= {0.0, 1.0}
    partial = (smooth > 0.02) & (smooth < 0.98)
    assert partial.sum() > 40
    assert abs(smooth.sum() - sharp.sum()) < 0.05 * sharp.sum()


def test_background_value_fills_uncovered_pixels():
    image = render_mesh(0.3 * SPHERE_VERTICES, SPHERE_TRIANGLES, 0.2, **FRONT, light_direction=[0, 0, 1], size=32, background=1.0, scale=1.0, camera_distance=5.0)
    assert image[0, 0] == 1.0 and image[16, 16] < 0.3


def test_perspective_makes_nearer_objects_larger():
    kw = dict(**FRONT, light_direction=[0, 0, 1], size=64, scale=2.0, camera_distance=4.0)
    near = render_mesh(*box([0, 0, 1.0], [0.4] * 3), 1.0, **kw)
    far = render_mesh(*box([0, 0, -1.0], [0.4] * 3), 1.0, **kw)
    assert (near > 0).sum() > 2 * (far > 0).sum()
    ortho = [render_mesh(*box([0, 0, z], [0.4] * 3), 1.0, **{**kw, "projection": "orthographic"}) for z in (1.0, -1.0)]
    assert abs((ortho[0] > 0).sum() - (ortho[1] > 0).sum()) <= 2


def test_inside_out_winding_renders_the_same_without_culling():
    kw = dict(azimuth_deg=30.0, elevation_deg=20.0, light_direction=[1, 1, 0.5], size=32)
    outward = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 0.9, **kw)
    inward = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES[:, ::-1], 0.9, **kw)
    culled = render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 0.9, cull_backfaces=True, **kw)
    assert np.abs(outward - inward).max() < 1e-5
    assert np.abs(outward - culled).max() < 1e-5


def test_batch_matches_single_renders(monkeypatch):
    """Also when the batch is rasterized in several passes (tiny pass limit)."""
    from infogan.data.synthetic import render3d

    monkeypatch.setattr(render3d, "MAX_TRIANGLES_PER_PASS", 2 * len(SPHERE_TRIANGLES))
    generator = torch.Generator().manual_seed(0)
    n = 5
    vertices = torch.as_tensor(SPHERE_VERTICES, dtype=torch.float32) * (0.6 + 0.4 * torch.rand(n, 1, 3, generator=generator))
    azimuth = 360 * torch.rand(n, generator=generator)
    elevation = 60 * torch.rand(n, generator=generator) - 30
    light = torch.randn(n, 3, generator=generator)
    kw = dict(size=24, scale=1.2, camera_distance=5.0, background=0.5)
    batch = render_batch(vertices, SPHERE_TRIANGLES, 0.7, azimuth_deg=azimuth, elevation_deg=elevation, light_direction=light, **kw)
    for i in range(n):
        single = render_mesh(vertices[i].numpy(), SPHERE_TRIANGLES, 0.7, azimuth_deg=float(azimuth[i]), elevation_deg=float(elevation[i]), light_direction=light[i].numpy(), **kw)
        assert np.abs(batch[i].numpy() - single).max() < 1e-5


def test_view_to_world_keeps_a_light_fixed_relative_to_the_camera():
    azimuth, elevation = torch.tensor([0.0, 70.0, -120.0]), torch.tensor([0.0, 25.0, -40.0])
    towards_viewer = view_to_world(torch.tensor([0.0, 0.0, 1.0]), azimuth, elevation)
    assert torch.allclose(towards_viewer, direction_from_angles(azimuth, elevation), atol=1e-6)
    kw = dict(light_direction=None, size=32, ambient=0.1)
    images = []
    for az in (0.0, 70.0, -120.0):
        light = view_to_world(torch.tensor([1.0, 0.0, 0.3]), az, 0.0)[0].numpy()
        images.append(render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, azimuth_deg=az, elevation_deg=0.0, **{**kw, "light_direction": light}))
    for image in images:
        assert image[:, 16:].mean() > 2 * image[:, :16].mean()
        assert np.abs(image - images[0]).mean() < 0.01  # a sphere under a studio light looks the same from anywhere


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="triangle indices"):
        render_mesh(SPHERE_VERTICES, [[0, 1, len(SPHERE_VERTICES)]], 1.0, **FRONT, light_direction=[0, 0, 1], size=8)
    with pytest.raises(ValueError, match="projection"):
        render_mesh(SPHERE_VERTICES, SPHERE_TRIANGLES, 1.0, **FRONT, light_direction=[0, 0, 1], size=8, projection="fisheye")
    with pytest.raises(ValueError, match=r"\(V, 3\)"):
        render_mesh(SPHERE_VERTICES[:, :2], SPHERE_TRIANGLES, 1.0, **FRONT, light_direction=[0, 0, 1], size=8)
