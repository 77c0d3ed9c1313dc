import hashlib
import logging

import pytest

from conftest import Reply
from infogan.data.download import RemoteFile, fetch, sha256_of
from infogan.errors import ChecksumError, DownloadError

PAYLOAD = bytes(range(256)) * 64  # 16 KiB, several read chunks' worth of distinct bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
NAME = "archive.bin"
FAST = {"backoff_s": 0.01, "timeout": 5}


def remote(*bases, **overrides):
    fields = {"sha256": PAYLOAD_SHA256, "size": len(PAYLOAD), "urls": tuple(base + NAME for base in bases)}
    return RemoteFile(NAME, **(fields | overrides))


def leftovers(raw_dir):
    """Every file in raw_dir: a failed download must leave nothing, not even a temporary file."""
    return sorted(p.name for p in raw_dir.iterdir()) if raw_dir.exists() else []


@pytest.fixture
def raw_dir(tmp_path):
    return tmp_path / "raw"


@pytest.fixture
def good_server(http_server, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / NAME).write_bytes(PAYLOAD)
    return http_server(www)


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(PAYLOAD * 100)
    assert sha256_of(path) == hashlib.sha256(PAYLOAD * 100).hexdigest()


def test_good_download(good_server, raw_dir):
    path = fetch(remote(good_server.url), raw_dir, **FAST)
    assert path == raw_dir / NAME
    assert path.read_bytes() == PAYLOAD
    assert leftovers(raw_dir) == [NAME]
    assert good_server.requests == ["/" + NAME]


def test_md5_only_file_is_verified(good_server, raw_dir):
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert fetch(remote(good_server.url, sha256=None, md5=md5), raw_dir, **FAST).read_bytes() == PAYLOAD
    (raw_dir / NAME).unlink()
    with pytest.raises(ChecksumError, match=f"md5 is {md5}, expected 0+"):
        fetch(remote(good_server.url, sha256=None, md5="0" * 32), raw_dir, **FAST)


def test_file_without_published_checksum_is_accepted(good_server, raw_dir):
    path = fetch(remote(good_server.url, sha256=None, size=None), raw_dir, **FAST)
    assert sha256_of(path) == PAYLOAD_SHA256


def test_falls_back_to_second_mirror(http_server, good_server, raw_dir):
    forbidding = http_server()
    forbidding.script(NAME, Reply(status=403, body=b"Forbidden"))
    path = fetch(remote(forbidding.url, good_server.url), raw_dir, **FAST)
    assert path.read_bytes() == PAYLOAD
    assert forbidding.requests == ["/" + NAME]  # a 403 is not retried


def test_retries_after_transient_failure(http_server, raw_dir):
    flaky = http_server()
    flaky.script(NAME, Reply(status=503, body=b"busy"), Reply(body=PAYLOAD[:100], content_length=len(PAYLOAD)), Reply(body=PAYLOAD))
    path = fetch(remote(flaky.url), raw_dir, retries=3, **FAST)
    assert path.read_bytes() == PAYLOAD
    assert len(flaky.requests) == 3


def test_slow_first_mirror_times_out_then_second_mirror_serves(http_server, good_server, raw_dir):
    slow = http_server()
    slow.script(NAME, Reply(body=PAYLOAD, delay_s=1.0))
    path = fetch(remote(slow.url, good_server.url), raw_dir, retries=1, timeout=0.2, backoff_s=0)
    assert path.read_bytes() == PAYLOAD


def test_bad_checksum_names_file_and_both_hashes_and_leaves_nothing(http_server, raw_dir):
    server = http_server()
    tampered = bytes(reversed(PAYLOAD))
    server.script(NAME, Reply(body=tampered))
    with pytest.raises(ChecksumError) as caught:
        fetch(remote(server.url), raw_dir, **FAST)
    message = str(caught.value)
    assert NAME in message and PAYLOAD_SHA256 in message and hashlib.sha256(tampered).hexdigest() in message
    assert len(server.requests) == 1  # the same wrong bytes would come again
    assert leftovers(raw_dir) == []


@pytest.mark.parametrize(
    "reply",
    [Reply(body=PAYLOAD[:1000], content_length=len(PAYLOAD)), Reply(body=PAYLOAD[:1000])],
    ids=["connection-closed-early", "short-file-on-server"],
)
def test_truncated_download_is_reported_and_discarded(http_server, raw_dir, reply):
    server = http_server()
    server.script(NAME, reply)
    with pytest.raises(DownloadError, match="truncated") as caught:
        fetch(remote(server.url), raw_dir, **FAST)
    assert not isinstance(caught.value, ChecksumError)
    assert leftovers(raw_dir) == []


def test_html_page_instead_of_archive(http_server, raw_dir):
    server = http_server()
    server.script(NAME, Reply(body=b"\n  <!DOCTYPE html><html><body>Quota exceeded</body></html>"))
    with pytest.raises(DownloadError, match="HTML page instead of the file"):
        fetch(remote(server.url), raw_dir, **FAST)
    assert leftovers(raw_dir) == []


def test_every_mirror_failing_gives_one_message_with_the_manual_fix(http_server, closed_port_url, raw_dir):
    missing = http_server()
    with pytest.raises(DownloadError) as caught:
        fetch(remote(missing.url, closed_port_url), raw_dir, retries=2, **FAST)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{missing.url}{NAME}: HTTP 404" in message
    assert f"{closed_port_url}{NAME}: connection failed" in message
    assert f"download {NAME} from one of {missing.url}{NAME}, {closed_port_url}{NAME} and place it at {raw_dir / NAME}" in message
    assert leftovers(raw_dir) == []


def test_placed_good_file_is_used_without_network(closed_port_url, raw_dir):
    raw_dir.mkdir()
    (raw_dir / NAME).write_bytes(PAYLOAD)
    assert fetch(remote(closed_port_url), raw_dir, **FAST).read_bytes() == PAYLOAD


def test_placed_bad_file_is_kept_and_reported(closed_port_url, raw_dir):
    raw_dir.mkdir()
    (raw_dir / NAME).write_bytes(b"something else")
    with pytest.raises(ChecksumError) as caught:
        fetch(remote(closed_port_url), raw_dir, **FAST)
    message = str(caught.value)
    assert str(raw_dir / NAME) in message and "delete it, or replace it" in message
    assert PAYLOAD_SHA256 in message and hashlib.sha256(b"something else").hexdigest() in message
    assert (raw_dir / NAME).read_bytes() == b"something else"


@pytest.mark.parametrize("published", [{}, {"sha256": None, "size": None}], ids=["with-checksum", "without-checksum"])
def test_placed_html_page_is_recognised(closed_port_url, raw_dir, published):
    raw_dir.mkdir()
    (raw_dir / NAME).write_bytes(b"<HTML><head><title>Sign in</title></head></HTML>")
    with pytest.raises(DownloadError, match="is an HTML page"):
        fetch(remote(closed_port_url, **published), raw_dir, **FAST)
    assert (raw_dir / NAME).exists()


def test_placed_file_passing_content_check_is_used_with_a_warning(closed_port_url, raw_dir, caplog):
    raw_dir.mkdir()
    (raw_dir / NAME).write_bytes(b"recompressed copy")
    with caplog.at_level(logging.WARNING):
        path = fetch(remote(closed_port_url), raw_dir, content_check=lambda p: "content check passed (fine)", **FAST)
    assert path == raw_dir / NAME
    assert f"archive sha256 is {sha256_of(path)}, expected {PAYLOAD_SHA256}, but content check passed (fine)" in caplog.text


def test_placed_file_failing_content_check_too_is_rejected(closed_port_url, raw_dir):
    raw_dir.mkdir()
    (raw_dir / NAME).write_bytes(b"garbage")

    def reject(path):
        raise DownloadError(f"{path}: not it")

    with pytest.raises(ChecksumError, match="content check failed"):
        fetch(remote(closed_port_url), raw_dir, content_check=reject, **FAST)
    assert (raw_dir / NAME).exists()
