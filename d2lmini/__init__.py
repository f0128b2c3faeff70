"""d2lmini: the small helper package of the book, one concept per module.

- :mod:`d2lmini.data`: the datasets as in-memory tensors, and minibatches over them;
- :mod:`d2lmini.text`: tokens, vocabularies, and batches of text for language models;
- :mod:`d2lmini.bpe`: subword tokens by byte-pair encoding, learned on a training text;
- :mod:`d2lmini.download`: where data files come from and how they are verified;
- :mod:`d2lmini.device`: the best device present, and seeding for repeatable runs;
- :mod:`d2lmini.plot`: figures that look the same in Jupyter, VS Code, scripts and the book;
- :mod:`d2lmini.train`: the one training loop of every model in the book, and its history;
- :mod:`d2lmini.transformer`: the translator of chapter 7, for the pages that use it after it;
- :mod:`d2lmini.gpt`: the small GPT of chapter 8, for the pages that use it after the chapter;
- :mod:`d2lmini.distributed`: which process am I, and my shard of every batch, for data
  parallelism with ``torch.distributed``.
- :mod:`d2lmini.checkpoint`: save a training run to one file and resume it exactly;
- :mod:`d2lmini.claims`: the text's claims, checked by running and listed for the reader.
- :mod:`d2lmini.explore`: explorable figures, a slider over precomputed frames, no kernel needed.

Chapters import names from the module that defines them (``from d2lmini.data import
Minibatches``); this top-level package re-exports nothing, so each name has one home.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
