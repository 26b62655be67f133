"""Choosing a tf.distribute strategy: one device, all local GPUs, or a multi-worker cluster."""
from __future__ import annotations

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi-worker")


def select_strategy(name: str = "auto", cpu_devices: int = 0) -> tf.distribute.Strategy:
    """``auto``: MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored on several GPUs,
    else the default (single-device) strategy. ``cpu_devices`` > 1 splits the CPU into that many
    logical devices and mirrors over them (for testing distribution on a laptop); it must be
    called before TensorFlow initialises its devices.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_devices)])
    if name == "multi-worker" or (name == "auto" and _cluster_in_tf_config()):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _cluster_in_tf_config() -> bool:
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except json.JSONDecodeError:
        return False
    return len(config.get("cluster", {}).get("worker", [])) > 1
