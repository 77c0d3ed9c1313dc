"""Fetching published files: mirrors, retries, checksums, and a way out by hand.

Every dataset's raw files go through `fetch`. A file only ever appears under its final
name in the raw directory once its size and checksum match what was published, so later
steps can trust whatever they find there. When every mirror fails, one error says what
went wrong where and how to place the file by hand, because for several datasets
(quotas, logins, dead hosts) that is the only route that works.
"""

import gzip
import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from infogan import __version__
from infogan.atomic import atomic_path
from infogan.errors import ChecksumError, DownloadError, InfoganError
from infogan.progress import progress

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# Some hosts refuse urllib's default agent with HTTP 403; say who we are instead.
USER_AGENT = f"infogan-repro/{__version__} (python urllib)"
# What a login, quota or error page saved under an archive's name starts with.
HTML_PREFIXES = (b"<!doctype", b"<html")
SNIFF_BYTES = 512


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name in the raw directory, what it must hash to, where it lives.

    Whichever of sha256 and md5 is given is checked (SVHN publishes only md5); a file
    published with neither (3D Chairs) is accepted as fetched, and its caller should
    record `sha256_of` the result.

    `content_sha256`, where the publisher's content has a well-known digest (MNIST), is
    the sha256 of what the gzip archive decompresses to. An archive whose own bytes differ
    (recompressed by a mirror or by hand) is then accepted exactly when its content is the
    original's, and refused otherwise: identity without a heuristic.
    """

    name: str
    sha256: str | None
    size: int | None = None
    md5: str | None = None
    urls: tuple[str, ...] = ()
    content_sha256: str | None = None


class _Digest:
    """Size, hashes and first bytes of a stream, fed chunk by chunk while it is written."""

    def __init__(self):
        self.size = 0
        self.head = b""
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)

    def update(self, chunk: bytes):
        self.size += len(chunk)
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._sha256.update(chunk)
        self._md5.update(chunk)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def looks_like_html(self) -> bool:
        return self.head.lstrip().lower().startswith(HTML_PREFIXES)


class _AttemptFailed(Exception):
    """One try at one mirror failed; `transient` says whether trying again may help."""

    def __init__(self, reason: str, *, transient: bool, checksum: bool = False):
        super().__init__(reason)
        self.transient = transient
        self.checksum = checksum


MIRROR_SCHEMES = ("http", "https", "file")


def mirrors_from(env_name, mirrors=None) -> tuple[str, ...] | None:
    """Base URLs that replace a dataset's published hosts: `mirrors`, else the comma-separated
    $`env_name` (e.g. INFOGAN_MNIST_MIRRORS), else None: use the published hosts."""
    where = "mirrors" if mirrors is not None else f"${env_name}"
    if mirrors is None:
        mirrors = os.environ.get(env_name, "").split(",")
    bases = tuple(base.strip() for base in mirrors if base.strip())
    for base in bases:
        scheme, separator, rest = base.partition("://")
        if not separator or scheme.lower() not in MIRROR_SCHEMES or not rest:
            raise DownloadError(f"{where}: {base!r} is not a base URL; give comma-separated URLs such as "
                                f"http://127.0.0.1:8000/mnist ({', '.join(MIRROR_SCHEMES)})")
    return bases or None


def served_from(remote: RemoteFile, bases) -> RemoteFile:
    """`remote`, fetched by its name from each base URL instead of its published hosts."""
    return replace(remote, urls=tuple(base.rstrip("/") + "/" + remote.name for base in bases))


def sha256_of(path) -> str:
    """The sha256 of a file, read in chunks so multi-gigabyte archives fit in memory."""
    return _digest_file(path).sha256


def fetch(remote: RemoteFile, raw_dir, retries=3, timeout=60, *, backoff_s=1.0, content_check=None) -> Path:
    """Return `raw_dir/remote.name`, downloading it first if it is not there yet.

    A file already there (fetched before or placed by hand) is verified, never fetched
    again. Otherwise each URL is tried in order, up to `retries` times each (waiting
    backoff_s, 2 backoff_s, ... between tries) when the failure may be passing.

    `content_check(path)`, if given, is the second opinion for a file placed by hand
    whose archive checksum differs (e.g. recompressed by someone else): it returns a
    short description of what it verified, or raises InfoganError. Downloads are held
    to the published checksum.
    """
    destination = Path(raw_dir) / remote.name
    if destination.exists():
        _verify_placed(remote, destination, content_check)
        return destination
    failures = []
    for url in remote.urls:
        failure = _fetch_from_mirror(remote, url, destination, retries, timeout, backoff_s)
        if failure is None:
            return destination
        failures.append((url, failure))
    raise _all_mirrors_failed(remote, destination, failures)


def _fetch_from_mirror(remote, url, destination, retries, timeout, backoff_s) -> _AttemptFailed | None:
    """Try one mirror until it succeeds, fails for good, or runs out of tries; None on success."""
    failure = None
    for attempt in range(retries):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            _download(remote, url, destination, timeout)
            return None
        except _AttemptFailed as exc:
            failure = exc
            log.info("%s: %s (try %d of %d)", url, exc, attempt + 1, retries)
            if not exc.transient:
                break
    return failure


def _download(remote, url, destination, timeout):
    """Stream `url` to a temporary file beside `destination`; rename it only if it checks out."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with atomic_path(destination) as tmp:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                announced = _content_length(response)
                digest = _stream_to_file(response, tmp, announced or remote.size, remote.name)
        except urllib.error.HTTPError as exc:
            raise _AttemptFailed(f"HTTP {exc.code} {exc.reason}", transient=exc.code >= 500 or exc.code == 429) from exc
        except urllib.error.URLError as exc:
            raise _AttemptFailed(f"connection failed ({exc.reason})", transient=True) from exc
        except TimeoutError as exc:
            raise _AttemptFailed(f"timed out after {timeout} s", transient=True) from exc
        except http.client.IncompleteRead as exc:
            raise _AttemptFailed(f"truncated: connection closed after {len(exc.partial)} bytes", transient=True) from exc
        except (ConnectionError, http.client.HTTPException) as exc:
            raise _AttemptFailed(f"connection broke ({exc})", transient=True) from exc
        _verify_download(remote, digest, announced, tmp)


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _stream_to_file(response, path, total, name) -> _Digest:
    """Copy the response body to `path`, hashing it on the way, with a progress bar on stderr.

    In a log file (not a terminal) the bar updates every 30 s, so logs stay readable.
    """
    digest = _Digest()
    with open(path, "wb") as out, progress(
        total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, leave=False
    ) as bar:
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest


def _verify_download(remote, digest, announced, path):
    """Raise _AttemptFailed unless what arrived (at `path`) is complete and is the published
    file, or, where the content has a published digest, a recompressed copy of it."""
    if digest.looks_like_html():
        raise _AttemptFailed("got an HTML page instead of the file", transient=False)
    if announced is not None and digest.size < announced:
        raise _AttemptFailed(f"truncated: got {digest.size} of {announced} bytes", transient=True)
    if remote.content_sha256 and not _archive_matches(remote, digest):
        mismatch = _content_mismatch(remote, path)
        if mismatch:
            raise _AttemptFailed(f"{_checksum_mismatch(remote, digest) or 'size differs'}, and {mismatch}",
                                 transient=False, checksum=True)
        log.info("%s: a recompressed copy; its content is the original's (sha256 %s)", remote.name, remote.content_sha256)
        return
    if remote.size is not None and digest.size < remote.size:
        # Without a Content-Length the connection may simply have dropped; with one, the mirror holds a short file.
        raise _AttemptFailed(f"truncated: {digest.size} bytes, expected {remote.size}", transient=announced is None)
    if remote.size is not None and digest.size > remote.size:
        raise _AttemptFailed(f"wrong size: {digest.size} bytes, expected {remote.size}", transient=False)
    mismatch = _checksum_mismatch(remote, digest)
    if mismatch:
        raise _AttemptFailed(mismatch, transient=False, checksum=True)


def _checksum_mismatch(remote, digest) -> str | None:
    """Describe how the published checksums differ from the actual ones, or None if they match."""
    if remote.sha256 and digest.sha256 != remote.sha256.lower():
        return f"sha256 is {digest.sha256}, expected {remote.sha256}"
    if remote.md5 and digest.md5 != remote.md5.lower():
        return f"md5 is {digest.md5}, expected {remote.md5}"
    return None


def _archive_matches(remote, digest) -> bool:
    return (remote.size is None or digest.size == remote.size) and _checksum_mismatch(remote, digest) is None


def _content_mismatch(remote, path) -> str | None:
    """Describe how the decompressed content of `path` differs from `remote.content_sha256`, or None."""
    try:
        found = content_sha256_of(path)
    except (OSError, EOFError, zlib.error) as exc:
        return f"it is not a readable gzip archive ({exc})"
    if found != remote.content_sha256.lower():
        return f"its decompressed content has sha256 {found}, the original {remote.name.removesuffix('.gz')}'s is {remote.content_sha256}"
    return None


def content_sha256_of(path) -> str:
    """The sha256 of what the gzip archive `path` decompresses to, read in chunks."""
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _digest_file(path) -> _Digest:
    digest = _Digest()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest


def _verify_placed(remote, path, content_check):
    """Accept a file already in the raw directory, or raise an error telling the user what to do.

    The file is never deleted: it may be the user's only copy.
    """
    digest = _digest_file(path)
    replace = f"delete it, or replace it with {remote.name} from {_url_list(remote)}"
    if digest.looks_like_html():
        raise DownloadError(f"{path} is an HTML page (a login, quota or error page), not {remote.name}; {replace}")
    mismatch = _checksum_mismatch(remote, digest)
    if mismatch is None:
        return
    if remote.content_sha256:
        content_mismatch = _content_mismatch(remote, path)
        if content_mismatch:
            raise ChecksumError(f"{path} is not the original {remote.name}: archive {mismatch}, and {content_mismatch}; "
                                f"{replace}")
        log.info("%s: a recompressed copy; its content is the original's (sha256 %s)", path, remote.content_sha256)
        return
    if content_check is None:
        raise ChecksumError(f"{path}: {mismatch}; {replace}")
    try:
        passed = content_check(path)
    except InfoganError as exc:
        raise ChecksumError(f"{path}: {mismatch}, and its content check failed ({exc}); {replace}") from exc
    log.warning("%s: archive %s, but %s; using it", path, mismatch, passed)


def _all_mirrors_failed(remote, destination, failures) -> DownloadError:
    """One error for the whole attempt: each mirror's failure in short, then the manual fix."""
    fix = f"download {remote.name} from {_url_list(remote)} and place it at {destination}"
    if not failures:
        return DownloadError(f"{remote.name}: no download address is known; {fix}")
    tried = "; ".join(f"{url}: {failure}" for url, failure in failures)
    error = ChecksumError if any(failure.checksum for _, failure in failures) else DownloadError
    return error(f"could not download {remote.name} ({tried}); {fix}")


def _url_list(remote) -> str:
    if not remote.urls:
        return "its publisher"
    if len(remote.urls) == 1:
        return remote.urls[0]
    return "one of " + ", ".join(remote.urls)
