import io
import logging
import tarfile

import numpy as np
import pytest
from conftest import Reply
from PIL import Image

from infogan.data.real import chairs
from infogan.data.download import RemoteFile, sha256_of
from infogan.data.hdf5 import read_info, read_split
from infogan.errors import DatasetFileError, DownloadError

SIDE = 60  # renders are 600x600; the code crops in proportion, so small ones exercise the same path
CHAIRS = ["b_chair", "a_chair", "c_chair"]  # not in sorted order: labels must follow sorted names
VIEWS = [(0, 20, 0), (1, 20, 90), (2, 30, 180), (3, 30, 270)]  # (view, elevation p, azimuth t)


def render_name(chair, view, elevation, azimuth):
    return f"rendered_chairs/{chair}/renders/image_{view:03d}_p{elevation:03d}_t{azimuth:03d}_r096.png"


SHADE = 16  # renders have texture: the right half of the crop is this much lighter than the left


def png_bytes(gray_level, side=SIDE, mode="RGB", shade=SHADE):
    """A render whose central crop is `gray_level` on its left half and `gray_level + shade` on its
    right half; the margin outside the crop is black.

    If the crop is taken where it should be, the 64x64 result shows the two tones and no black."""
    image = Image.new(mode, (side, side), (0,) * len(mode))
    left, top, right, bottom = chairs.crop_box(side, side)
    image.paste((gray_level,) * len(mode), (left, top, right, bottom))
    image.paste((gray_level + shade,) * len(mode), ((left + right) // 2, top, right, bottom))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def add_bytes(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def assert_two_tones(image, level, tolerance=1):
    """`image` (64 x 64) is `png_bytes(level)` cropped and shrunk: the left tone, then the lighter right one."""
    assert np.abs(image[:, :28].astype(int) - level).max() <= tolerance, level
    assert np.abs(image[:, 36:].astype(int) - level - SHADE).max() <= tolerance, level


def view_level(c, view):
    return 40 * c + 10 * view + 20


def write_tar(path, extra=None, level=view_level, shade=SHADE):
    """A tiny rendered_chairs.tar: each render (chair number c, view) has its own gray `level(c, view)`;
    plus the .mat and folders."""
    levels = {}
    with tarfile.open(path, "w") as tar:
        for folder in ("rendered_chairs", *(f"rendered_chairs/{c}" for c in CHAIRS)):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        add_bytes(tar, "rendered_chairs/all_chair_names.mat", b"MATLAB 5.0 MAT-file, not read")
        for c, chair in enumerate(CHAIRS):
            for view, elevation, azimuth in VIEWS:
                levels[chair, view] = level(c, view)
                add_bytes(tar, render_name(chair, view, elevation, azimuth), png_bytes(level(c, view), shade=shade))
        add_bytes(tar, "rendered_chairs/README.txt", b"not a render")
        for member, payload in extra or []:
            tar.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return path, levels


@pytest.fixture
def tiny_tar(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    path, levels = write_tar(www / chairs.TAR_NAME)
    return path, levels


def prepare(tmp_path, server_url, tar_path, **kwargs):
    remote = RemoteFile(chairs.TAR_NAME, sha256=None)
    out = tmp_path / "chairs.h5"
    chairs.prepare(out, tmp_path / "raw", mirrors=[server_url], files={"tar": remote},
                   expected_images=len(CHAIRS) * len(VIEWS), test_every=2, backoff_s=0, **kwargs)
    return out


def test_published_file_and_crop_constants():
    assert chairs.FILE.urls == ("https://www.di.ens.fr/willow/research/seeing3Dchairs/data/rendered_chairs.tar",)
    assert chairs.FILE.sha256 is None and chairs.N_IMAGES == 86_366
    assert chairs.crop_box(600, 600) == (100, 100, 500, 500)
    assert "central 400x400 crop (offset 100)" in chairs.description()


def test_parse_render_name():
    assert chairs.parse_render_name("rendered_chairs/1a6f/renders/image_033_p030_t348_r096.png") == {
        "chair": "1a6f", "view": 33, "elevation_deg": 30.0, "azimuth_deg": 348.0,
    }
    assert chairs.parse_render_name("./rendered_chairs/x/renders/image_000_p020_t000_r096.png")["chair"] == "x"
    assert chairs.parse_render_name("rendered_chairs/all_chair_names.mat") is None
    assert chairs.parse_render_name("rendered_chairs/x/renders/image_000_p020_t000.png") is None


def test_preprocess_takes_gray_central_crop_then_resizes():
    out = chairs.preprocess(Image.open(io.BytesIO(png_bytes(77, side=600))))
    assert out.shape == (64, 64) and out.dtype == np.uint8
    assert_two_tones(out, 77)  # the black margin is cut away
    red = Image.new("RGB", (600, 600), (255, 0, 0))
    assert abs(int(chairs.preprocess(red).mean()) - 76) <= 1  # ITU-R 601 luma of pure red
    transparent = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    assert chairs.preprocess(transparent).min() == 255  # transparent renders sit on white


def test_prepare_end_to_end(http_server, tiny_tar, tmp_path, caplog):
    path, levels = tiny_tar
    server = http_server(path.parent)
    with caplog.at_level(logging.INFO):
        out = prepare(tmp_path, server.url, path)

    info = read_info(out)
    assert (info.dataset, info.source) == ("chairs", "real")
    assert info.raw_checksums == {chairs.TAR_NAME: sha256_of(path)}
    assert sha256_of(path) in caplog.text
    assert info.splits == {"train": (12, 1, 64, 64), "test": (8, 1, 64, 64)}

    train = read_split(out, "train")
    sorted_chairs = sorted(CHAIRS)
    np.testing.assert_array_equal(train.labels, np.repeat(np.arange(3), 4))
    assert train.factor_names == ["azimuth_deg", "azimuth_sin", "azimuth_cos", "elevation_deg"]
    np.testing.assert_allclose(train.factors[:4, 0], [0, 90, 180, 270])
    np.testing.assert_allclose(train.factors[:4, 1], [0, 1, 0, -1], atol=1e-6)
    np.testing.assert_allclose(train.factors[:4, 2], [1, 0, -1, 0], atol=1e-6)
    np.testing.assert_allclose(train.factors[:4, 3], [20, 20, 30, 30])
    for i, image in enumerate(train.images):
        assert_two_tones(image[0], levels[sorted_chairs[i // 4], i % 4])

    test = read_split(out, "test")
    np.testing.assert_array_equal(test.labels, [0] * 4 + [2] * 4)
    np.testing.assert_array_equal(test.images, train.images[np.r_[0:4, 8:12]])


def test_truncated_download_is_retried_then_reported(http_server, tiny_tar, tmp_path):
    path, _ = tiny_tar
    body = path.read_bytes()
    server = http_server()
    server.script(chairs.TAR_NAME, Reply(body=body[:5000], content_length=len(body)))
    with pytest.raises(DownloadError, match=rf"truncated.*place it at {tmp_path / 'raw' / chairs.TAR_NAME}"):
        prepare(tmp_path, server.url, path)
    assert len(server.requests) == 3
    assert not (tmp_path / "raw" / chairs.TAR_NAME).exists()


def test_html_error_page_is_refused(http_server, tiny_tar, tmp_path):
    path, _ = tiny_tar
    server = http_server()
    server.script(chairs.TAR_NAME, Reply(body=b"<!DOCTYPE html><html>Service unavailable</html>"))
    with pytest.raises(DownloadError, match="got an HTML page instead of the file"):
        prepare(tmp_path, server.url, path)
    assert not (tmp_path / "raw" / chairs.TAR_NAME).exists()


def _member(name, type_=tarfile.REGTYPE, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = type_, size, linkname
    return info


@pytest.mark.parametrize(
    "member, payload, message",
    [
        (_member("rendered_chairs/../evil.png", size=4), b"evil", r"member 'rendered_chairs/\.\./evil\.png' has a '\.\.' component"),
        (_member("../evil.png", size=4), b"evil", r"member '\.\./evil\.png' has a '\.\.' component"),
        (_member("/tmp/evil.png", size=4), b"evil", r"member '/tmp/evil\.png' has an absolute path"),
        (_member("rendered_chairs/z/renders/image_000_p020_t000_r096.png", tarfile.SYMTYPE, linkname="/etc/passwd"), None,
         r"member 'rendered_chairs/z/renders/image_000_p020_t000_r096\.png' is a link \(to '/etc/passwd'\)"),
        (_member("rendered_chairs/hard", tarfile.LNKTYPE, linkname="rendered_chairs/all_chair_names.mat"), None,
         r"member 'rendered_chairs/hard' is a link"),
    ],
    ids=["dotdot-inside", "dotdot", "absolute", "symlink", "hardlink"],
)
def test_escaping_members_are_refused(http_server, tmp_path, member, payload, message):
    www = tmp_path / "www"
    www.mkdir()
    path, _ = write_tar(www / chairs.TAR_NAME, extra=[(member, payload)])
    server = http_server(www)
    with pytest.raises(DatasetFileError, match=message) as caught:
        prepare(tmp_path, server.url, path)
    assert chairs.TAR_NAME in str(caught.value)
    assert not (tmp_path / "chairs.h5").exists()
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "raw" / "evil.png").exists()


def test_placed_corrupt_tar_is_named(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed = raw / chairs.TAR_NAME
    placed.write_bytes(b"\x89PNG not a tar at all" * 100)
    with pytest.raises(DatasetFileError, match=rf"{placed}: not a readable tar"):
        prepare(tmp_path, closed_port_url, placed)
    assert placed.exists()


def test_placed_tar_without_renders_is_named(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed = raw / chairs.TAR_NAME
    with tarfile.open(placed, "w") as tar:
        add_bytes(tar, "rendered_chairs/all_chair_names.mat", b"x")
    with pytest.raises(DatasetFileError, match=rf"{placed}: a tar, but it holds no rendered_chairs"):
        prepare(tmp_path, closed_port_url, placed)


@pytest.mark.parametrize("cut, message", [(7700, "unexpected end of data"), (10240, "no end-of-archive marker")],
                         ids=["inside-a-member", "at-a-member-boundary"])
def test_truncated_placed_tar_is_named(tiny_tar, tmp_path, closed_port_url, cut, message):
    path, _ = tiny_tar
    raw = tmp_path / "raw"
    raw.mkdir()
    placed = raw / chairs.TAR_NAME
    placed.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(DatasetFileError, match=rf"{placed}: not a readable tar, or truncated \(.*{message}"):
        prepare(tmp_path, closed_port_url, placed)


def test_render_count_is_checked(http_server, tiny_tar, tmp_path):
    path, _ = tiny_tar
    server = http_server(path.parent)
    with pytest.raises(DatasetFileError, match=r"12 renders in 3 chairs, the published tar has 13"):
        chairs.prepare(tmp_path / "c.h5", tmp_path / "raw", mirrors=[server.url],
                       files={"tar": RemoteFile(chairs.TAR_NAME, sha256=None)}, expected_images=13)


def test_mirrors_from_environment(http_server, tiny_tar, tmp_path, monkeypatch):
    path, _ = tiny_tar
    server = http_server(path.parent)
    monkeypatch.setenv(chairs.MIRRORS_ENV, server.url)
    chairs.prepare(tmp_path / "c.h5", tmp_path / "raw", files={"tar": chairs.FILE}, expected_images=12)
    assert server.requests == ["/" + chairs.TAR_NAME]


def placed_tar(tmp_path, **drawing):
    raw = tmp_path / "raw"
    raw.mkdir()
    path, _ = write_tar(raw / chairs.TAR_NAME, **drawing)
    return path


def test_blank_renders_are_refused(tmp_path, closed_port_url):
    placed = placed_tar(tmp_path, level=lambda c, view: 0, shade=0)  # the published layout, every render black
    with pytest.raises(DatasetFileError) as caught:
        prepare(tmp_path, closed_port_url, placed)
    message = str(caught.value)
    assert message.startswith(f"{placed}: more than 1% of its images are one flat colour (1 among the first 1 of 12)")
    assert "not 3D Chairs' renders; delete it and download" in message and "\n" not in message
    assert placed.exists() and not (tmp_path / "chairs.h5").exists()


def test_chairs_showing_one_image_in_every_view_are_refused(tmp_path, closed_port_url):
    placed = placed_tar(tmp_path, level=lambda c, view: 40 * c + 20)  # textured, but a chair looks the same from every side
    with pytest.raises(DatasetFileError, match=rf"^{placed}: every view of 3 of its 3 chairs \(such as a_chair\) is one "
                                               "identical image"):
        prepare(tmp_path, closed_port_url, placed)
    assert not (tmp_path / "chairs.h5").exists()


def test_blank_tar_is_refused_early_through_the_command_line(tmp_path, capsys, monkeypatch):
    """With the published count expected, a blank imitation is refused once more than 1% of it is read."""
    from infogan.cli import main

    monkeypatch.delenv(chairs.MIRRORS_ENV, raising=False)
    raw = tmp_path / "raw"
    raw.mkdir()
    blank, limit = png_bytes(0, side=6, shade=0), int(chairs.N_IMAGES * 0.01)
    with tarfile.open(raw / chairs.TAR_NAME, "w") as tar:
        for i in range(limit + 1):
            add_bytes(tar, render_name(f"chair{i // chairs.VIEWS_PER_CHAIR:04d}", i % chairs.VIEWS_PER_CHAIR, 20, 0), blank)
    status = main(["prepare", "chairs", "--out", str(tmp_path / "chairs.h5"), "--raw-dir", str(raw)])
    lines = capsys.readouterr().err.splitlines()  # progress bars, then the error
    errors = [line for line in lines if line.startswith("infogan prepare: error: ")]
    assert status == 1 and len(errors) == 1 and not any("Traceback" in line for line in lines)
    assert errors[0].startswith(f"infogan prepare: error: {raw / chairs.TAR_NAME}: more than 1% of its images are one "
                                f"flat colour ({limit + 1} among the first {limit + 1} of {chairs.N_IMAGES:,})")
    assert not (tmp_path / "chairs.h5").exists()
