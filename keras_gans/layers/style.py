"""The style-based generator's layers (Karras et al. 2019, "A Style-Based Generator
Architecture for Generative Adversarial Networks", fig. 1b).

A synthesis network receives one style vector per layer, ``ws`` of shape
(batch, num_layers, style_dim); :class:`SelectLatent` picks a layer's vector, a learned affine
of it gives the AdaIN scale and bias, and :class:`NoiseInjection` adds per-pixel noise.
"""
from __future__ import annotations

import functools
import math
import os

import keras
import tensorflow as tf
from keras import ops

from keras_gans import hardware
from keras_gans.replicas import per_replica


@keras.saving.register_keras_serializable(package="keras_gans")
class ConstantInput(keras.layers.Layer):
    """The learned constant the synthesis network starts from, repeated over the batch.

    Its input is only used for its batch size (any tensor whose first axis is the batch).
    ``from_dense=True`` is the article's form: Dense(size * size * channels) applied to the
    number 1 (kernel initialised to ones, bias to zeros) and reshaped. The output is kernel +
    bias, the same constant with twice the parameters, each receiving the same gradient, so
    it moves twice as fast under SGD as the plain constant does.
    """

    def __init__(self, channels: int, size: int = 4, from_dense: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.size = size
        self.from_dense = from_dense

    def build(self, input_shape):
        units = self.size * self.size * self.channels
        if self.from_dense:
            self.kernel = self.add_weight(name="kernel", shape=(1, units), initializer="ones")
            self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")
        else:
            self.constant = self.add_weight(
                name="constant",
                shape=(1, self.size, self.size, self.channels),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
            )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        if self.from_dense:
            constant = ops.reshape(self.kernel + self.bias, (1, self.size, self.size, self.channels))
        else:
            constant = self.constant
        return ops.tile(ops.cast(constant, self.compute_dtype), (batch, 1, 1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size, "from_dense": self.from_dense}


@keras.saving.register_keras_serializable(package="keras_gans")
class NoiseImage(keras.layers.Layer):
    """One uniform [0, 1) noise image of ``size`` x ``size`` x 1 per sample, drawn inside the layer
    (the article's noise input: its generator crops this one image, centred, for every
    resolution and adds each crop through a 1x1 convolution). Its input only gives the batch
    size. Like :class:`NoiseInjection` it draws from its own seed generator, which
    :func:`keras_gans.generation.seed_noise` reseeds for reproducible samples."""

    def __init__(self, size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        fixed = fixed_noise_of(self)
        if fixed is not None:
            return ops.cast(fixed, self.compute_dtype)
        batch = ops.shape(inputs)[0]
        return per_replica(
            lambda shape: keras.random.uniform(shape, seed=self.seed_generator, dtype=self.compute_dtype),
            batch, self.size, self.size, 1,
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 1)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


def _pointwise_noise(noise, kernel, bias):
    """``bias_add(conv1x1(noise, kernel), bias)`` for a one-channel ``noise``, with a gradient
    computed as matrix products. In the article's training step at 256x256 (bfloat16), oneDNN's
    weight gradients of these one-input-channel convolutions took about 4% of the time spent in
    operations; the products take about half of that (benchmarks/train_throughput.py --profile).
    In bfloat16 the bias gradient is also the exact sum rounded once, which TensorFlow's
    BiasAddGrad is not."""

    @tf.custom_gradient
    def pointwise(noise, kernel, bias):
        outputs = tf.nn.bias_add(tf.nn.conv2d(noise, kernel, strides=1, padding="VALID"), bias)

        def gradient(upstream):
            channels = kernel.shape[-1]
            rows = tf.reshape(upstream, (-1, channels))
            noise_row = tf.reshape(noise, (1, -1))
            kernel_gradient = tf.reshape(tf.matmul(noise_row, rows), tf.shape(kernel))
            # The noise's own gradient is only used where the noise is optimised (projection);
            # the graph prunes it everywhere else.
            noise_gradient = tf.reshape(tf.matmul(rows, tf.reshape(kernel, (channels, 1))), tf.shape(noise))
            return noise_gradient, kernel_gradient, tf.reduce_sum(rows, axis=0)

        return outputs, gradient

    return pointwise(noise, kernel, bias)


@keras.saving.register_keras_serializable(package="keras_gans")
class NoiseProjection(keras.layers.Layer):
    """The article's noise branch: a 1x1 convolution of a one-channel noise image (a crop of
    :class:`NoiseImage`) to ``filters`` channels, kernel and bias starting at zero. The same
    weights, shapes and values as ``keras.layers.Conv2D(filters, 1, kernel_initializer="zeros")``;
    only its gradient is computed differently (see :func:`_pointwise_noise`)."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        if input_shape[-1] != 1:
            raise ValueError(f"NoiseProjection takes a one-channel noise image, not {input_shape[-1]} channels")
        self.kernel = self.add_weight(name="kernel", shape=(1, 1, 1, self.filters), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, noise):
        # Tensors, not variables: the custom gradient returns the weights' gradients as inputs'.
        kernel, bias = (tf.convert_to_tensor(ops.cast(weight, self.compute_dtype)) for weight in (self.kernel, self.bias))
        return _pointwise_noise(noise, kernel, bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


def fix_noise(layer, noise) -> None:
    """Makes a noise layer (NoiseInjection, NoiseImage) use ``noise`` (a tensor or variable of shape
    (1 or batch, height, width, 1)) instead of drawing it; ``None`` draws again. Projection
    optimises the noise this way. Kept out of Keras' tracking: it is never part of the model."""
    object.__setattr__(layer, "_fixed_noise", noise)


def fixed_noise_of(layer):
    return layer.__dict__.get("_fixed_noise")


@keras.saving.register_keras_serializable(package="keras_gans")
class NoiseInjection(keras.layers.Layer):
    """Adds per-pixel Gaussian noise scaled by a learned per-channel strength (zero at start).

    The noise is drawn inside the layer from its own seed generator, so the generator takes
    only z; :func:`keras_gans.generation.seed_noise` reseeds every such layer for reproducible
    samples. With ``randomize=False`` the layer adds nothing (useful for noise ablations).
    """

    def __init__(self, seed: int | None = None, randomize: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.randomize = randomize
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(name="strength", shape=(int(input_shape[-1]),), initializer="zeros")

    def call(self, inputs):
        if not self.randomize:
            return inputs
        fixed = fixed_noise_of(self)
        if fixed is not None:
            noise = ops.cast(fixed, self.compute_dtype)
        else:
            shape = ops.shape(inputs)
            noise = per_replica(
                lambda full: keras.random.normal(full, seed=self.seed_generator, dtype=self.compute_dtype),
                shape[0], shape[1], shape[2], 1,
            )
        return inputs + noise * ops.cast(self.strength, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "randomize": self.randomize}


def spatial_mean(x):
    """Mean over height and width, kept as (batch, 1, 1, channels). ``keras.ops.mean`` casts a
    bfloat16 tensor to float32 and back (guarding float16 against overflow), two extra passes
    over an activation each way; TensorFlow's bfloat16 reduction already sums in float32 and only
    rounds the result, which is the value the casts give."""
    if x.dtype in (tf.bfloat16, tf.float32):
        return tf.reduce_mean(x, axis=(1, 2), keepdims=True)
    return ops.mean(x, axis=(1, 2), keepdims=True)


def _instance_norm_affine(x, scale, bias, epsilon: float):
    """``scale * (x - mean) / sqrt(variance + epsilon) + bias`` over each sample's and channel's
    pixels: per sample through the fused batch-norm kernel where that can run (see
    :func:`_fused_instance_norm_affine`), otherwise with the gradient written out."""
    if _can_fuse_instance_norm(x):
        return _fused_instance_norm_affine(x, scale, bias, epsilon)
    return _written_out_instance_norm_affine(x, scale, bias, epsilon)


def _can_fuse_instance_norm(x) -> bool:
    """Whether the per-sample fused batch norm is the faster kernel for this activation, by
    benchmarks/instance_norm_kernels.py on a 2-core CPU (table in docs/benchmarks.md). oneDNN's
    kernel costs a fixed 10-20 us per sample and call, and 70 us or more when it spreads over
    several threads; in bfloat16 with fewer than 16 channels it takes a slow path. So: at least
    16 channels and 16x16 pixels, and where each op runs on one thread (the parallel-ops
    threading of keras_gans.training.strategy) any such size; with several threads per op only
    activations of at least 64x64 pixels and 2^17 values per sample.

    Never with a GPU: cuDNN's batch norm raises epsilon to 1e-5 (AdaIN uses 1e-8), and the
    speed was measured on CPUs. The batch must be static to split it; a traced call with a
    dynamic batch takes the written-out route."""
    if x.shape.rank != 4 or x.shape[0] is None or x.dtype not in (tf.float32, tf.bfloat16) or _gpu_present():
        return False
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    if not (height and width and channels) or channels < 16 or height * width < 16 * 16:
        return False
    # Set through tf.config (keras_gans.training.strategy) or, before TensorFlow starts, the
    # environment (what that module's error message suggests).
    intra_op_threads = (tf.config.threading.get_intra_op_parallelism_threads()
                        or _environment_intra_op_threads() or hardware.usable_cores())
    return intra_op_threads == 1 or (height * width >= 64 * 64 and height * width * channels >= 2 ** 17)


def _environment_intra_op_threads() -> int:
    try:
        return int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    except ValueError:  # TensorFlow ignores a value it cannot read; so does this choice
        return 0


@functools.cache
def _gpu_present() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def _fused_instance_norm_affine(x, scale, bias, epsilon: float):
    """Instance norm as one batch norm per sample: a sample of a channels-last batch is a
    contiguous (1, height, width, channels) block, over which batch norm's statistics are
    exactly instance norm's, and the per-sample style is that batch norm's scale and offset.
    TensorFlow splits a batch along its first axis without copying, so the cost is the fused
    kernel (oneDNN's, statistics and the affine in two passes; its gradient likewise, and
    differentiable again) plus one concatenation, where the written-out form makes four
    element-wise passes and two reductions forward, and five and two backward. The statistics
    are summed in float32 and the output rounded once, also in bfloat16."""
    samples = tf.split(x, x.shape[0], axis=0)
    scales = tf.unstack(tf.cast(scale, tf.float32), num=x.shape[0])
    offsets = tf.unstack(tf.cast(bias, tf.float32), num=x.shape[0])
    no_statistics = tf.constant([], tf.float32)
    outputs = [
        tf.raw_ops.FusedBatchNormV3(
            x=sample, scale=sample_scale, offset=sample_offset, mean=no_statistics,
            variance=no_statistics, epsilon=epsilon, exponential_avg_factor=1.0,
            data_format="NHWC", is_training=True,
        )[0]
        for sample, sample_scale, sample_offset in zip(samples, scales, offsets)
    ]
    return outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=0)


def _written_out_instance_norm_affine(x, scale, bias, epsilon: float):
    """The instance norm with the gradient written out (the batch-norm backward, per instance):
    besides two sums it takes five element-wise passes over the activation, where TensorFlow's
    automatic gradient of the same expression takes about ten (a broadcast and a divide for each mean's
    gradient, and the variance's chain). Both are the same function; they round differently."""

    @tf.custom_gradient
    def instance_norm_affine(x, scale, bias):
        height, width = x.shape[1], x.shape[2]
        count = float(height * width) if height and width else tf.cast(tf.shape(x)[1] * tf.shape(x)[2], x.dtype)
        mean = spatial_mean(x)
        centred = x - mean
        inverse_std = tf.math.rsqrt(spatial_mean(tf.square(centred)) + epsilon)
        multiplier = scale[:, None, None, :] * inverse_std
        outputs = x * multiplier + (bias[:, None, None, :] - mean * multiplier)

        def gradient(upstream):
            upstream_sum = tf.reduce_sum(upstream, axis=(1, 2), keepdims=True)
            upstream_dot_centred = tf.reduce_sum(upstream * centred, axis=(1, 2), keepdims=True)
            centred_coefficient = -multiplier * tf.square(inverse_std) * upstream_dot_centred / count
            x_gradient = upstream * multiplier + (centred * centred_coefficient - multiplier * upstream_sum / count)
            return (x_gradient, (upstream_dot_centred * inverse_std)[:, 0, 0, :], upstream_sum[:, 0, 0, :])

        return outputs, gradient

    return instance_norm_affine(x, scale, bias)


@keras.saving.register_keras_serializable(package="keras_gans")
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalization (Huang & Belongie 2017; StyleGAN eq. 1).

    ``[x, scale, bias] -> scale * (x - mean_hw(x)) / std_hw(x) + bias`` with scale and bias of
    shape (batch, channels); or ``[x, style]`` with style of shape (batch, 2 * channels) holding
    the scale (plus ``scale_offset``) and then the bias, so one affine layer makes both. On a CPU
    this layer is memory-bound: it runs as one fused batch norm per sample where that was
    measured faster, otherwise as one multiply-add per element with its gradient written out.
    """

    def __init__(self, epsilon: float = 1e-8, scale_offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.scale_offset = scale_offset

    def call(self, inputs):
        if len(inputs) == 2:
            x, style = inputs
            channels = x.shape[-1]
            scale, bias = style[:, :channels] + self.scale_offset, style[:, channels:]
        else:
            x, scale, bias = inputs
        return _instance_norm_affine(x, scale, bias, self.epsilon)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "scale_offset": self.scale_offset}


@keras.saving.register_keras_serializable(package="keras_gans")
class SelectLatent(keras.layers.Layer):
    """``ws[:, index]``: the style vector of one synthesis layer."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="keras_gans")
class BroadcastLatent(keras.layers.Layer):
    """w of shape (batch, dim) repeated to ws of shape (batch, num_layers, dim)."""

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers

    def call(self, inputs):
        return ops.repeat(inputs[:, None, :], self.num_layers, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_layers, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers}


@keras.saving.register_keras_serializable(package="keras_gans")
class Truncation(keras.layers.Layer):
    """The truncation trick (StyleGAN sec. 2.3 / appendix B) toward the tracked mean w.

    Holds ``w_avg`` (the running mean of mapped latents, updated by the training engine) and
    ``psi`` as non-trainable variables saved with the model, so a loaded ``generator.keras``
    can be truncated by assigning ``psi`` without rebuilding. Only the first ``cutoff`` style
    layers (the coarse ones) are truncated; ``cutoff=None`` truncates all of them.
    """

    def __init__(self, cutoff: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cutoff = cutoff

    def build(self, input_shape):
        self.num_layers, dim = int(input_shape[1]), int(input_shape[2])
        self.w_avg = self.add_weight(name="w_avg", shape=(dim,), initializer="zeros", trainable=False)
        self.psi = self.add_weight(
            name="psi", shape=(), initializer=keras.initializers.Constant(1.0), trainable=False
        )

    def call(self, ws):
        return self.truncate(ws, self.psi)

    def truncate(self, ws, psi):
        """``ws`` (batch, layers, dim) truncated with ``psi``: one value, or one per sample
        (batch,), as the exported generators take it (keras_gans.export)."""
        cutoff = self.num_layers if self.cutoff is None else min(self.cutoff, self.num_layers)
        w_avg = ops.cast(self.w_avg, ws.dtype)
        psi = ops.reshape(ops.cast(psi, ws.dtype), (-1, 1))  # (1 or batch, 1)
        coarse = ops.ones((1, cutoff), ws.dtype) * psi
        fine = ops.ones((ops.shape(psi)[0], self.num_layers - cutoff), ws.dtype)
        layer_psi = ops.concatenate([coarse, fine], axis=1)
        return w_avg + (ws - w_avg) * layer_psi[:, :, None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "cutoff": self.cutoff}


@keras.saving.register_keras_serializable(package="keras_gans")
class ModulatedConv2D(keras.layers.Layer):
    """Weight modulation and demodulation (Karras et al. 2020, "Analyzing and Improving the Image
    Quality of StyleGAN", sec. 2.2, eqs. 1-3), replacing AdaIN.

    ``[x, style] -> conv(x * s, w) * d`` with s the per-sample style of shape (batch, in_channels)
    and d = 1 / sqrt(sum_{k, i} (s_i w_{k,i,o})^2 + eps) per output channel. Scaling the input by
    s and the output by d is the same arithmetic as convolving with the modulated kernel s_i w d_o
    (StyleGAN2's non-fused path), but keeps one shared kernel: one large convolution instead of a
    grouped one per sample, which is what a CPU runs fastest. Normalising the expected statistics
    through the weights instead of the activations is what removes StyleGAN's droplet artefacts.
    The kernel has an equalized learning rate (stored N(0, 1), scaled by the He constant).
    ``demodulate=False`` is the toRGB layer's plain modulation. ``gain`` scales the output (He's
    sqrt(2) before a LeakyReLU, as StyleGAN2's activation gain); demodulation keeps it, so
    activations keep unit variance through the network instead of halving at every LeakyReLU.
    """

    def __init__(self, filters: int, kernel_size: int = 3, demodulate: bool = True, use_bias: bool = True,
                 gain: float = 1.0, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.use_bias = use_bias
        self.gain = gain
        self.epsilon = epsilon

    def build(self, input_shapes):
        in_channels = int(input_shapes[0][-1])
        self.runtime_scale = self.gain / math.sqrt(in_channels * self.kernel_size * self.kernel_size)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        x, style = inputs
        kernel = self.kernel * ops.cast(self.runtime_scale, self.kernel.dtype)
        kernel = ops.cast(kernel, x.dtype)
        style = ops.cast(style, x.dtype)
        outputs = ops.conv(x * style[:, None, None, :], kernel, strides=1, padding="same")
        if self.demodulate:
            # sum over the kernel window and input channels of (s_i w_{k,i,o})^2, per sample.
            kernel_energy = ops.sum(ops.square(kernel), axis=(0, 1))  # (in, out)
            demodulation = ops.rsqrt(ops.matmul(ops.square(style), kernel_energy) + self.epsilon)
            outputs = outputs * (demodulation * ops.cast(self.gain, outputs.dtype))[:, None, None, :]
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return outputs

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0][:-1]) + (self.filters,)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "demodulate": self.demodulate,
            "use_bias": self.use_bias,
            "gain": self.gain,
            "epsilon": self.epsilon,
        }
