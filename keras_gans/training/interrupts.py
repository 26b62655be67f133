"""Stopping a run on Ctrl-C or SIGTERM without tearing TensorFlow apart mid-call.

Python runs a signal handler between two bytecodes of the main thread, wherever it is: inside
TensorFlow's function-call machinery (tf.function's ``_call`` acquires a lock, runs Python code,
then releases it without a ``try``), halfway through a tf.data iterator's bookkeeping. An
exception raised there can leave a lock held or a structure half-updated for the checkpoint save
that follows. A CI run once stayed alive for over two minutes after SIGTERM instead of saving
and exiting. So the first signal only asks for a stop, and the run stops at the next step
boundary, where no TensorFlow call is in flight; a second signal stops at once, for a run that
is stuck. (``keras_gans.train`` also prints every thread's stack on SIGUSR1, to see where.)
Outside training, ``treat_sigterm_as_ctrl_c`` makes a process's SIGTERM raise KeyboardInterrupt,
so that the same clean-up runs for ``kill`` as for Ctrl-C.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

import keras

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of the next execution of the compiled step once a stop
    was asked for, so that ``training.run`` saves a checkpoint the way it does for Ctrl-C."""

    def __init__(self):
        super().__init__()
        self.requested = None  # the number of the first stop signal

    def request(self, signum: int) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt(f"signal {signum} (second)")
        self.requested = signum
        # os.write, not print: a handler that prints while the main thread is inside print()
        # fails with "reentrant call".
        os.write(2, b"\nstopping after this step to save a checkpoint (send the signal again to stop at once)\n")

    def on_train_batch_end(self, batch, logs=None):
        if self.requested is not None:
            raise KeyboardInterrupt(f"signal {self.requested}")

    @contextlib.contextmanager
    def installed(self):
        """Routes SIGINT and SIGTERM to ``request`` while the block runs and restores the previous
        handlers after it. Signal handlers belong to the main thread; elsewhere (a run started from
        a worker thread) this does nothing and the signals keep their behaviour."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, frame: self.request(signum))
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                # None: a handler installed outside Python, which cannot be put back from here.
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def treat_sigterm_as_ctrl_c() -> None:
    """SIGTERM (kill, job schedulers, container stops) raises KeyboardInterrupt, as Ctrl-C does:
    a run saves a checkpoint before exiting instead of losing everything since the last one
    (during training ``StopOnSignal`` makes that stop wait for the end of the step). SIGUSR1
    prints every thread's stack to stderr without stopping, to see where a process that seems
    stuck is waiting. Only the main thread can install handlers; elsewhere this does nothing."""
    import faulthandler

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGUSR1") and sys.__stderr__ is not None:
        # sys.__stderr__: sys.stderr may be a stand-in without a file descriptor (notebooks, pytest).
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
