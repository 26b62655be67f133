import os
import signal

import keras
import numpy as np
import pytest

from keras_gans.training.interrupts import StopOnSignal


class _SignalAt(keras.callbacks.Callback):
    """Sends a signal to this process at the start of one step, i.e. while the step runs."""

    def __init__(self, step, signum):
        super().__init__()
        self.step, self.signum = step, signum

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.step:
            os.kill(os.getpid(), self.signum)


class _CountSteps(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.finished = 0

    def on_train_batch_end(self, batch, logs=None):
        self.finished += 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_step_stops_fit_after_that_step(signum, capfd):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stopper, counter = StopOnSignal(), _CountSteps()
    x = np.zeros((40, 2), "float32")
    with pytest.raises(KeyboardInterrupt):
        with stopper.installed():
            model.fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0, callbacks=[counter, stopper, _SignalAt(3, signum)])
    assert counter.finished == 4  # steps 0-3: the step the signal arrived in was completed, no more
    assert stopper.requested == signum
    assert "stopping after this step" in capfd.readouterr().err


def test_a_second_signal_stops_at_once_and_handlers_are_restored():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stopper = StopOnSignal()
    with stopper.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopper.requested == signal.SIGTERM  # asked, not yet raised
        with pytest.raises(KeyboardInterrupt, match="second"):
            os.kill(os.getpid(), signal.SIGINT)
    assert {s: signal.getsignal(s) for s in before} == before
