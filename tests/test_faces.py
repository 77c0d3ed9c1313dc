import struct
import zipfile

import h5py
import numpy as np
import pytest
from conftest import Reply
from scipy.io import savemat

from infogan.data.download import RemoteFile, sha256_of
from infogan.data.hdf5 import read_info, read_split
from infogan.data.real import faces, faces_basel, faces_dcign
from infogan.data.real.torch7 import Torch7FormatError, read_torch7
from infogan.errors import DatasetFileError, DownloadError

# ---------------------------------------------------------------------------------------------
# A small Torch7 writer (binary torch.save), to make test files the reader has never seen.
# ---------------------------------------------------------------------------------------------

CLASS_OF = {np.dtype("float32"): "Float", np.dtype("float64"): "Double", np.dtype("uint8"): "Byte",
            np.dtype("int64"): "Long"}


class View:
    """A tensor over `storage` (a 1-D array, shared by identity) with explicit sizes, strides and 0-based offset."""

    def __init__(self, storage, sizes, strides, offset=0):
        self.storage, self.sizes, self.strides, self.offset = storage, sizes, strides, offset


class T7Writer:
    def __init__(self, versioned=True):
        self.out = bytearray()
        self.index = {}
        self.versioned = versioned

    def int(self, value):
        self.out += struct.pack("<i", value)

    def long(self, value):
        self.out += struct.pack("<q", value)

    def string(self, text):
        data = text.encode()
        self.int(len(data))
        self.out += data

    def reference(self, obj, tag):
        """Write the tag and reference number; True if the object was written before."""
        self.int(tag)
        seen = id(obj) in self.index
        if not seen:
            self.index[id(obj)] = (len(self.index) + 1, obj)  # keep obj alive so ids stay unique
        self.int(self.index[id(obj)][0])
        return seen

    def torch_header(self, class_name):
        if self.versioned:
            self.string("V 1")
        self.string(class_name)

    def object(self, obj):
        if obj is None:
            self.int(0)
        elif isinstance(obj, bool):
            self.int(5)
            self.int(int(obj))
        elif isinstance(obj, (int, float)):
            self.int(1)
            self.out += struct.pack("<d", obj)
        elif isinstance(obj, str):
            self.int(2)
            self.string(obj)
        elif isinstance(obj, dict):
            if not self.reference(obj, 3):
                self.int(len(obj))
                for key, value in obj.items():
                    self.object(key)
                    self.object(value)
        elif isinstance(obj, np.ndarray):
            array = np.ascontiguousarray(obj)
            self.object(View(array.reshape(-1), list(array.shape), [s // array.itemsize for s in array.strides]))
        elif isinstance(obj, View):
            if not self.reference(obj, 4):
                self.torch_header(f"torch.{CLASS_OF[obj.storage.dtype]}Tensor")
                self.int(len(obj.sizes))
                for value in [*obj.sizes, *obj.strides, obj.offset + 1]:
                    self.long(value)
                self.storage(obj.storage)
        else:
            raise TypeError(type(obj))

    def storage(self, array):
        if not self.reference(array, 4):
            self.torch_header(f"torch.{CLASS_OF[array.dtype]}Storage")
            self.long(len(array))
            self.out += array.astype(array.dtype.newbyteorder("<")).tobytes()


def t7_bytes(obj, versioned=True) -> bytes:
    writer = T7Writer(versioned)
    writer.object(obj)
    return bytes(writer.out)


# ---------------------------------------------------------------------------------------------
# The Torch7 reader
# ---------------------------------------------------------------------------------------------


def test_reads_tables_numbers_strings_and_tensors():
    rng = np.random.default_rng(0)
    floats = rng.random((2, 3, 4)).astype(np.float32)
    doubles = rng.random(5)
    data = t7_bytes({1: floats, "name": "AZ_VARIED", "flag": True, "off": False, "n": 3.5, "nested": {2: doubles},
                     "bytes": np.arange(6, dtype=np.uint8).reshape(2, 3)})
    obj = read_torch7(data)
    assert set(obj) == {1, "name", "flag", "off", "n", "nested", "bytes"}
    np.testing.assert_array_equal(obj[1], floats)
    assert obj[1].dtype == np.float32
    np.testing.assert_array_equal(obj["nested"][2], doubles)
    assert obj["nested"][2].dtype == np.float64
    np.testing.assert_array_equal(obj["bytes"], np.arange(6).reshape(2, 3))
    assert (obj["name"], obj["flag"], obj["off"], obj["n"]) == ("AZ_VARIED", True, False, 3.5)


def test_reads_strided_views_and_shared_objects():
    storage = np.arange(24, dtype=np.float32)
    transposed = View(storage, [4, 3], [1, 4], offset=8)  # columns of a 3 x 4 block that starts at element 8
    shared = {"a": 1.0}
    obj = read_torch7(t7_bytes({1: transposed, 2: View(storage, [24], [1]), 3: shared, 4: shared, 5: transposed}))
    np.testing.assert_array_equal(obj[1], np.arange(8, 20, dtype=np.float32).reshape(3, 4).T)
    np.testing.assert_array_equal(obj[2], storage)
    assert obj[3] is obj[4] and obj[5] is obj[1]


def test_reads_nil():
    assert read_torch7(t7_bytes(None)) is None


def test_reads_files_without_version_strings():
    images = np.full((2, 1, 3, 3), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(read_torch7(t7_bytes(images, versioned=False)), images)


def test_truncated_torch7_is_named():
    data = t7_bytes(np.zeros((20, 1, 8, 8), dtype=np.float32))
    with pytest.raises(Torch7FormatError, match=r"batch7: not a Torch7 file we can read \(truncated"):
        read_torch7(data[:-10], name="batch7")


def test_unsupported_class_and_overrun_are_named():
    writer = T7Writer()
    writer.int(4)
    writer.int(1)
    writer.torch_header("nn.Linear")
    with pytest.raises(Torch7FormatError, match=r"x\.t7: .*unsupported class 'nn\.Linear'"):
        read_torch7(bytes(writer.out), name="x.t7")
    overrun = t7_bytes(View(np.zeros(10, dtype=np.float32), [4, 4], [4, 1]))
    with pytest.raises(Torch7FormatError, match=r"overruns its storage of 10"):
        read_torch7(overrun)
    with pytest.raises(Torch7FormatError, match=r"unsupported type tag 6"):
        read_torch7(struct.pack("<i", 6) + bytes(16))


# ---------------------------------------------------------------------------------------------
# Route 1: DC-IGN's zip
# ---------------------------------------------------------------------------------------------

BATCH = 20


def batch_tensor(level, side=150, dtype=np.float32):
    """20 images in [0, 1]: image i is `level` on its left half, i/19 on its right half."""
    images = np.empty((BATCH, 1, side, side), dtype=dtype)
    images[..., : side // 2] = level
    images[..., side // 2 :] = (np.arange(BATCH) / (BATCH - 1))[:, None, None, None]
    return images


def blank_batch(level, side=150, dtype=np.float32):
    """20 all-black images: DC-IGN's layout with nothing in it."""
    return np.zeros((BATCH, 1, side, side), dtype=dtype)


def write_zip(path, with_test=True, root="DATASET/TRANSFORMATION_DATASET", draw=batch_tensor):
    """Two training batches and one test batch per folder (only the first at 150x150, to stay small),
    each `draw(level, side, dtype)`."""
    expected = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__MACOSX/._batch1", b"resource fork")
        for folder_index, folder in enumerate(faces_dcign.FOLDERS):
            modes = [("FT_training", 1), ("FT_training", 2)] + ([("FT_test", 1)] if with_test else [])
            for mode, number in modes:
                level = 0.1 * (folder_index + 1) + 0.02 * number + (0.3 if mode == "FT_test" else 0)
                side, dtype = (150, np.float32) if folder_index == 0 and number == 1 else (30, np.float64)
                archive.writestr(f"{root}/th_{folder}/{mode}/batch{number}", t7_bytes(draw(level, side, dtype)))
                expected[folder, mode, number] = level
            archive.writestr(f"{root}/th_{folder}/{mode}/notes.txt", b"not a batch")
    return path, expected


def served_zip(tmp_path, **kwargs):
    www = tmp_path / "www"
    www.mkdir()
    return write_zip(www / faces_dcign.ZIP_NAME, **kwargs)


def prepare(tmp_path, mirror, **kwargs):
    out = tmp_path / "faces.h5"
    faces.prepare(out, tmp_path / "raw", mirrors=[mirror], files={"zip": RemoteFile(faces_dcign.ZIP_NAME, sha256=None)},
                  backoff_s=0, **kwargs)
    return out


def test_parse_member():
    member = faces_dcign.parse_member("DATASET/th_LIGHT_AZ_VARIED/FT_test/batch12")
    assert (member.folder, member.split, member.number) == (2, "test", 12)
    assert faces_dcign.parse_member("x/SHAPE_VARIED/FT_training/batch3.t7").split == "train"
    assert faces_dcign.parse_member("th_AZ_VARIED/batch3").split is None
    assert faces_dcign.parse_member("th_AZ_VARIED/FT_training/notes.txt") is None
    assert faces_dcign.parse_member("other/FT_training/batch1") is None
    assert faces_dcign.parse_member("__MACOSX/th_AZ_VARIED/FT_training/batch1") is None


def test_dcign_zip_end_to_end(http_server, tmp_path):
    path, expected = served_zip(tmp_path)
    server = http_server(path.parent)
    out = prepare(tmp_path, server.url)

    info = read_info(out)
    assert (info.dataset, info.source) == ("faces", "real")
    assert info.raw_checksums == {faces_dcign.ZIP_NAME: sha256_of(path)}
    assert info.splits == {"train": (4 * 2 * BATCH, 1, 32, 32), "test": (4 * BATCH, 1, 32, 32)}
    assert "FT_training and FT_test" in info.description

    train, test = read_split(out, "train"), read_split(out, "test")
    np.testing.assert_array_equal(train.labels, np.repeat(np.arange(4), 2 * BATCH))
    assert train.factor_names == ["varied_folder", "position_in_batch"]
    np.testing.assert_array_equal(train.factors[:, 0], train.labels)
    np.testing.assert_array_equal(train.factors[:, 1], np.tile(np.arange(BATCH), 8))
    for split, data, mode_batches in (("train", train, [("FT_training", 1), ("FT_training", 2)]),
                                      ("test", test, [("FT_test", 1)])):
        for k, (folder, (mode, number)) in enumerate((f, mb) for f in faces_dcign.FOLDERS for mb in mode_batches):
            block = data.images[k * BATCH : (k + 1) * BATCH, 0].astype(int)
            level = round(expected[folder, mode, number] * 255)
            assert np.abs(block[:, :, :14] - level).max() <= 1, (split, folder, mode, number)  # left half
            np.testing.assert_allclose(block[:, :, 18:].mean(axis=(1, 2)), np.arange(BATCH) / 19 * 255, atol=1)


def test_zip_without_test_folders_holds_out_batches(http_server, tmp_path):
    path, _ = served_zip(tmp_path, with_test=False)
    out = prepare(tmp_path, http_server(path.parent).url)
    info = read_info(out)
    assert info.splits == {"train": (4 * BATCH, 1, 32, 32), "test": (4 * BATCH, 1, 32, 32)}
    assert "every 10th batch" in info.description


def test_placed_corrupt_zip_is_named_and_not_bypassed(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed = raw / faces_dcign.ZIP_NAME
    placed.write_bytes(b"PK\x03\x04 but broken" * 50)
    write_fake_bfm(raw / faces_basel.BFM_NAME)  # present, yet the broken zip must be reported, not skipped
    with pytest.raises(DatasetFileError, match=rf"{placed}: not a readable zip"):
        prepare(tmp_path, closed_port_url)
    assert placed.exists() and not (tmp_path / "faces.h5").exists()


def test_zip_with_a_bad_batch_names_the_member(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed, _ = write_zip(raw / faces_dcign.ZIP_NAME)
    with zipfile.ZipFile(placed, "a") as archive:
        archive.writestr("DATASET/th_SHAPE_VARIED/FT_test/batch9", t7_bytes(batch_tensor(0.5))[:-100])
    with pytest.raises(DatasetFileError, match=rf"{placed}:DATASET/th_SHAPE_VARIED/FT_test/batch9: .*truncated"):
        prepare(tmp_path, closed_port_url)


def test_blank_zip_is_refused(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed, _ = write_zip(raw / faces_dcign.ZIP_NAME, draw=blank_batch)
    with pytest.raises(DatasetFileError) as caught:
        prepare(tmp_path, closed_port_url)
    message = str(caught.value)
    assert message == (f"{placed}: 100% of its images are one flat colour, not DC-IGN's renders of faces; "
                       f"delete it and download {faces_dcign.ZIP_NAME} again")
    assert placed.exists() and not (tmp_path / "faces.h5").exists()


def test_blank_zip_is_refused_through_the_command_line(tmp_path, capsys, monkeypatch):
    from infogan.cli import main

    monkeypatch.delenv(faces_dcign.MIRRORS_ENV, raising=False)
    raw = tmp_path / "raw"
    raw.mkdir()
    placed, _ = write_zip(raw / faces_dcign.ZIP_NAME, draw=blank_batch)
    status = main(["prepare", "faces", "--out", str(tmp_path / "faces.h5"), "--raw-dir", str(raw)])
    lines = capsys.readouterr().err.splitlines()  # progress bars, then the error
    errors = [line for line in lines if line.startswith("infogan prepare: error: ")]
    assert status == 1 and len(errors) == 1 and not any("Traceback" in line for line in lines)
    assert errors[0].startswith(f"infogan prepare: error: {placed}: 100% of its images are one flat colour")
    assert not (tmp_path / "faces.h5").exists()


def test_zip_without_batches_is_named(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    placed = raw / faces_dcign.ZIP_NAME
    with zipfile.ZipFile(placed, "w") as archive:
        archive.writestr("readme.txt", b"hello")
    with pytest.raises(DatasetFileError, match=rf"{placed}: a zip, but it holds no th_"):
        prepare(tmp_path, closed_port_url)


# ---------------------------------------------------------------------------------------------
# Route 2: a Basel Face Model file (a fake one: an ellipsoidal icosphere with three shape PCs)
# ---------------------------------------------------------------------------------------------


def _midpoint(vertices, cache, a, b):
    """Index of the unit vector halfway between vertices a and b, added once per edge."""
    key = (min(a, b), max(a, b))
    if key not in cache:
        v = vertices[a] + vertices[b]
        vertices.append(v / np.linalg.norm(v))
        cache[key] = len(vertices) - 1
    return cache[key]


def icosphere(subdivisions=2):
    t = (1 + 5**0.5) / 2
    vertices = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
                (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    triangles = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
                 (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11),
                 (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    vertices = [np.array(v, dtype=float) / np.linalg.norm(v) for v in vertices]
    for _ in range(subdivisions):
        cache, refined = {}, []
        for a, b, c in triangles:
            ab, bc, ca = (_midpoint(vertices, cache, *edge) for edge in ((a, b), (b, c), (c, a)))
            refined += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        triangles = refined
    return np.array(vertices), np.array(triangles)


def fake_bfm_fields():
    """The BFM's fields in its units and MATLAB orientation: micrometre-scale coordinates, 1-based tl."""
    unit, tl = icosphere()
    mean = unit * np.array([0.75, 1.0, 0.85]) * 9e4 + np.array([1e3, 2e4, 5e4])
    pcs = np.stack([(unit * np.array(axis)).reshape(-1) for axis in ([1, 0, 0], [0, 1, 0], [0, 0, 1])], axis=1)
    pcs /= np.linalg.norm(pcs, axis=0)
    tex = np.clip(170 + 40 * unit[:, 1:2] * np.ones(3), 0, 255)
    return {
        "shapeMU": mean.reshape(-1, 1).astype(np.float32),
        "shapePC": pcs.astype(np.float32),
        "shapeEV": np.array([[1e5], [5e4], [5e4]], dtype=np.float32),
        "texMU": tex.reshape(-1, 1).astype(np.float32),
        "texPC": pcs[:, :2].astype(np.float32),
        "texEV": np.array([[300.0], [100.0]], dtype=np.float32),
        "tl": (tl + 1).astype(np.float64),
    }


def write_fake_bfm(path, fields=None):
    savemat(path, fields or fake_bfm_fields(), format="5")
    return path


def write_fake_bfm_v73(path, fields):
    """MATLAB v7.3: an HDF5 file with a 512-byte MATLAB header in its user block, arrays stored transposed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in fields.items():
            f.create_dataset(name, data=np.asarray(value).T)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116) + bytes(8) + b"\x00\x02" + b"IM")
    return path


SIZES = {"train": 16, "test": 8}


def test_bfm_route_when_mirror_is_unreachable(tmp_path, closed_port_url):
    raw = tmp_path / "raw"
    raw.mkdir()
    model = write_fake_bfm(raw / faces_basel.BFM_NAME)
    out = prepare(tmp_path, closed_port_url, bfm_sizes=SIZES, seed=3)

    info = read_info(out)
    assert (info.dataset, info.source) == ("faces", "real")
    assert info.raw_checksums == {faces_basel.BFM_NAME: sha256_of(model)}
    assert info.splits == {"train": (16, 1, 32, 32), "test": (8, 1, 32, 32)}
    assert "rendered by this project" in info.description
    train = read_split(out, "train")
    assert train.labels is None and train.factor_names == faces_basel.FACTOR_NAMES
    for column, (low, high) in enumerate((faces_basel.AZIMUTH_RANGE, faces_basel.ELEVATION_RANGE,
                                          faces_basel.LIGHT_AZIMUTH_RANGE, faces_basel.LIGHT_ELEVATION_RANGE)):
        assert low <= train.factors[:, column].min() and train.factors[:, column].max() <= high
    assert np.all(train.factors[:, 7:] == 0)  # the fake model has only 3 shape components
    assert train.factors[:, 4:7].std() > 0.3
    lit = train.images > 0
    assert 0.15 < lit.mean() < 0.8 and train.images.max() > 150  # a lit head on black, not a blank frame

    again = tmp_path / "again.h5"
    faces_basel.prepare(again, model, sizes=SIZES, seed=3)
    np.testing.assert_array_equal(read_split(again, "train").images, train.images)


def test_bfm_factors_show_in_the_images(tmp_path):
    """The light's azimuth sets which side is bright; the first shape component (x) sets the width at azimuth 0."""
    model = faces_basel.load_face_model(write_fake_bfm(tmp_path / faces_basel.BFM_NAME))
    split = faces_basel.render_faces(model, 48, np.random.default_rng(0))
    names = split.factor_names
    images = split.images[:, 0].astype(float)
    columns = np.arange(32) + 0.5
    silhouette = (images > 0).astype(float)
    brightness_centre = (images.sum(axis=1) @ columns) / images.sum(axis=(1, 2))
    light_shift = brightness_centre - (silhouette.sum(axis=1) @ columns) / silhouette.sum(axis=(1, 2))
    light = split.factors[:, names.index("light_azimuth_deg")]
    assert np.corrcoef(light_shift, light)[0, 1] > 0.8  # brightness sits towards the light, right for positive azimuth

    import torch

    from infogan.data.synthetic.render3d import render_batch
    widths = []
    for coefficient in (-1.5, 0.0, 1.5):
        vertices = model.mean_shape + (model.shape_basis[:, 0] * coefficient).reshape(-1, 3)
        image = render_batch(torch.as_tensor(vertices[None], dtype=torch.float32), model.triangles,
                             torch.as_tensor(model.mean_albedo[None], dtype=torch.float32), azimuth_deg=0.0,
                             elevation_deg=0.0, light_direction=[0, 0, 1], size=32,
                             scale=faces_basel.FRAME_HALF_WIDTH, camera_distance=faces_basel.CAMERA_DISTANCE)[0].numpy()
        widths.append((image > 0.05).any(axis=0).sum())
    assert widths[0] < widths[1] < widths[2]


def test_v73_model_reads_like_v5(tmp_path):
    fields = fake_bfm_fields()
    v5 = faces_basel.load_face_model(write_fake_bfm(tmp_path / "v5.mat", fields))
    v73 = faces_basel.load_face_model(write_fake_bfm_v73(tmp_path / "v73.mat", fields))
    for name in ("mean_shape", "shape_basis", "mean_albedo", "triangles"):
        np.testing.assert_allclose(getattr(v73, name), getattr(v5, name), rtol=1e-6)
    assert v5.triangles.min() == 0 and np.abs(np.linalg.norm(v5.mean_shape, axis=1).max() - 1) < 1e-6


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.pop("texEV"), r"lacks texEV; not the BFM 2009 01_MorphableModel\.mat"),
        (lambda f: f.update(tl=f["tl"] - 1), r"tl indexes vertices 0-161, expected 1-162"),
        (lambda f: f.update(shapeEV=f["shapeEV"][:2]), r"a PC matrix and its EV vector disagree"),
    ],
    ids=["missing-field", "zero-based-tl", "ev-count"],
)
def test_bad_model_is_named(tmp_path, change, message):
    fields = fake_bfm_fields()
    change(fields)
    path = write_fake_bfm(tmp_path / faces_basel.BFM_NAME, fields)
    with pytest.raises(DatasetFileError, match=rf"{path}: .*{message}"):
        faces_basel.load_face_model(path)


def test_blank_model_is_refused_while_rendering(tmp_path, closed_port_url):
    """A file with the BFM's fields, all zeros: it draws black frames, refused after the first batch."""
    raw = tmp_path / "raw"
    raw.mkdir()
    fields = {name: np.zeros_like(value) if name != "tl" else value for name, value in fake_bfm_fields().items()}
    model = write_fake_bfm(raw / faces_basel.BFM_NAME, fields)
    with np.errstate(all="ignore"), pytest.raises(DatasetFileError) as caught:
        prepare(tmp_path, closed_port_url, bfm_sizes=SIZES)
    message = str(caught.value)
    assert message.startswith(f"{model}: more than 1% of its images are one flat colour (16 among the first 16 of 24), "
                              "not renders of a face; replace it with 01_MorphableModel.mat")
    assert not (tmp_path / "faces.h5").exists()


def test_unreadable_model_is_named(tmp_path):
    path = tmp_path / faces_basel.BFM_NAME
    path.write_bytes(b"not a mat file at all" * 20)
    with pytest.raises(DatasetFileError, match=rf"{path}: not a readable MATLAB file"):
        faces_basel.load_face_model(path)


# ---------------------------------------------------------------------------------------------
# Route 3: nothing to use
# ---------------------------------------------------------------------------------------------


def test_no_route_says_what_to_obtain(tmp_path, closed_port_url):
    with pytest.raises(DownloadError) as caught:
        prepare(tmp_path, closed_port_url)
    message = str(caught.value)
    raw = tmp_path / "raw"
    for expected in ("Basel Face Model 2009", "University of Basel", faces_basel.BFM_URL, f"at {raw / faces_basel.BFM_NAME}",
                     f"{raw / faces_dcign.ZIP_NAME}", "connection failed", "synthetic heads instead",
                     "infogan prepare synthetic_heads"):
        assert expected in message, expected
    assert not (tmp_path / "faces.h5").exists()


def test_html_page_from_mirror_falls_through_to_the_message(http_server, tmp_path):
    server = http_server()
    server.script(faces_dcign.ZIP_NAME, Reply(body=b"<html><body>AccessDenied</body></html>"))
    with pytest.raises(DownloadError, match=r"got an HTML page instead of the file.*01_MorphableModel\.mat"):
        prepare(tmp_path, server.url)
    assert not (tmp_path / "raw" / faces_dcign.ZIP_NAME).exists()


def test_mirrors_from_environment(http_server, tmp_path, monkeypatch):
    path, _ = served_zip(tmp_path)
    server = http_server(path.parent)
    monkeypatch.setenv(faces_dcign.MIRRORS_ENV, server.url)
    faces.prepare(tmp_path / "f.h5", tmp_path / "raw", files={"zip": faces_dcign.FILE})
    assert server.requests == ["/" + faces_dcign.ZIP_NAME]


def test_published_mirror_matches_datasets_md():
    assert faces_dcign.FILE.urls == ("https://s3.amazonaws.com/willwhitney/dc-ign/dcign_facedataset_monovariant.zip",)
    assert faces_dcign.FILE.sha256 is None
    assert faces_dcign.FOLDERS == ("AZ_VARIED", "EL_VARIED", "LIGHT_AZ_VARIED", "SHAPE_VARIED")
