"""GAN losses and penalties as small pure functions, each named after the paper that introduced it.

Logits are the raw discriminator outputs of shape (batch, 1) or (batch,). Losses return scalars
(means over the batch); penalties return one value per sample so that the engine decides the
weighting and the schedule.

The optional terms a configuration asks for (R1, lazy or not, WGAN-GP, DRAGAN, drift, AC-GAN's
auxiliary loss, FastGAN's reconstruction loss) are small :class:`Term` objects built once from
the configuration by :func:`discriminator_terms` and :func:`generator_terms`; the engine adds
up their weighted values instead of branching on settings.
"""
from __future__ import annotations

from typing import Callable, Protocol

import keras
import tensorflow as tf

from keras_gans.layers.gating import crop_quarter
from keras_gans.replicas import across_replicas, per_replica


def _flat(logits):
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


# --- Goodfellow et al. 2014, "Generative Adversarial Nets" -------------------------------------

def logistic_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of D: -log D(x) - log(1 - D(G(z))) (Goodfellow et al. 2014, eq. 1)."""
    return tf.reduce_mean(tf.nn.softplus(-_flat(real_logits))) + tf.reduce_mean(
        tf.nn.softplus(_flat(fake_logits))
    )


def nonsaturating_generator_loss(fake_logits):
    """-log D(G(z)), the non-saturating generator loss (Goodfellow et al. 2014, sec. 3)."""
    return tf.reduce_mean(tf.nn.softplus(-_flat(fake_logits)))


# --- Mao et al. 2017, "Least Squares Generative Adversarial Networks" -----------------------------

def least_squares_discriminator_loss(real_logits, fake_logits, real_target=1.0, fake_target=-1.0):
    """LSGAN discriminator loss (Mao et al. 2017, eq. 2): mean squared error to the targets.

    The StyleGAN article's Keras code trains D with ``mse`` against +1 for reals and -1 for
    fakes, which is LSGAN with a=-1, b=1.
    """
    return tf.reduce_mean(tf.square(_flat(real_logits) - real_target)) + tf.reduce_mean(
        tf.square(_flat(fake_logits) - fake_target)
    )


def least_squares_generator_loss(fake_logits, target=1.0):
    """LSGAN generator loss (Mao et al. 2017, eq. 2) with c = ``target``."""
    return tf.reduce_mean(tf.square(_flat(fake_logits) - target))


# --- Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018 -----------------------------------------

def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge loss for D (Lim & Ye 2017; used by SN-GAN, Miyato et al. 2018, eq. 16)."""
    return tf.reduce_mean(tf.nn.relu(1.0 - _flat(real_logits))) + tf.reduce_mean(
        tf.nn.relu(1.0 + _flat(fake_logits))
    )


def hinge_generator_loss(fake_logits):
    """-D(G(z)), the generator side of the hinge loss (Lim & Ye 2017)."""
    return -tf.reduce_mean(_flat(fake_logits))


# --- Arjovsky et al. 2017, "Wasserstein GAN" --------------------------------------------------------

def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss D(G(z)) - D(x) (Arjovsky et al. 2017, alg. 1)."""
    return tf.reduce_mean(_flat(fake_logits)) - tf.reduce_mean(_flat(real_logits))


def wasserstein_generator_loss(fake_logits):
    """Generator loss -D(G(z)) (Arjovsky et al. 2017, alg. 1)."""
    return -tf.reduce_mean(_flat(fake_logits))


# --- Penalties -------------------------------------------------------------------------------------

def _squared_gradient_norm(gradients):
    axes = list(range(1, len(gradients.shape)))
    return tf.reduce_sum(tf.square(tf.cast(gradients, tf.float32)), axis=axes)


def r1_penalty(real_gradients):
    """||grad_x D(x)||^2 per real sample (Mescheder et al. 2018, "Which Training Methods for GANs
    do actually Converge?", eq. 9). The engine multiplies by gamma / 2."""
    return _squared_gradient_norm(real_gradients)


def safe_norm(squared_norm, epsilon: float = 1e-12):
    """sqrt with a finite gradient at zero (the plain sqrt's gradient is infinite there)."""
    return tf.sqrt(squared_norm + epsilon)


def wgan_gp_penalty(interpolate_gradients, target: float = 1.0):
    """(||grad D(x_hat)|| - 1)^2 per sample on random interpolates (Gulrajani et al. 2017,
    "Improved Training of Wasserstein GANs", alg. 1)."""
    return tf.square(safe_norm(_squared_gradient_norm(interpolate_gradients)) - target)


def dragan_penalty(perturbed_gradients, target: float = 1.0):
    """(||grad D(x + delta)|| - 1)^2 per sample around perturbed reals (Kodali et al. 2017,
    "On Convergence and Stability of GANs", eq. 3)."""
    return tf.square(safe_norm(_squared_gradient_norm(perturbed_gradients)) - target)


def drift_penalty(real_logits):
    """D(x)^2 per real sample, keeping critic outputs near zero (Karras et al. 2018, PGGAN,
    appendix A.1; weighted by eps_drift = 0.001)."""
    return tf.square(_flat(real_logits))


# --- Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs" ---------------

def auxiliary_classifier_loss(class_logits, labels):
    """-log P(C = c | X), the negative of AC-GAN's L_C (Odena et al. 2017, eq. 2), averaged over
    the batch: softmax cross-entropy of the auxiliary classifier's logits against the labels."""
    logits = tf.cast(class_logits, tf.float32)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def classification_accuracy(class_logits, labels):
    """Fraction of samples whose arg-max class logit is the label (a diagnostic, not a loss)."""
    predicted = tf.argmax(tf.cast(class_logits, tf.float32), axis=-1, output_type=tf.int32)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    return tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32))


# --- Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image
# Synthesis" (FastGAN) ---------------------------------------------------------------------------

def _resized(images, size):
    if images.shape[1] == size:
        return images
    return tf.image.resize(images, (size, size), method="area" if images.shape[1] > size else "bilinear")


def fastgan_reconstruction_loss(decoded_whole, decoded_small, decoded_quarter, quarter, images, distance):
    """FastGAN's self-supervision of D (Liu et al. 2021, sec. 3.2, eq. 3): the batch mean of
    distance(decoded, target) summed over its three decoders, where the targets are the real
    ``images`` D saw (after augmentation), the same images (rebuilt from D's half-size path) and
    the quarter ``quarter`` of them, each resized to the decoders' size. The paper's distance
    is LPIPS; ``distance`` is any (a, b) -> per-sample distance (the engine passes
    EfficientNet-Lite0 LPIPS plus L1, keras_gans.metrics.perceptual)."""
    images = tf.cast(images, tf.float32)
    size = decoded_whole.shape[1]
    whole = _resized(images, size)
    part = _resized(crop_quarter(images, quarter), size)
    total = tf.reduce_mean(distance(decoded_whole, whole))
    total += tf.reduce_mean(distance(decoded_small, whole))
    total += tf.reduce_mean(distance(decoded_quarter, part))
    return total


# --- Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse Image Synthesis" ---

def same_label_partners(labels):
    """(partner, valid) per sample: the index of the first other sample in the batch with the
    same label, and whether there is one (unconditional batches pass equal labels)."""
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    same = tf.logical_and(
        tf.equal(labels[:, None], labels[None, :]),
        tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool)),
    )
    return tf.argmax(tf.cast(same, tf.int32), axis=1, output_type=tf.int32), tf.reduce_any(same, axis=1)


def mode_seeking_loss(images, latents, labels, epsilon: float = 1e-5):
    """1 / (d_I / d_z + eps), MSGAN's mode-seeking term (Mao et al. 2019, eq. 3, in the
    reciprocal form of their reference code), for G to minimise: d_I is the mean absolute
    difference between fakes of the same class and d_z that between their latents, both
    averaged over every sample that has a same-class partner in the batch. Zero when no
    sample has one."""
    partner, valid = same_label_partners(labels)
    images = tf.cast(images, tf.float32)
    latents = tf.cast(latents, tf.float32)
    weights = tf.cast(valid, tf.float32)
    image_distance = tf.reduce_mean(
        tf.abs(images - tf.gather(images, partner)), axis=list(range(1, len(images.shape)))
    )
    latent_distance = tf.reduce_mean(tf.abs(latents - tf.gather(latents, partner)), axis=-1)
    pairs = tf.reduce_sum(weights)
    ratio = tf.math.divide_no_nan(tf.reduce_sum(weights * image_distance), tf.reduce_sum(weights * latent_distance))
    return tf.where(pairs > 0, 1.0 / (ratio + epsilon), 0.0)


def l1_distance(images_a, images_b):
    """Mean absolute difference per sample."""
    difference = tf.abs(tf.cast(images_a, tf.float32) - tf.cast(images_b, tf.float32))
    return tf.reduce_mean(difference, axis=list(range(1, len(difference.shape))))


LOSS_PAIRS = {
    # name: (discriminator loss, generator loss)
    "nonsaturating": (logistic_discriminator_loss, nonsaturating_generator_loss),
    "least-squares": (least_squares_discriminator_loss, least_squares_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
}


def get_loss_pair(name: str):
    try:
        return LOSS_PAIRS[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(sorted(LOSS_PAIRS))}") from None


# --- Optional terms, built once from the configuration ------------------------------------------

class DiscriminatorStep(Protocol):
    """What one discriminator update knows, as the engine exposes it to the terms (images after
    instance noise and before augmentation; logits and class logits of the augmented images)."""

    real: tf.Tensor
    fakes: tf.Tensor
    labels: tf.Tensor
    real_logits: tf.Tensor
    fake_logits: tf.Tensor
    real_classes: tf.Tensor | None
    fake_classes: tf.Tensor | None
    seed: keras.random.SeedGenerator

    def real_gradients(self) -> tf.Tensor: ...  # grad_x of sum D(x) at the reals
    def gradients_at(self, points) -> tf.Tensor: ...  # grad of sum D at any points
    def reconstruction(self, distance) -> tf.Tensor: ...  # FastGAN's decoders against their targets


class Term:
    """An optional loss term: its name in the logs, its weight, and its value for one step.

    ``interval`` > 1 makes it lazy (StyleGAN2, appendix B): the engine evaluates it every
    ``interval`` discriminator steps, in a pass of its own, multiplied by ``interval``.
    ``diagnostics`` are figures logged beside it (never differentiated)."""

    name: str = ""
    interval: int = 1
    diagnostic_names: tuple[str, ...] = ()

    def __init__(self, weight: float):
        self.weight = float(weight)

    @property
    def lazy(self) -> bool:
        return self.interval > 1

    def value(self, step) -> tf.Tensor:
        raise NotImplementedError

    def diagnostics(self, step) -> dict[str, tf.Tensor]:
        return {}

    def __repr__(self) -> str:
        lazy = f", every {self.interval} steps" if self.lazy else ""
        return f"{type(self).__name__}(weight={self.weight:g}{lazy})"


class R1Regularization(Term):
    """gamma / 2 * E ||grad D(x)||^2 on reals (Mescheder et al. 2018, eq. 9); lazy every
    ``interval`` steps as in StyleGAN2. ``weight`` is gamma / 2 (the config's r1_weight)."""

    name = "r1_penalty"

    def __init__(self, weight: float, interval: int = 1):
        super().__init__(weight)
        self.interval = int(interval)

    def value(self, step):
        return tf.reduce_mean(r1_penalty(step.real_gradients()))


def wgan_gp_points(real, fakes, seed):
    """Random interpolates x_hat = x + eps (G(z) - x), one eps ~ U[0, 1] per sample, where
    WGAN-GP evaluates its penalty (Gulrajani et al. 2017, alg. 1)."""
    epsilon = per_replica(lambda shape: keras.random.uniform(shape, seed=seed, dtype=real.dtype), tf.shape(real)[0], 1, 1, 1)
    return real + epsilon * (tf.cast(fakes, real.dtype) - real)


def dragan_points(real, seed):
    """Perturbed reals x + 0.5 * std(x) * U[0, 1), where DRAGAN evaluates its penalty
    (Kodali et al. 2017, sec. 4 and their reference code)."""
    # The spread of the global batch, not of this replica's share of it.
    mean = across_replicas("MEAN", tf.reduce_mean(real))
    variance = across_replicas("MEAN", tf.reduce_mean(tf.square(real - mean)))
    noise = per_replica(lambda shape: keras.random.uniform(shape, seed=seed, dtype=real.dtype), tf.shape(real)[0], *real.shape[1:])
    return real + 0.5 * tf.sqrt(variance) * noise


class WGANGPPenalty(Term):
    """(||grad D(x_hat)|| - 1)^2 on random interpolates of reals and fakes (Gulrajani et al. 2017)."""

    name = "gradient_penalty"

    def value(self, step):
        return tf.reduce_mean(wgan_gp_penalty(step.gradients_at(wgan_gp_points(step.real, step.fakes, step.seed))))


class DRAGANPenalty(Term):
    """(||grad D(x + delta)|| - 1)^2 around perturbed reals (Kodali et al. 2017)."""

    name = "gradient_penalty"

    def value(self, step):
        return tf.reduce_mean(dragan_penalty(step.gradients_at(dragan_points(step.real, step.seed))))


class DriftPenalty(Term):
    """eps_drift * E[D(x)^2] on reals (Karras et al. 2018, PGGAN, appendix A.1)."""

    name = "drift_penalty"

    def value(self, step):
        return tf.reduce_mean(drift_penalty(step.real_logits))


class AuxiliaryClassifierLoss(Term):
    """AC-GAN's class term for D (Odena et al. 2017, eq. 2): D maximises L_C on reals and, with
    ``fake_weight``, on fakes (0 trains its classifier on real images only)."""

    name = "d_aux_loss"
    diagnostic_names = ("aux_real_accuracy",)

    def __init__(self, weight: float, fake_weight: float = 1.0):
        super().__init__(weight)
        self.fake_weight = float(fake_weight)

    def value(self, step):
        loss = auxiliary_classifier_loss(step.real_classes, step.labels)
        if self.fake_weight:
            loss += self.fake_weight * auxiliary_classifier_loss(step.fake_classes, step.labels)
        return loss

    def diagnostics(self, step):
        return {"aux_real_accuracy": classification_accuracy(step.real_classes, step.labels)}


class GeneratorAuxiliaryClassifierLoss(Term):
    """AC-GAN's class term for G: G also maximises L_C, the log-likelihood of the requested class."""

    name = "g_aux_loss"

    def value(self, step):
        return auxiliary_classifier_loss(step.fake_classes, step.labels)


class ReconstructionLoss(Term):
    """FastGAN's self-supervision of D (Liu et al. 2021, eq. 3) with the given per-sample
    ``distance`` (see :func:`fastgan_reconstruction_loss`)."""

    name = "reconstruction_loss"

    def __init__(self, weight: float, distance: Callable):
        super().__init__(weight)
        self.distance = distance

    def value(self, step):
        return step.reconstruction(self.distance)


GRADIENT_PENALTIES = {"wgan-gp": WGANGPPenalty, "dragan": DRAGANPenalty}


def discriminator_terms(config, reconstruction_distance: Callable | None = None) -> list[Term]:
    """The optional terms of D's loss that ``config`` (a GANConfig) asks for."""
    terms: list[Term] = []
    if config.r1_weight > 0:
        terms.append(R1Regularization(config.r1_weight, config.r1_interval))
    if config.gradient_penalty != "none":
        if config.gradient_penalty not in GRADIENT_PENALTIES:
            raise ValueError(
                f"unknown gradient_penalty {config.gradient_penalty!r}; choose none, {', '.join(GRADIENT_PENALTIES)}"
            )
        terms.append(GRADIENT_PENALTIES[config.gradient_penalty](config.gradient_penalty_weight))
    if config.drift_weight > 0:
        terms.append(DriftPenalty(config.drift_weight))
    if config.auxiliary_classifier_weight > 0:
        terms.append(AuxiliaryClassifierLoss(config.auxiliary_classifier_weight, config.auxiliary_fake_weight))
    if config.reconstruction_weight > 0:
        if reconstruction_distance is None:
            raise ValueError("reconstruction_weight > 0 needs a reconstruction distance")
        terms.append(ReconstructionLoss(config.reconstruction_weight, reconstruction_distance))
    return terms


class ModeSeekingLoss(Term):
    """MSGAN's mode-seeking term for G (Mao et al. 2019): pairs of fakes of one class must
    differ in proportion to their latents (see :func:`mode_seeking_loss`)."""

    name = "mode_seeking_loss"

    def value(self, step):
        return mode_seeking_loss(step.fakes, step.latents, step.labels)


def generator_terms(config) -> list[Term]:
    """The optional terms of G's loss that ``config`` asks for."""
    terms: list[Term] = []
    if config.auxiliary_classifier_weight > 0:
        terms.append(GeneratorAuxiliaryClassifierLoss(config.auxiliary_classifier_weight))
    if config.mode_seeking_weight > 0:
        terms.append(ModeSeekingLoss(config.mode_seeking_weight))
    return terms
