"""Sharded TFRecords written by ``keras_gans.prepare --format tfrecord`` and read by training.

Layout (inside a prepared folder ``DST``)::

    DST/tfrecords/data-00000-of-00003.tfrecord
    DST/tfrecords/data-00001-of-00003.tfrecord
    DST/tfrecords/data-00002-of-00003.tfrecord
    DST/tfrecords/metadata.json

Every record is a ``tf.train.Example`` with these features (docs/prepare.md has the full schema):

==========================  =======  ====================================================
``image/encoded``           bytes    the output image file as written to DST (PNG or JPEG)
``image/format``            bytes    ``png`` or ``jpeg``
``image/height``            int64    pixels (= resolution)
``image/width``             int64    pixels (= resolution)
``image/channels``          int64    1 (grayscale) or 3 (RGB)
``image/class/label``       int64    index into ``metadata.json["classes"]``, -1 unlabelled
``image/class/text``        bytes    class name, empty when unlabelled
``image/path``              bytes    the image's path relative to DST
``image/source/sha256``     bytes    SHA-256 (hex) of the source file it was made from
==========================  =======  ====================================================

Records are spread over shards in a shuffled but fixed order (seed 0), so that every shard
holds every class and interleaved reading mixes well.

TensorFlow is imported only when a function needs it.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Callable, Sequence

from keras_gans.io import write_text_atomic

SUBDIR = "tfrecords"
METADATA_FILENAME = "metadata.json"
SHARD_SUFFIX = ".tfrecord"
SCHEMA_NAME = "keras_gans.tfrecord"
SCHEMA_VERSION = 1
DEFAULT_SHARD_SIZE = 2048
_TEMP_MARK = ".tmp-"


def _shard_dir(directory: str | os.PathLike) -> Path:
    """``directory`` itself when it holds shards or metadata, else ``directory/tfrecords``."""
    directory = Path(directory)
    if (directory / METADATA_FILENAME).is_file() or any(directory.glob(f"*{SHARD_SUFFIX}")):
        return directory
    return directory / SUBDIR


def find_tfrecords(directory: str | os.PathLike) -> list[str]:
    """Sorted shard paths of a prepared folder (``DST`` or ``DST/tfrecords``); [] if none
    (or if ``metadata.json`` is missing, which means the set is incomplete)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    shard_dir = _shard_dir(directory)
    if not (shard_dir / METADATA_FILENAME).is_file():
        return []  # shards without metadata are not a complete set
    return sorted(str(path) for path in shard_dir.glob(f"*{SHARD_SUFFIX}") if path.is_file())


def read_tfrecord_metadata(directory: str | os.PathLike) -> dict:
    """The metadata of a prepared folder's shards: at least ``resolution``, ``channels``,
    ``classes`` (list of names, [] if unlabelled) and ``count`` (number of records).

    Raises FileNotFoundError when the folder has no shard metadata.
    """
    path = _shard_dir(directory) / METADATA_FILENAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {directory} has no TFRecords from keras_gans.prepare")
    with open(path, encoding="utf-8") as handle:
        metadata = json.load(handle)
    missing = [key for key in ("resolution", "channels", "classes", "count") if key not in metadata]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: not a keras_gans TFRecord metadata file")
    return metadata


def _feature_spec(tf):
    return {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    }


def tfrecord_dataset(
    files: Sequence[str] | str,
    num_parallel_reads=None,
    channels: int | None = None,
    resolution: int | None = None,
):
    """A ``tf.data.Dataset`` of ``(image, label)``: image a uint8 HxWxC tensor, label an int32
    scalar (-1 when unlabelled).

    ``channels`` and ``resolution`` default to the values in the shards' ``metadata.json``
    (when it sits next to the first file) and give the images a static shape.
    ``num_parallel_reads`` defaults to ``tf.data.AUTOTUNE``.
    """
    import tensorflow as tf

    if isinstance(files, (str, os.PathLike)):
        files = [str(files)]
    files = [str(f) for f in files]
    if not files:
        raise ValueError("tfrecord_dataset needs at least one shard file")
    if channels is None or resolution is None:
        metadata_path = Path(files[0]).parent / METADATA_FILENAME
        if metadata_path.is_file():
            with open(metadata_path, encoding="utf-8") as handle:
                metadata = json.load(handle)
            channels = channels if channels is not None else metadata.get("channels")
            resolution = resolution if resolution is not None else metadata.get("resolution")
    if num_parallel_reads is None:
        num_parallel_reads = tf.data.AUTOTUNE
    spec = _feature_spec(tf)
    decode_channels = int(channels) if channels else 0

    def parse(serialized):
        features = tf.io.parse_single_example(serialized, spec)
        image = tf.io.decode_image(
            features["image/encoded"], channels=decode_channels, dtype=tf.uint8, expand_animations=False
        )
        if resolution and decode_channels:
            image = tf.ensure_shape(image, [int(resolution), int(resolution), decode_channels])
        label = tf.cast(features["image/class/label"], tf.int32)
        return image, label

    dataset = tf.data.TFRecordDataset(files, num_parallel_reads=num_parallel_reads)
    return dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def write_tfrecords(
    directory: str | os.PathLike,
    entries: Sequence[dict],
    classes: Sequence[str],
    resolution: int,
    channels: int,
    shard_size: int = DEFAULT_SHARD_SIZE,
    extra_metadata: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write ``entries`` (dicts with ``path`` relative to ``directory``, ``label`` class name or
    None, ``sha256``) as shards under ``directory/tfrecords`` and return the metadata.

    The whole set (shards, then ``metadata.json``) is written to a hidden folder that then
    replaces ``directory/tfrecords``, so a reader never sees a half-written set.
    """
    import tensorflow as tf

    directory = Path(directory)
    final_dir = directory / SUBDIR
    # Build the new set in a hidden folder and swap it in, so readers see the old set or the
    # new one, never a mix (a kill between the two renames leaves no set: training falls back
    # to the image folder).
    shard_dir = directory / f".{SUBDIR}{_TEMP_MARK}{os.getpid()}"
    if shard_dir.exists():
        shutil.rmtree(shard_dir)
    shard_dir.mkdir(parents=True)
    class_index = {name: index for index, name in enumerate(classes)}
    order = sorted(entries, key=lambda entry: entry["path"])
    random.Random(0).shuffle(order)
    shard_size = max(1, int(shard_size))
    shard_count = max(1, -(-len(order) // shard_size))

    def _bytes(value: bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def _int(value: int):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    shards = []
    for shard in range(shard_count):
        name = f"data-{shard:05d}-of-{shard_count:05d}{SHARD_SUFFIX}"
        chunk = order[shard * shard_size : (shard + 1) * shard_size]
        with tf.io.TFRecordWriter(str(shard_dir / name)) as writer:
            for entry in chunk:
                path = directory / entry["path"]
                data = path.read_bytes()
                image_format = "png" if path.suffix.lower() == ".png" else "jpeg"
                label = entry.get("label")
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "image/encoded": _bytes(data),
                            "image/format": _bytes(image_format.encode()),
                            "image/height": _int(resolution),
                            "image/width": _int(resolution),
                            "image/channels": _int(channels),
                            "image/class/label": _int(class_index[label] if label is not None else -1),
                            "image/class/text": _bytes((label or "").encode("utf-8")),
                            "image/path": _bytes(entry["path"].encode("utf-8")),
                            "image/source/sha256": _bytes(entry.get("sha256", "").encode()),
                        }
                    )
                )
                writer.write(example.SerializeToString())
                if progress is not None:
                    progress(1)
        shards.append({"file": name, "count": len(chunk)})
    metadata = {
        "format": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "resolution": int(resolution),
        "channels": int(channels),
        "classes": list(classes),
        "count": len(order),
        "shards": shards,
    }
    metadata.update(extra_metadata or {})
    write_text_atomic(shard_dir / METADATA_FILENAME, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    old_dir = directory / f".{SUBDIR}.old{_TEMP_MARK}{os.getpid()}"
    if final_dir.exists():
        os.replace(final_dir, old_dir)
    os.replace(shard_dir, final_dir)
    if old_dir.exists():
        shutil.rmtree(old_dir)
    return metadata
