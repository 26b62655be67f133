"""python -m keras_gans.train: train (or resume) a GAN into a run folder.

With no arguments it trains the ``stylegan-conditional-64`` preset on the built-in face emoji (in
ten classes) into ``runs/default``; given a folder and no model, ``fastgan-64`` (with
``--conditional``, ``stylegan-conditional-64``). Configuration precedence: preset (or the model's
default preset), then ``--config FILE`` (TOML or JSON), then flags.
"""
from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path

from keras_gans.config import (
    apply_layers,
    AugmentChoice,
    DEFAULT_BUILTIN_PRESET,
    DEFAULT_CONDITIONAL_PRESET,
    DEFAULT_PRESET,
    ConfigError,
    DEFAULT_PRESETS,
    list_presets,
    load_config_file,
    model_default_config,
    preset_config,
    preset_model,
    refuse_typed_settings_unused,
)
from keras_gans.data.builtin import builtin_set_name
from keras_gans.data.folders import DatasetError
from keras_gans.metrics.callback import MetricsCallback
from keras_gans.training.checkpoints import CheckpointWriteError
from keras_gans.training.interrupts import treat_sigterm_as_ctrl_c
from keras_gans.training.run import RunError, RunSettings, train
from keras_gans.training.strategy import CPU_THREADING, STRATEGIES, StrategyError
# About ten minutes on a 2-core CPU for the built-in default, about 45 for FastGAN on a folder
# (docs/quality.md).
DEFAULT_KIMG = 40.0

# Flags that are shorthands for model-config fields.
FIELD_FLAGS = {
    "resolution": "resolution",
    "batch": "batch_size",
    "channels": "channels",
    "latent_dim": "latent_dim",
    "n_critic": "n_critic",
    "arch": "arch",
    "loss": "loss",
    "g_lr": "g_learning_rate",
    "d_lr": "d_learning_rate",
    "augment": "augment",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m keras_gans.train",
        description="Train a GAN on a folder of images (or the built-in emoji) into a run folder. "
        "Resumes automatically when the run folder holds a checkpoint.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    what = parser.add_argument_group("what to train")
    what.add_argument("--model", help="model name (stylegan, ...); starts from the model's default preset")
    what.add_argument("--preset", help=f"named preset (implies its model); without --model: {DEFAULT_BUILTIN_PRESET} on the "
                      f"built-in data, {DEFAULT_PRESET} on a folder ({DEFAULT_CONDITIONAL_PRESET} with --conditional)")
    what.add_argument("--config", metavar="FILE", help="TOML or JSON file of model settings, applied after the preset")
    what.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], help="any model setting, e.g. --set r1_weight=2 (repeatable)")
    what.add_argument("--resolution", type=int, help="image size (power of two)")
    what.add_argument("--batch", type=int, help="batch size")
    what.add_argument("--channels", type=int, choices=(1, 3), help="3 for RGB, 1 for grayscale line art")
    what.add_argument("--latent-dim", type=int, help="size of z")
    what.add_argument("--conditional", action="store_true", default=None, help="class-conditional (classes = data subfolders)")
    what.add_argument("--n-critic", type=int, help="discriminator steps per generator step")
    what.add_argument("--arch", help="architecture variant, for models that have several (e.g. acgan: paper|resnet)")
    what.add_argument("--loss", help="loss pair: nonsaturating, least-squares, hinge, wasserstein")
    what.add_argument("--g-lr", type=float, help="generator learning rate")
    what.add_argument("--d-lr", type=float, help="discriminator learning rate")
    what.add_argument("--augment", choices=typing.get_args(AugmentChoice),
                      help="augment what the discriminator sees: diffaug = DiffAugment (diffaugment_policy), "
                      "ada = adaptive augmentation (ada_pipeline, ada_skip, ada_hue_max, ada_target, augment_p, "
                      "augment_speed_kimg; see --set and docs/models.md)")
    what.add_argument("--mixed-precision", action="store_true", default=None, help="compute in bfloat16 (mixed_bfloat16)")
    what.add_argument("--xla", action="store_true", default=None, help="compile the train step with XLA")
    what.add_argument("--list-presets", action="store_true", help="list presets and exit")

    data = parser.add_argument_group("data and run")
    data.add_argument("--data", metavar="DIR", help="image folder (subfolders = classes), a prepared folder with TFRecords, or builtin:emoji-faces "
                      "(the default: ~100 face emoji) / builtin:emoji (~1,200 emoji in 5 classes)")
    data.add_argument("--crop", choices=("center", "pad"), default="center", help="how non-square images become square")
    data.add_argument("--no-flip", action="store_true", help="disable random horizontal flips")
    data.add_argument("--kimg", type=float, help=f"train until this many thousand real images were shown (fractions allowed; default {DEFAULT_KIMG:g})")
    data.add_argument("--out", default="runs/default", help="run folder")
    data.add_argument("--seed", type=int, default=0, help="random seed (makes the run reproducible)")
    data.add_argument("--fresh", action="store_true", help="start over: move an existing run folder aside (never deleted)")
    data.add_argument("--override", action="store_true", help="resume even though the model settings changed")
    data.add_argument("--checkpoint-every", type=float, default=5.0, metavar="KIMG", help="checkpoint interval")
    data.add_argument("--keep", type=int, default=3, help="checkpoints to keep")
    data.add_argument("--max-divergences", type=int, default=3, metavar="N",
                      help="NaN/Inf losses roll the run back to its last checkpoint with halved learning rates "
                      "at most N times, then it stops")
    data.add_argument("--sample-every", type=float, default=5.0, metavar="KIMG", help="sample grid interval")
    data.add_argument("--tick", type=float, default=1.0, metavar="KIMG", help="TensorBoard scalar interval")
    data.add_argument("--strategy", default="auto", choices=STRATEGIES, help="tf.distribute strategy (see docs/scaling.md)")
    data.add_argument("--cpu-devices", type=int, default=0, metavar="N", help="mirror over N logical CPU devices (tests tf.distribute without GPUs)")
    data.add_argument("--cpu-threading", default="auto", choices=CPU_THREADING,
                      help="split-ops: TensorFlow's default, each operation over every core; parallel-ops: each "
                      "operation on one core, several side by side (faster for tiny steps); auto: parallel-ops for a "
                      "CPU-only step of at most batch 4 up to 128x128 (default)")
    data.add_argument("--no-progress", action="store_true", help="no progress bar")

    metrics = parser.add_argument_group("metrics during training")
    metrics.add_argument("--metrics", help="comma-separated metrics to log, e.g. fid,kid (keeps best.keras by the first)")
    metrics.add_argument("--metrics-every", type=float, default=10.0, metavar="KIMG", help="metric interval")
    metrics.add_argument("--metrics-num", type=int, default=1000, help="generated images per evaluation")
    metrics.add_argument("--extractor", default="effnet-lite0", help="feature extractor for metrics")
    metrics.add_argument("--inception-weights", help="for --extractor inception: FID Inception .pth (or 'pytorch-fid') or Keras .h5")
    return parser


def starting_preset(args) -> str | None:
    """The preset the configuration starts from: --preset, the default preset of --model, or the
    default run's."""

    if args.preset:
        return args.preset
    if args.model:
        return DEFAULT_PRESETS.get(args.model)
    return default_preset(args.data, args.conditional)


def default_preset(data: str | None, conditional: bool = False) -> str:
    """The preset of a run given no model: the built-in sets come in classes, so it is conditional
    there; on a folder, FastGAN, or the conditional StyleGAN when classes are asked for."""
    if builtin_set_name(data):
        return DEFAULT_BUILTIN_PRESET
    return DEFAULT_CONDITIONAL_PRESET if conditional else DEFAULT_PRESET


def resolve_config(args):
    """(config, explicit) from preset/model, config file and flags; explicit = any model setting given."""

    if args.preset:
        config = preset_config(args.preset)
        if args.model and preset_model(args.preset) != args.model:
            raise ConfigError(f"preset {args.preset} is for model {preset_model(args.preset)}, not {args.model}")
    elif args.model:
        config = model_default_config(args.model)
    else:
        config = preset_config(default_preset(args.data, args.conditional))
    explicit = bool(args.preset or args.model)
    layers = []
    if args.config:
        layers.append((load_config_file(args.config), args.config))
    flags = {}
    for flag, field in FIELD_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            flags[field] = value
    for switch, field in (("conditional", "conditional"), ("mixed_precision", "mixed_precision"), ("xla", "jit_compile")):
        if getattr(args, switch):
            flags[field] = True
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        flags[key.strip()] = value.strip()
    if flags:
        layers.append((flags, "command line"))
    if layers:
        config = apply_layers(config, layers)
        refuse_typed_settings_unused(config, flags)
        explicit = True
    return config, explicit


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    treat_sigterm_as_ctrl_c()

    if args.list_presets:
        for name, model, description in list_presets():
            print(f"{name:28s} {model:10s} {description}")
        return 0
    try:
        config, explicit = resolve_config(args)
        if args.kimg is not None and args.kimg <= 0:
            raise ConfigError("--kimg must be positive")
        settings = RunSettings(
            preset=starting_preset(args),
            out=args.out,
            data=args.data,
            kimg=args.kimg if args.kimg is not None else DEFAULT_KIMG,
            seed=args.seed,
            crop=args.crop,
            flip=not args.no_flip,
            checkpoint_every_kimg=args.checkpoint_every,
            keep_checkpoints=args.keep,
            max_divergences=args.max_divergences,
            sample_every_kimg=args.sample_every,
            tick_kimg=args.tick,
            strategy=args.strategy,
            cpu_devices=args.cpu_devices,
            cpu_threading=args.cpu_threading,
            progress=not args.no_progress,
        )
        callbacks = []
        if args.metrics:
            callbacks.append(_metrics_callback(args, config))
        train(config, settings, fresh=args.fresh, override=args.override, config_explicit=explicit, extra_callbacks=callbacks)
    except (ConfigError, DatasetError, RunError, StrategyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CheckpointWriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _metrics_callback(args, config):
    if args.data is None:
        raise ValueError("--metrics needs --data (real images to compare against)")
    weights = args.inception_weights
    if weights and weights != "pytorch-fid" and not Path(weights).is_file():
        raise ValueError(f"--inception-weights {weights}: no such file")
    return MetricsCallback(
        args.data,
        metrics=tuple(m.strip() for m in args.metrics.split(",") if m.strip()),
        every_kimg=args.metrics_every,
        extractor=args.extractor,
        inception_weights=args.inception_weights,
        run_dir=args.out,
        num_samples=args.metrics_num,
        final_images=int(round((args.kimg if args.kimg is not None else DEFAULT_KIMG) * 1000)),
    )


if __name__ == "__main__":
    sys.exit(main())
