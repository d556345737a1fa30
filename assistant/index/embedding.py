"""Embedding models behind one small interface, loaded lazily, never downloaded by default.

The default, ``ja-ginza-static``, serves the 300-dimensional Japanese word vectors shipped by the
``ja-ginza`` PyPI package as a sentence-transformers ``StaticEmbedding`` (mean of word vectors). It is
converted once from the installed package into ``index/models/`` — no network. The model's tokens are vector
rows; the 480k-word → row map is saved beside it (``ginza_words.json``). Text is split with
SudachiPy (mode C, the tokenizer the vectors were trained with), particles and symbols dropped, and
unknown long units retried as their short units. Any other value is passed to
``SentenceTransformer(name_or_path)`` (for example a local ruri or multilingual-e5 model).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexError_

GINZA_NAME = "ja-ginza-static"
GINZA_FORMAT = "2"
WORDS_FILE = "ginza_words.json"  # every ja-ginza key → its vector row (480k keys onto 20k rows)
_DROP_POS = {"助詞", "助動詞", "補助記号", "空白"}


@dataclass
class Embedder:
    """A sentence-transformers model plus the text preparation it needs."""

    name: str
    cache_dir: Path
    _model: Any = field(default=None, repr=False)
    _vocab: dict[str, int] | None = field(default=None, repr=False)
    _splitter: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_static_ginza(self) -> bool:
        return self.name == GINZA_NAME

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from sentence_transformers import SentenceTransformer

            if self.is_static_ginza:
                path = ensure_ginza_model(self.cache_dir)
                self._model = SentenceTransformer(str(path), device="cpu")
                self._vocab = json.loads((path / WORDS_FILE).read_text(encoding="utf-8"))
                from sudachipy import Dictionary

                self._splitter = Dictionary().create()
            else:
                try:
                    self._model = SentenceTransformer(self.name, device="cpu")
                except Exception as exc:
                    raise IndexError_(
                        f"埋め込みモデル「{self.name}」を読み込めません。ローカルのパスか、取得済みのモデル名を"
                        f"指定してください（既定は {GINZA_NAME}）。詳細: {exc}"
                    ) from exc

    @property
    def dimension(self) -> int:
        self.warm_up()
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    def _prepare(self, text: str, kind: str) -> str:
        if not self.is_static_ginza:
            lowered = self.name.lower()
            if "e5" in lowered:
                return f"{kind}: {text}"
            if "ruri" in lowered:
                return ("クエリ: " if kind == "query" else "文章: ") + text
            return text
        return " ".join(self._ginza_words(text))

    def _ginza_words(self, text: str) -> list[str]:
        from sudachipy import SplitMode

        assert self._vocab is not None
        words: list[str] = []
        for m in self._splitter.tokenize(text[:20000], SplitMode.C):
            if m.part_of_speech()[0] in _DROP_POS:
                continue
            row = self._vocab.get(m.surface())
            if row is None:
                row = self._vocab.get(m.normalized_form())
            if row is not None:
                words.append(f"r{row}")
            else:
                words.extend(f"r{self._vocab[a.surface()]}" for a in m.split(SplitMode.A) if a.surface() in self._vocab)
        return words

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        prepared = [self._prepare(t, "passage") for t in texts]
        with self._lock:
            return self._model.encode(prepared, normalize_embeddings=True, batch_size=64, convert_to_numpy=True)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        prepared = self._prepare(text, "query")
        with self._lock:
            return self._model.encode([prepared], normalize_embeddings=True, convert_to_numpy=True)[0]


def ensure_ginza_model(cache_dir: Path) -> Path:
    """Convert ja-ginza's word vectors into a sentence-transformers model folder (once; atomic)."""
    target = cache_dir / f"{GINZA_NAME}-v{GINZA_FORMAT}"
    if (target / "ready.json").exists():
        return target
    try:
        import ja_ginza
        from spacy.vocab import Vocab
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise IndexError_("既定の埋め込みモデルに必要な ja-ginza がインストールされていません。") from exc
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab_dirs = sorted(Path(ja_ginza.__file__).parent.glob("ja_ginza-*/vocab"))
    if not vocab_dirs:
        raise IndexError_("ja-ginza の語彙ベクトルが見つかりません。ja-ginza を再インストールしてください。")
    vocab = Vocab().from_disk(vocab_dirs[-1])
    vectors = vocab.vectors
    rows = int(vectors.data.shape[0])
    # Many words share a vector row; a WordLevel vocabulary cannot hold that (it keeps one word per id), so the
    # model's tokens are the rows themselves ("r123") and the word → row map is saved beside the model.
    words = {vocab.strings[k]: int(r) for k, r in vectors.key2row.items()}
    row_tokens = {f"r{i}": i for i in range(rows)}
    row_tokens["[UNK]"] = rows
    tokenizer = Tokenizer(models.WordLevel(vocab=row_tokens, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    data = np.asarray(vectors.data, dtype=np.float32)
    # The unknown row is a small constant so an all-unknown text still gets a finite, normalisable vector.
    weights = np.vstack([data, np.full((1, data.shape[1]), 1e-3, dtype=np.float32)])
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    import os
    import shutil

    tmp = cache_dir / f".{target.name}.{os.getpid()}.tmp"  # own folder: two processes may convert at once
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save(str(tmp))
    (tmp / WORDS_FILE).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    (tmp / "ready.json").write_text(
        json.dumps({"source": str(vocab_dirs[-1]), "keys": len(words), "rows": rows}), encoding="utf-8"
    )
    if (target / "ready.json").exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "ready.json").exists():
            raise
    return target
