"""A straightforward Keras 3 implementation of the article's StyleGAN training step, as a
same-machine, same-moment yardstick for benchmarks/train_throughput.py.

It uses stock Keras layers (Conv2D, Dense, UpSampling2D, AveragePooling2D) the way the article's
code does: the same widths, a noise image fed through a 1x1 convolution per block, AdaIN, the
residual discriminator with Dense(128) and Dropout(0.2), MSE loss against +1/-1, R1 (weight 50)
on reals every step, style mixing on 40% of generator steps, batch 4, Adam(1e-4, 0, 0.99), and
Keras's stock Adam. The issue measured such a version at 83 / 29 / 7.7 images/s against the
article's original code at 66 / 26 / 8 (64 / 128 / 256 px) on this kind of machine; running it
beside ours removes the machine's moment-to-moment speed from the comparison.

    python benchmarks/plain_keras_baseline.py --resolutions 64,128,256
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

WIDTHS = (512, 384, 256, 192, 128, 64, 32, 16)
D_WIDTHS = (16, 32, 64, 128, 192, 256)


def build(resolution: int, latent: int = 512):
    import keras
    from keras import layers, ops

    class AdaptiveInstanceNorm(layers.Layer):
        def call(self, inputs):
            x, gamma, beta = inputs
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            std = ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + 1e-7)
            return (x - mean) / std * gamma[:, None, None, :] + beta[:, None, None, :]

    doublings = int(math.log2(resolution)) - 2
    num_styles = doublings * 2
    z = keras.Input((latent,))
    w = z
    for _ in range(8):
        w = layers.LeakyReLU(0.2)(layers.Dense(512, kernel_initializer="he_normal")(w))
    mapping = keras.Model(z, w)

    styles = [keras.Input((512,)) for _ in range(num_styles)]
    noise = keras.Input((resolution, resolution, 1))
    constant = keras.Input((1,))
    x = layers.Reshape((4, 4, resolution))(layers.Dense(16 * resolution)(constant))
    for index, filters in enumerate(WIDTHS[-doublings:]):
        x = layers.UpSampling2D(interpolation="bilinear")(x)
        size = x.shape[1]
        crop = (resolution - size) // 2
        block_noise = layers.Cropping2D(crop)(noise) if crop else noise
        for half in range(2):
            style = styles[2 * index + half]
            gamma = layers.Dense(filters, bias_initializer="ones")(style)
            beta = layers.Dense(filters)(style)
            x = layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal")(x)
            x = layers.Add()([x, layers.Conv2D(filters, 1, kernel_initializer="zeros")(block_noise)])
            x = layers.LeakyReLU(0.2)(AdaptiveInstanceNorm()([x, gamma, beta]))
    image = layers.Conv2D(3, 1)(x)
    synthesis = keras.Model([*styles, noise, constant], image)

    real = keras.Input((resolution, resolution, 3))
    y = real
    for filters in D_WIDTHS[:doublings]:
        skip = layers.Conv2D(filters, 1)(y)
        y = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal")(y))
        y = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal")(y))
        y = layers.AveragePooling2D(2)(layers.Add()([skip, y]))
    y = layers.Dropout(0.2)(layers.LeakyReLU(0.2)(layers.Dense(128)(layers.Flatten()(y))))
    discriminator = keras.Model(real, layers.Dense(1)(y))
    return mapping, synthesis, discriminator, num_styles


def measure(resolution: int, steps: int, repeats: int) -> float:
    import numpy as np
    import keras
    import tensorflow as tf

    mapping, synthesis, discriminator, num_styles = build(resolution)
    g_vars = mapping.trainable_variables + synthesis.trainable_variables
    g_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.99)
    d_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.99)
    batch = 4
    ones = tf.ones((batch, 1))

    def fakes(mix):
        z1, z2 = tf.random.normal((batch, 512)), tf.random.normal((batch, 512))
        w1, w2 = mapping(z1), mapping(z2)
        cut = tf.random.uniform((), 1, num_styles, tf.int32) if mix else num_styles
        styles = [tf.where(i < cut, w1, w2) for i in range(num_styles)]
        noise = tf.random.uniform((batch, resolution, resolution, 1))
        return synthesis([*styles, noise, ones])

    @tf.function
    def step(real, mix):
        generated = fakes(False)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(real)
                real_score = discriminator(real, training=True)
                total_real = tf.reduce_sum(real_score)
            gradients = inner.gradient(total_real, real)
            r1 = tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]))
            fake_score = discriminator(generated, training=True)
            d_loss = tf.reduce_mean(tf.square(real_score - 1)) + tf.reduce_mean(tf.square(fake_score + 1)) + 50 * r1
        d_opt.apply(tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.square(discriminator(fakes(mix), training=True) - 1))
        g_opt.apply(tape.gradient(g_loss, g_vars), g_vars)
        return d_loss, g_loss

    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, resolution, resolution, 3)).astype("float32"))
    rng = np.random.default_rng(1)
    for mix in (True, False):
        step(real, tf.constant(mix))
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step(real, tf.constant(bool(rng.random() < 0.4)))[0].numpy()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolutions", default="64,128,256")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    for resolution in (int(r) for r in args.resolutions.split(",")):
        steps = {64: 64, 128: 24, 256: 8}.get(resolution, 8)
        median, rates = measure(resolution, steps, args.repeats)
        print(f"plain Keras 3 baseline {resolution}x{resolution} batch 4: {median:.1f} img/s "
              f"(runs {[round(r, 1) for r in rates]})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
