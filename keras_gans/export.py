"""python -m keras_gans.export: a trained generator as a SavedModel, an ONNX model or a LiteRT
(TensorFlow Lite) model, for serving without keras_gans.

    python -m keras_gans.export --run runs/NAME --format saved_model --out exported/
    python -m keras_gans.export --run runs/NAME --format onnx --out exported/
    python -m keras_gans.export --run runs/NAME --format litert --out exported/

The exported function is the EMA generator as a pure function of its inputs, so that the same
inputs give the same picture in every runtime:

* ``z`` (batch, latent_dim) float32: the latents;
* ``psi`` (batch,) float32: the truncation psi per sample (style-based generators; 1 = none);
* ``label`` (batch,) int32: the class (conditional generators);
* ``noise_0`` ... (batch, H, W, 1) float32: one map per noise layer, which draw their noise
  inside the layer in Keras; standard normal for per-pixel noise, uniform [0, 1) for the
  article's noise image (``export.json`` says which is which).

Output: ``image`` (batch, resolution, resolution, channels), float32 in [-1, 1]. The batch size is
free. Next to the model, ``export.json`` lists the inputs and ``example_inputs.npz`` holds one
batch of inputs (seeds 0-3) with the Keras generator's output for them; after writing, the
export is reloaded with its own runtime (TensorFlow, ONNX Runtime, the LiteRT interpreter) and its
output compared with Keras' on those inputs (``--no-check`` skips this). Details: docs/export.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_gans import generation as gen
from keras_gans.generation import GenerationError
from keras_gans.io import write_json_atomic
from keras_gans.layers import NoiseImage, fix_noise
from keras_gans.models.common import generator_parts
from keras_gans.training.run import add_generator_source, load_generator

FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
MODEL_FILES = {"saved_model": "saved_model", "onnx": "generator.onnx", "litert": "generator.tflite"}
# Largest |Keras - runtime| accepted by the check after writing (float32 images in [-1, 1]).
TOLERANCES = {"saved_model": 1e-4, "onnx": 1e-3, "litert": 1e-3}


class ExportError(RuntimeError):
    """The generator cannot be exported as asked (a missing runtime, an output that does not match)."""


class ExportableGenerator(keras.Model):
    """``generator`` with its randomness and truncation as inputs (see the module's docstring).

    Style-based generators run as their declared parts (mapping -> one w per synthesis layer ->
    truncation with the given psi -> synthesis); the others as themselves. Each noise layer takes
    its input map through ``fix_noise`` while the function is traced."""

    def __init__(self, generator: keras.Model, **kwargs):
        super().__init__(name="exportable_generator", **kwargs)
        self.generator = generator
        self.parts = generator_parts(generator)
        self.noise_sources = gen.noise_layers(generator)
        self.specs = self._input_specs()

    def _input_specs(self) -> list[dict]:
        specs = [{"name": "z", "shape": [None, gen.latent_dim(self.generator)], "dtype": "float32",
                  "meaning": "latents, standard normal"}]
        if self.parts.style_based:
            specs.append({"name": "psi", "shape": [None], "dtype": "float32",
                          "meaning": "truncation psi per sample (1 = no truncation)"})
        if gen.is_conditional(self.generator):
            specs.append({"name": "label", "shape": [None], "dtype": "int32", "meaning": "class index"})
        for index, layer in enumerate(self.noise_sources):
            meaning = "uniform [0, 1)" if isinstance(layer, NoiseImage) else "standard normal"
            specs.append({"name": f"noise_{index}", "shape": [None, *gen.noise_shape(layer)[1:]], "dtype": "float32",
                          "meaning": f"{meaning}: the noise of layer {layer.path}"})
        return specs

    def input_signature(self):
        return [{spec["name"]: tf.TensorSpec(spec["shape"], spec["dtype"], name=spec["name"]) for spec in self.specs}]

    def call(self, inputs):
        for index, layer in enumerate(self.noise_sources):
            fix_noise(layer, inputs[f"noise_{index}"])
        try:
            z = inputs["z"]
            conditional = [z, inputs["label"]] if "label" in inputs else z
            if not self.parts.style_based:
                image = self.generator(conditional, training=False)
            else:
                w = self.parts.mapping(conditional, training=False)
                num_ws = int(self.parts.synthesis.inputs[0].shape[1])
                ws = tf.repeat(w[:, None, :], num_ws, axis=1)
                ws = self.parts.truncation.truncate(ws, inputs["psi"])
                image = self.parts.synthesis(ws, training=False)
            return tf.cast(image, tf.float32)
        finally:
            for layer in self.noise_sources:
                fix_noise(layer, None)


def example_inputs(exportable: ExportableGenerator, seeds, psi: float = 1.0, labels=None) -> dict:
    """One batch of inputs for ``seeds``: the same latents as ``generate`` draws for those seeds,
    noise maps from a generator seeded with the first seed."""
    seeds = [int(seed) for seed in seeds]
    rng = np.random.RandomState(seeds[0])
    inputs = {}
    for spec in exportable.specs:
        shape = [len(seeds), *spec["shape"][1:]]
        if spec["name"] == "z":
            inputs["z"] = gen.latents_for_seeds(seeds, shape[1])
        elif spec["name"] == "psi":
            inputs["psi"] = np.full(shape, psi, np.float32)
        elif spec["name"] == "label":
            inputs["label"] = np.asarray(labels if labels is not None else np.arange(len(seeds)) % max(1, num_classes(exportable)), np.int32)
        elif "uniform" in spec["meaning"]:
            inputs[spec["name"]] = rng.uniform(0, 1, shape).astype(np.float32)
        else:
            inputs[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
    return inputs


def num_classes(exportable: ExportableGenerator) -> int:
    return int(exportable.parts.num_classes or 0)


def keras_reference(generator: keras.Model, inputs: dict) -> np.ndarray:
    """The Keras generator's own output for ``inputs``: its truncation variable set to the
    batch's psi (one value), its noise layers fed the given maps. What every export must match."""
    parts = generator_parts(generator)
    noise_sources = gen.noise_layers(generator)
    if parts.style_based:
        psi_values = np.unique(inputs["psi"])
        if len(psi_values) != 1:
            raise ValueError("the reference takes one psi for the whole batch")
        parts.truncation.psi.assign(float(psi_values[0]))
    for index, layer in enumerate(noise_sources):
        fix_noise(layer, tf.constant(inputs[f"noise_{index}"]))
    try:
        z = inputs["z"]
        image = generator([z, inputs["label"]] if "label" in inputs else z, training=False)
        return np.asarray(tf.cast(image, tf.float32))
    finally:
        for layer in noise_sources:
            fix_noise(layer, None)
        if parts.style_based:
            parts.truncation.psi.assign(1.0)


def run_export(format: str, path: Path, inputs: dict) -> np.ndarray:
    """Load an export with its own runtime and run it on ``inputs``."""
    if format == "saved_model":
        loaded = tf.saved_model.load(str(path))
        return np.asarray(loaded.serve({name: tf.constant(value) for name, value in inputs.items()}))
    if format == "onnx":
        onnxruntime = _import("onnxruntime", "onnx")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {spec.name: inputs[spec.name.split(":")[0]] for spec in session.get_inputs()}
        return np.asarray(session.run(None, feed)[0])
    interpreter_module = _import("ai_edge_litert.interpreter", "litert")
    interpreter = interpreter_module.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    names = runner.get_input_details()
    outputs = runner(**{name: inputs[_litert_input(name, inputs)] for name in names})
    return np.asarray(next(iter(outputs.values())))


def _litert_input(name: str, inputs: dict) -> str:
    # The converter may prefix a signature's input names ("inputs_z"); match on the suffix.
    return name if name in inputs else next(key for key in inputs if name.endswith(key))


def _import(module: str, format: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as error:
        raise ExportError(
            f"--format {format} needs the {module.split('.')[0]} package: pip install -e '.[export]'"
        ) from error


def export_generator(generator: keras.Model, format: str, out: Path, check: bool = True, source: str = "") -> dict:
    """Write ``generator`` in ``format`` into the folder ``out`` (replaced atomically: the new
    export is complete in a temporary folder before it takes the place of the old one) and
    return what ``export.json`` holds."""
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    if format == "onnx":
        _import("tf2onnx", "onnx")
    if format == "litert":
        _import("ai_edge_litert.interpreter", "litert")
    if any(layer.dtype_policy.name != "float32" for layer in gen.all_layers(generator)):
        raise ExportError("this generator computes in mixed precision; exports are float32 only. "
                          "Export a run trained without --mixed-precision")
    exportable = ExportableGenerator(generator)
    inputs = example_inputs(exportable, range(4), psi=0.7 if exportable.parts.style_based else 1.0)
    reference = keras_reference(generator, inputs)
    own = np.asarray(exportable(inputs))
    if not np.allclose(own, reference, atol=1e-5):
        raise ExportError(f"the exportable function differs from the generator by {np.max(np.abs(own - reference)):.2e}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        model_path = staging / MODEL_FILES[format]
        exportable.export(str(model_path), format=FORMATS[format], input_signature=exportable.input_signature(), verbose=False)
        difference = None
        if check:
            exported = run_export(format, model_path, inputs)
            difference = float(np.max(np.abs(exported - reference)))
            if not difference <= TOLERANCES[format]:
                raise ExportError(
                    f"the {format} export differs from the Keras generator by {difference:.2e} "
                    f"(more than {TOLERANCES[format]:g}); nothing was written to {out}"
                )
        np.savez(staging / "example_inputs.npz", **inputs, expected_image=reference)
        description = {
            "format": format,
            "model": MODEL_FILES[format],
            "source": source,
            "resolution": int(reference.shape[1]),
            "channels": int(reference.shape[-1]),
            "style_based": exportable.parts.style_based,
            "num_classes": num_classes(exportable),
            "inputs": exportable.specs,
            "output": {"name": "image", "shape": [None, *reference.shape[1:]], "dtype": "float32", "range": [-1, 1]},
            "check": None if difference is None else {"max_abs_difference": difference, "tolerance": TOLERANCES[format],
                                                      "inputs": "example_inputs.npz (seeds 0-3, psi 0.7 if style-based)"},
        }
        write_json_atomic(staging / "export.json", description)
        if out.exists():
            aside = out.with_name(f".{out.name}.old-{staging.name[-8:]}")
            out.rename(aside)
            staging.rename(out)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return description


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m keras_gans.export", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_generator_source(parser)
    parser.add_argument("--format", required=True, choices=tuple(FORMATS))
    parser.add_argument("--out", required=True, help="output folder (replaced if it exists)")
    parser.add_argument("--no-check", action="store_true", help="do not reload the export and compare it with Keras")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        generator, _ = load_generator(run=args.run, generator_path=args.generator)
        description = export_generator(generator, args.format, Path(args.out), check=not args.no_check,
                                       source=str(args.run or args.generator))
    except (GenerationError, ExportError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    inputs = ", ".join(f"{spec['name']} {tuple(spec['shape'])}" for spec in description["inputs"])
    print(f"wrote {args.out}/{description['model']} ({args.format}); inputs: {inputs}; output: image "
          f"{tuple(description['output']['shape'])} in [-1, 1]")
    if description["check"] is not None:
        print(f"checked: reloaded with its runtime, max |difference| from Keras {description['check']['max_abs_difference']:.2e} "
              f"(tolerance {description['check']['tolerance']:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
