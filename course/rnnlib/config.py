"""One training configuration, shared by lesson 10, its checkpoints and the command line.

Lesson: notebooks/10_shakespeare.ipynb. ``Config()`` is lesson 10's run; ``python -m rnnlib train``
starts from the same defaults, and a checkpoint stores the configuration it was trained with, so that
resuming, evaluating and sampling rebuild exactly that model. Every field is a plain number or string,
so a configuration is one line of JSON.
"""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from . import data, gru, reference, rnn, validate
from .data import Vocabulary
from .optimizers import OPTIMIZERS
from .schedule import warmup_cosine
from .training import Settings

MODELS = {"rnn": rnn, "gru": gru}
DTYPES = {"float32": np.float32, "float64": np.float64}


NOT_DONE = "Exercise 10.1 (warmup_cosine) is not done yet"


@dataclasses.dataclass(frozen=True)
class Config:
    """What a training run is: the data, the model, the optimiser and its schedule, how long, how often.

    corpus:      "tinyshakespeare", "names", or the path of a UTF-8 text file.
    model:       "rnn" (lessons 03-05) or "gru" (lessons 07-08); hidden_size H; dtype of the parameters.
    optimizer:   "sgd", "momentum" or "adam" (lesson 09); lr its peak learning rate, reached after
                 ``warmup`` steps, then decayed along a cosine to ``final_lr`` at step ``steps``
                 (warmup=0 and final_lr=lr: a constant rate). The defaults of lr and clip are
                 Adam's; another optimiser needs its own, OPTIMIZERS[optimizer].lr and .clip
                 (rnnlib.optimizers: the command line's defaults when --lr or --clip is not given).
    batch_size B streams read seq_len T characters at a time; clip: maximum global gradient norm.
    val_fraction, test_fraction: the last parts of the text, in that order (data.train_val_test_split).
    eval_every, sample_every: steps between validations and between printed samples (0: never).
    seed:        the parameters' initialisation; seed + 1 draws the samples.
    """

    corpus: str = "tinyshakespeare"
    model: str = "gru"
    hidden_size: int = 256
    dtype: str = "float32"
    optimizer: str = "adam"
    lr: float = OPTIMIZERS["adam"].lr
    warmup: int = 100
    final_lr: float = 1e-4
    steps: int = 2800
    batch_size: int = 64
    seq_len: int = 64
    clip: float = OPTIMIZERS["adam"].clip
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    eval_every: int = 250
    sample_every: int = 500
    seed: int = 0

    def __post_init__(self):
        for field in dataclasses.fields(self):  # NumPy's numbers become Python's, which to_json can write
            value = getattr(self, field.name)
            if isinstance(value, np.generic):
                object.__setattr__(self, field.name, value.item())
        _choice("model", self.model, MODELS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("dtype", self.dtype, DTYPES)
        if not isinstance(self.corpus, str) or not self.corpus:
            raise ValueError(f"Config: corpus must be a corpus name or a file path, got {self.corpus!r}")
        for name in ("hidden_size", "steps", "batch_size", "seq_len", "eval_every"):
            validate.count("Config", name, getattr(self, name), minimum=1)
        for name in ("warmup", "sample_every", "seed"):
            validate.count("Config", name, getattr(self, name), minimum=0)
        if self.warmup >= self.steps:
            raise ValueError(f"Config: warmup ({self.warmup}) must be fewer steps than steps ({self.steps})")
        for name in ("lr", "final_lr", "clip"):
            _positive(name, getattr(self, name))
        if self.final_lr > self.lr:
            raise ValueError(f"Config: final_lr ({self.final_lr}) must not exceed the peak lr ({self.lr})")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not validate.is_number(value) or not 0 < value < 1:
                raise ValueError(f"Config: {name} must be a number between 0 and 1, got {value!r}")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("Config: val_fraction + test_fraction must leave some text to train on")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """The Config that ``to_json`` wrote; unknown fields are an error naming them."""
        fields = json.loads(text)
        unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"Config: unknown fields {unknown}; they come from a newer rnnlib")
        return cls(**fields)

    def module(self):
        """The model's module, rnnlib.rnn or rnnlib.gru."""
        return MODELS[self.model]

    def init_params(self, V):
        """Freshly initialised parameters for a vocabulary of V characters, from ``seed``."""
        return self.module().init_params(
            V, self.hidden_size, np.random.default_rng(self.seed), DTYPES[self.dtype]
        )

    def parameter_count(self, V):
        """The number of parameters of this model for a vocabulary of V characters, without making them
        (rnnlib.rnn's Wxh, Whh, bh, Why, by; rnnlib.gru's Wx, Wh, bx, bh with the three gates, Why, by)."""
        H = self.hidden_size
        gates, biases = (3, 2) if self.model == "gru" else (1, 1)  # the GRU's gates, each with bx and bh
        return gates * (V * H + H * H + biases * H) + H * V + V

    def load_text(self):
        """The corpus as one string: a known corpus by name, else the UTF-8 file at that path."""
        if self.corpus in data.CORPORA:
            return data.load_corpus(self.corpus)
        path = Path(self.corpus)
        if not path.is_file():
            known = ", ".join(sorted(data.CORPORA))
            raise FileNotFoundError(f"corpus {self.corpus!r} is neither a known corpus ({known}) nor a file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"corpus {path} is not UTF-8 text ({error}); convert it to UTF-8 first"
            ) from None
        if len(text) < 2:
            count = f"{len(text)} character{'' if len(text) == 1 else 's'}"
            raise ValueError(f"corpus {path} holds {count}; a language model needs text")
        return text

    def splits(self, text, vocab=None):
        """(vocab, train_ids, val_ids, test_ids) of ``text``; the vocabulary is built from the whole text
        unless given (a checkpoint's)."""
        vocab = vocab or Vocabulary(text)
        ids = vocab.encode(text)
        return (vocab, *data.train_val_test_split(ids, self.val_fraction, self.test_fraction))

    def settings(self):
        """How this run trains, the Settings of rnnlib.training.train: the learning rate is the warm-up and
        cosine schedule of lr, warmup and final_lr (Exercise 10.1, rnnlib/schedule.py). Until that exercise
        is done, a run of the earlier lessons' models (from a terminal after lesson 05) follows the
        reference's schedule, or in the student edition, which has none, a constant rate, and says so."""
        try:
            lr = warmup_cosine(self.lr, self.steps, self.warmup, self.final_lr)
        except NotImplementedError:
            try:  # the student edition has no reference: there this is yours again
                lr = reference("schedule").warmup_cosine(self.lr, self.steps, self.warmup, self.final_lr)
                print(f"{NOT_DONE}: this run follows the reference's schedule")
            except NotImplementedError:
                print(f"{NOT_DONE}: this run keeps the rate at {self.lr:g}")
                lr = self.lr
        return Settings(
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            steps=self.steps,
            lr=lr,
            clip=self.clip,
            optimizer=self.optimizer,
            eval_every=self.eval_every,
            sample_every=self.sample_every,
        )


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"Config: {name} must be one of {', '.join(allowed)}; got {value!r}")


def _positive(name, value):
    if not validate.is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"Config: {name} must be a finite number > 0, got {value!r}")
