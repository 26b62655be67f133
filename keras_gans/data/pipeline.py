"""tf.data input pipelines: from validated arrays (or TFRecord shards) to shuffled, flipped,
batched float images in [-1, 1] with int32 labels, prefetched so the model never waits."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras_gans.data.tfrecords import tfrecord_dataset

# Arrays above this size are served from a memory map through tf.numpy_function instead of
# being embedded in the graph (a GraphDef is limited to 2 GB).
IN_GRAPH_LIMIT_BYTES = 1 << 30


def _to_model_range(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _random_flip(images, seed):
    batch = tf.shape(images)[0]
    flip = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed) < 0.5
    return tf.where(flip, tf.reverse(images, axis=[2]), images)


def _finish(dataset, flip: bool, seed: int):
    def prepare(step, batch):
        images, labels = batch
        images = _to_model_range(images)
        if flip:
            images = _random_flip(images, tf.stack([tf.cast(seed, tf.int64), step]))
        return images, labels

    dataset = dataset.enumerate().map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def array_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    flip: bool = True,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = True,
    start_epoch: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(images, labels)`` from uint8 arrays (in memory or memory-mapped).

    ``start_epoch`` reseeds the shuffle, so a resumed run does not replay the first epoch's order.
    """
    count = len(images)
    labels = np.maximum(np.asarray(labels, np.int32), 0)
    shuffle_seed = seed + 1_000_003 * start_epoch
    if images.nbytes <= IN_GRAPH_LIMIT_BYTES:
        dataset = tf.data.Dataset.from_tensor_slices((np.ascontiguousarray(images), labels))
        if shuffle:
            dataset = dataset.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(batch_size, drop_remainder=True)
    else:
        shape = images.shape[1:]

        def gather(indices):
            order = np.sort(indices)
            return np.asarray(images[order]), labels[order]

        dataset = tf.data.Dataset.range(count)
        if shuffle:
            dataset = dataset.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(batch_size, drop_remainder=True)

        def load(indices):
            batch_images, batch_labels = tf.numpy_function(gather, [indices], [tf.uint8, tf.int32])
            batch_images.set_shape((batch_size,) + shape)
            batch_labels.set_shape((batch_size,))
            return batch_images, batch_labels

        dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, flip, seed)


def tfrecord_training_dataset(
    files: list[str],
    resolution: int,
    channels: int,
    batch_size: int,
    count: int,
    flip: bool = True,
    seed: int = 0,
    start_epoch: int = 0,
) -> tf.data.Dataset:
    """Batches from the prepare tool's TFRecord shards, resized if they were prepared at
    another resolution, decoded once and cached in memory."""

    dataset = tfrecord_dataset(files, channels=channels)

    def fit(image, label):
        image = tf.ensure_shape(image, [None, None, channels])
        if image.shape[0] != resolution:
            image = tf.image.resize(image, [resolution, resolution], antialias=True, method="area")
            image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        image = tf.ensure_shape(image, [resolution, resolution, channels])
        return image, tf.maximum(label, 0)

    dataset = dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE).cache()
    dataset = dataset.shuffle(min(count, 50_000), seed=seed + 1_000_003 * start_epoch).repeat()
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return _finish(dataset, flip, seed)
