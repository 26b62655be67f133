"""Random draws that are different on every replica of a tf.distribute strategy.

Under MirroredStrategy (and MultiWorkerMirroredStrategy) a Keras ``SeedGenerator`` is a mirrored
variable: every replica holds the same seed state, so ``keras.random.normal((batch, d), seed=g)``
inside a replica gives every replica the *same* numbers, and two replicas would train on the
same latents, noise and augmentations. ``per_replica`` draws for the global batch instead and
hands each replica its own slice; with one replica it is the plain draw. The numbers a replica
gets are the rows the single-device run would get for the same samples of the global batch,
which is what lets a mirrored run reproduce a single-device run (tests/training/test_distribute.py).
"""
from __future__ import annotations

import tensorflow as tf


def replica_position() -> tuple[int | tf.Tensor, int]:
    """(this replica's index in the sync group, number of replicas); (0, 1) outside a strategy."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def per_replica(draw, batch, *rest):
    """``draw(shape)`` with ``shape = [batch, *rest]``, ``batch`` being this replica's batch:
    under n replicas it draws ``[n * batch, *rest]`` and returns this replica's rows."""
    index, replicas = replica_position()
    if replicas == 1:
        return draw([batch, *rest])
    everything = draw([batch * replicas, *rest])
    return everything[index * batch : (index + 1) * batch]


def across_replicas(reduction: str, value):
    """``value`` summed (``"SUM"``) or averaged (``"MEAN"``) over all replicas, from inside one;
    itself outside a strategy. Statistics of a batch (the tracked mean w, ADA's sign of D on
    reals, DRAGAN's spread of the reals) are statistics of the global batch this way."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(getattr(tf.distribute.ReduceOp, reduction), value)
