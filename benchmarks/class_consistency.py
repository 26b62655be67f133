"""Class consistency of conditional GANs: does the generator paint the class it is asked for?

Trains AC-GAN and class-conditional StyleGAN on a labelled image folder (one subfolder per class)
for a fixed wall-clock budget each, trains an independent CNN classifier on real images, and
reports the classifier's accuracy on generated images of each requested class next to its
accuracy on held-out real images (the ceiling). The AC-GAN article saw conditioning fail with few
images per class; the target is generated-image accuracy within 10 points of real-image accuracy.

    python benchmarks/class_consistency.py --data sklearn-digits --resolution 32 --budget-seconds 600 \
        --set acgan.generator_width=128 --set acgan.auxiliary_fake_weight=0 --json runs/class_consistency.json

``--data`` is a folder with one subfolder per class (e.g. ../shared/data/anime-faces-64) or
``sklearn-digits``, scikit-learn's real handwritten digits upscaled.

Record the printed table and the command in docs/benchmarks_class_consistency.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_gans  # noqa: E402,F401  (first: it chooses TensorFlow's CPU kernels before TensorFlow starts)
import numpy as np  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/anime-faces-64"),
                        help=f"labelled image folder (one subfolder per class), or {DIGITS!r}")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--budget-seconds", type=float, default=600.0, help="training wall-clock per model")
    parser.add_argument("--models", default="acgan,stylegan",
                        help="comma list of acgan, stylegan; LABEL=MODEL adds a run under its own label, so one "
                             "model can run twice with different --set LABEL.KEY=VALUE settings")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--samples-per-class", type=int, default=100)
    parser.add_argument("--held-out", type=float, default=0.2, help="fraction of real images kept from training")
    parser.add_argument("--classifier-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="LABEL.KEY=VALUE",
                        help="change one setting of one run, e.g. acgan.auxiliary_fake_weight=0 (repeatable)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--out", help="also save each model's generator (.keras) and a class sheet (.png) here")
    return parser.parse_args(argv)


DIGITS = "sklearn-digits"


def load_labelled(source, resolution):
    """(images in [-1, 1] (N, S, S, C), labels, class names, whether mirroring keeps the class).

    ``source`` is a folder with one subfolder per class, or ``sklearn-digits``: scikit-learn's
    1,797 real 8x8 handwritten digits (UCI), upscaled bicubically to ``resolution``, grayscale.
    Digits must not be mirrored; faces may.
    """
    from keras_gans.generation import from_uint8

    if source == DIGITS:
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.stack([
            np.asarray(Image.fromarray((image * 255 / 16).astype(np.uint8)).resize((resolution, resolution), Image.BICUBIC))
            for image in digits.images
        ])[..., None]
        return from_uint8(images), digits.target.astype(np.int32), [str(d) for d in range(10)], False
    from keras_gans.data.folders import load_image_folder

    data = load_image_folder(source, resolution, 3, "center", progress=False)
    if not data.class_names or len(data.class_names) < 2:
        raise SystemExit(f"{source} has no class subfolders")
    images = from_uint8(data.images)
    return images, np.asarray(data.labels, np.int32), list(data.class_names), True


def split(labels, held_out, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == label))
        cut = max(1, int(round(len(index) * held_out)))
        test.extend(index[:cut])
        train.extend(index[cut:])
    return np.sort(train), np.sort(test)


def build_classifier(resolution, num_classes, channels=3, flip=True):
    import keras

    inputs = keras.Input((resolution, resolution, channels))
    x = keras.layers.RandomFlip("horizontal")(inputs) if flip else inputs
    x = keras.layers.RandomTranslation(0.08, 0.08, fill_mode="reflect")(x)
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes)(x)
    model = keras.Model(inputs, outputs, name="independent_classifier")
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def model_runs(models):
    """[(label, model)] from --models, e.g. "acgan,stylegan,acgan_paper=acgan"."""
    runs = []
    for entry in [m.strip() for m in models.split(",") if m.strip()]:
        label, _, model = entry.rpartition("=")
        runs.append((label.strip() or model.strip(), model.strip()))
    labels = [label for label, _ in runs]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"--models {models!r}: each run needs its own label (LABEL=MODEL)")
    return runs


def model_overrides(settings):
    """{label: {key: value}} from --set LABEL.KEY=VALUE strings."""
    overrides = {}
    for setting in settings:
        target, sep, value = setting.partition("=")
        label, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise SystemExit(f"--set {setting!r}: expected LABEL.KEY=VALUE, e.g. acgan.auxiliary_fake_weight=0")
        overrides.setdefault(label.strip(), {})[key.strip()] = value.strip()
    return overrides


def gan_config(name, resolution, num_classes, batch, overrides=None, label=None):
    from keras_gans.config import ConfigError, apply_overrides, preset_config

    if name == "acgan":
        config = preset_config("acgan-cifar-like")
    elif name == "stylegan":
        config = preset_config("stylegan-conditional-64")
    else:
        raise SystemExit(f"unknown model {name!r}: use acgan or stylegan")
    config = dataclasses.replace(
        config, resolution=resolution, num_classes=num_classes, conditional=True, batch_size=batch,
        steps_per_execution=1,
    )
    try:
        return apply_overrides(config, overrides or {}, f"--set {label or name}.*")
    except ConfigError as error:
        raise SystemExit(str(error)) from None


def train_for(config, images, labels, budget, seed, flip=True):
    import tensorflow as tf

    from keras_gans.training.engine import build_gan

    gan = build_gan(config, seed=seed)
    gan.compile()
    per_step = config.batch_size * config.n_critic
    data = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed)
        .repeat()
        .map(lambda x, y: (tf.image.random_flip_left_right(x, seed=seed) if flip else x, y))
        .batch(per_step, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    start = time.perf_counter()
    chunk = 50
    history = {}
    while time.perf_counter() - start < budget:
        logs = gan.fit(data, steps_per_epoch=chunk, epochs=1, verbose=0).history
        history = {k: v[-1] for k, v in logs.items()}
    elapsed = time.perf_counter() - start
    return gan, int(gan.images_seen.numpy()), elapsed, history


def generate(gan, config, samples_per_class, seed):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(config.num_classes), samples_per_class).astype(np.int32)
    z = rng.standard_normal((len(labels), config.latent_dim)).astype(np.float32)
    images = []
    for begin in range(0, len(labels), 100):
        batch = gan.ema_generator([z[begin : begin + 100], labels[begin : begin + 100]], training=False)
        images.append(np.clip(np.asarray(batch), -1, 1))
    return np.concatenate(images), labels


def save_outputs(out, name, gan, fakes, fake_labels, num_classes, columns=10):
    """generator.keras and a sheet with one row of generated images per class."""
    from keras_gans.generation import image_grid, to_pil, to_uint8
    from keras_gans.io import save_model_atomic, save_png_atomic

    save_model_atomic(gan.ema_generator, out / f"{name}_generator.keras")
    rows = [fakes[fake_labels == c][:columns] for c in range(num_classes)]
    sheet = image_grid(to_uint8(np.concatenate(rows)), columns)
    save_png_atomic(to_pil(sheet), out / f"{name}_classes.png")


def per_class_accuracy(predicted, labels, num_classes):
    return [float((predicted[labels == c] == c).mean()) if (labels == c).any() else float("nan") for c in range(num_classes)]


def main(argv=None):
    args = parse_args(argv)
    import keras

    keras.utils.set_random_seed(args.seed)
    images, labels, classes, flip = load_labelled(args.data, args.resolution)
    train, test = split(labels, args.held_out, args.seed)
    overrides = model_overrides(args.set)
    runs = model_runs(args.models)
    unknown = sorted(set(overrides) - {label for label, _ in runs})
    if unknown:
        raise SystemExit(f"--set names {', '.join(unknown)}, which --models does not run")
    # Built before the classifier trains, so a bad setting fails in seconds, not minutes.
    configs = {
        name: dataclasses.replace(
            gan_config(model, args.resolution, len(classes), args.batch, overrides.get(name), name),
            channels=int(images.shape[-1]),
        )
        for name, model in runs
    }
    print(f"{len(images)} images, {len(classes)} classes, {args.resolution}x{args.resolution}; "
          f"{len(train)} train / {len(test)} held out; CPU threads: {os.cpu_count()}")

    started = time.perf_counter()
    classifier = build_classifier(args.resolution, len(classes), images.shape[-1], flip)
    classifier.fit(images[train], labels[train], batch_size=64, epochs=args.classifier_epochs, verbose=0)
    real_pred = classifier.predict(images[test], verbose=0).argmax(-1)
    real_accuracy = float((real_pred == labels[test]).mean())
    print(f"independent classifier: {real_accuracy:.1%} on held-out real images "
          f"({time.perf_counter() - started:.0f} s to train)")

    results = {"command": "python benchmarks/class_consistency.py " + " ".join(argv or __import__("sys").argv[1:]),
               "classes": classes, "real_held_out_accuracy": real_accuracy,
               "real_per_class": per_class_accuracy(real_pred, labels[test], len(classes)), "models": {}}
    for name, model in runs:
        config = configs[name]
        print(f"{name}: {config}")
        gan, shown, elapsed, last = train_for(config, images[train], labels[train], args.budget_seconds, args.seed, flip)
        fakes, fake_labels = generate(gan, config, args.samples_per_class, args.seed + 1)
        if args.out:
            save_outputs(Path(args.out), name, gan, fakes, fake_labels, len(classes))
        fake_pred = classifier.predict(fakes, verbose=0).argmax(-1)
        accuracy = float((fake_pred == fake_labels).mean())
        results["models"][name] = {
            "generated_accuracy": accuracy,
            "generated_per_class": per_class_accuracy(fake_pred, fake_labels, len(classes)),
            "kimg": shown / 1000,
            "train_seconds": elapsed,
            "last_losses": {k: float(v) for k, v in last.items()},
            "model": model,
            "settings": overrides.get(name, {}),
        }
        gap = (real_accuracy - accuracy) * 100
        print(f"{name:9s} {shown / 1000:6.1f} kimg in {elapsed:5.0f} s: generated-image accuracy {accuracy:.1%} "
              f"(real {real_accuracy:.1%}, gap {gap:+.1f} points, target <= 10)")
    print("\nper class (real held-out / " + " / ".join(results["models"]) + "):")
    for index, name in enumerate(classes):
        row = [results["real_per_class"][index]] + [m["generated_per_class"][index] for m in results["models"].values()]
        print(f"  {name:12s} " + "  ".join(f"{v:6.1%}" for v in row))
    if args.json:
        from keras_gans.io import write_json_atomic

        write_json_atomic(args.json, results)
    return results


if __name__ == "__main__":
    main()
