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


def class_run_indices(labels: np.ndarray, run_length: int, seed: int = 0) -> tf.data.Dataset:
    """Endless sample indices in runs of ``run_length`` that share a label.

    Each class is shuffled and repeated on its own; the class of each run is drawn in proportion
    to the class's size, so every class is seen as often as under plain shuffling. Batches whose
    size is a multiple of ``run_length`` then hold whole runs, and a minibatch standard deviation
    over groups of ``run_length`` consecutive samples measures the variety within one class: a
    conditional generator that paints one picture per class can no longer hide behind the variety
    between classes (the fakes are drawn for the reals' labels, so they come in the same runs).
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    runs, weights = [], []
    for number, label in enumerate(classes):
        members = np.flatnonzero(labels == label).astype(np.int64)
        members_dataset = tf.data.Dataset.from_tensor_slices(members)
        members_dataset = members_dataset.shuffle(len(members), seed=seed + 7919 * (number + 1), reshuffle_each_iteration=True)
        runs.append(members_dataset.repeat().batch(run_length, drop_remainder=True))
        weights.append(len(members) / len(labels))
    return tf.data.Dataset.sample_from_datasets(runs, weights=weights, seed=seed).unbatch()


def array_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    flip: bool = True,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = True,
    start_epoch: int = 0,
    class_run_length: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(images, labels)`` from uint8 arrays (in memory or memory-mapped).

    ``start_epoch`` reseeds the shuffle, so a resumed run does not replay the first epoch's order.
    ``class_run_length`` > 1 orders each batch in runs of that many samples of one class
    (:func:`class_run_indices`); the batches are then endless and shuffled.
    """
    count = len(images)
    labels = np.maximum(np.asarray(labels, np.int32), 0)
    shuffle_seed = seed + 1_000_003 * start_epoch
    if class_run_length > 1:
        if not (shuffle and repeat):
            raise ValueError("class_run_length > 1 draws endless shuffled batches; it needs shuffle=True and repeat=True")
        if batch_size % class_run_length:
            raise ValueError(f"batch_size {batch_size} is not a multiple of class_run_length {class_run_length}")
        indices = class_run_indices(labels, class_run_length, shuffle_seed)
    else:
        indices = tf.data.Dataset.range(count)
        if shuffle:
            indices = indices.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
        if repeat:
            indices = indices.repeat()
    dataset = indices.batch(batch_size, drop_remainder=True)
    if images.nbytes <= IN_GRAPH_LIMIT_BYTES:
        images_tensor = tf.constant(np.ascontiguousarray(images))
        labels_tensor = tf.constant(labels)
        dataset = dataset.map(
            lambda batch: (tf.gather(images_tensor, batch), tf.gather(labels_tensor, batch)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        shape = images.shape[1:]

        def gather(indices):
            # A memory map reads fastest in index order; the batch keeps its own order.
            order = np.argsort(indices, kind="stable")
            batch_images = np.empty((len(indices),) + shape, images.dtype)
            batch_images[order] = images[indices[order]]
            return batch_images, labels[indices]

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
    class_run_length: int = 0,
) -> tf.data.Dataset:
    """Batches from the prepare tool's TFRecord shards, resized if they were prepared at
    another resolution, decoded once and cached in memory. With ``class_run_length`` > 1 the
    decoded images are gathered into arrays (the memory the cache would hold anyway) and
    batched in class runs by :func:`array_dataset`."""

    dataset = tfrecord_dataset(files, channels=channels)

    def fit(image, label):
        image = tf.ensure_shape(image, [None, None, channels])
        if image.shape[0] != resolution:
            image = tf.image.resize(image, [resolution, resolution], antialias=True, method="area")
            image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        image = tf.ensure_shape(image, [resolution, resolution, channels])
        return image, tf.maximum(label, 0)

    dataset = dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE)
    if class_run_length > 1:
        chunks = list(dataset.batch(1024).as_numpy_iterator())
        images = np.concatenate([chunk[0] for chunk in chunks])
        labels = np.concatenate([chunk[1] for chunk in chunks])
        return array_dataset(
            images, labels, batch_size, flip, seed=seed, start_epoch=start_epoch, class_run_length=class_run_length
        )
    dataset = dataset.cache()
    dataset = dataset.shuffle(min(count, 50_000), seed=seed + 1_000_003 * start_epoch).repeat()
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return _finish(dataset, flip, seed)
