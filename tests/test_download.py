"""Every path of d2lmini.download, with no network: local files, a fake opener, a local server."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from d2lmini.download import ChecksumError, DataNotFoundError, Resource, fetch, file_digest

PAYLOAD = b"the time traveller (for so it will be convenient to speak of him)\n" * 50


def _resource(**kw: object) -> Resource:
    defaults: dict[str, object] = {
        "path": "sub/file.txt",
        "digest": hashlib.sha1(PAYLOAD).hexdigest(),
        "urls": ("http://example.invalid/file.txt",),
    }
    defaults.update(kw)
    return Resource(**defaults)  # type: ignore[arg-type]


class FakeOpener:
    """Serves fixed bytes for every URL and records what was asked."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.urls: list[str] = []

    def __call__(self, url: str) -> io.BytesIO:
        self.urls.append(url)
        return io.BytesIO(self.body)


@pytest.fixture(autouse=True)
def _downloads_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI sets D2LMINI_OFFLINE; these tests download only from fakes and 127.0.0.1."""
    monkeypatch.delenv("D2LMINI_OFFLINE", raising=False)


def _no_network(url: str) -> io.BytesIO:
    raise AssertionError(f"must not download {url}")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_finds_a_verified_copy_in_the_data_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/file.txt").write_bytes(PAYLOAD)
    got = fetch(_resource(), root=tmp_path, mirror=tmp_path / "none", opener=_no_network)
    assert got == tmp_path / "sub/file.txt"


def test_reads_the_mirror_in_place_without_writing(tmp_path: Path) -> None:
    mirror, root = tmp_path / "mirror", tmp_path / "data"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub/file.txt").write_bytes(PAYLOAD)
    got = fetch(_resource(), root=root, mirror=mirror, opener=_no_network)
    assert got == mirror / "sub/file.txt"
    assert not root.exists(), "nothing may be copied or unpacked from the mirror"


def test_downloads_through_a_verified_temporary_file(tmp_path: Path) -> None:
    opener = FakeOpener(PAYLOAD)
    got = fetch(_resource(), root=tmp_path, mirror=tmp_path / "none", opener=opener)
    assert got.read_bytes() == PAYLOAD
    assert opener.urls == ["http://example.invalid/file.txt"]
    assert _leftovers(tmp_path) == ["file.txt"], "no temporary file may remain"


def test_refuses_a_corrupt_download_and_leaves_nothing(tmp_path: Path) -> None:
    opener = FakeOpener(PAYLOAD[:-7])  # truncated in transit
    with pytest.raises(DataNotFoundError) as err:
        fetch(_resource(), root=tmp_path, mirror=tmp_path / "none", opener=opener)
    message = str(err.value)
    assert "expected" in message and "http://example.invalid/file.txt" in message
    assert _leftovers(tmp_path) == []


def test_replaces_a_corrupt_cached_copy(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/file.txt").write_bytes(b"garbage")
    got = fetch(_resource(), root=tmp_path, mirror=tmp_path / "none", opener=FakeOpener(PAYLOAD))
    assert got.read_bytes() == PAYLOAD


def test_corrupt_mirror_is_reported_and_left_untouched(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub/file.txt").write_bytes(PAYLOAD[:100])  # truncated copy
    with pytest.raises(DataNotFoundError) as err:
        fetch(_resource(urls=()), root=tmp_path / "data", mirror=mirror, opener=_no_network)
    assert "left untouched" in str(err.value)
    assert (mirror / "sub/file.txt").read_bytes() == PAYLOAD[:100]


def test_offline_error_names_the_file_the_places_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D2LMINI_OFFLINE", "1")
    resource = _resource(system_paths=(str(tmp_path / "usr/share/x.txt"),),
                         system_hint="apt-get install the-package")
    with pytest.raises(DataNotFoundError) as err:
        fetch(resource, root=tmp_path / "data", mirror=tmp_path / "mirror", opener=_no_network)
    message = str(err.value)
    for needle in ("'file.txt'", str(tmp_path / "data/sub/file.txt"),
                   str(tmp_path / "mirror/sub/file.txt"), str(tmp_path / "usr/share/x.txt"),
                   "D2LMINI_OFFLINE", "D2LMINI_MIRROR", "D2LMINI_DATA",
                   "http://example.invalid/file.txt", "apt-get install the-package"):
        assert needle in message, needle


def test_accepts_a_recompressed_system_copy_by_its_content(tmp_path: Path) -> None:
    original = gzip.compress(PAYLOAD, mtime=0)
    recompressed = gzip.compress(PAYLOAD, compresslevel=1, mtime=12345)
    assert original != recompressed
    system = tmp_path / "usr/share/file.txt.gz"
    system.parent.mkdir(parents=True)
    system.write_bytes(recompressed)
    resource = _resource(
        path="sub/file.txt.gz",
        digest=hashlib.md5(original).hexdigest(),
        algorithm="md5",
        gunzipped_sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        system_paths=(str(system),),
    )
    got = fetch(resource, root=tmp_path / "data", mirror=tmp_path / "none", download=False)
    assert got == system
    # A truncated system copy is refused, and the error says why.
    system.write_bytes(recompressed[: len(recompressed) // 2])
    with pytest.raises(DataNotFoundError, match=r"unreadable|expected"):
        fetch(resource, root=tmp_path / "data", mirror=tmp_path / "none", download=False)


def test_extracts_a_verified_member_of_a_zip_archive(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("pairs/fra.txt", PAYLOAD)
    archive = buffer.getvalue()
    resource = _resource(archive=(hashlib.sha1(archive).hexdigest(), "pairs/fra.txt"))
    got = fetch(resource, root=tmp_path, mirror=tmp_path / "none", opener=FakeOpener(archive))
    assert got.read_bytes() == PAYLOAD
    assert _leftovers(tmp_path) == ["file.txt"]
    # A different archive is refused before anything is extracted.
    with pytest.raises(DataNotFoundError, match="archive SHA-1"):
        fetch(resource, root=tmp_path / "other", mirror=tmp_path / "none",
              opener=FakeOpener(archive + b"x"))
    assert not (tmp_path / "other/sub/file.txt").exists()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(www), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_downloads_over_real_http_and_falls_back_to_the_next_url(
    tmp_path: Path, http_server: str
) -> None:
    (tmp_path / "www/good.txt").write_bytes(PAYLOAD)
    (tmp_path / "www/bad.txt").write_bytes(b"not it")
    urls = (http_server + "missing.txt", http_server + "bad.txt", http_server + "good.txt")
    root = tmp_path / "data"
    got = fetch(_resource(urls=urls), root=root, mirror=tmp_path / "none")
    assert got.read_bytes() == PAYLOAD
    assert _leftovers(root) == ["file.txt"]


def test_all_urls_failing_over_http_leaves_nothing(tmp_path: Path, http_server: str) -> None:
    (tmp_path / "www/bad.txt").write_bytes(PAYLOAD[:10])
    urls = (http_server + "missing.txt", http_server + "bad.txt")
    root = tmp_path / "data"
    with pytest.raises(DataNotFoundError) as err:
        fetch(_resource(urls=urls), root=root, mirror=tmp_path / "none")
    assert "404" in str(err.value) and "expected" in str(err.value)
    assert _leftovers(root) == []


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(PAYLOAD))
    assert file_digest(path, "sha256", gunzip=True) == hashlib.sha256(PAYLOAD).hexdigest()
    assert file_digest(path, "md5") == hashlib.md5(path.read_bytes()).hexdigest()


def test_checksum_error_is_a_value_error() -> None:
    assert issubclass(ChecksumError, ValueError)
    assert issubclass(DataNotFoundError, FileNotFoundError)
