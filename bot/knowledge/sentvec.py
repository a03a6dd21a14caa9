"""Sentence vectors, computed at ingest in the same model pass as the chunk vector.

The answerer picks the sentences to quote by their similarity to the question. Encoding
every sentence on its own would roughly double the cost of an ingest, so the vectors
come from the chunk's own forward pass instead: the model's token vectors are averaged
over each sentence's span (MiniLM's sentence vector is that same mean, over the whole
text). Sentences past the model's token limit are encoded on their own, in one batch.

The vectors are stored with the chunk (metadata `SENTENCE_VECTORS`: int8, base64), in
the order of `chunk_sentences(page_content)`, so nothing is embedded at question time.
"""

from __future__ import annotations

import base64
import re

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.text import sentences

SENTENCE_VECTORS = "sentence_vectors"  # metadata key; left out of the chunk key
_SCALE = 127.0


def chunk_sentences(content: str) -> list[str]:
    """The sentences of a chunk's passage (its first line is the retrieval context)."""
    body = content.split("\n", 1)[1] if "\n" in content else content
    return sentences(body)


def sentence_spans(content: str) -> list[tuple[int, int]]:
    """Character spans of `chunk_sentences(content)` inside `content`."""
    start = content.find("\n") + 1 if "\n" in content else 0
    spans = []
    for sentence in chunk_sentences(content):
        # A sentence is the text with its line breaks (hard wraps) read as spaces.
        pattern = r"\s+".join(re.escape(word) for word in sentence.split())
        match = re.compile(pattern).search(content, start)
        if match is None:  # cannot happen; keep the order anyway
            spans.append((start, start))
            continue
        spans.append(match.span())
        start = match.end()
    return spans


def pack(vectors: np.ndarray) -> str:
    quantised = np.clip(np.round(np.asarray(vectors, dtype=np.float32) * _SCALE), -127, 127)
    return base64.b64encode(quantised.astype(np.int8).tobytes()).decode("ascii")


def unpack(value: str, dim: int) -> np.ndarray:
    """(sentences x dim) float32 rows, unit length (int8 rounding undone by renormalising)."""
    raw = np.frombuffer(base64.b64decode(value), dtype=np.int8).astype(np.float32)
    if dim <= 0 or raw.size % dim:
        return np.zeros((0, max(dim, 1)), dtype=np.float32)
    rows = raw.reshape(-1, dim)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-9)


def encode_with_sentences(
    model: Embeddings, texts: list[str]
) -> tuple[list[list[float]], list[np.ndarray]]:
    """(chunk vectors, one (sentences x dim) array per text) in one model pass.

    `model` may offer `embed_with_sentences(texts, spans)` itself (the test fake does);
    a sentence-transformers model is pooled per span; any other model gets its sentences
    embedded as separate texts.
    """
    spans = [sentence_spans(text) for text in texts]
    own = getattr(model, "embed_with_sentences", None)
    if own is not None:
        vectors, per_text = own(texts, spans)
        return vectors, [np.asarray(v, dtype=np.float32) for v in per_text]
    client = getattr(model, "_client", None)
    if client is not None and hasattr(client, "tokenizer"):
        return _pooled(client, model, texts, spans)
    vectors = model.embed_documents(texts)
    flat = [sentence for text in texts for sentence in chunk_sentences(text)]
    flat_vectors = np.asarray(model.embed_documents(flat) if flat else [], dtype=np.float32)
    return vectors, _split(flat_vectors, spans, len(vectors[0]) if vectors else 1)


def _split(flat: np.ndarray, spans: list[list[tuple[int, int]]], dim: int) -> list[np.ndarray]:
    out, at = [], 0
    for ss in spans:
        out.append(flat[at : at + len(ss)] if ss else np.zeros((0, dim), dtype=np.float32))
        at += len(ss)
    return out


def _pooled(client, model, texts, spans):
    batch = int((getattr(model, "encode_kwargs", None) or {}).get("batch_size", 64))
    outputs = client.encode(texts, output_value=None, batch_size=batch)
    tokenised = client.tokenizer(
        texts,
        return_offsets_mapping=True,
        truncation=True,
        max_length=client.max_seq_length,
        padding=False,
    )["offset_mapping"]
    vectors: list[list[float]] = []
    per_text: list[np.ndarray] = []
    missing: list[tuple[int, int, str]] = []  # (text, sentence, sentence text)
    wanted = [chunk_sentences(text) for text in texts]
    for t, (_text, out, offsets) in enumerate(zip(texts, outputs, tokenised, strict=True)):
        chunk_vector = out["sentence_embedding"].float().cpu().numpy()
        vectors.append((chunk_vector / max(np.linalg.norm(chunk_vector), 1e-9)).tolist())
        tokens = out["token_embeddings"].float().cpu().numpy()[: len(offsets)]
        starts = np.array([s for s, e in offsets])
        ends = np.array([e for s, e in offsets])
        real = ends > starts  # special tokens have an empty span
        rows = np.zeros((len(spans[t]), tokens.shape[1]), dtype=np.float32)
        last_end = int(ends[real].max()) if real.any() else 0
        for i, (a, b) in enumerate(spans[t]):
            inside = real & (starts >= a) & (ends <= b)
            if b > last_end or not inside.any():  # cut off by the token limit
                missing.append((t, i, wanted[t][i]))
                continue
            pooled = tokens[inside].mean(axis=0)
            rows[i] = pooled / max(np.linalg.norm(pooled), 1e-9)
        per_text.append(rows)
    if missing:
        extra = client.encode([m[2] for m in missing], batch_size=batch, normalize_embeddings=True)
        for (t, i, _), vector in zip(missing, extra, strict=True):
            per_text[t][i] = vector
    return vectors, per_text
