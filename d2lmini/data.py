"""The book's datasets, loaded as in-memory tensors, and a fast minibatch iterator.

Fashion-MNIST is 55 MB of ``uint8`` pixels, so the whole set is read once into a tensor and
minibatches are slices of it: no per-sample PIL transforms and no worker processes, which on a
laptop are what make d2l's loader ten times slower than the model it feeds. Where each file
comes from, and how it is checked, is :mod:`d2lmini.download`'s business.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from d2lmini.download import Resource, fetch

__all__ = [
    "FASHION_MNIST",
    "FASHION_MNIST_LABELS",
    "FRA_ENG",
    "TIME_MACHINE",
    "TINY_SHAKESPEARE",
    "FashionMNISTSplits",
    "Minibatches",
    "fashion_mnist_splits",
    "load_fashion_mnist",
    "read_idx",
    "read_text",
]

# HTTPS wherever the host serves it. Zalando's repository holds the Fashion-MNIST files; the
# S3 website endpoint that torchvision uses serves plain HTTP only, so it comes second (every
# download is verified by its SHA-256 either way).
_FASHION_URLS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
_D2L_URL = "https://d2l-data.s3-accelerate.amazonaws.com/"
_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist/"
_DEBIAN_HINT = (
    "on Debian or Ubuntu, 'sudo apt-get install dataset-fashion-mnist' installs a copy in "
    + _DEBIAN_DIR
)


def _fashion(name: str, sha256: str, md5: str, gunzipped_sha256: str) -> Resource:
    return Resource(
        path=f"FashionMNIST/raw/{name}",
        sha256=sha256,
        upstream=("md5", md5),
        urls=tuple(base + name for base in _FASHION_URLS),
        gunzipped_sha256=gunzipped_sha256,
        system_paths=(_DEBIAN_DIR + name,),
        system_hint=_DEBIAN_HINT,
    )


#: The four Fashion-MNIST files, keyed ``(split, kind)``: SHA-256, torchvision's MD5, and the
#: SHA-256 of the decompressed data (for Debian's recompressed copies).
FASHION_MNIST: dict[tuple[str, str], Resource] = {
    ("train", "images"): _fashion(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    ("train", "labels"): _fashion(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    ("test", "images"): _fashion(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    ("test", "labels"): _fashion(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

#: The ten Fashion-MNIST classes, in label order.
FASHION_MNIST_LABELS: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

#: H. G. Wells's *The Time Machine*, as d2l serves it.
TIME_MACHINE = Resource(
    path="timemachine.txt",
    sha256="8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
    upstream=("sha1", "090b5e7e70c295757f55df93cb0a180b9691891a"),
    urls=(_D2L_URL + "timemachine.txt",),
)

#: English-French sentence pairs (Tatoeba, via manythings.org), unpacked from d2l's zip.
FRA_ENG = Resource(
    path="fra-eng/fra.txt",
    sha256="0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
    upstream=("sha1", "c43f99dce27311d3afd4d3e0716848194cfcc103"),
    urls=(_D2L_URL + "fra-eng.zip",),
    archive=("94646ad1522d915e7b0f9296181140edcf86a4f5", "fra-eng/fra.txt"),
)

#: Karpathy's Tiny Shakespeare corpus.
TINY_SHAKESPEARE = Resource(
    path="tinyshakespeare.txt",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    upstream=("sha1", "04486597058d11dcc2c556b1d0433891eb639d2e"),
    urls=("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",),
)


def read_idx(path: Path) -> torch.Tensor:
    """Read a gzipped IDX file (MNIST's format) into a ``uint8`` tensor.

    The header is a big-endian magic number whose last byte is the number of dimensions,
    then one 32-bit size per dimension; the ``uint8`` data follows.
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} bytes of data, its header says {shape}")
    return torch.from_numpy(data.reshape(shape).copy())


def load_fashion_mnist(
    train: bool = True, *, root: Path | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of Fashion-MNIST into memory.

    Args:
        train: The 60,000 training images if true, else the 10,000 test images.
        root: The writable data folder (see :func:`d2lmini.download.data_dir`).

    Returns:
        ``(images, labels)``: images as ``float32`` in ``[0, 1]`` of shape ``(n, 1, 28, 28)``,
        labels as ``int64`` of shape ``(n,)``.
    """
    split = "train" if train else "test"
    images = read_idx(fetch(FASHION_MNIST[split, "images"], root=root))
    labels = read_idx(fetch(FASHION_MNIST[split, "labels"], root=root))
    x = images.unsqueeze(1).float().div_(255)  # (n, 1, 28, 28)
    return x, labels.long()


class FashionMNISTSplits(NamedTuple):
    """The book's three Fashion-MNIST splits, each ``(images, labels)``."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


def fashion_mnist_splits(*, root: Path | None = None) -> FashionMNISTSplits:
    """The one split of Fashion-MNIST that every chapter uses.

    The 60,000 training images are shuffled by a permutation seeded with 0: the first 50,000
    are for training, the last 10,000 the validation set, which chooses settings. The 10,000
    test images are the test set, used once. Every chapter that trains on Fashion-MNIST takes
    its data from here (or a slice of it), so that no chapter validates on images another
    trained on.

    Args:
        root: The writable data folder (see :func:`d2lmini.download.data_dir`).

    Returns:
        ``FashionMNISTSplits(train, val, test)``, each ``(images, labels)`` as from
        :func:`load_fashion_mnist`.
    """
    X, y = load_fashion_mnist(train=True, root=root)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    train, val = order[:50_000], order[50_000:]
    return FashionMNISTSplits(
        (X[train], y[train]), (X[val], y[val]), load_fashion_mnist(train=False, root=root)
    )


def read_text(resource: Resource, *, root: Path | None = None) -> str:
    """Return the text of a text resource such as :data:`TIME_MACHINE`."""
    return fetch(resource, root=root).read_text(encoding="utf-8")


class Minibatches:
    """Iterate over shuffled minibatches of in-memory tensors.

    Each epoch draws a new permutation from its own generator, so a seed makes the order
    reproducible without touching the global random state. Batches are index slices of the
    tensors, with no copying of the whole set and no worker processes.

    Args:
        *tensors: Tensors with the same first dimension, e.g. ``(images, labels)``.
        batch_size: Examples per batch; the last batch may be smaller.
        shuffle: Draw a new order every epoch (training) or keep the stored order (evaluation).
        seed: Seed of the shuffling generator.

    Example:
        >>> x, y = torch.arange(10.0), torch.arange(10)
        >>> [len(b[0]) for b in Minibatches(x, y, batch_size=4, shuffle=False)]
        [4, 4, 2]
    """

    def __init__(
        self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int = 0
    ) -> None:
        if not tensors:
            raise ValueError("Minibatches needs at least one tensor")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            sizes = ", ".join(str(len(t)) for t in tensors)
            raise ValueError(f"all tensors need the same first dimension, got {sizes}")
        if n == 0:
            raise ValueError("the dataset is empty: there is nothing to iterate over")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._generator = torch.Generator().manual_seed(seed)

    @property
    def num_examples(self) -> int:
        """How many examples one epoch visits."""
        return len(self.tensors[0])

    def __len__(self) -> int:
        return -(-self.num_examples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                yield tuple(t[idx] for t in self.tensors)
        else:
            for start in range(0, n, self.batch_size):
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
