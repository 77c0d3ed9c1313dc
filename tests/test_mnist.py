import gzip
import logging
import re
import shutil
import struct

import numpy as np
import pytest

from infogan.data.real import mnist
from infogan.data.download import RemoteFile, content_sha256_of, sha256_of
from infogan.data.hdf5 import read_info, read_split
from infogan.errors import ChecksumError, DatasetFileError, DownloadError

SIZES = {"train": 50, "test": 20}
NAMES = {key: remote.name for key, remote in mnist.FILES.items()}


def idx_bytes(array, magic):
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_gz(path, payload, mtime=0, level=9):
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, compresslevel=level) as f:
        f.write(payload)
    return path


def tiny_split(count, seed):
    """`count` random 28x28 images and labels cycling through every digit."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
    return images, labels


@pytest.fixture
def tiny_mnist(tmp_path):
    """A directory holding the four archives with tiny content, and RemoteFiles naming the sha256
    of each archive and of its content."""
    www = tmp_path / "www"
    www.mkdir()
    arrays, files = {}, {}
    for seed, (split, count) in enumerate(SIZES.items()):
        images, labels = tiny_split(count, seed)
        for kind, array, magic in (("images", images, mnist.IMAGE_MAGIC), ("labels", labels, mnist.LABEL_MAGIC)):
            path = write_gz(www / NAMES[split, kind], idx_bytes(array, magic))
            arrays[split, kind] = array
            files[split, kind] = RemoteFile(path.name, sha256=sha256_of(path), size=path.stat().st_size,
                                            content_sha256=content_sha256_of(path))
    return www, files, arrays


def test_published_files_match_datasets_md():
    train_images = mnist.FILES["train", "images"]
    assert train_images.urls == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz",
    )
    assert train_images.size == 9_912_422
    assert train_images.sha256 == "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    assert train_images.content_sha256 == "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    assert mnist.FILES["test", "labels"].md5 == "ec29112dd5afa0611ce80d1b7f02629c"
    assert {remote.name for remote in mnist.FILES.values()} == {
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
    }


def test_idx_round_trip(tmp_path):
    images, labels = tiny_split(30, seed=0)
    images_path = write_gz(tmp_path / "i.gz", idx_bytes(images, mnist.IMAGE_MAGIC))
    labels_path = write_gz(tmp_path / "l.gz", idx_bytes(labels, mnist.LABEL_MAGIC))
    np.testing.assert_array_equal(mnist.read_images(images_path), images)
    np.testing.assert_array_equal(mnist.read_labels(labels_path), labels)


def test_bad_magic_is_named(tmp_path):
    _, labels = tiny_split(30, seed=0)
    path = write_gz(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(labels, mnist.LABEL_MAGIC))
    with pytest.raises(DatasetFileError, match=rf"{path}: IDX magic number 2049, expected 2051"):
        mnist.read_images(path)


def test_truncated_payload_is_named(tmp_path):
    images, _ = tiny_split(30, seed=0)
    path = write_gz(tmp_path / "i.gz", idx_bytes(images, mnist.IMAGE_MAGIC)[:-100])
    with pytest.raises(DatasetFileError, match=rf"{path}: truncated"):
        mnist.read_images(path)


def test_truncated_gzip_is_named(tmp_path):
    images, _ = tiny_split(30, seed=0)
    path = write_gz(tmp_path / "i.gz", idx_bytes(images, mnist.IMAGE_MAGIC))
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(DatasetFileError, match=rf"{path}: not a readable gzip file"):
        mnist.read_images(path)


def test_wrong_image_shape_is_named(tmp_path):
    path = write_gz(tmp_path / "i.gz", idx_bytes(np.zeros((5, 32, 32)), mnist.IMAGE_MAGIC))
    with pytest.raises(DatasetFileError, match=rf"{path}: images are \(32, 32\)"):
        mnist.read_images(path)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.arange(40) % 10, "40 labels, expected 50"),
        (np.append(np.arange(49) % 10, 10), "label 10 found"),
    ],
    ids=["count", "range"],
)
def test_label_checks(labels, message):
    with pytest.raises(DatasetFileError, match=message):
        mnist.check_labels(labels.astype(np.uint8), "labels.gz", expected_count=50)


def test_mirror_bases_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(mnist.MIRRORS_ENV, "http://env-a/, http://env-b/")
    assert mnist.mirror_bases() == ("http://env-a/", "http://env-b/")
    assert mnist.mirror_bases(["http://arg/"]) == ("http://arg/",)
    monkeypatch.setenv(mnist.MIRRORS_ENV, "")
    assert mnist.mirror_bases() is None


def test_prepare_downloads_and_writes_hdf5(http_server, tiny_mnist, tmp_path):
    www, files, arrays = tiny_mnist
    server = http_server(www)
    out = tmp_path / "mnist.h5"
    mnist.prepare(out, tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES)

    info = read_info(out)
    assert (info.dataset, info.source, info.format_version) == ("mnist", "real", 2)
    assert info.splits == {"train": (50, 1, 28, 28), "test": (20, 1, 28, 28)}
    assert info.raw_checksums == {
        **{remote.name: remote.sha256 for remote in files.values()},
        **{remote.name.removesuffix(".gz"): remote.content_sha256 for remote in files.values()},
    }
    assert "60,000" in info.description
    for split in SIZES:
        data = read_split(out, split)
        np.testing.assert_array_equal(data.images[:, 0], arrays[split, "images"])
        np.testing.assert_array_equal(data.labels, arrays[split, "labels"])
        assert data.labels.dtype == np.int64
    assert len(server.requests) == 4


def test_prepare_uses_mirrors_from_environment(http_server, tiny_mnist, tmp_path, monkeypatch):
    www, files, _ = tiny_mnist
    server = http_server(www)
    monkeypatch.setenv(mnist.MIRRORS_ENV, server.url)
    mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", files=files, split_sizes=SIZES)
    assert sorted(server.requests) == sorted("/" + remote.name for remote in files.values())


@pytest.mark.parametrize("value", ["ftp//x", "127.0.0.1:8000/mnist", "gopher://x", "http://"])
def test_a_malformed_mirror_url_is_named(value, tmp_path, monkeypatch):
    monkeypatch.setenv(mnist.MIRRORS_ENV, f"http://127.0.0.1:1/ok,{value}")
    with pytest.raises(DownloadError, match=rf"\${mnist.MIRRORS_ENV}: '{re.escape(value)}' is not a base URL"):
        mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw")
    assert not (tmp_path / "raw").exists() and not (tmp_path / "mnist.h5").exists()


def test_prepare_rejects_corrupt_idx_from_mirror(http_server, tiny_mnist, tmp_path):
    www, files, _ = tiny_mnist
    path = www / NAMES["test", "images"]
    write_gz(path, b"\x00\x00\x08\x01" + bytes(100))
    files["test", "images"] = RemoteFile(path.name, sha256=sha256_of(path))
    server = http_server(www)
    with pytest.raises(DatasetFileError, match=r"t10k-images-idx3-ubyte.gz: IDX magic number 2049, expected 2051"):
        mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES)
    assert not (tmp_path / "mnist.h5").exists()


def placed_copy(www, files, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for remote in files.values():
        shutil.copy(www / remote.name, raw / remote.name)
    return raw


def test_recompressed_placed_file_accepted_by_its_content_digest(tiny_mnist, tmp_path, closed_port_url, caplog):
    www, files, _ = tiny_mnist
    raw = placed_copy(www, files, tmp_path)
    recompressed = raw / NAMES["train", "images"]
    write_gz(recompressed, gzip.decompress(recompressed.read_bytes()), mtime=12345, level=1)
    assert sha256_of(recompressed) != files["train", "images"].sha256

    with caplog.at_level(logging.WARNING):
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    assert caplog.text == ""
    assert read_info(tmp_path / "mnist.h5").raw_checksums[recompressed.name] == sha256_of(recompressed)


@pytest.mark.parametrize("edit", ["other-images", "shuffled", "one-pixel", "truncated"])
def test_placed_file_with_other_content_is_refused_naming_it(tiny_mnist, tmp_path, closed_port_url, edit):
    """Anything under MNIST's name whose decompressed bytes are not the original's, however
    plausible (right shape, right count), is refused with one line naming the file."""
    www, files, arrays = tiny_mnist
    raw = placed_copy(www, files, tmp_path)
    images = arrays["train", "images"].copy()
    if edit == "other-images":
        images = np.zeros_like(images)
    elif edit == "shuffled":
        images = images[::-1]
    elif edit == "one-pixel":
        images[7, 14, 14] ^= 1
    wrong = raw / NAMES["train", "images"]
    payload = idx_bytes(images, mnist.IMAGE_MAGIC)
    write_gz(wrong, payload[:-100] if edit == "truncated" else payload)
    with pytest.raises(ChecksumError) as caught:
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{wrong} is not the original {wrong.name}" in message
    assert f"the original train-images-idx3-ubyte's is {files['train', 'images'].content_sha256}" in message
    assert wrong.exists() and not (tmp_path / "mnist.h5").exists()


def test_mirror_serving_a_recompressed_copy_is_accepted_and_other_content_refused(http_server, tiny_mnist, tmp_path):
    www, files, _ = tiny_mnist
    labels = www / NAMES["test", "labels"]
    write_gz(labels, gzip.decompress(labels.read_bytes()), mtime=99, level=1)
    server = http_server(www)
    mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES)
    assert (tmp_path / "raw" / labels.name).read_bytes() == labels.read_bytes()

    write_gz(labels, idx_bytes(np.zeros(SIZES["test"]), mnist.LABEL_MAGIC))
    with pytest.raises(ChecksumError, match="its decompressed content has sha256"):
        mnist.prepare(tmp_path / "again.h5", tmp_path / "raw2", mirrors=[server.url], files=files,
                      split_sizes=SIZES, backoff_s=0)
    assert not (tmp_path / "raw2" / labels.name).exists()


def test_real_mnist_recompressed_is_accepted_without_a_warning(real_mnist, tmp_path, closed_port_url, caplog):
    """The shared copy's archives differ from the published ones; their content does not."""
    raw = tmp_path / "raw"
    shutil.copytree(real_mnist, raw)
    with caplog.at_level(logging.WARNING):
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url])
    assert caplog.text == ""
    info = read_info(tmp_path / "mnist.h5")
    assert (info.dataset, info.source) == ("mnist", "real")
    assert info.raw_checksums["train-images-idx3-ubyte"] == mnist.FILES["train", "images"].content_sha256
    assert np.bincount(read_split(tmp_path / "mnist.h5", "test").labels).tolist()[:3] == [980, 1135, 1032]


def test_mnist_shaped_fake_is_refused(real_mnist, tmp_path, closed_port_url):
    """60,000 blank 28x28 images under MNIST's name, beside the real labels."""
    raw = tmp_path / "raw"
    shutil.copytree(real_mnist, raw)
    fake = write_gz(raw / NAMES["train", "images"], idx_bytes(np.zeros((60_000, 28, 28)), mnist.IMAGE_MAGIC))
    with pytest.raises(ChecksumError, match=f"{fake} is not the original train-images-idx3-ubyte.gz"):
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url])


def test_unreachable_mirrors_say_how_to_place_files_by_hand(tiny_mnist, tmp_path, closed_port_url):
    _, files, _ = tiny_mnist
    name = NAMES["train", "images"]
    with pytest.raises(DownloadError, match=f"download {name} from {closed_port_url}{name} and place it at {tmp_path / 'raw' / name}"):
        mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", mirrors=[closed_port_url], files=files, split_sizes=SIZES, backoff_s=0)
