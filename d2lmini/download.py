"""Find, verify and download the files the book needs.

A :class:`Resource` names one file: its path under a data folder, where to download it, and
the checksum that identifies it. :func:`fetch` returns a local path to a verified copy,
looking in this order:

1. the project's data folder (``data/`` of the checkout, or ``$D2LMINI_DATA``);
2. a read-only offline mirror named by ``$D2LMINI_MIRROR`` (CI points it at ``../shared/data``);
3. read-only system copies, such as Debian's ``dataset-fashion-mnist`` package;
4. a download into the data folder, unless ``$D2LMINI_OFFLINE`` is set.

Every copy is checked by its SHA-256 before use (the MD5 or SHA-1 that upstream publishes is
kept beside it, for reference). A download goes to a temporary file in the data folder and is
renamed into place only once its checksum is right, so an interrupted or corrupt transfer never
leaves a half-written file where a good one is expected. A file in the data folder whose
checksum is wrong is never deleted: a reader may have put it there by hand, so it is moved aside
to ``NAME.corrupt`` and the messages say so. Several processes may fetch the same file at once
(two notebooks opened together): writes to a data folder are serialised by a lock on the folder,
so the second waits for the first and then finds its verified copy. A mirror or system copy is
never written to.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "ChecksumError",
    "DataNotFoundError",
    "Resource",
    "data_dir",
    "fetch",
    "file_digest",
    "mirror_dir",
]

#: Opens a URL and returns a readable binary stream (``urllib.request.urlopen`` by default).
Opener = Callable[[str], IO[bytes]]

_CHUNK = 1 << 20


class DataNotFoundError(FileNotFoundError):
    """No verified copy of a resource exists and none could be downloaded."""


class ChecksumError(ValueError):
    """A file does not match the checksum of the resource it claims to be."""


@dataclass(frozen=True)
class Resource:
    """One file of a dataset and how to recognise it.

    Args:
        path: Where the file lives under a data folder, e.g. ``"FashionMNIST/raw/x.gz"``.
        sha256: The file's SHA-256 (hex): what every copy is verified with.
        upstream: The checksum the file's publisher lists, ``(algorithm, hex digest)``, e.g.
            torchvision's ``("md5", ...)`` or d2l's ``("sha1", ...)``; kept for reference, and
            cross-checked against ``sha256`` by the tests.
        urls: Download locations, tried in order; HTTPS wherever the host serves it.
        archive: If the URLs serve a zip file, its ``(sha1, member)``: the archive is checked
            against that SHA-1 (the only checksum its publisher gives) and ``member`` is
            extracted as this file, which is then verified by ``sha256``.
        gunzipped_sha256: SHA-256 of the decompressed content of a ``.gz`` file. It lets a copy
            that was compressed again (Debian's packages) count as the same data.
        system_paths: Read-only copies outside the data folders, checked with ``gunzipped_sha256``
            when given, else with ``sha256``.
        system_hint: What a reader can install to get such a copy, for error messages.
    """

    path: str
    sha256: str
    upstream: tuple[str, str] | None = None
    urls: tuple[str, ...] = ()
    archive: tuple[str, str] | None = None
    gunzipped_sha256: str | None = None
    system_paths: tuple[str, ...] = ()
    system_hint: str = ""

    @property
    def name(self) -> str:
        """The file name, without its folders."""
        return Path(self.path).name


def data_dir() -> Path:
    """The writable data folder: ``$D2LMINI_DATA``, else ``data/`` of the checkout.

    An installed (non-editable) package has no checkout; it then uses ``~/.cache/d2lmini``.
    """
    env = os.environ.get("D2LMINI_DATA")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "_toc.yml").exists():
        return checkout / "data"
    return Path.home() / ".cache" / "d2lmini"


def mirror_dir() -> Path | None:
    """The read-only offline mirror named by ``$D2LMINI_MIRROR``, if any."""
    env = os.environ.get("D2LMINI_MIRROR")
    return Path(env).expanduser() if env else None


def file_digest(path: Path, algorithm: str, *, gunzip: bool = False) -> str:
    """Hex digest of a file's bytes, or of its decompressed bytes when ``gunzip`` is true."""
    h = hashlib.new(algorithm)
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check(resource: Resource, path: Path, *, system: bool = False) -> str | None:
    """Return ``None`` if ``path`` is a good copy of ``resource``, else what is wrong with it."""
    try:
        if system and resource.gunzipped_sha256:
            got = file_digest(path, "sha256", gunzip=True)
            want = resource.gunzipped_sha256
            what = "SHA-256 of the decompressed data"
        else:
            got = file_digest(path, "sha256")
            want = resource.sha256
            what = "SHA-256"
    except (OSError, EOFError, gzip.BadGzipFile) as err:  # truncated or unreadable
        return f"unreadable ({err})"
    if got != want:
        return f"{what} is {got}, expected {want} (corrupt or truncated)"
    return None


def fetch(
    resource: Resource,
    *,
    root: Path | None = None,
    mirror: Path | None = None,
    download: bool | None = None,
    opener: Opener | None = None,
) -> Path:
    """Return the path of a verified local copy of ``resource``, downloading it if need be.

    Args:
        resource: The file to find.
        root: The writable data folder; defaults to :func:`data_dir`.
        mirror: A read-only mirror folder; defaults to :func:`mirror_dir`.
        download: Whether a download may be tried; defaults to true unless ``$D2LMINI_OFFLINE``
            is set.
        opener: Opens a URL for reading (tests pass a fake one); defaults to ``urlopen``.

    Returns:
        A path to a file whose checksum matches. It may lie in the mirror or a system folder:
        treat it as read-only.

    Raises:
        DataNotFoundError: if no good copy exists and no download succeeded. The message names
            every place searched, what was wrong there, and what to do.

    A copy in the data folder whose checksum is wrong is moved aside to ``NAME.corrupt``
    (replacing an older one), with a warning, never deleted. When several processes fetch the
    same file at once, one downloads it and the others wait for it and use its copy.
    """
    root = data_dir() if root is None else root
    mirror = mirror_dir() if mirror is None else mirror
    if download is None:
        download = not os.environ.get("D2LMINI_OFFLINE")
    problems: list[str] = []

    local = root / resource.path
    if local.exists():
        problem = _check(resource, local)
        if problem is None:
            return local
        with _locked(local.parent):
            # Another process may have moved it aside, and put a good copy here, meanwhile.
            if not local.exists():
                problems.append(f"{local}: corrupt, moved aside by another process")
            elif (problem := _check(resource, local)) is None:
                return local
            else:
                problems.append(f"{local}: {problem}; {_move_aside(local)}")
    else:
        problems.append(f"{local}: missing")

    candidates = [(mirror / resource.path, False)] if mirror is not None else []
    candidates += [(Path(p), True) for p in resource.system_paths]
    for path, system in candidates:
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        problem = _check(resource, path, system=system)
        if problem is None:
            return path
        problems.append(f"{path}: {problem}; left untouched")

    if download and resource.urls:
        with _locked(local.parent):
            # Another process may have downloaded it while this one waited for the lock.
            if local.exists() and _check(resource, local) is None:
                return local
            for url in resource.urls:
                try:
                    _download(resource, url, local, opener or _urlopen)
                    return local
                except (OSError, ChecksumError, zipfile.BadZipFile, KeyError) as err:
                    problems.append(f"{url}: {err}")
    elif not download:
        problems.append("download: skipped ($D2LMINI_OFFLINE is set)")
    raise DataNotFoundError(_not_found_message(resource, root, problems))


def _move_aside(path: Path) -> str:
    """Rename a corrupt file to ``NAME.corrupt``; return what was done, for messages."""
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    message = f"moved it aside to {aside} (not deleted: check it, then delete it)"
    warnings.warn(f"{path} has the wrong checksum: {message}", stacklevel=3)
    return message


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if need be), shared by all processes.

    A lock on the folder itself, not a lock file, so that nothing is left behind. Where
    ``fcntl`` is missing (Windows), it only creates the folder: downloads are still atomic
    (temporary file, then rename), a second process just downloads the file a second time.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _urlopen(url: str) -> IO[bytes]:
    return urllib.request.urlopen(url, timeout=60)  # type: ignore[no-any-return]


def _download(resource: Resource, url: str, dest: Path, opener: Opener) -> None:
    """Download ``url`` into ``dest`` through a verified temporary file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, opener(url) as response:
            shutil.copyfileobj(response, out, _CHUNK)
        if resource.archive is not None:
            sha1, member = resource.archive
            got = file_digest(tmp, "sha1")
            if got != sha1:
                raise ChecksumError(f"archive SHA-1 is {got}, expected {sha1}")
            with zipfile.ZipFile(tmp) as archive, archive.open(member) as src:
                data = src.read()
            tmp.write_bytes(data)
        problem = _check(resource, tmp)
        if problem is not None:
            raise ChecksumError(f"downloaded file's {problem}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _not_found_message(resource: Resource, root: Path, problems: list[str]) -> str:
    lines = [f"No verified copy of {resource.name!r} could be found or downloaded.", "Searched:"]
    lines += [f"  - {p}" for p in problems]
    lines += [
        "What to do, any one of:",
        f"  - download it by hand and save it as {root / resource.path}"
        + (f"  (from {resource.urls[0]})" if resource.urls else ""),
        f"    (its SHA-256 must be {resource.sha256})",
        "  - point $D2LMINI_MIRROR at a folder holding a copy at the same relative path "
        f"({resource.path})",
        "  - point $D2LMINI_DATA at another writable data folder that holds it",
    ]
    if resource.system_hint:
        lines.append(f"  - {resource.system_hint}")
    return "\n".join(lines)
