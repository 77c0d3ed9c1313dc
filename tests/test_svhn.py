"""SVHN: tiny .mat files written with scipy, served by the local HTTP server, end to end into HDF5."""

import hashlib
import logging

import numpy as np
import pytest
from conftest import Reply
from scipy.io import savemat

from infogan.data.real import svhn
from infogan.data.download import RemoteFile, sha256_of
from infogan.data.hdf5 import read_info, read_split
from infogan.errors import ChecksumError, DatasetFileError, DownloadError

SIZES = {"train": 30, "test": 20, "extra": 10}
NAMES = {split: remote.name for split, remote in svhn.FILES.items()}
FAST = {"backoff_s": 0}


def svhn_arrays(count, seed):
    """`count` random images as SVHN stores them (32 x 32 x 3 x N) and labels 1-10, every digit present."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(32, 32, 3, count), dtype=np.uint8)
    y = (rng.permutation(np.arange(count) % 10) + 1).astype(np.uint8).reshape(-1, 1)
    return x, y


def write_mat(path, compress=False, **variables):
    savemat(path, variables, do_compression=compress)
    return path


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_svhn(tmp_path):
    """A directory holding the three .mat files with tiny content, and RemoteFiles with their md5 only (as published)."""
    www = tmp_path / "www"
    www.mkdir()
    arrays, files = {}, {}
    for seed, (split, count) in enumerate(SIZES.items()):
        x, y = svhn_arrays(count, seed)
        path = write_mat(www / NAMES[split], X=x, y=y)
        arrays[split] = (x, y)
        files[split] = RemoteFile(path.name, sha256=None, size=path.stat().st_size, md5=md5_of(path))
    return www, files, arrays


def place_all(www, files, raw):
    raw.mkdir(exist_ok=True)
    for remote in files.values():
        (raw / remote.name).write_bytes((www / remote.name).read_bytes())


def test_published_files_match_datasets_md():
    assert svhn.FILES["train"] == RemoteFile(
        "train_32x32.mat", sha256=None, size=182_040_794, md5="e26dedcc434d2e4c54c9b2d4a06d8373",
        urls=("http://ufldl.stanford.edu/housenumbers/train_32x32.mat",),
    )
    assert (svhn.FILES["test"].md5, svhn.FILES["test"].size) == ("eb5a983be6a315427106f1b164d9cef3", 64_275_384)
    assert (svhn.FILES["extra"].md5, svhn.FILES["extra"].size) == ("a93ce644f1a588dc4d68dda5feec44a7", 1_329_278_602)
    assert svhn.SPLIT_SIZES == {"train": 73_257, "test": 26_032, "extra": 531_131}


def test_mat_arrays_become_images_and_labels(tmp_path):
    x, y = svhn_arrays(20, seed=0)
    images, labels = svhn.read_split_file(write_mat(tmp_path / "a.mat", X=x, y=y), expected_count=20)
    assert images.shape == (20, 3, 32, 32) and images.dtype == np.uint8 and images.flags.c_contiguous
    # Image i, channel c, row r, column k is X[r, k, c, i].
    assert images[7, 2, 5, 9] == x[5, 9, 2, 7] and images[0, 0, 31, 0] == x[31, 0, 0, 0]
    np.testing.assert_array_equal(images[3], np.moveaxis(x[..., 3], 2, 0))
    assert labels.dtype == np.int64 and sorted(set(labels)) == list(range(10))
    np.testing.assert_array_equal(labels, np.where(y[:, 0] == 10, 0, y[:, 0]))


def test_mirror_bases_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(svhn.MIRRORS_ENV, "http://env-a/, http://env-b/")
    assert svhn.mirror_bases() == ("http://env-a/", "http://env-b/")
    assert svhn.mirror_bases(["http://arg/"]) == ("http://arg/",)
    monkeypatch.setenv(svhn.MIRRORS_ENV, "")
    assert svhn.mirror_bases() is None


def test_prepare_downloads_and_writes_hdf5(http_server, tiny_svhn, tmp_path):
    www, files, arrays = tiny_svhn
    server = http_server(www)
    out = tmp_path / "svhn.h5"
    svhn.prepare(out, tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES)

    info = read_info(out)
    assert (info.dataset, info.source, info.format_version) == ("svhn", "real", 2)
    assert info.splits == {"train": (30, 3, 32, 32), "test": (20, 3, 32, 32)}
    assert info.raw_checksums == {remote.name: sha256_of(www / remote.name) for split, remote in files.items() if split != "extra"}
    assert "non-commercial" in info.description and "10 mapped to 0" in info.description
    for split in ("train", "test"):
        data = read_split(out, split)
        x, y = arrays[split]
        np.testing.assert_array_equal(data.images, x.transpose(3, 2, 0, 1))
        np.testing.assert_array_equal(data.labels, y[:, 0] % 10)
        assert data.labels.dtype == np.int64 and 0 in data.labels and 10 not in data.labels
    assert sorted(server.requests) == ["/test_32x32.mat", "/train_32x32.mat"]


def test_extra_is_fetched_only_when_asked_and_joins_train(http_server, tiny_svhn, tmp_path, monkeypatch):
    www, files, arrays = tiny_svhn
    server = http_server(www)
    monkeypatch.setenv(svhn.MIRRORS_ENV, server.url)
    out = tmp_path / "svhn.h5"
    svhn.prepare(out, tmp_path / "raw", include_extra=True, files=files, split_sizes=SIZES)
    assert "/extra_32x32.mat" in server.requests
    train = read_split(out, "train")
    assert train.images.shape == (40, 3, 32, 32)
    np.testing.assert_array_equal(train.images[30:], arrays["extra"][0].transpose(3, 2, 0, 1))
    info = read_info(out)
    assert "extra_32x32.mat" in info.raw_checksums and "extra_32x32.mat" in info.description


def test_download_with_wrong_md5_is_refused(http_server, tiny_svhn, tmp_path):
    www, files, _ = tiny_svhn
    server = http_server(www)
    good = (www / NAMES["train"]).read_bytes()
    server.script(NAMES["train"], Reply(body=good[:-1] + bytes([good[-1] ^ 1])))
    with pytest.raises(ChecksumError, match=f"could not download train_32x32.mat .*md5 is [0-9a-f]{{32}}, expected {files['train'].md5}"):
        svhn.prepare(tmp_path / "svhn.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES, **FAST)
    assert not (tmp_path / "raw" / NAMES["train"]).exists() and not (tmp_path / "svhn.h5").exists()


def test_truncated_download_is_retried_then_refused(http_server, tiny_svhn, tmp_path):
    www, files, _ = tiny_svhn
    server = http_server(www)
    good = (www / NAMES["test"]).read_bytes()
    server.script(NAMES["test"], Reply(body=good[:1000], content_length=len(good)))
    with pytest.raises(DownloadError, match="test_32x32.mat .*truncated.*and place it at"):
        svhn.prepare(tmp_path / "svhn.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES, **FAST)
    assert server.requests.count("/test_32x32.mat") == 3
    assert not (tmp_path / "raw" / NAMES["test"]).exists()


def test_html_error_page_is_refused(http_server, tiny_svhn, tmp_path):
    www, files, _ = tiny_svhn
    server = http_server(www)
    server.script(NAMES["train"], Reply(body=b"<!DOCTYPE html><html><body>Service Unavailable</body></html>"))
    with pytest.raises(DownloadError, match="train_32x32.mat .*HTML page instead of the file"):
        svhn.prepare(tmp_path / "svhn.h5", tmp_path / "raw", mirrors=[server.url], files=files, split_sizes=SIZES, **FAST)


def test_resaved_placed_file_accepted_by_content_check(tiny_svhn, tmp_path, closed_port_url, caplog):
    www, files, arrays = tiny_svhn
    raw = tmp_path / "raw"
    place_all(www, files, raw)
    resaved = write_mat(raw / NAMES["train"], compress=True, X=arrays["train"][0], y=arrays["train"][1])
    assert md5_of(resaved) != files["train"].md5

    with caplog.at_level(logging.WARNING):
        svhn.prepare(tmp_path / "svhn.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    assert "archive md5 is" in caplog.text and "content check passed" in caplog.text
    assert read_info(tmp_path / "svhn.h5").raw_checksums[resaved.name] == sha256_of(resaved)
    np.testing.assert_array_equal(read_split(tmp_path / "svhn.h5").images, arrays["train"][0].transpose(3, 2, 0, 1))


def test_corrupt_placed_file_is_named_and_kept(tiny_svhn, tmp_path, closed_port_url):
    www, files, _ = tiny_svhn
    raw = tmp_path / "raw"
    place_all(www, files, raw)
    corrupt = raw / NAMES["test"]
    corrupt.write_bytes(corrupt.read_bytes()[:2000])
    with pytest.raises(ChecksumError, match="content check failed.*not a readable MATLAB file") as caught:
        svhn.prepare(tmp_path / "svhn.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)
    assert str(corrupt) in str(caught.value)
    assert "replace it with test_32x32.mat from" in str(caught.value)
    assert corrupt.exists()


def test_placed_mat_without_x_is_named(tiny_svhn, tmp_path, closed_port_url):
    www, files, arrays = tiny_svhn
    raw = tmp_path / "raw"
    place_all(www, files, raw)
    wrong = write_mat(raw / NAMES["train"], images=arrays["train"][0], y=arrays["train"][1])
    with pytest.raises(ChecksumError, match=f"{wrong}: md5 is .*content check failed.*has no variable 'X'"):
        svhn.prepare(tmp_path / "svhn.h5", raw, mirrors=[closed_port_url], files=files, split_sizes=SIZES)


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.zeros((28, 28, 3, 30), np.uint8), np.ones((30, 1), np.uint8), r"X is uint8 \(28, 28, 3, 30\)"),
        (np.zeros((32, 32, 3, 30), np.float64), np.ones((30, 1), np.uint8), r"X is float64"),
        (np.zeros((32, 32, 3, 30), np.uint8), np.ones((29, 1), np.uint8), r"y has shape \(29, 1\) for 30 images"),
        (np.zeros((32, 32, 3, 30), np.uint8), np.zeros((30, 1), np.uint8), r"labels span 0-0, SVHN's are 1-10"),
        (np.zeros((32, 32, 3, 25), np.uint8), np.ones((25, 1), np.uint8), r"25 images, expected 30"),
        (np.zeros((32, 32, 3, 30), np.uint8), (np.arange(30) % 10 + 1).reshape(-1, 1).astype(np.uint8),
         r"100% of its images are one flat colour"),
        (svhn_arrays(30, 0)[0], np.ones((30, 1), np.uint8), r"label counts \[0, 30, 0"),
        (svhn_arrays(30, 0)[0], (np.arange(30) % 9 + 1).reshape(-1, 1).astype(np.uint8), r"label counts \[0, "),
    ],
    ids=["image-size", "dtype", "label-count", "label-range", "image-count", "all-zero-imitation", "one-label",
         "a-digit-missing"],
)
def test_content_checks_name_the_file(tmp_path, x, y, message):
    path = write_mat(tmp_path / "train_32x32.mat", X=x, y=y)
    with pytest.raises(DatasetFileError, match=f"{path}: {message}"):
        svhn.check_file(path, expected_count=30)


def test_unreachable_host_says_how_to_place_files_by_hand(tiny_svhn, tmp_path, closed_port_url):
    _, files, _ = tiny_svhn
    name = NAMES["train"]
    with pytest.raises(DownloadError, match=f"download {name} from {closed_port_url}{name} and place it at {tmp_path / 'raw' / name}"):
        svhn.prepare(tmp_path / "svhn.h5", tmp_path / "raw", mirrors=[closed_port_url], files=files, split_sizes=SIZES, **FAST)
