"""A whole training run in one folder: resolved config, class list, checkpoints, TensorBoard
logs, sample grids and the final generator. Resuming is the default when the folder holds a
checkpoint.

Run folder layout::

    config.json        model name, model config, run settings
    classes.json       class names (empty list when unconditional)
    skipped_files.txt  every input file that was not used, with its reason
    checkpoints/       ckpt-<images seen>/ (the last K)
    logs/              TensorBoard event files
    samples/           fixed-seed EMA sample grids
    generator.keras    the final EMA generator (safe-mode loadable)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_gans.config import (
    check_model_config,
    config_differences,
    config_from_dict,
    config_to_dict,
    ConfigError,
    format_config,
    GANConfig,
)
from keras_gans.data.builtin import builtin_set_name, load_builtin_emoji
from keras_gans.data.folders import check_trainable, format_skipped, load_image_folder
from keras_gans.data.pipeline import array_dataset, tfrecord_training_dataset
from keras_gans.data.tfrecords import find_tfrecords, read_tfrecord_metadata
from keras_gans.generation import GenerationError, latents_for_seeds
from keras_gans.io import read_class_names, save_model_atomic, write_json_atomic, write_text_atomic
from keras_gans.training.callbacks import CheckpointCallback, NonFiniteGuard, ProgressCallback, TensorBoardCallback
from keras_gans.training.checkpoints import CHECKPOINT_PATTERN, CheckpointManager, latest_checkpoint, restore_generator
from keras_gans.training.engine import build_gan
from keras_gans.training.interrupts import StopOnSignal
from keras_gans.training.progressive import build_stage_for_images, train_progressive
from keras_gans.training.strategy import (
    PEER_LOST_ERRORS,
    cluster_workers,
    configure_cpu_threading,
    describe_strategy,
    is_chief,
    peer_loss_reason,
    select_strategy,
    worker_name,
)


class RunError(ValueError):
    """A run that cannot start as asked (config changed on resume, nothing left to train)."""


@dataclass
class RunSettings:
    """How long and how a run trains; not part of the model (may change on resume)."""

    out: str = "runs/default"
    data: str | None = None  # None: the default built-in set; "builtin:NAME" another one
    kimg: float = 100.0
    seed: int = 0
    crop: str = "center"
    flip: bool = True
    checkpoint_every_kimg: float = 5.0
    keep_checkpoints: int = 3
    sample_every_kimg: float = 5.0
    tick_kimg: float = 1.0
    strategy: str = "auto"
    cpu_devices: int = 0  # >1: mirror over that many logical CPU devices (testing tf.distribute)
    cpu_threading: str = "auto"  # see keras_gans.training.strategy.CPU_THREADING
    progress: bool = True
    # NaN or Inf in the losses: roll back to the last checkpoint with both learning rates times
    # divergence_lr_factor, at most max_divergences times per invocation, then stop.
    max_divergences: int = 3
    divergence_lr_factor: float = 0.5
    # The preset the model settings started from (before any --config or flags), recorded in
    # config.json for people and the gallery's about page; training never reads it.
    preset: str | None = None


def weights_digest(gan) -> str:
    """SHA-256 (first 16 hex digits) of the generator's and discriminator's weights."""
    digest = hashlib.sha256()
    for model in (gan.generator, gan.discriminator):
        for variable in model.weights:
            digest.update(np.ascontiguousarray(variable.numpy()).tobytes())
    return digest.hexdigest()[:16]


def saved_run_config(out: Path):
    path = out / "config.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return config_from_dict(saved["model"], saved["config"])


def prepare_run_folder(out: Path, config: GANConfig, fresh: bool, override: bool, config_explicit: bool):
    """Decide between a new run and a resume; returns (config to use, checkpoint or None).

    A resume with a changed model config is refused with the differences unless ``override``.
    When the user named no model settings at all, the saved config is simply reused.
    """

    checkpoint = latest_checkpoint(out / "checkpoints")
    if fresh and out.exists() and any(out.iterdir()):
        aside = out.with_name(f"{out.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        out.rename(aside)
        print(f"--fresh: moved the previous run aside to {aside}")
        return config, None
    if checkpoint is None:
        return config, None
    saved = saved_run_config(out)
    if saved is None:
        return config, checkpoint
    if not config_explicit:
        print(f"resuming {out} with the settings it was started with ({out / 'config.json'}); "
              "name model settings with --override to change them")
        return saved, checkpoint
    differences = config_differences(saved, dataclasses.replace(config, num_classes=saved.num_classes))
    if differences and not override:
        raise RunError(
            f"{out} holds a run whose model config differs from the one asked for:\n  "
            + "\n  ".join(differences)
            + "\nResume it without model flags, pass --override to resume with the new settings, "
            "or --fresh to start over (the old run is moved aside, not deleted)."
        )
    if differences:
        print("--override: resuming with changed settings:\n  " + "\n  ".join(differences))
    return config, checkpoint


def load_training_data(settings: RunSettings, config: GANConfig):
    """(ImageFolderData or None, tf.data pipeline factory, class names, description)."""


    builtin = builtin_set_name(settings.data)
    if builtin is not None:
        data = load_builtin_emoji(config.resolution, config.channels, name=builtin)
        source = f"built-in {builtin} (Noto Color Emoji)"
    else:
        shards = find_tfrecords(settings.data)
        if shards:
            meta = read_tfrecord_metadata(settings.data)
            if int(meta["channels"]) != config.channels:
                raise RunError(
                    f"the TFRecords in {settings.data} have {meta['channels']} channel(s), the model "
                    f"{config.channels}; re-run prepare with --channels {config.channels}"
                )
            count, classes = int(meta["count"]), list(meta.get("classes") or [])
            if count < config.batch_size * config.n_critic:
                raise RunError(f"{settings.data} has only {count} image(s), fewer than one batch")
            if config.conditional and len(classes) < 2:
                raise RunError(f"a conditional model needs labelled data; {settings.data} has no classes")

            def make(start_epoch):
                return tfrecord_training_dataset(
                    shards, config.resolution, config.channels, config.batch_size * config.n_critic,
                    count, settings.flip, settings.seed, start_epoch, class_run_length=config.class_run_length,
                )

            return None, make, classes, f"{count} images from {len(shards)} TFRecord shard(s) in {settings.data}"
        data = load_image_folder(settings.data, config.resolution, config.channels, settings.crop, progress=settings.progress)
        source = str(settings.data)
    check_trainable(data, config.batch_size * config.n_critic, config.conditional, source)

    def make(start_epoch):
        return array_dataset(
            data.images, data.labels, config.batch_size * config.n_critic, flip=settings.flip,
            seed=settings.seed, start_epoch=start_epoch, class_run_length=config.class_run_length,
        )

    description = f"{len(data.images)} images from {source}"
    if data.class_names:
        description += f" in {len(data.class_names)} classes"
    return data, make, data.class_names, description


# StyleGAN without augmentation stopped improving on 403 paintings once each had been shown 100
# to 200 times; with DiffAugment it went on (docs/quality.md, four seeds to 120 kimg).
SMALL_SET_PASSES = 150


def small_set_hint(config: GANConfig, image_count: int, kimg: float, builtin: bool = False) -> str | None:
    """A line suggesting DiffAugment when a StyleGAN without augmentation will see each image of
    a small set many times; None otherwise. A hint only: the preset's choice stands. Not for the
    built-in sets, whose presets were tuned on them (docs/quality.md)."""
    if builtin or config.model_name != "stylegan" or config.augment != "none" or image_count <= 0:
        return None
    passes = kimg * 1000 / image_count
    if passes < SMALL_SET_PASSES:
        return None
    return (f"hint: {kimg:g} kimg shows each of the {image_count} images about {passes:.0f} times. On 403 paintings "
            "StyleGAN without augmentation stopped improving after 100 to 200 passes, and with --augment diffaug "
            "it went on improving; --preset stylegan-small-set (DiffAugment and a wider discriminator) scored a KID "
            "33% below its own recipe without augmentation already at 100 passes (docs/quality.md, \"Past 80 kimg\" "
            "and \"A wider discriminator\")")


def _build_for_run(config, checkpoint, seed):
    """A compiled engine for the run; for progressive growing, the stage the checkpoint is in."""

    if config.progressive:
        images_seen = int(CHECKPOINT_PATTERN.match(checkpoint.name).group(1)) if checkpoint is not None else 0
        return build_stage_for_images(config, images_seen, seed=seed)
    gan = build_gan(config, seed=seed)
    gan.compile()
    return gan


def _fit_in_ticks(gan, dataset, total_images, settings, callbacks):
    """fit() until ``total_images`` were shown, an epoch being one TensorBoard tick."""
    per_step = gan.images_per_step
    spe = gan.config.steps_per_execution
    steps_left = math.ceil((total_images - int(gan.images_seen.numpy())) / per_step)
    steps_left = math.ceil(steps_left / spe) * spe
    tick_steps = max(spe, int(round(settings.tick_kimg * 1000 / per_step / spe)) * spe)
    full_ticks, remainder_steps = divmod(steps_left, tick_steps)
    # One fit() for all full ticks keeps one dataset iterator (no replayed shuffle order);
    # an epoch is a tick, so logged losses are averages over the tick.
    if full_ticks:
        gan.fit(dataset, steps_per_epoch=tick_steps, epochs=full_ticks, verbose=0, callbacks=callbacks, shuffle=False)
    if remainder_steps:
        gan.fit(dataset, steps_per_epoch=remainder_steps, epochs=1, verbose=0, callbacks=callbacks, shuffle=False)


def _roll_back(gan, manager, guard, divergences: int, settings: RunSettings) -> None:
    """After NaN/Inf losses: back to the last good checkpoint with lower learning rates, or a
    clear stop once ``max_divergences`` is exceeded."""

    seen, losses = guard.tripped_at
    checkpoint = latest_checkpoint(manager.directory)
    what = f"non-finite {', '.join(losses)} at {seen / 1000:g} kimg"
    if divergences > settings.max_divergences or checkpoint is None:
        reason = "no checkpoint to roll back to" if checkpoint is None else f"{divergences} times in this run"
        raise RunError(
            f"training diverged ({what}; {reason}). Lower the learning rates (--g-lr, --d-lr) or raise the "
            "penalties, then rerun; the last good checkpoint is kept"
        )
    manager.restore(checkpoint)
    factor = settings.divergence_lr_factor
    gan.learning_rate_scale = getattr(gan, "learning_rate_scale", 1.0) * factor
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        optimizer.learning_rate = float(optimizer.learning_rate.numpy()) * factor
    print(
        f"{what}: rolled back to {checkpoint.name}, learning rates x{factor:g} (now G "
        f"{float(gan.g_optimizer.learning_rate.numpy()):.3g}, D {float(gan.d_optimizer.learning_rate.numpy()):.3g}; "
        f"{gan.learning_rate_scale:g} of the configured, kept in the checkpoints' meta.json)"
    )
    guard.tripped_at = None
    gan.stop_training = False


def add_generator_source(parser):
    """The ``--run`` / ``--generator`` choice of the tools that read a trained generator
    (generate, project, export); :func:`load_generator` reads what it names."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder (its generator.keras, or its latest checkpoint)")
    source.add_argument("--generator", metavar="FILE.keras", help="a saved generator")
    return source


def load_generator(run=None, generator_path=None):
    """``(generator, class_names)`` from a run folder or a ``.keras`` file, in safe mode.

    The one place that reads a trained generator (generate, evaluate, the gallery, notebooks).
    A run that was interrupted before writing ``generator.keras`` is loaded from its latest
    checkpoint (its EMA generator).
    """
    import keras


    if (run is None) == (generator_path is None):
        raise GenerationError("give either a run folder or a generator .keras file")
    if generator_path is not None:
        path = Path(generator_path)
        if not path.is_file():
            raise GenerationError(f"generator file {path} does not exist")
        class_names = _read_classes(path.parent)
        return keras.saving.load_model(path, safe_mode=True, compile=False), class_names
    run = Path(run)
    if not run.is_dir():
        raise GenerationError(f"run folder {run} does not exist")
    class_names = _read_classes(run)
    final = run / "generator.keras"
    if final.is_file():
        return keras.saving.load_model(final, safe_mode=True, compile=False), class_names
    generator = generator_from_checkpoint(run)
    if generator is None:
        raise GenerationError(f"{run} has neither generator.keras nor a checkpoint; train it first")
    return generator, class_names


def _read_classes(folder: Path) -> list:
    try:
        return read_class_names(folder)
    except ValueError as error:
        raise GenerationError(str(error)) from None


def generator_from_checkpoint(run: Path):
    """The EMA generator of a run's latest checkpoint (for runs without generator.keras)."""

    checkpoint = latest_checkpoint(Path(run) / "checkpoints")
    config = saved_run_config(Path(run))
    if checkpoint is None or config is None:
        return None
    gan = _build_for_run(config, checkpoint, seed=None)
    restore_generator(gan, checkpoint)
    return gan.ema_generator


def train(config: GANConfig, settings: RunSettings, fresh=False, override=False, config_explicit=True, extra_callbacks=()):
    """Train (or resume) a run; returns the engine. Prints the resolved config at start."""
    # Before anything is touched: --fresh would otherwise move the old run aside for a model
    # that cannot be built.
    check_model_config(config)
    out = Path(settings.out)
    # First, while TensorFlow has not yet set up its devices and thread pools (--cpu-devices
    # splits the CPU). A resume without model settings trains the saved config's step.
    sized = config if (config_explicit or fresh) else (saved_run_config(out) or config)
    threading_line = configure_cpu_threading(settings.cpu_threading, sized.batch_size, sized.resolution,
                                             settings.cpu_devices, settings.strategy)
    strategy = select_strategy(settings.strategy, settings.cpu_devices)
    chief = is_chief(strategy)
    # Only the chief may move a run aside; the others start fresh with it.
    config, checkpoint = prepare_run_folder(out, config, fresh and chief, override, config_explicit)
    if fresh and not chief:
        checkpoint = None
    run_folder = out
    if not chief:
        # Every worker takes part in each checkpoint's write (reading mirrored and
        # sync-on-read variables is collective), but only the chief's lands in the run folder:
        # the others write into a scratch folder that is removed at the end.
        out = Path(tempfile.mkdtemp(prefix=f"keras_gans-{worker_name(strategy)}-"))
        print(f"{worker_name(strategy)}: the chief writes {run_folder}; this worker's copies go to {out} (removed at the end)")
    try:
        return _train(config, settings, out, checkpoint, strategy, extra_callbacks, threading_line)
    finally:
        if not chief:
            shutil.rmtree(out, ignore_errors=True)


def _train(config, settings, out, checkpoint, strategy, extra_callbacks, threading_line=""):
    data, make_dataset, class_names, description = load_training_data(settings, config)
    if config.conditional:
        if config.num_classes and checkpoint is not None and config.num_classes != len(class_names):
            raise RunError(
                f"the run was trained on {config.num_classes} classes, the data has {len(class_names)}"
            )
        config = dataclasses.replace(config, num_classes=len(class_names))
    total_images = int(round(settings.kimg * 1000))

    out.mkdir(parents=True, exist_ok=True)
    print(format_config(config, f"{config.model_name} configuration (resolved)"))
    print(f"data: {description}")
    hint = small_set_hint(config, len(data.images), settings.kimg, builtin_set_name(settings.data) is not None) \
        if data is not None else None
    if hint:
        print(hint)
    if data is not None and data.skipped:
        write_text_atomic(out / "skipped_files.txt", "".join(f"{p}\t{r}\n" for p, r in data.skipped))
        print(f"skipped {len(data.skipped)} file(s) (all listed in {out / 'skipped_files.txt'}):")
        print(format_skipped(data.skipped, limit=10))
    write_json_atomic(
        out / "config.json",
        {"model": config.model_name, "config": config_to_dict(config), "run": dataclasses.asdict(settings)},
    )
    write_json_atomic(out / "classes.json", list(class_names) if config.conditional else [])

    print(describe_strategy(strategy, config.batch_size))
    if threading_line:
        print(threading_line)
    with strategy.scope():
        gan = _build_for_run(config, checkpoint, settings.seed)
    manager = CheckpointManager(out / "checkpoints", gan, keep=settings.keep_checkpoints)
    if checkpoint is not None:
        meta = manager.restore(checkpoint)
        # The learning rates themselves are optimizer variables, restored with the checkpoint.
        gan.learning_rate_scale = float(meta.get("learning_rate_scale", 1.0))
        print(f"resuming from {checkpoint} ({meta['images_seen'] / 1000:.1f} kimg)")
    images_seen = int(gan.images_seen.numpy())
    if images_seen >= total_images:
        # Rerunning a finished run's command is a no-op that makes sure the run is whole: a kill
        # between the last checkpoint and the final export leaves no generator.keras, so it is
        # written from the checkpoint (atomically, like every export).
        generator_path = out / "generator.keras"
        stale = checkpoint is not None and (
            not generator_path.is_file() or generator_path.stat().st_mtime < (checkpoint / "meta.json").stat().st_mtime
        )
        if stale:
            save_model_atomic(gan.ema_generator, generator_path)
        print(
            f"{out} is already trained to {images_seen / 1000:g} kimg (asked for {settings.kimg:g}): nothing to train"
            + (f"; wrote {generator_path} from {checkpoint.name}" if stale else "")
            + ". Pass a larger --kimg to continue."
        )
        return gan

    grid_count = 64 if config.resolution <= 64 else (36 if config.resolution <= 128 else 16)

    fixed_latents = latents_for_seeds(range(settings.seed, settings.seed + grid_count), config.latent_dim)
    fixed_labels = (np.arange(grid_count) % config.num_classes) if config.conditional else None
    progress = ProgressCallback(total_images, enabled=settings.progress)
    state = {"gan": gan, "manager": manager}

    guard = NonFiniteGuard()
    stopper = StopOnSignal()

    def callbacks_for(stage_gan, resolution=None):
        """Callbacks for a (stage's) GAN; progressive growing builds a new GAN per resolution."""
        if stage_gan is not state["gan"]:
            state["gan"] = stage_gan
            state["manager"] = CheckpointManager(out / "checkpoints", stage_gan, keep=settings.keep_checkpoints)
        return [
            stopper,  # first: a stop asked for skips this step's samples, metrics and checkpoint (it saves its own)
            guard,
            progress,
            TensorBoardCallback(
                out / "logs", out / "samples", fixed_latents, fixed_labels,
                settings.sample_every_kimg, grid_columns=int(math.sqrt(grid_count)),
            ),
            CheckpointCallback(state["manager"], settings.checkpoint_every_kimg, guard),
            *extra_callbacks,
        ]

    dataset = make_dataset(start_epoch=images_seen)
    print(f"training to {settings.kimg:g} kimg in {out}  (TensorBoard: tensorboard --logdir {out / 'logs'})")
    started = time.perf_counter()
    interrupted = False
    try:
        with stopper.installed():
            if config.progressive:
                def announce(stage_gan, resolution):
                    replicas = stage_gan.distribute_strategy.num_replicas_in_sync
                    print(f"stage {resolution}x{resolution} from {int(stage_gan.images_seen.numpy()) / 1000:g} kimg"
                          + (f" on {replicas} replicas" if replicas > 1 else ""))

                train_progressive(
                    config, dataset, settings.kimg, gan=gan, seed=settings.seed, callbacks=callbacks_for,
                    on_stage_start=announce, verbose=0, strategy=strategy,
                )
                if guard.tripped_at is not None:
                    raise RunError(
                        f"training diverged (non-finite {', '.join(guard.tripped_at[1])} at "
                        f"{guard.tripped_at[0] / 1000:g} kimg); the last good checkpoint is kept: rerun to resume from it"
                    )
            else:
                divergences = 0
                while True:
                    _fit_in_ticks(gan, dataset, total_images, settings, callbacks_for(gan))
                    if guard.tripped_at is None:
                        break
                    divergences += 1
                    _roll_back(gan, manager, guard, divergences, settings)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: saving a checkpoint before exiting ...")
    except PEER_LOST_ERRORS as error:
        if cluster_workers(strategy) <= 1:
            raise
        last = latest_checkpoint(out / "checkpoints")
        raise RunError(
            f"lost contact with another worker of the cluster ({peer_loss_reason(error)}); this worker stopped without saving. "
            f"Restart every worker with the same command to resume from "
            f"{last.name if last is not None else 'the start (no checkpoint yet)'}"
        ) from error
    finally:
        progress.close()
    gan, manager = state["gan"], state["manager"]
    path = manager.save()
    save_model_atomic(gan.ema_generator, out / "generator.keras")
    elapsed = time.perf_counter() - started
    trained = int(gan.images_seen.numpy()) - images_seen
    print(
        f"{'stopped' if interrupted else 'done'}: {int(gan.images_seen.numpy()) / 1000:.1f} kimg "
        f"({trained / max(elapsed, 1e-9):.1f} img/s). Checkpoint: {path}\n"
        f"generator: {out / 'generator.keras'}; samples: {out / 'samples'}; "
        f"logs: tensorboard --logdir {out / 'logs'}"
    )
    if cluster_workers(strategy) > 1:
        # The same on every worker when the replicas stayed in sync; compare the workers' logs.
        print(f"weights digest: {weights_digest(gan)}")
    if interrupted:
        print(f"resume with the same command (the run continues from {path.name})")
        raise KeyboardInterrupt
    return gan
