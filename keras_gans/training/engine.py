"""The one training engine every model uses: a ``keras.Model`` holding a generator, a
discriminator and (optionally) an EMA copy of the generator, trained with ``fit()``.

It knows nothing model-specific beyond what the model's :class:`~keras_gans.config.GANConfig`
declares: the loss pair, the penalties and their intervals, ``n_critic``, conditioning, EMA
and style mixing. A style-based generator declares its mapping and synthesis networks and its
truncation layer (keras_gans.models.common.generator_parts).
"""
from __future__ import annotations

import warnings

import keras
import tensorflow as tf

from keras_gans import losses
from keras_gans.augment import ada_adjustment, ada_augment, diff_augment, parse_policy
from keras_gans.config import GANConfig, get_model
from keras_gans.layers.fade import FadeIn
from keras_gans.metrics.perceptual import EffNetPerceptualDistance
from keras_gans.models.common import generator_parts
from keras_gans.replicas import across_replicas, per_replica
from keras_gans.training.ema import ema_beta, update_ema
from keras_gans.training.optimizers import FusedAdam
from keras_gans.training.schedules import blend_reals, instance_noise_std, ProgressiveSchedule
from keras_gans.training.strategy import bfloat16_is_emulated


class _Untracked:
    """Holds an object out of Keras' and tf.train.Checkpoint's reach (a frozen yardstick whose
    weights come from elsewhere and must not fill every checkpoint)."""

    def __init__(self, value):
        self.value = value


class GAN(keras.Model):
    """Adversarial training of ``generator`` against ``discriminator``.

    Batches are ``(images, labels)`` with images in [-1, 1] and int32 labels (ignored when the
    config is unconditional); with ``n_critic`` > 1 each batch holds ``n_critic`` times the
    per-step batch, one slice per critic update.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, config: GANConfig, seed=None, **kwargs):
        super().__init__(name=kwargs.pop("name", "gan"), **kwargs)
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        if config.ema_halflife_kimg > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        else:
            self.ema_generator = generator
        # Batch-norm statistics and spectral norm's power-iteration vectors are not averaged: the
        # EMA generator takes the live generator's each step (as BigGAN's EMA copies its buffers).
        # Without them it would normalise with its initial statistics, or divide its kernels by
        # sigmas estimated from random vectors, and paint noise or a flat grey.
        self.ema_statistics = [
            (ema_variable, variable)
            for ema_variable, variable in zip(self.ema_generator.non_trainable_variables, generator.non_trainable_variables)
            if self.ema_generator is not generator and variable.name in ("moving_mean", "moving_variance", "u")
        ]
        self.d_loss_fn, self.g_loss_fn = losses.get_loss_pair(config.loss)
        self.latent_seed = keras.random.SeedGenerator(seed)
        self.augment_policy = parse_policy(config.diffaugment_policy) if config.augment == "diffaug" else ()
        self.ada = config.augment == "ada"
        if self.augment_policy or self.ada:
            self.augment_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        if self.ada:
            # ADA's p and its running sum of sign(D(real)): variables of the model, so that
            # checkpoints keep them and a resumed run continues with the same p.
            self.augment_p = keras.Variable(
                config.augment_p, dtype="float32", trainable=False, name="augment_p", aggregation="only_first_replica"
            )
            self.ada_signs = keras.Variable(
                [0.0, 0.0], dtype="float32", trainable=False, name="ada_sign_sum_and_count", aggregation="only_first_replica"
            )
        # Counted once per global step, whatever the number of replicas.
        self.images_seen = keras.Variable(
            0, dtype="int64", trainable=False, name="images_seen", aggregation="only_first_replica"
        )
        self.steps_done = keras.Variable(
            0, dtype="int64", trainable=False, name="steps_done", aggregation="only_first_replica"
        )
        # A style-based generator declares its mapping, synthesis and truncation (models.common).
        parts = generator_parts(generator)
        self.mapping, self.synthesis = parts.mapping, parts.synthesis
        self.style_based = parts.style_based
        if self.style_based:
            self.num_ws = int(self.synthesis.inputs[0].shape[1])
            self.truncations = [parts.truncation]
            if self.ema_generator is not generator:
                self.truncations.append(generator_parts(self.ema_generator).truncation)
        # A self-supervised discriminator (FastGAN) outputs [logits, decoded images..., quarter].
        # Fakes, the generator's step and the penalties use a model of the same layers that
        # stops at the logits, so the decoders only ever run on real images.
        self.reconstructs = config.reconstruction_weight > 0
        self.score_discriminator = discriminator
        if self.reconstructs:
            if len(discriminator.outputs) != 5:
                raise ValueError(
                    f"reconstruction_weight > 0 needs a discriminator with reconstruction outputs "
                    f"(FastGAN's); {discriminator.name} has {len(discriminator.outputs)} output(s)"
                )
            self.score_discriminator = keras.Model(
                discriminator.inputs, discriminator.outputs[0], name=f"{discriminator.name}_scores"
            )
            self._perceptual = _Untracked(EffNetPerceptualDistance())
        # The optional loss terms the configuration asks for, built once (keras_gans.losses).
        self.d_terms = losses.discriminator_terms(
            config, self._reconstruction_distance if self.reconstructs else None
        )
        self.g_terms = losses.generator_terms(config)
        # Only what this configuration computes is tracked (and so logged): no constant zeros for
        # penalties that are off.
        tracked = ["d_loss", "g_loss", "d_real", "d_fake"]
        for term in self.d_terms + self.g_terms:
            tracked += [term.name, *term.diagnostic_names]
        if self.ada:
            # r_t, ADA's overfitting heuristic E[sign(D(real))], beside the p it steers.
            tracked += ["augment_p", "augment_rt"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}
        self.joint_discriminator_batch = not self.reconstructs and config.joint_discriminator_batch and not any(
            isinstance(layer, keras.layers.BatchNormalization) for layer in discriminator._flatten_layers()
        )
        # AC-GAN discriminators classify instead of taking the label as an input.
        self.discriminator_takes_label = config.conditional and len(discriminator.inputs) > 1
        self.auxiliary_classifier = config.auxiliary_classifier_weight > 0
        # Progressive growing: every FadeIn layer's alpha follows the images-shown schedule.
        self.fade_layers = []
        if config.progressive:
            self.progressive_schedule = ProgressiveSchedule(
                config.progressive_start_resolution, config.resolution, config.fade_kimg, config.stable_kimg
            )
            models = {id(m): m for m in (generator, self.ema_generator, discriminator)}.values()
            self.fade_layers = [
                layer for model in models for layer in model._flatten_layers() if isinstance(layer, FadeIn)
            ]

    # -- Keras plumbing --------------------------------------------------------------------------

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        config = self.config
        self.g_optimizer = g_optimizer or FusedAdam(
            config.g_learning_rate, beta_1=config.adam_beta1, beta_2=config.adam_beta2, epsilon=config.adam_epsilon
        )
        d_lr, d_beta1, d_beta2 = config.d_learning_rate, config.adam_beta1, config.adam_beta2
        if config.r1_weight > 0 and config.r1_interval > 1 and config.lazy_r1_adam_scaling:
            c = config.r1_interval / (config.r1_interval + 1)
            d_lr, d_beta1, d_beta2 = d_lr * c, d_beta1**c, d_beta2**c
        self.d_optimizer = d_optimizer or FusedAdam(d_lr, beta_1=d_beta1, beta_2=d_beta2, epsilon=config.adam_epsilon)
        kwargs.setdefault("jit_compile", config.jit_compile)
        kwargs.setdefault("steps_per_execution", config.steps_per_execution)
        super().compile(optimizer=None, **kwargs)
        # Build optimizer slots now, so a checkpoint can be restored before the first step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to do: build() and compile() build the networks and optimizers. Keras' own
        version (run by fit() under a distribution strategy) reduces the first batch over the
        replicas to trace the model with it, which fails for MultiWorkerMirroredStrategy's
        per-replica batches ("Attempt to convert a value (PerReplica ...)", Keras 3.15)."""

    def make_train_function(self, force=False):
        """Keras' own function on one replica; under a strategy with several, our own.

        Keras runs several steps in a ``tf.while_loop`` whose body calls ``strategy.run`` inside
        a ``tf.cond`` on an optional of the next batch; under MirroredStrategy that graph fails
        at run time ("You must feed a value for placeholder tensor ... with dtype int32",
        Keras 3.15 / TensorFlow 2.21, even for a one-layer Sequential model). The training loop
        here always asks for whole executions (training.run rounds its steps to multiples of
        ``steps_per_execution``) from a repeating dataset, so the steps can simply be unrolled.
        Keras' reduction of the logs fails under MultiWorkerMirroredStrategy even for one step
        per execution ("Invalid reduction dimension 0 for input with 0 dimensions"), so every
        multi-replica run takes this path and averages the logs with ``strategy.reduce``.
        """
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy
        steps = self.steps_per_execution
        if strategy.num_replicas_in_sync == 1 or self.run_eagerly:
            return super().make_train_function(force)

        @tf.function
        def unrolled_steps(iterator):
            for _ in range(steps):
                outputs = strategy.run(self.train_step, args=(next(iterator),))
            # As Keras does for fit(): each replica's tracker results, averaged.
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), outputs)

        self.train_function = unrolled_steps
        return unrolled_steps

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        """Discriminator logits for a batch of images: what ``fit()`` sees as model input when a
        distribution strategy builds the model. Sample with ``ema_generator`` instead."""
        images = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        labels = inputs[1] if isinstance(inputs, (tuple, list)) and len(inputs) > 1 else None
        if self.discriminator_takes_label:
            return self.discriminator([images, labels], training=training)
        return self.discriminator(images, training=training)

    def build(self, input_shape=None):
        self.built = True

    @property
    def images_per_step(self) -> int:
        return self.config.batch_size * self.config.n_critic

    # -- Sampling ----------------------------------------------------------------------------------

    def _latents(self, batch):
        return per_replica(lambda shape: keras.random.normal(shape, seed=self.latent_seed), batch, self.config.latent_dim)

    def _generator_inputs(self, z, labels):
        return [z, labels] if self.config.conditional else z

    def _discriminate_with_classes(self, images, labels, training=True, augmented=False):
        """(logits, class logits or None): AC-GAN discriminators also output class logits.

        Every image the discriminator sees in training passes through the augmentation here,
        reals and fakes alike, and so do the points of R1 and the gradient penalties, whose
        gradients flow back through it to the unaugmented images (as in StyleGAN2-ADA).
        """
        if not augmented:
            images = self._augment(images, training)
        inputs = [images, labels] if self.discriminator_takes_label else images
        outputs = self.score_discriminator(inputs, training=training)
        if self.auxiliary_classifier:
            return outputs[0], outputs[1]
        return outputs, None

    def _augment(self, images, training=True):
        if self.augment_policy and training:
            return diff_augment(images, self.augment_policy, self.augment_seed,
                                self.config.diffaugment_translation_ratio, self.config.diffaugment_cutout_ratio)
        if self.ada and training:
            return ada_augment(images, self.augment_p, self.augment_seed, self.config.ada_transforms(), self.config.ada_hue_max)
        return images

    def _track_real_signs(self, real_logits):
        """Adds this step's sign(D(real)) to ADA's running sum (summed over replicas)."""
        logits = tf.reshape(tf.cast(real_logits, tf.float32), [-1])
        totals = tf.stack([tf.reduce_sum(tf.sign(logits)), tf.cast(tf.size(logits), tf.float32)])
        self.ada_signs.assign_add(across_replicas("SUM", totals))

    def _adjust_augment_p(self):
        """Every ada_interval steps, ADA's p moves toward keeping r_t at ada_target.

        Selected with tf.where rather than a tf.cond around the assignments: under a
        distribution strategy those are cross-replica updates, which cannot sit in control flow."""
        config = self.config
        signs, count = self.ada_signs[0], self.ada_signs[1]
        images = config.batch_size * config.n_critic * config.ada_interval
        adjusted = ada_adjustment(self.augment_p, signs / tf.maximum(count, 1.0), config.ada_target, images, config.augment_speed_kimg)
        due = tf.equal((self.steps_done + 1) % config.ada_interval, 0)
        self.augment_p.assign(tf.where(due, adjusted, self.augment_p))
        self.ada_signs.assign(tf.where(due, tf.zeros([2]), self.ada_signs))

    def _discriminate_and_decode(self, real):
        """(logits, (decoded whole, decoded small, decoded quarter, quarter, augmented reals)):
        real images through the whole self-supervised discriminator (FastGAN)."""
        real = self._augment(real)
        logits, whole, small, part, quarter = self.discriminator(real, training=True)
        return logits, (whole, small, part, quarter, real)

    def _reconstruction_distance(self, decoded, target):
        """FastGAN's reconstruction distance here: EfficientNet-Lite0 LPIPS plus L1 (the paper's
        LPIPS runs on VGG, whose weights cannot be fetched on this project's machines)."""
        return self._perceptual.value(decoded, target) + losses.l1_distance(decoded, target)

    def _discriminate(self, images, labels, training=True):
        return self._discriminate_with_classes(images, labels, training)[0]

    def _instance_noise(self, images):
        """Gaussian instance noise on discriminator inputs, annealed over images shown."""
        if self.config.instance_noise_std <= 0:
            return images
        std = instance_noise_std(self.images_seen, self.config.instance_noise_std, self.config.instance_noise_kimg)
        noise = per_replica(
            lambda shape: keras.random.normal(shape, seed=self.latent_seed, dtype=images.dtype),
            tf.shape(images)[0], *images.shape[1:],
        )
        return images + tf.cast(std, images.dtype) * noise

    def generate_for_training(self, batch, labels):
        """Fakes for a training step, with style mixing for style-based generators.

        Returns (images, w, z): w is the unmixed mapped latent (None for other generators), z
        the latent the images were drawn from (the first one, where styles are mixed).
        """
        z = self._latents(batch)
        if not self.style_based:
            return self.generator(self._generator_inputs(z, labels), training=True), None, z
        w = self.mapping(self._generator_inputs(z, labels), training=True)
        ws = tf.repeat(w[:, None, :], self.num_ws, axis=1)
        if self.config.style_mixing_prob > 0:
            # Style mixing regularization (StyleGAN sec. 3.1): from a random layer on, the
            # styles come from a second latent.
            mix = keras.random.uniform((), seed=self.latent_seed) < self.config.style_mixing_prob

            def mixed():
                # The second mapping pass only runs on the steps that mix.
                w2 = self.mapping(self._generator_inputs(self._latents(batch), labels), training=True)
                crossover = keras.random.randint((), 1, self.num_ws, seed=self.latent_seed)
                use_first = tf.range(self.num_ws)[None, :, None] < crossover
                return tf.where(use_first, ws, tf.repeat(w2[:, None, :], self.num_ws, axis=1))

            ws = tf.cond(mix, mixed, lambda: ws)
        return self.synthesis(ws, training=True), w, z

    # -- Penalties ---------------------------------------------------------------------------------

    def _gradients_at(self, points, labels):
        with tf.GradientTape() as tape:
            tape.watch(points)
            logit_sum = tf.reduce_sum(tf.cast(self._discriminate(points, labels), tf.float32))
        return tape.gradient(logit_sum, points)

    def _lazy_term_gradients(self, term, real, fakes, labels):
        """Gradients of one lazy term alone (R1 every ``r1_interval`` steps), scaled by its
        weight and interval; a lazy term sees the images and D's gradients, not the logits."""
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            value = term.value(_DiscriminatorStep(self, real, fakes, labels))
            scaled = value * term.weight * term.interval
        gradients = tape.gradient(scaled, variables)
        # Biases of the last layer do not affect input gradients: their R1 gradient is None.
        return [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(gradients, variables)], value

    # -- One training step ---------------------------------------------------------------------------

    def _replica_scale(self):
        return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync

    def _discriminate_pair(self, step, joint=True):
        """Fills ``step``'s logits and class logits for its reals and fakes (and, for FastGAN, the
        decoders' outputs on the reals).

        When the discriminator treats samples independently (no batch normalization), reals and
        fakes go through it as one batch: half the kernel launches, and larger convolutions that
        use the CPU better. Minibatch standard deviation groups consecutive samples, so its groups
        never mix the two halves.
        """
        real, fakes, labels = step.real, step.fakes, step.labels
        if self.reconstructs:
            step.real_logits, step.decoded = self._discriminate_and_decode(real)
            step.fake_logits, _ = self._discriminate_with_classes(fakes, labels)
            return
        if not (joint and self.joint_discriminator_batch):
            step.real_logits, step.real_classes = self._discriminate_with_classes(real, labels)
            step.fake_logits, step.fake_classes = self._discriminate_with_classes(fakes, labels)
            return
        batch = tf.shape(real)[0]
        # Augmented apart, then joined: each draw's rows are then this replica's rows of the
        # global batch's draw (keras_gans.replicas), as on one device.
        joined = tf.concat([self._augment(real), self._augment(tf.cast(fakes, real.dtype))], axis=0)
        logits, classes = self._discriminate_with_classes(joined, tf.concat([labels, labels], axis=0), augmented=True)
        step.real_logits, step.fake_logits = logits[:batch], logits[batch:]
        if classes is not None:
            step.real_classes, step.fake_classes = classes[:batch], classes[batch:]

    def _discriminator_step(self, real, labels, fakes=None):
        batch = tf.shape(real)[0]
        if fakes is None:
            fakes, _, _ = self.generate_for_training(batch, labels)
        fakes = tf.stop_gradient(fakes)
        real, fakes = self._instance_noise(real), self._instance_noise(tf.cast(fakes, real.dtype))
        variables = self.discriminator.trainable_variables
        terms = [term for term in self.d_terms if not term.lazy]
        step = _DiscriminatorStep(self, real, fakes, labels)
        with tf.GradientTape() as tape:
            if any(isinstance(term, losses.R1Regularization) for term in terms):
                # R1 on every step: D's input gradients come from the same forward pass as the
                # loss. Not joint here: R1's second-order pass would also run through the fakes.
                with tf.GradientTape() as r1_tape:
                    r1_tape.watch(real)
                    self._discriminate_pair(step, joint=False)
                    real_logit_sum = tf.reduce_sum(tf.cast(step.real_logits, tf.float32))
                step.known_real_gradients = r1_tape.gradient(real_logit_sum, real)
            else:
                self._discriminate_pair(step)
            d_loss = self.d_loss_fn(step.real_logits, step.fake_logits)
            values = {term.name: term.value(step) for term in terms}
            total = d_loss
            for term in terms:
                total += term.weight * values[term.name]
            total *= self._replica_scale()
        gradients = tape.gradient(total, variables)
        for term in self.d_terms:
            if not term.lazy:
                continue
            due = tf.equal(self.steps_done % term.interval, 0)
            lazy_gradients, values[term.name] = tf.cond(
                due,
                lambda term=term: self._lazy_term_gradients(term, real, fakes, labels),
                lambda: ([tf.zeros_like(v) for v in variables], tf.constant(0.0)),
            )
            scale = self._replica_scale()
            gradients = [g + scale * r for g, r in zip(gradients, lazy_gradients)]
        self.d_optimizer.apply(gradients, variables)
        if self.ada and self.config.augment_adjust:
            self._track_real_signs(step.real_logits)
        logs = {
            "d_loss": d_loss,
            "d_real": tf.reduce_mean(tf.cast(step.real_logits, tf.float32)),
            "d_fake": tf.reduce_mean(tf.cast(step.fake_logits, tf.float32)),
            **values,
        }
        if self.ada:
            logs["augment_rt"] = tf.reduce_mean(tf.sign(tf.cast(step.real_logits, tf.float32)))
        for term in terms:
            logs.update(term.diagnostics(step))
        return logs

    def _generator_loss(self, fakes, labels, z):
        """(generator loss, the total to differentiate) for fakes (drawn from latents z) recorded
        on the caller's tape."""
        step = _GeneratorStep(fakes, z, labels)
        step.fake_logits, step.fake_classes = self._discriminate_with_classes(self._instance_noise(fakes), labels)
        g_loss = self.g_loss_fn(step.fake_logits)
        total = g_loss
        for term in self.g_terms:
            value = term.value(step)
            total += term.weight * value
            self.trackers[term.name].update_state(value)
        return g_loss, total * self._replica_scale()

    def _apply_generator_gradients(self, tape, total):
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(total, variables), variables)

    def _generator_step(self, labels):
        with tf.GradientTape() as tape:
            fakes, w, z = self.generate_for_training(tf.shape(labels)[0], labels)
            g_loss, total = self._generator_loss(fakes, labels, z)
        self._apply_generator_gradients(tape, total)
        return g_loss, w

    def _update_averages(self, w):
        config = self.config
        if self.style_based and w is not None:
            batch_mean = across_replicas("MEAN", tf.reduce_mean(tf.cast(w, tf.float32), axis=0))
            for truncation in self.truncations:
                # Tracked mean w for the truncation trick (StyleGAN appendix B).
                truncation.w_avg.assign(batch_mean + config.w_avg_beta * (truncation.w_avg - batch_mean))
        if self.ema_generator is not self.generator:
            beta = ema_beta(config.batch_size, self.images_seen, config.ema_halflife_kimg, config.ema_rampup)
            update_ema(self.ema_generator.trainable_variables, self.generator.trainable_variables, beta)
            for ema_variable, variable in self.ema_statistics:
                ema_variable.assign(variable)

    def train_step(self, data):
        images, labels = data
        config = self.config
        images = tf.cast(images, tf.float32)
        labels = tf.cast(labels, tf.int32)
        # Under a distribution strategy each replica sees its share of the global batch.
        batch = tf.shape(images)[0] // config.n_critic
        if self.fade_layers:
            # Fade-in alpha from images shown (a resumed run continues with the same alpha); reals
            # crossfade between resolutions as the generator's output does.
            alpha = self.progressive_schedule.alpha_tensor(self.images_seen, config.resolution)
            for layer in self.fade_layers:
                layer.alpha.assign(alpha)
            images = blend_reals(images, alpha)
        if config.share_fakes and config.n_critic == 1:
            # One generator forward pass serves both updates: D learns on G(z), then G is updated
            # through the *updated* D on the same G(z), as alternating training does.
            with tf.GradientTape() as g_tape:
                fakes, w, z = self.generate_for_training(batch, labels)
                with g_tape.stop_recording():
                    d_logs = self._discriminator_step(images, labels, fakes=fakes)
                g_loss, total = self._generator_loss(fakes, labels, z)
            self._apply_generator_gradients(g_tape, total)
        else:
            for critic_step in range(config.n_critic):
                chunk = slice(critic_step * batch, (critic_step + 1) * batch)
                d_logs = self._discriminator_step(images[chunk], labels[chunk])
            g_loss, w = self._generator_step(labels[:batch])
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.images_seen.assign_add(tf.cast(tf.shape(images)[0] * replicas, tf.int64))
        self._update_averages(w)
        if self.ada:
            if config.augment_adjust:
                self._adjust_augment_p()
            d_logs["augment_p"] = tf.identity(self.augment_p)
        self.steps_done.assign_add(1)
        for name, value in {**d_logs, "g_loss": g_loss}.items():
            if name in self.trackers:
                self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class _DiscriminatorStep:
    """What one discriminator update knows, for the loss terms (keras_gans.losses.DiscriminatorStep).
    Input gradients at the reals are computed once, by the fused R1 pass or on first request."""

    def __init__(self, gan: GAN, real, fakes, labels):
        self.gan, self.real, self.fakes, self.labels = gan, real, fakes, labels
        self.seed = gan.latent_seed
        self.real_logits = self.fake_logits = self.real_classes = self.fake_classes = None
        self.decoded = None
        self.known_real_gradients = None

    def gradients_at(self, points):
        return self.gan._gradients_at(points, self.labels)

    def real_gradients(self):
        if self.known_real_gradients is None:
            self.known_real_gradients = self.gradients_at(self.real)
        return self.known_real_gradients

    def reconstruction(self, distance):
        whole, small, part, quarter, augmented = self.decoded
        return losses.fastgan_reconstruction_loss(whole, small, part, quarter, augmented, distance)


class _GeneratorStep:
    """What the generator's update knows, for its loss terms (the fakes, their latents, the
    labels asked for, D's outputs)."""

    def __init__(self, fakes, latents, labels):
        self.fakes, self.latents, self.labels = fakes, latents, labels
        self.fake_logits = self.fake_classes = None


def build_gan(config: GANConfig, seed=None) -> GAN:
    """Build the registered model's generator and discriminator and wrap them in the engine."""

    if config.mixed_precision:
        if bfloat16_is_emulated():
            warnings.warn(
                "mixed_precision: this CPU has no bfloat16 arithmetic (no AVX-512 BF16 or AMX) and there is no "
                "GPU, so bfloat16 is emulated and trains several times slower than float32 here "
                "(docs/benchmarks.md); leave mixed_precision off on this machine.",
                stacklevel=2,
            )
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    entry = get_model(config.model_name)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    generator = entry.build_generator(config)
    discriminator = entry.build_discriminator(config)
    gan = GAN(generator, discriminator, config, seed=seed)
    keras.mixed_precision.set_global_policy("float32")
    return gan
