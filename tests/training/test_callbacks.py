"""keras_gans.training.callbacks: the progress bar is one bar per run, however many fit() calls."""
import tensorflow as tf

from keras_gans.training.callbacks import ProgressCallback


class FakeModel:
    def __init__(self):
        self.images_seen = tf.constant(0)


def show(progress, model, images):
    model.images_seen = tf.constant(images)
    progress.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 1.0})


def test_one_bar_runs_through_the_ticks_and_the_remainder_and_closes_at_the_end(capsys):
    model, progress = FakeModel(), ProgressCallback(total_images=100)
    progress.set_model(model)
    progress.on_train_begin()
    first_bar = progress.bar
    show(progress, model, 80)
    progress.on_train_end()  # the fit() of the whole ticks ends
    progress.on_train_begin()  # the fit() of the remainder starts
    assert progress.bar is first_bar and first_bar.n == 80
    show(progress, model, 100)
    progress.on_train_end()
    assert progress.bar is None
    assert capsys.readouterr().err.count("training:") >= 1


def test_a_rolled_back_run_gets_a_new_bar_and_close_ends_it():
    model, progress = FakeModel(), ProgressCallback(total_images=100)
    progress.set_model(model)
    progress.on_train_begin()
    show(progress, model, 60)
    progress.on_train_end()
    model.images_seen = tf.constant(40)  # back to an earlier checkpoint after a divergence
    progress.on_train_begin()
    assert progress.bar.n == 40
    progress.close()
    assert progress.bar is None
    progress.close()  # twice is harmless (run() closes it in a finally)
