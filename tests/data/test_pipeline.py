"""tf.data pipelines from arrays: every image once per epoch, and batches in runs of one class."""
import numpy as np
import pytest

from keras_gans.data import pipeline
from keras_gans.data.pipeline import array_dataset, class_run_indices


def _labelled_images(sizes):
    """Images whose every pixel is their own index (mod 256), in classes of the given sizes."""
    labels = np.repeat(np.arange(len(sizes)), sizes).astype("int32")
    images = np.zeros((len(labels), 4, 4, 3), "uint8") + np.arange(len(labels), dtype="uint8")[:, None, None, None]
    return images, labels


def _indices(images):
    return np.rint((np.asarray(images)[:, 0, 0, 0] + 1.0) * 127.5).astype(int)


@pytest.fixture(params=["in-graph", "memory-mapped"])
def storage(request, monkeypatch):
    if request.param == "memory-mapped":
        monkeypatch.setattr(pipeline, "IN_GRAPH_LIMIT_BYTES", 0)
    return request.param


def test_plain_batches_show_every_image_once_per_epoch_with_its_label(storage):
    images, labels = _labelled_images([3, 5, 8])
    seen = []
    for batch_images, batch_labels in array_dataset(images, labels, 4, flip=False, seed=2).take(4):
        indices = _indices(batch_images)
        np.testing.assert_array_equal(np.asarray(batch_labels), labels[indices])
        seen += indices.tolist()
    assert sorted(seen) == list(range(16))


def test_class_runs_hold_one_class_and_keep_the_class_frequencies(storage):
    images, labels = _labelled_images([2, 6, 24])
    counts = np.zeros(3)
    for batch_images, batch_labels in array_dataset(images, labels, 8, flip=False, seed=1, class_run_length=4).take(300):
        batch_labels = np.asarray(batch_labels)
        np.testing.assert_array_equal(batch_labels, labels[_indices(batch_images)])
        runs = batch_labels.reshape(-1, 4)
        assert (runs == runs[:, :1]).all(), runs
        counts += np.bincount(batch_labels, minlength=3)
    np.testing.assert_allclose(counts / counts.sum(), [2 / 32, 6 / 32, 24 / 32], atol=0.04)


def test_class_run_indices_cycle_through_each_class():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    runs = np.array(list(class_run_indices(labels, 3, seed=0).take(300).as_numpy_iterator())).reshape(-1, 3)
    for run in runs:
        assert len(set(labels[run])) == 1
        assert len(set(run)) == 3  # a class of three is a permutation of itself, not repeats
    assert set(runs.ravel()) == set(range(9))


def test_class_runs_that_do_not_fit_the_batch_are_refused():
    images, labels = _labelled_images([4, 4])
    with pytest.raises(ValueError, match="not a multiple of class_run_length"):
        array_dataset(images, labels, 6, class_run_length=4)
    with pytest.raises(ValueError, match="endless shuffled batches"):
        array_dataset(images, labels, 8, repeat=False, class_run_length=4)
