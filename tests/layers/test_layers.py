"""Every shared layer: output shapes, and a safe-mode save/load round trip with identical outputs."""
import numpy as np
import keras
import pytest
import tensorflow as tf

import keras_gans  # noqa: F401
from keras_gans import layers as L


def _round_trip(model, inputs, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    expected, actual = model(inputs), loaded(inputs)
    for want, got in zip(expected if isinstance(expected, list) else [expected], actual if isinstance(actual, list) else [actual]):
        np.testing.assert_allclose(np.asarray(want), np.asarray(got), rtol=1e-5, atol=1e-6)
    return loaded


@pytest.mark.parametrize("equalized", [True, False])
def test_equalized_dense_and_conv_shapes_and_effective_scale(equalized, tmp_path):
    x = keras.Input((8, 8, 3))
    y = L.EqualizedConv2D(5, 3, lr_multiplier=0.5, equalized=equalized)(x)
    y = keras.layers.Flatten()(y)
    y = L.EqualizedDense(4, lr_multiplier=0.1, bias_initial_value=1.0, equalized=equalized)(y)
    model = keras.Model(x, y)
    data = np.random.RandomState(0).randn(2, 8, 8, 3).astype("float32")
    assert model(data).shape == (2, 4)
    dense = model.layers[-1]
    # The effective weights have He std sqrt(2 / fan_in) whatever the parametrisation.
    effective = np.asarray(dense.kernel) * dense.runtime_scale
    assert abs(effective.std() - np.sqrt(2 / (8 * 8 * 5))) < 0.2 * np.sqrt(2 / (8 * 8 * 5))
    np.testing.assert_allclose(np.asarray(dense.bias) * dense.lr_multiplier, 1.0, rtol=1e-6)
    _round_trip(model, data, tmp_path)


def test_pixel_norm_gives_unit_mean_square(tmp_path):
    x = keras.Input((16,))
    model = keras.Model(x, L.PixelNorm()(x))
    data = np.random.RandomState(1).randn(3, 16).astype("float32") * 7
    out = np.asarray(model(data))
    np.testing.assert_allclose((out**2).mean(axis=1), 1.0, rtol=1e-4)
    _round_trip(model, data, tmp_path)


def test_minibatch_stddev_appends_group_statistic(tmp_path):
    x = keras.Input((4, 4, 6))
    model = keras.Model(x, L.MinibatchStdDev(group_size=2)(x))
    data = np.random.RandomState(2).randn(4, 4, 4, 6).astype("float32")
    out = np.asarray(model(data))
    assert out.shape == (4, 4, 4, 7)
    # Samples 0 and 1 form one group: their std feature is the mean over features of |a-b|/2.
    expected = np.mean(np.sqrt(((data[0] - data[1]) / 2) ** 2 + 1e-8))
    np.testing.assert_allclose(out[0, :, :, -1], expected, rtol=1e-4)
    np.testing.assert_allclose(out[1, :, :, -1], expected, rtol=1e-4)
    _round_trip(model, data, tmp_path)


def test_adain_normalises_then_applies_style(tmp_path):
    x, s, b = keras.Input((5, 5, 3)), keras.Input((3,)), keras.Input((3,))
    model = keras.Model([x, s, b], L.AdaIN()([x, s, b]))
    rng = np.random.RandomState(3)
    data = [rng.randn(2, 5, 5, 3).astype("float32") * 4 + 2, rng.rand(2, 3).astype("float32") + 0.5, rng.randn(2, 3).astype("float32")]
    out = np.asarray(model(data))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), data[2], atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), data[1], rtol=1e-3)
    _round_trip(model, data, tmp_path)


def test_noise_injection_starts_at_zero_strength_and_adds_noise_once_trained(tmp_path):
    x = keras.Input((4, 4, 2))
    layer = L.NoiseInjection(seed=3)
    model = keras.Model(x, layer(x))
    data = np.ones((2, 4, 4, 2), "float32")
    np.testing.assert_array_equal(np.asarray(model(data)), data)
    layer.strength.assign([1.0, 0.0])
    out = np.asarray(model(data))
    assert np.abs(out[..., 0] - 1).mean() > 0.1  # noisy channel
    np.testing.assert_array_equal(out[..., 1], 1.0)  # zero-strength channel untouched
    # One noise map per pixel, shared by the channels it scales.
    layer.strength.assign([1.0, 2.0])
    out = np.asarray(model(data))
    np.testing.assert_allclose(out[..., 1] - 1, 2 * (out[..., 0] - 1), rtol=1e-5)
    loaded = keras.saving.load_model(_save(model, tmp_path), safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded.layers[-1].strength), [1.0, 2.0])


def _save(model, tmp_path):
    path = tmp_path / "noise.keras"
    model.save(path)
    return path


def test_constant_select_broadcast_and_truncation(tmp_path):
    w = keras.Input((6,))
    ws = L.BroadcastLatent(3)(w)
    truncation = L.Truncation(cutoff=2)
    truncated = truncation(ws)
    constant = L.ConstantInput(4, size=4)(w)
    picked = L.SelectLatent(2)(truncated)
    model = keras.Model(w, [truncated, constant, picked])
    data = np.random.RandomState(4).randn(2, 6).astype("float32")
    truncation.w_avg.assign(np.full(6, 0.5, "float32"))
    truncation.psi.assign(0.0)
    out_ws, out_constant, out_picked = (np.asarray(t) for t in model(data))
    assert out_ws.shape == (2, 3, 6) and out_constant.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(out_ws[:, :2], 0.5)  # the coarse layers collapse to w_avg
    np.testing.assert_allclose(out_ws[:, 2], data, rtol=1e-6)  # beyond the cut-off: untouched
    np.testing.assert_allclose(out_picked, data, rtol=1e-6)
    np.testing.assert_array_equal(out_constant[0], out_constant[1])
    loaded = _round_trip(model, data, tmp_path)
    assert float(np.asarray(loaded.get_layer(truncation.name).psi)) == 0.0


def test_adain_from_one_style_vector_matches_separate_scale_and_bias(tmp_path):
    x, style = keras.Input((5, 5, 3)), keras.Input((6,))
    model = keras.Model([x, style], L.AdaIN(scale_offset=1.0)([x, style]))
    rng = np.random.RandomState(5)
    data = [rng.randn(2, 5, 5, 3).astype("float32"), rng.randn(2, 6).astype("float32") * 0.3]
    out = np.asarray(model(data))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), data[1][:, 3:], atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), np.abs(1.0 + data[1][:, :3]), rtol=1e-3)
    loaded = _round_trip(model, data, tmp_path)
    assert loaded.layers[-1].scale_offset == 1.0


def test_modulated_conv_equals_a_per_sample_modulated_and_demodulated_kernel(tmp_path):
    x_in, s_in = keras.Input((8, 8, 3)), keras.Input((3,))
    layer = L.ModulatedConv2D(5, 3, name="modconv")
    model = keras.Model([x_in, s_in], layer([x_in, s_in]))
    layer.bias.assign(np.linspace(-1, 1, 5).astype("float32"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    style = rng.uniform(0.2, 2.0, (2, 3)).astype("float32")
    got = np.asarray(model([x, style]))
    kernel = np.asarray(layer.kernel) * layer.runtime_scale
    for sample in range(2):
        modulated = kernel * style[sample][None, None, :, None]  # StyleGAN2 eq. 1
        modulated /= np.sqrt((modulated**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)  # eq. 3
        want = keras.ops.conv(x[sample:sample + 1], modulated, padding="same")[0] + np.asarray(layer.bias)
        np.testing.assert_allclose(got[sample], np.asarray(want), rtol=1e-4, atol=1e-5)
    _round_trip(model, [x, style], tmp_path)


def test_demodulation_keeps_unit_variance_whatever_the_style():
    layer = L.ModulatedConv2D(64, 3)
    x = np.random.default_rng(1).standard_normal((4, 16, 16, 32)).astype("float32")
    for scale in (0.01, 1.0, 100.0):
        out = np.asarray(layer([x, np.full((4, 32), scale, "float32")]))[:, 1:-1, 1:-1]  # padding aside
        assert 0.8 < out.std() < 1.2
    with_gain = L.ModulatedConv2D(64, 3, gain=2.0)
    assert 1.6 < np.asarray(with_gain([x, np.full((4, 32), 5.0, "float32")]))[:, 1:-1, 1:-1].std() < 2.4
    plain = L.ModulatedConv2D(64, 3, demodulate=False)
    assert np.asarray(plain([x, np.full((4, 32), 100.0, "float32")])).std() > 10


def test_adain_in_bfloat16_is_closer_to_exact_than_keras_element_wise_ops_and_never_casts_its_input():
    """With a static batch (and an activation this large) AdaIN runs as one fused batch norm per sample, whose statistics and
    affine are computed in float32 and rounded once; with a dynamic batch the written-out form
    gives keras.ops.mean's values (TensorFlow's bfloat16 reduction sums in float32 already).
    Neither copies the activation to float32."""
    from keras import ops

    rng = np.random.RandomState(5)
    x = tf.cast(rng.randn(2, 64, 64, 32) * 3 + 1, tf.bfloat16)
    style = tf.cast(rng.randn(2, 64) * 0.3, tf.bfloat16)
    layer = L.AdaIN(scale_offset=1.0, dtype="mixed_bfloat16")

    def keras_moments(x, style):
        scale, bias = style[:, :32] + 1.0, style[:, 32:]
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        multiplier = scale[:, None, None, :] * ops.rsqrt(variance + 1e-8)
        return x * multiplier + (bias[:, None, None, :] - mean * multiplier)

    exact = np.asarray(keras_moments(tf.cast(x, tf.float64), tf.cast(style, tf.float64)))
    static_batch = tf.function(lambda x, style: layer([x, style]))
    dynamic_batch = tf.function(
        lambda x, style: layer([x, style]),
        input_signature=[tf.TensorSpec((None, 64, 64, 32), tf.bfloat16), tf.TensorSpec((None, 64), tf.bfloat16)],
    )
    fused_error = np.abs(np.float64(static_batch(x, style)) - exact).max()
    assert fused_error <= np.abs(np.float64(keras_moments(x, style)) - exact).max()
    assert fused_error <= 2 ** -7 * np.abs(exact).max()  # one bfloat16 step at the largest value
    np.testing.assert_array_equal(np.float32(dynamic_batch(x, style)), np.float32(keras_moments(x, style)))
    for function, fused in ((static_batch, True), (dynamic_batch, False)):
        graph = function.get_concrete_function(x, style).graph
        activation_casts = [op for op in graph.get_operations() if op.type == "Cast" and op.outputs[0].shape[1:] == x.shape[1:]]
        assert not activation_casts
        assert any(op.type == "FusedBatchNormV3" for op in graph.get_operations()) == fused


def test_adain_as_per_sample_batch_norm_equals_the_written_out_form_to_second_order():
    from keras_gans.layers.style import _fused_instance_norm_affine, _written_out_instance_norm_affine

    rng = np.random.RandomState(9)
    x = tf.constant((rng.randn(3, 8, 8, 5) * 2 + 1).astype("float32"))
    scale, bias = (tf.constant(rng.randn(3, 5).astype("float32")) for _ in range(2))
    upstream = tf.constant(rng.randn(3, 8, 8, 5).astype("float32"))

    def first_and_second_order(function):
        with tf.GradientTape() as outer:
            outer.watch([x, scale])
            with tf.GradientTape() as inner:
                inner.watch([x, scale, bias])
                outputs = function(x, scale, bias, 1e-8)
            gradients = inner.gradient(outputs, [x, scale, bias], output_gradients=upstream)
            penalty = tf.reduce_sum(tf.square(gradients[0]))  # as R1 or path length would
        return [outputs, *gradients, *outer.gradient(penalty, [x, scale])]

    for got, want in zip(first_and_second_order(_fused_instance_norm_affine), first_and_second_order(_written_out_instance_norm_affine)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4 * np.abs(np.asarray(want)).max())
    one_sample = _fused_instance_norm_affine(x[:1], scale[:1], bias[:1], 1e-8)
    np.testing.assert_allclose(np.asarray(one_sample), np.asarray(_written_out_instance_norm_affine(x[:1], scale[:1], bias[:1], 1e-8)), rtol=1e-5, atol=1e-5)
    constant = tf.fill((2, 4, 4, 3), 0.25)  # a constant channel normalises to zero, then the bias
    np.testing.assert_allclose(np.asarray(_fused_instance_norm_affine(constant, scale[:2, :3], bias[:2, :3], 1e-8)), np.broadcast_to(np.asarray(bias[:2, None, None, :3]), (2, 4, 4, 3)), atol=1e-6)


@pytest.mark.parametrize(
    "shape, dtype, intra_op_threads, fused",
    [
        ((4, 128, 128, 16), tf.bfloat16, 2, True),  # 2^18 values a sample: fused at any threading
        ((4, 16, 16, 128), tf.bfloat16, 1, True),  # one thread per op: the fixed cost is small
        ((4, 16, 16, 128), tf.bfloat16, 2, False),  # threaded calls cost more than the passes they save
        ((16, 64, 64, 16), tf.float32, 2, False),  # 2^16 values: the two take about as long
        ((4, 64, 64, 8), tf.bfloat16, 1, False),  # oneDNN's slow path below 16 channels
        ((4, 8, 8, 128), tf.float32, 1, False),  # 8x8: the fixed cost outweighs the passes
        ((None, 128, 128, 16), tf.float32, 1, False),  # a dynamic batch cannot be split
        ((4, 128, 128, 16), tf.float64, 1, False),
    ],
)
def test_adain_picks_the_fused_kernel_where_it_was_measured_faster(monkeypatch, shape, dtype, intra_op_threads, fused):
    from keras_gans.layers.style import _can_fuse_instance_norm

    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: intra_op_threads)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    seen = []
    tf.function(lambda x: seen.append(_can_fuse_instance_norm(x)) or x).get_concrete_function(tf.TensorSpec(shape, dtype))
    assert seen == [fused]


def test_adain_reads_one_thread_per_op_from_the_environment_too(monkeypatch):
    """TF_NUM_INTRAOP_THREADS=1 before Python starts is the other way to parallel-ops."""
    from keras_gans.layers.style import _can_fuse_instance_norm

    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: 0)
    monkeypatch.setattr("keras_gans.hardware.usable_cores", lambda: 2)
    spec = tf.TensorSpec((4, 16, 16, 128), tf.bfloat16)
    for environment, fused in (("1", True), ("", False)):
        monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", environment)
        seen = []
        tf.function(lambda x: seen.append(_can_fuse_instance_norm(x)) or x).get_concrete_function(spec)
        assert seen == [fused]


def test_adain_counts_the_cores_this_process_may_use(monkeypatch):
    """With nothing set, one usable core (an affinity mask of one, on a many-core machine) means
    one thread per op, so the fused kernel's small fixed cost applies."""
    from keras_gans.layers.style import _can_fuse_instance_norm

    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: 0)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    spec = tf.TensorSpec((4, 16, 16, 128), tf.bfloat16)
    for affinity, fused in (({3}, True), (set(range(8)), False)):
        monkeypatch.setattr("os.sched_getaffinity", lambda pid, cores=affinity: cores, raising=False)
        seen = []
        tf.function(lambda x: seen.append(_can_fuse_instance_norm(x)) or x).get_concrete_function(spec)
        assert seen == [fused]


def test_noise_projection_is_a_one_by_one_convolution_with_the_same_gradients(tmp_path):
    rng = np.random.RandomState(6)
    noise = tf.constant(rng.rand(3, 8, 8, 1).astype("float32"))
    upstream = tf.constant(rng.randn(3, 8, 8, 5).astype("float32"))
    ours, reference = L.NoiseProjection(5), keras.layers.Conv2D(5, 1)
    for layer in (ours, reference):
        layer.build(noise.shape)
        layer.set_weights([np.linspace(-1, 1, 5, dtype="float32").reshape(1, 1, 1, 5), np.linspace(0.5, -0.5, 5, dtype="float32")])

    def value_and_gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(noise)
            outputs = layer(noise)
        return [outputs, *tape.gradient(outputs, [noise, *layer.trainable_weights], output_gradients=upstream)]

    for got, want in zip(value_and_gradients(ours), value_and_gradients(reference)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    assert [w.shape for w in ours.weights] == [w.shape for w in reference.weights]
    model = keras.Sequential([keras.Input((8, 8, 1)), ours])
    _round_trip(model, noise.numpy(), tmp_path)
    with pytest.raises(ValueError, match="one-channel noise image"):
        L.NoiseProjection(4).build((None, 8, 8, 3))


def test_noise_projection_starts_at_zero_and_its_bfloat16_gradients_are_the_rounded_exact_sums():
    rng = np.random.RandomState(7)
    layer = L.NoiseProjection(4, dtype="mixed_bfloat16")
    noise = tf.constant(rng.rand(2, 16, 16, 1).astype("float32"))
    assert not np.any(np.asarray(layer(noise)))  # zero kernel and bias: the branch starts silent
    upstream = tf.cast(tf.constant(rng.randn(2, 16, 16, 4).astype("float32")), tf.bfloat16)
    with tf.GradientTape() as tape:
        outputs = layer(noise)
    kernel_gradient, bias_gradient = tape.gradient(outputs, [layer.kernel, layer.bias], output_gradients=upstream)
    exact_upstream, exact_noise = np.float64(np.float32(upstream)), np.float64(np.float32(tf.cast(noise, tf.bfloat16)))
    exact_bias = exact_upstream.sum(axis=(0, 1, 2))
    exact_kernel = (exact_upstream * exact_noise).sum(axis=(0, 1, 2))
    # Within one bfloat16 rounding (8 bits of mantissa) of the exact sums.
    np.testing.assert_allclose(np.asarray(bias_gradient), exact_bias, rtol=2 ** -8, atol=1e-6)
    # The kernel's product too where the CPU has bfloat16 arithmetic (oneDNN sums in float32).
    # Where bfloat16 is emulated, TensorFlow's Eigen matmul rounds its partial sums to bfloat16
    # (seen on a Zen 2 EPYC: 0.7% off), so there it is held to a few roundings.
    from keras_gans.training.strategy import bfloat16_is_emulated

    kernel_tolerance = 2 ** -6 if bfloat16_is_emulated() else 2 ** -8
    np.testing.assert_allclose(np.asarray(kernel_gradient).reshape(-1), exact_kernel, rtol=kernel_tolerance, atol=1e-6)


def test_adain_gradient_written_out_is_the_automatic_gradient_to_second_order():
    rng = np.random.RandomState(8)
    x = tf.constant(rng.randn(2, 6, 6, 3) * 2 + 1)
    style = tf.constant(rng.randn(2, 6) * 0.3)
    layer = L.AdaIN(scale_offset=1.0, dtype="float64")

    def expression(x, style):  # AdaIN as a formula, differentiated by TensorFlow
        scale, bias = style[:, :3] + 1.0, style[:, 3:]
        mean = tf.reduce_mean(x, (1, 2), keepdims=True)
        inverse_std = tf.math.rsqrt(tf.reduce_mean(tf.square(x - mean), (1, 2), keepdims=True) + 1e-8)
        return (x - mean) * inverse_std * scale[:, None, None, :] + bias[:, None, None, :]

    def first_and_second_order(function):
        with tf.GradientTape() as outer:
            outer.watch(style)
            with tf.GradientTape() as inner:
                inner.watch([x, style])
                loss = tf.reduce_sum(tf.sin(function(x, style)))
            x_gradient, style_gradient = inner.gradient(loss, [x, style])
            penalty = tf.reduce_sum(tf.square(x_gradient))
        return x_gradient, style_gradient, outer.gradient(penalty, style)

    ours = first_and_second_order(lambda x, style: layer([x, style]))
    for got, want in zip(ours, first_and_second_order(expression)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-12)
