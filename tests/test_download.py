"""Every path of d2lmini.download, with no network: local files, a fake opener, a local server,
and two processes fetching the same file at once."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from d2lmini import data
from d2lmini.download import ChecksumError, DataNotFoundError, Resource, fetch, file_digest

PAYLOAD = b"the time traveller (for so it will be convenient to speak of him)\n" * 50


def _resource(**kw: object) -> Resource:
    defaults: dict[str, object] = {
        "path": "sub/file.txt",
        "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
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


def test_moves_a_corrupt_copy_aside_and_replaces_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/file.txt").write_bytes(b"a reader's own file")
    with pytest.warns(UserWarning, match=r"moved it aside to .*file\.txt\.corrupt"):
        got = fetch(_resource(), root=tmp_path, mirror=tmp_path / "none",
                    opener=FakeOpener(PAYLOAD))
    assert got.read_bytes() == PAYLOAD
    assert (tmp_path / "sub/file.txt.corrupt").read_bytes() == b"a reader's own file"
    assert _leftovers(tmp_path) == ["file.txt", "file.txt.corrupt"]


def test_a_corrupt_copy_that_cannot_be_replaced_is_kept_and_the_error_says_where(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/file.txt").write_bytes(b"a reader's own file")
    with pytest.warns(UserWarning), pytest.raises(DataNotFoundError) as err:
        fetch(_resource(), root=tmp_path, mirror=tmp_path / "none", download=False)
    message = str(err.value)
    assert f"moved it aside to {tmp_path / 'sub/file.txt.corrupt'}" in message, message
    assert hashlib.sha256(PAYLOAD).hexdigest() in message, "the error names the SHA-256 wanted"
    assert (tmp_path / "sub/file.txt.corrupt").read_bytes() == b"a reader's own file"


def test_verification_uses_the_sha256_not_the_upstream_checksum(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/file.txt").write_bytes(PAYLOAD)
    # The upstream MD5 is for reference only: a wrong one does not reject a good copy...
    resource = _resource(upstream=("md5", "0" * 32))
    assert fetch(resource, root=tmp_path, mirror=tmp_path / "none", opener=_no_network)
    # ...and a matching upstream checksum does not accept a copy whose SHA-256 is wrong.
    wrong = _resource(sha256="0" * 64, upstream=("sha1", hashlib.sha1(PAYLOAD).hexdigest()))
    with pytest.warns(UserWarning), pytest.raises(DataNotFoundError, match="SHA-256 is"):
        fetch(wrong, root=tmp_path, mirror=tmp_path / "none", download=False)


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
        sha256=hashlib.sha256(original).hexdigest(),
        upstream=("md5", hashlib.md5(original).hexdigest()),
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


_FETCH_IN_A_PROCESS = """
import json, sys, warnings
from pathlib import Path
from d2lmini.download import Resource, fetch
args = json.loads(sys.argv[1])
resource = Resource(path=args["path"], sha256=args["sha256"], urls=tuple(args["urls"]))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    got = fetch(resource, root=Path(args["root"]), mirror=Path(args["root"]) / "none")
print(json.dumps({"path": str(got), "warnings": [str(w.message) for w in caught]}))
"""


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that sends PAYLOAD slowly, and the list of paths asked for."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            for i in range(0, len(PAYLOAD), len(PAYLOAD) // 4):  # about 1 s in all
                self.wfile.write(PAYLOAD[i : i + len(PAYLOAD) // 4])
                self.wfile.flush()
                time.sleep(0.25)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file.txt", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("start", ["missing", "corrupt"])
def test_two_processes_fetching_at_once_end_with_one_good_copy(
    tmp_path: Path, slow_server: tuple[str, list[str]], start: str
) -> None:
    url, requests = slow_server
    root = tmp_path / "data"
    if start == "corrupt":  # both processes find the same wrong file first
        (root / "sub").mkdir(parents=True)
        (root / "sub/file.txt").write_bytes(b"a reader's own file")
    args = json.dumps({"path": "sub/file.txt", "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
                       "urls": [url], "root": str(root)})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("D2LMINI_OFFLINE", None)
    procs = [
        subprocess.Popen([sys.executable, "-c", _FETCH_IN_A_PROCESS, args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert [r["path"] for r in results] == [str(root / "sub/file.txt")] * 2
    assert (root / "sub/file.txt").read_bytes() == PAYLOAD
    # The second process waited for the first and used its copy: one download, nothing left over.
    assert len(requests) == 1, requests
    if start == "corrupt":
        assert _leftovers(root) == ["file.txt", "file.txt.corrupt"]
        assert (root / "sub/file.txt.corrupt").read_bytes() == b"a reader's own file"
        moved = [w for r in results for w in r["warnings"] if "moved it aside" in w]
        assert len(moved) == 1, results  # moved aside once, by one of the two
    else:
        assert _leftovers(root) == ["file.txt"]


def test_the_books_resources_carry_a_sha256_and_https_urls() -> None:
    resources = [*data.FASHION_MNIST.values(), data.TIME_MACHINE, data.FRA_ENG,
                 data.TINY_SHAKESPEARE]
    for resource in resources:
        assert len(resource.sha256) == 64 and int(resource.sha256, 16) >= 0, resource
        assert resource.upstream is not None, resource
        assert resource.urls and resource.urls[0].startswith("https://"), resource


@pytest.mark.skipif(not os.environ.get("D2LMINI_MIRROR"), reason="needs $D2LMINI_MIRROR")
def test_the_sha256s_and_the_upstream_checksums_name_the_same_files() -> None:
    mirror = Path(os.environ["D2LMINI_MIRROR"])
    resources = [*data.FASHION_MNIST.values(), data.TIME_MACHINE, data.FRA_ENG,
                 data.TINY_SHAKESPEARE]
    for resource in resources:
        path = mirror / resource.path
        assert resource.upstream is not None
        algorithm, digest = resource.upstream
        assert file_digest(path, algorithm) == digest, path
        assert file_digest(path, "sha256") == resource.sha256, path
