"""Losses and penalties against values computed by hand."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans import losses

REAL = np.array([[2.0], [-1.0]], "float32")
FAKE = np.array([[0.5], [-3.0]], "float32")


def softplus(x):
    return np.log1p(np.exp(x))


def test_logistic_and_nonsaturating():
    expected_d = np.mean(softplus(-REAL)) + np.mean(softplus(FAKE))
    assert float(losses.logistic_discriminator_loss(REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert float(losses.nonsaturating_generator_loss(FAKE)) == pytest.approx(np.mean(softplus(-FAKE)), rel=1e-6)


def test_least_squares_matches_the_articles_mse_targets():
    # mse(+1 for reals) + mse(-1 for fakes): ((1)^2 + (-2)^2)/2 + ((1.5)^2 + (-2)^2)/2
    assert float(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(2.5 + 3.125)
    assert float(losses.least_squares_generator_loss(FAKE)) == pytest.approx((0.25 + 16) / 2)


def test_hinge_and_wasserstein():
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(1.25)
    assert float(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(-1.25 - 0.5)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(1.25)


def test_r1_of_a_linear_discriminator_is_the_squared_weight_norm():
    weights = tf.constant(np.arange(12, dtype="float32").reshape(1, 2, 2, 3) / 10)
    x = tf.random.normal((4, 2, 2, 3))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = tf.reduce_sum(x * weights, axis=[1, 2, 3])
        total = tf.reduce_sum(logits)
    penalty = losses.r1_penalty(tape.gradient(total, x))
    np.testing.assert_allclose(penalty, np.sum(np.square(weights.numpy())), rtol=1e-5)


def test_gradient_penalties_and_drift():
    gradients = tf.constant([[3.0, 4.0], [0.0, 0.0]])  # norms 5 and 0
    np.testing.assert_allclose(losses.wgan_gp_penalty(gradients), [16.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(losses.dragan_penalty(gradients), [16.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(losses.drift_penalty(REAL), [4.0, 1.0])
    # The norm's gradient stays finite at a zero gradient (plain sqrt would give NaN).
    zero = tf.zeros((1, 3))
    with tf.GradientTape() as tape:
        tape.watch(zero)
        value = tf.reduce_sum(losses.wgan_gp_penalty(zero))
    assert np.all(np.isfinite(tape.gradient(value, zero)))


def test_unknown_loss_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown loss 'wat'"):
        losses.get_loss_pair("wat")


# --- The optional terms, built once from a configuration ---------------------------------------------

class _Step:
    """A discriminator step of a linear D(x) = sum(x * weights), whose input gradient is known."""

    def __init__(self, real, fakes, weights):
        self.real, self.fakes, self.weights = tf.constant(real), tf.constant(fakes), tf.constant(weights)
        self.labels = tf.constant([0, 2], tf.int32)
        self.real_logits = tf.reduce_sum(self.real * self.weights, axis=[1, 2, 3])
        self.real_classes = tf.constant([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
        self.fake_classes = tf.constant([[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
        self.seed = keras.random.SeedGenerator(0)

    def gradients_at(self, points):
        return tf.ones_like(points) * self.weights

    def real_gradients(self):
        return self.gradients_at(self.real)


def test_terms_are_built_from_the_config_and_compute_their_papers_values():
    from keras_gans.config import preset_config

    weights = np.full((1, 2, 2, 3), 0.5, "float32")  # ||grad|| = sqrt(12 * 0.25) = sqrt(3)
    step = _Step(np.ones((2, 2, 2, 3), "float32"), np.zeros((2, 2, 2, 3), "float32"), weights)

    stylegan = losses.discriminator_terms(preset_config("stylegan-cpu-64"))
    assert [type(t).__name__ for t in stylegan] == ["R1Regularization"]
    assert stylegan[0].lazy and stylegan[0].interval == 4 and stylegan[0].weight == 0.025
    assert float(stylegan[0].value(step)) == pytest.approx(3.0)

    wgan = losses.discriminator_terms(preset_config("wgan-gp-64"))
    assert [type(t).__name__ for t in wgan] == ["WGANGPPenalty"] and wgan[0].weight == 10
    assert float(wgan[0].value(step)) == pytest.approx((np.sqrt(3.0) - 1) ** 2, rel=1e-5)
    assert [type(t).__name__ for t in losses.discriminator_terms(preset_config("dragan-64"))] == ["DRAGANPenalty"]

    pggan = losses.discriminator_terms(preset_config("pggan-256"))
    assert [type(t).__name__ for t in pggan] == ["WGANGPPenalty", "DriftPenalty"]
    assert float(pggan[1].value(step)) == pytest.approx(36.0)  # D(x) = 12 * 0.5 = 6 for both reals

    acgan = preset_config("acgan-cifar-like")
    (aux,) = losses.discriminator_terms(acgan)
    expected = float(losses.auxiliary_classifier_loss(step.real_classes, step.labels)) + acgan.auxiliary_fake_weight * float(
        losses.auxiliary_classifier_loss(step.fake_classes, step.labels))
    assert float(aux.value(step)) == pytest.approx(expected, rel=1e-5)
    assert float(aux.diagnostics(step)["aux_real_accuracy"]) == 1.0
    assert [t.name for t in losses.generator_terms(acgan)] == ["g_aux_loss"]

    assert losses.discriminator_terms(preset_config("dcgan-64")) == []
    with pytest.raises(ValueError, match="needs a reconstruction distance"):
        losses.discriminator_terms(preset_config("fastgan-64"))


def test_same_label_partners_pair_each_sample_with_another_of_its_class():
    partner, valid = losses.same_label_partners(tf.constant([0, 1, 0, 2, 1, 0]))
    assert valid.numpy().tolist() == [True, True, True, False, True, True]
    partner = partner.numpy()
    assert (partner[0], partner[1], partner[2], partner[4], partner[5]) == (2, 4, 0, 1, 0)


def test_mode_seeking_loss_is_the_reciprocal_of_image_over_latent_distance():
    # Samples 0 and 1 share class 0 (partners of each other); sample 2 is alone in class 1.
    images = tf.constant([np.full((2, 2, 3), 0.5), np.full((2, 2, 3), -0.5), np.full((2, 2, 3), 9.0)], tf.float32)
    latents = tf.constant([[0.0, 0.0], [2.0, 2.0], [5.0, -5.0]], tf.float32)
    labels = tf.constant([0, 0, 1])
    # d_I = 1 for both pairs, d_z = 2: ratio 0.5; the lone sample counts for nothing.
    assert float(losses.mode_seeking_loss(images, latents, labels)) == pytest.approx(1 / (0.5 + 1e-5), rel=1e-6)
    # A generator that ignores z is punished hard; one with no same-class pairs is not punished.
    collapsed = tf.concat([images[:1], images[:1], images[2:]], axis=0)
    assert float(losses.mode_seeking_loss(collapsed, latents, labels)) == pytest.approx(1e5, rel=1e-6)
    assert float(losses.mode_seeking_loss(images, latents, tf.constant([0, 1, 2]))) == 0.0


def test_mode_seeking_gradient_pushes_same_class_fakes_apart():
    images = tf.Variable(tf.constant([np.full((2, 2, 3), 0.1), np.full((2, 2, 3), -0.1)], tf.float32))
    latents = tf.constant([[1.0], [-1.0]])
    with tf.GradientTape() as tape:
        loss = losses.mode_seeking_loss(images, latents, tf.constant([3, 3]))
    gradient = tape.gradient(loss, images).numpy()
    # Descending the loss raises the first image and lowers the second.
    assert (gradient[0] < 0).all() and (gradient[1] > 0).all()


def test_mode_seeking_term_is_built_from_the_configuration():
    from keras_gans.config import apply_overrides, preset_config

    config = apply_overrides(preset_config("stylegan-conditional-64"), {"mode_seeking_weight": 0.5}, "test")
    (term,) = losses.generator_terms(config)
    assert type(term).__name__ == "ModeSeekingLoss" and term.weight == 0.5 and term.name == "mode_seeking_loss"
    assert losses.generator_terms(preset_config("stylegan-conditional-64")) == []
