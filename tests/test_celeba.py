"""CelebA: a tiny zip of real JPEGs and a tiny attribute list, served by the local HTTP
server, go end to end into HDF5; each of Google Drive's failure modes ends in one message
that says how to place the files by hand."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
from conftest import Reply
from PIL import Image

from infogan.data.download import RemoteFile, sha256_of
from infogan.data.hdf5 import read_info, read_split
from infogan.data.real import celeba
from infogan.errors import ChecksumError, DatasetFileError, DownloadError

ZIP, ATTRS = celeba.FILES["images"].name, celeba.FILES["attributes"].name
# The published header of list_attr_celeba.txt.
ATTRIBUTE_NAMES = [
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby",
    "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male",
    "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose",
    "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair",
    "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
]
COUNT = 6
QUOTA_PAGE = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>"
    b"<p>Too many users have viewed or downloaded this file recently. Please try accessing the file again later."
    b"</p><a href=\"https://accounts.google.com/ServiceLogin\">Sign in</a></body></html>"
)
FAST = {"backoff_s": 0}


def face_like_jpeg(index) -> tuple[bytes, tuple, tuple]:
    """A 178x218 JPEG: colour `inner` in the central square a quarter smaller than the crop,
    colour `ring` in the rest of the crop, white outside it. Returns the bytes and both colours."""
    inner = (40 * index % 256, 200 - 20 * index, 90)
    ring = (230, 30, 30 + 30 * index)
    image = Image.new("RGB", celeba.SOURCE_SIZE, (255, 255, 255))
    width, height = celeba.SOURCE_SIZE
    crop, margin = celeba.CROP_SIZE, celeba.CROP_SIZE // 4
    left, top = (width - crop) // 2, (height - crop) // 2
    image.paste(ring, (left, top, left + crop, top + crop))
    image.paste(inner, (left + margin, top + margin, left + crop - margin, top + crop - margin))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, subsampling=0)  # no chroma bleed across the crop edge
    return buffer.getvalue(), inner, ring


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def attribute_text(values: np.ndarray) -> str:
    lines = [str(len(values)), " ".join(ATTRIBUTE_NAMES)]
    lines += [f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in row) for i, row in enumerate(values)]
    return "\n".join(lines) + "\n"


def remote_for(path, **overrides) -> RemoteFile:
    fields = {"sha256": sha256_of(path), "size": path.stat().st_size, "md5": hashlib.md5(path.read_bytes()).hexdigest()}
    return RemoteFile(path.name, **(fields | overrides))


@pytest.fixture
def tiny_celeba(tmp_path):
    """A served directory with a 6-image zip (members in reverse order) and its attribute list."""
    www = tmp_path / "www"
    www.mkdir()
    jpegs, colours = {}, []
    for i in range(COUNT):
        data, inner, ring = face_like_jpeg(i)
        jpegs[f"img_align_celeba/{i + 1:06d}.jpg"] = data
        colours.append((inner, ring))
    write_zip(www / ZIP, dict(reversed(jpegs.items())))
    values = np.where(np.random.default_rng(0).random((COUNT, 40)) < 0.3, 1, -1)
    values[0] = -values[1]  # every attribute takes both values, as in the published list
    (www / ATTRS).write_text(attribute_text(values))
    files = {"images": remote_for(www / ZIP), "attributes": remote_for(www / ATTRS, sha256=None, size=None)}
    return www, files, values, colours


@pytest.fixture(autouse=True)
def no_mirrors_from_environment(monkeypatch):
    monkeypatch.delenv(celeba.MIRRORS_ENV, raising=False)


def prepare(tmp_path, files, mirrors, **kwargs):
    return celeba.prepare(tmp_path / "celeba.h5", tmp_path / "raw", mirrors, files=files, expected_count=COUNT,
                          **(FAST | kwargs))


def test_published_files_match_datasets_md():
    zip_remote, attrs = celeba.FILES["images"], celeba.FILES["attributes"]
    assert zip_remote.name == "img_align_celeba.zip" and zip_remote.size == 1_443_490_838
    assert zip_remote.md5 == "00d2c5bc6d35e252742224ab0c1e8fcb"
    assert zip_remote.sha256 == "46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74"
    assert all("0B7EVK8r0v71pZjFTYXZWM3FlRnM" in url for url in zip_remote.urls) and len(zip_remote.urls) == 2
    assert attrs.name == "list_attr_celeba.txt" and attrs.md5 == "75e246fa4810816ffd6ee81facbd244c"
    assert attrs.urls == ()
    assert f"central {celeba.CROP_SIZE}x{celeba.CROP_SIZE}" in celeba.DESCRIPTION


def test_good_files_end_to_end(http_server, tiny_celeba, tmp_path):
    www, files, values, colours = tiny_celeba
    server = http_server(www)
    out = prepare(tmp_path, files, [server.url])

    info = read_info(out)
    assert (info.dataset, info.source) == ("celeba", "real")
    assert info.splits == {"train": (COUNT, 3, 32, 32)}
    assert info.raw_checksums == {ZIP: sha256_of(www / ZIP), ATTRS: sha256_of(www / ATTRS)}
    split = read_split(out)
    assert split.images.dtype == np.uint8 and split.labels is None
    assert split.factor_names == ATTRIBUTE_NAMES
    assert split.factors.dtype == np.float32
    np.testing.assert_array_equal(split.factors, (values > 0).astype(np.float32))
    # Images follow the attribute list's order (not the zip's) and the crop is the declared one:
    # the centre shows the inner colour, the border the ring just inside the crop, never the white outside.
    for image, (inner, ring) in zip(split.images.astype(int), colours):
        np.testing.assert_allclose(image[:, 16, 16], inner, atol=8)
        np.testing.assert_allclose(image[:, 0, 0], ring, atol=12)
        np.testing.assert_allclose(image[:, 31, 16], ring, atol=12)
    with zipfile.ZipFile(www / ZIP) as archive, Image.open(archive.open("img_align_celeba/000003.jpg")) as jpeg:
        expected = jpeg.crop((19, 39, 159, 179)).resize((32, 32), Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(split.images[2], np.asarray(expected).transpose(2, 0, 1))
    assert sorted(server.requests) == ["/" + ZIP, "/" + ATTRS]


def test_mirrors_from_environment_replace_drive(http_server, tiny_celeba, tmp_path, monkeypatch):
    www, files, _, _ = tiny_celeba
    server = http_server(www)
    monkeypatch.setenv(celeba.MIRRORS_ENV, f"{server.url}, ")
    prepare(tmp_path, {key: RemoteFile(**{**vars(remote), "urls": ()}) for key, remote in files.items()}, None)
    assert sorted(server.requests) == ["/" + ZIP, "/" + ATTRS]


def test_quota_page_instead_of_zip_says_how_to_place_by_hand(http_server, tiny_celeba, tmp_path):
    www, files, _, _ = tiny_celeba
    server = http_server(www)
    server.script(ZIP, Reply(body=QUOTA_PAGE))
    with pytest.raises(DownloadError) as caught:
        prepare(tmp_path, files, [server.url])
    message = str(caught.value)
    assert "download quota for this file is used up" in message
    assert f"put {ZIP} (" in message and f"md5 {files['images'].md5}" in message
    assert f"{ATTRS} (" in message and "present" in message and str(tmp_path / "raw") in message
    assert celeba.MIRRORS_ENV in message
    assert not (tmp_path / "raw" / ZIP).exists() and not (tmp_path / "celeba.h5").exists()


@pytest.mark.parametrize(
    "page, meaning",
    [
        ("<html>Google Drive can&#39;t scan this file for viruses. <a>Download anyway</a></html>", "virus-scan"),
        ("<html><form action='https://accounts.google.com/v3/signin'>Sign in</form></html>", "sign-in"),
        ("<html>Quota exceeded</html>", "quota"),
        ("<html>Something else</html>", None),
    ],
)
def test_drive_pages_are_told_apart(page, meaning):
    found = celeba.describe_drive_page(page)
    assert (found is None) if meaning is None else (meaning in found)


def test_placed_html_page_is_named_and_explained(tiny_celeba, tmp_path, closed_port_url):
    _, files, _, _ = tiny_celeba
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / ZIP).write_bytes(QUOTA_PAGE)
    (raw / ATTRS).write_bytes((tiny_celeba[0] / ATTRS).read_bytes())
    with pytest.raises(DownloadError, match=rf"download quota.*{raw / ZIP} is an HTML page.*To place CelebA by hand"):
        prepare(tmp_path, files, [closed_port_url])
    assert (raw / ZIP).read_bytes() == QUOTA_PAGE, "a placed file is never deleted"


def test_bad_checksum_from_mirror(http_server, tiny_celeba, tmp_path):
    www, files, _, _ = tiny_celeba
    server = http_server(www)
    wrong = {**files, "images": RemoteFile(ZIP, sha256="0" * 64, size=files["images"].size)}
    with pytest.raises(ChecksumError, match=rf"sha256 is {files['images'].sha256}, expected 0+.*To place CelebA by hand"):
        prepare(tmp_path, wrong, [server.url])
    assert not (tmp_path / "raw" / ZIP).exists()


def test_truncated_download(http_server, tiny_celeba, tmp_path):
    www, files, _, _ = tiny_celeba
    server = http_server(www)
    data = (www / ZIP).read_bytes()
    server.script(ZIP, Reply(body=data[:1000], content_length=len(data)))
    with pytest.raises(DownloadError, match=rf"could not download {ZIP} \(.*truncated.*To place CelebA by hand"):
        prepare(tmp_path, files, [server.url])
    assert server.requests.count("/" + ZIP) == 3, "a truncated download is retried"
    assert not (tmp_path / "raw" / ZIP).exists()


def test_attribute_file_without_address_must_be_placed(tiny_celeba, tmp_path):
    _, files, _, _ = tiny_celeba
    files = {**files, "attributes": RemoteFile(ATTRS, sha256=None, md5=files["attributes"].md5)}
    with pytest.raises(DownloadError, match=rf"{ATTRS} has no download address.*{ZIP} \(.*missing\)"):
        prepare(tmp_path, files, None)


def test_placed_non_zip_is_named(tiny_celeba, tmp_path, closed_port_url):
    www, files, _, _ = tiny_celeba
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / ZIP).write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    (raw / ATTRS).write_bytes((www / ATTRS).read_bytes())
    unchecked = {**files, "images": RemoteFile(ZIP, sha256=None)}  # e.g. a copy whose checksum is not known
    with pytest.raises(DatasetFileError, match=rf"{raw / ZIP} is not a zip archive.*To place CelebA by hand"):
        prepare(tmp_path, unchecked, [closed_port_url])
    # Held to the published checksum, the same file is refused before it is opened.
    with pytest.raises(ChecksumError, match=rf"{raw / ZIP}: sha256 is"):
        prepare(tmp_path, files, [closed_port_url])


@pytest.mark.parametrize("bad_name", ["../000001.jpg", "/img_align_celeba/000001.jpg", "C:\\x\\000001.jpg"])
def test_member_escaping_its_folder_is_refused(http_server, tiny_celeba, tmp_path, bad_name):
    www, files, _, _ = tiny_celeba
    with zipfile.ZipFile(www / ZIP) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[bad_name] = members.pop("img_align_celeba/000001.jpg")
    write_zip(www / ZIP, members)
    server = http_server(www)
    with pytest.raises(DatasetFileError, match=rf"member {bad_name!r} points outside its folder".replace("\\", "\\\\")):
        prepare(tmp_path, {**files, "images": remote_for(www / ZIP)}, [server.url])
    assert not (tmp_path / "celeba.h5").exists()


def test_missing_image_and_bad_attribute_lines_are_named(tiny_celeba, tmp_path):
    www, _, values, _ = tiny_celeba
    with pytest.raises(DatasetFileError, match=r"holds 6 JPEGs for 7 attribute lines and lacks 000007.jpg"):
        celeba.read_images(www / ZIP, [f"{i:06d}.jpg" for i in range(1, 8)])
    bad = tmp_path / ATTRS
    bad.write_text(attribute_text(values).replace(" 1", " 0", 1))
    with pytest.raises(DatasetFileError, match=rf"{bad}: every image line must hold"):
        celeba.read_attributes(bad, COUNT)
    bad.write_text(attribute_text(values[:5]))
    with pytest.raises(DatasetFileError, match="announces 5 images and lists 5, expected 6"):
        celeba.read_attributes(bad, COUNT)


def blank_zip(path):
    """CelebA's layout with nothing in it: COUNT all-black 178x218 JPEGs under the published names."""
    buffer = io.BytesIO()
    Image.new("RGB", celeba.SOURCE_SIZE).save(buffer, format="JPEG")
    return write_zip(path, {f"img_align_celeba/{i + 1:06d}.jpg": buffer.getvalue() for i in range(COUNT)})


def place(tmp_path, zip_bytes, attribute_bytes):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / ZIP).write_bytes(zip_bytes)
    (raw / ATTRS).write_bytes(attribute_bytes)
    return raw


def test_blank_images_are_refused_whatever_the_checksum(tiny_celeba, tmp_path, closed_port_url):
    """Held to its own checksums (as if they were the published ones), a zip of blank JPEGs is still
    refused as its images are converted; held to the real ones, by its checksum first."""
    www, files, _, _ = tiny_celeba
    blank = blank_zip(tmp_path / "blank.zip")
    raw = place(tmp_path, blank.read_bytes(), (www / ATTRS).read_bytes())
    own_checksums = {**files, "images": remote_for(raw / ZIP)}
    with pytest.raises(DatasetFileError) as caught:
        prepare(tmp_path, own_checksums, [closed_port_url])
    message = str(caught.value)
    assert message.startswith(f"{raw / ZIP}: more than 1% of its images are one flat colour") and "\n" not in message
    assert "not CelebA's photographs; place the published img_align_celeba.zip" in message
    with pytest.raises(ChecksumError, match=rf"^CelebA: {raw / ZIP}: sha256 is "):
        prepare(tmp_path, files, [closed_port_url])
    assert not (tmp_path / "celeba.h5").exists()


def test_attribute_constant_for_every_image_is_refused(tiny_celeba, tmp_path, closed_port_url):
    www, files, values, _ = tiny_celeba
    constant = values.copy()
    constant[:, ATTRIBUTE_NAMES.index("Eyeglasses")] = -1
    raw = place(tmp_path, (www / ZIP).read_bytes(), attribute_text(constant).encode())
    own_checksums = {**files, "attributes": remote_for(raw / ATTRS, sha256=None, size=None)}
    with pytest.raises(DatasetFileError, match=rf"^{raw / ATTRS}: 1 of its 40 attributes take one value for every image \(Eyeglasses is always -1\)"):
        prepare(tmp_path, own_checksums, [closed_port_url])
    with pytest.raises(ChecksumError, match=rf"^CelebA: {raw / ATTRS}: md5 is "):
        prepare(tmp_path, files, [closed_port_url])
    assert not (tmp_path / "celeba.h5").exists()


def test_repackaged_copies_are_refused_by_their_checksums(tiny_celeba, tmp_path, closed_port_url):
    """CelebA publishes digests of its files, not of their content: a re-zipped archive (the same
    JPEGs) or an attribute list with other line endings is refused, naming the file and the fix."""
    www, files, _, _ = tiny_celeba
    with zipfile.ZipFile(www / ZIP) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    repackaged = tmp_path / "repackaged.zip"
    with zipfile.ZipFile(repackaged, "w", zipfile.ZIP_DEFLATED) as archive:  # other bytes, the same JPEGs
        for name, data in sorted(members.items()):
            archive.writestr(name, data)
    raw = place(tmp_path, (www / ZIP).read_bytes(), (www / ATTRS).read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(ChecksumError, match=rf"^CelebA: {raw / ATTRS}: md5 is .*; delete it, or replace it"):
        prepare(tmp_path, files, [closed_port_url])
    (raw / ATTRS).write_bytes((www / ATTRS).read_bytes())
    (raw / ZIP).write_bytes(repackaged.read_bytes())
    with pytest.raises(ChecksumError, match=rf"^CelebA: {raw / ZIP}: sha256 is .*; delete it, or replace it"):
        prepare(tmp_path, files, [closed_port_url])
    assert not (tmp_path / "celeba.h5").exists()
