"""Finding duplicate images: content hashes for exact copies, perceptual hashes for near copies.

Scraped collections hold the same picture many times: the same file under two names, the same
painting resized by two museums, a thumbnail next to its original. ``exact`` groups files whose
bytes are identical (SHA-256); ``near`` groups images whose 64-bit DCT perceptual hash differs in
at most ``threshold`` bits (and every exact copy, whose hashes are equal). Groups are transitive
(connected components). In each group one image is kept — the one with the most pixels, then
the first path in sorted order — so the result never depends on the order files were read in.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

HASH_BITS = 64
DEFAULT_NEAR_THRESHOLD = 8


def file_sha256(path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``M @ x`` is the DCT of the column vector ``x``."""
    n = np.arange(size)
    matrix = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * size)) * np.sqrt(2.0 / size)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: Image.Image) -> int:
    """The classic 64-bit pHash: 32x32 grayscale, 2-D DCT, the 8x8 lowest frequencies (DC
    excluded from the median) thresholded at their median.

    Robust to resizing, recompression and small colour changes; not to crops or rotations.
    """
    small = image.convert("L").resize((32, 32), Image.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    coefficients = (_DCT32 @ pixels @ _DCT32.T)[:8, :8].ravel()
    median = np.median(coefficients[1:])
    bits = coefficients > median
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = values.view(np.uint8).reshape(values.shape + (8,))
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


@dataclass(frozen=True)
class Candidate:
    """One image considered for deduplication."""

    key: str  # the source path relative to SRC: unique, and the sort order for ties
    sha256: str
    phash: int
    pixels: int  # width * height of the decoded original


class _UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _near_pairs(hashes: np.ndarray, threshold: int) -> Iterable[tuple[int, int]]:
    """All index pairs whose hashes differ in at most ``threshold`` bits, without comparing
    every pair: split the 64 bits into ``threshold + 1`` disjoint chunks; two hashes within the
    threshold agree exactly on at least one chunk (pigeonhole), so only hashes sharing a chunk
    value are compared."""
    count = len(hashes)
    if count < 2:
        return
    chunks = min(threshold + 1, HASH_BITS)
    bounds = np.linspace(0, HASH_BITS, chunks + 1).astype(int)
    seen: set[tuple[int, int]] = set()
    for low, high in zip(bounds[:-1], bounds[1:]):
        mask = np.uint64((1 << int(high - low)) - 1)
        keys = (hashes >> np.uint64(low)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], count]
        for start, end in zip(starts, ends):
            if end - start < 2:
                continue
            members = order[start:end]
            group = hashes[members]
            distances = _popcount(group[:, None] ^ group[None, :])
            rows, cols = np.nonzero(np.triu(distances <= threshold, k=1))
            for row, col in zip(rows, cols):
                pair = (int(members[row]), int(members[col]))
                pair = (min(pair), max(pair))
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def find_duplicates(
    candidates: Sequence[Candidate], mode: str, threshold: int = DEFAULT_NEAR_THRESHOLD
) -> dict[str, str]:
    """Map each duplicate's key to the key of the image kept in its group.

    ``mode`` is ``"exact"`` (same SHA-256) or ``"near"`` (perceptual hashes within
    ``threshold`` bits, exact copies included). Kept images do not appear in the result.
    """
    if mode not in ("exact", "near"):
        raise ValueError(f"unknown dedupe mode {mode!r}: use 'exact' or 'near'")
    items = sorted(candidates, key=lambda c: c.key)
    union = _UnionFind(len(items))
    by_sha: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.sha256 in by_sha:
            union.union(by_sha[item.sha256], index)
        else:
            by_sha[item.sha256] = index
    if mode == "near" and items:
        hashes = np.array([c.phash for c in items], dtype=np.uint64)
        for a, b in _near_pairs(hashes, int(threshold)):
            union.union(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(items)):
        groups[union.find(index)].append(index)
    duplicates: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        keep = min(members, key=lambda i: (-items[i].pixels, items[i].key))
        for index in members:
            if index != keep:
                duplicates[items[index].key] = items[keep].key
    return duplicates
