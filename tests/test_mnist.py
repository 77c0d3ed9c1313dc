import gzip
import hashlib
import logging
import struct

import numpy as np
import pytest

from infogan.data import mnist
from infogan.data.download import RemoteFile, sha256_of
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
    """A directory holding the four archives with tiny content, and RemoteFiles naming their sha256."""
    www = tmp_path / "www"
    www.mkdir()
    arrays, files = {}, {}
    for seed, (split, count) in enumerate(SIZES.items()):
        images, labels = tiny_split(count, seed)
        for kind, array, magic in (("images", images, mnist.IMAGE_MAGIC), ("labels", labels, mnist.LABEL_MAGIC)):
            path = write_gz(www / NAMES[split, kind], idx_bytes(array, magic))
            arrays[split, kind] = array
            files[split, kind] = RemoteFile(path.name, sha256=sha256_of(path), size=path.stat().st_size)
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
        (np.arange(50) % 9, "implausible digit counts"),
    ],
    ids=["count", "range", "missing-digit"],
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
    assert (info.dataset, info.source, info.format_version) == ("mnist", "real", 1)
    assert info.splits == {"train": (50, 1, 28, 28), "test": (20, 1, 28, 28)}
    assert info.raw_checksums == {remote.name: remote.sha256 for remote in files.values()}
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


def test_prepare_rejects_corrupt_idx_from_mirror(http_server, tiny_mnist, tmp_path):
    www, files, _ = tiny_mnist
    path = www / NAMES["test", "images"]
    write_gz(path, b"\x00\x00\x08\x01" + bytes(100))
    files["test", "images"] = RemoteFile(path.name, sha256=sha256_of(path))
    server = http_server(www)
    with pytest.raises(DatasetFileError, match=r"t10k-images-idx3-ubyte.gz: IDX magic number 2049, expected 2051"):
        mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES)
    assert not (tmp_path / "mnist.h5").exists()


def test_recompressed_placed_file_accepted_by_content_check(tiny_mnist, tmp_path, closed_port_url, caplog):
    www, files, _ = tiny_mnist
    raw = tmp_path / "raw"
    raw.mkdir()
    for remote in files.values():
        (raw / remote.name).write_bytes((www / remote.name).read_bytes())
    recompressed = raw / NAMES["train", "images"]
    write_gz(recompressed, gzip.decompress(recompressed.read_bytes()), mtime=12345, level=1)
    assert sha256_of(recompressed) != files["train", "images"].sha256

    with caplog.at_level(logging.WARNING):
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    assert "archive sha256 is" in caplog.text and "content check passed (50 images of 28x28)" in caplog.text
    assert read_info(tmp_path / "mnist.h5").raw_checksums[recompressed.name] == sha256_of(recompressed)


def test_placed_file_with_wrong_content_is_rejected(tiny_mnist, tmp_path, closed_port_url):
    www, files, _ = tiny_mnist
    raw = tmp_path / "raw"
    raw.mkdir()
    for remote in files.values():
        (raw / remote.name).write_bytes((www / remote.name).read_bytes())
    wrong = write_gz(raw / NAMES["train", "labels"], idx_bytes(np.zeros(50), mnist.LABEL_MAGIC))
    with pytest.raises(ChecksumError, match="content check failed.*implausible digit counts") as caught:
        mnist.prepare(tmp_path / "mnist.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    assert str(wrong) in str(caught.value) and hashlib.sha256(wrong.read_bytes()).hexdigest() in str(caught.value)
    assert wrong.exists()


def test_unreachable_mirrors_say_how_to_place_files_by_hand(tiny_mnist, tmp_path, closed_port_url):
    _, files, _ = tiny_mnist
    name = NAMES["train", "images"]
    with pytest.raises(DownloadError, match=f"download {name} from {closed_port_url}{name} and place it at {tmp_path / 'raw' / name}"):
        mnist.prepare(tmp_path / "mnist.h5", tmp_path / "raw", mirrors=[closed_port_url], files=files, split_sizes=SIZES, backoff_s=0)
