"""Model configurations, the registry of models and presets, and config resolution.

Every model file defines a dataclass deriving from :class:`GANConfig`, registers itself with
:func:`register_model` and its presets with :func:`register_preset`. A run's configuration is
resolved in this order (later wins): the model's defaults or a preset, then a TOML/JSON file,
then command-line flags.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal


class ConfigError(ValueError):
    """A configuration the user asked for that cannot be built (unknown name, bad value)."""


# DiffAugment's transforms (keras_gans.augment implements them).
DIFFAUGMENT_TRANSFORMS = ("color", "translation", "cutout")
AugmentChoice = Literal["none", "diffaug", "ada"]
# Loss pairs (keras_gans.losses.LOSS_PAIRS) and gradient penalties the engine implements.
LossChoice = Literal["nonsaturating", "least-squares", "hinge", "wasserstein"]
GradientPenaltyChoice = Literal["none", "wgan-gp", "dragan"]
# ADA's groups of transforms (Karras et al. 2020, table 2; keras_gans.augment implements them):
# pixel blitting, geometric, colour, and their unions.
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
_CORRUPT = ("noise", "cutout")  # the paper's image-space corruptions ("bgcfnc" less the filter)
ADA_PIPELINES = {
    "blit": _BLIT, "geom": _GEOM, "color": _COLOR, "corrupt": _CORRUPT,
    "bg": _BLIT + _GEOM, "bgc": _BLIT + _GEOM + _COLOR, "bgcnc": _BLIT + _GEOM + _COLOR + _CORRUPT,
}
AdaPipelineChoice = Literal["blit", "geom", "color", "bg", "bgc", "corrupt", "bgcnc"]
# The settings each augmentation reads; given with another augment they would do nothing.
AUGMENT_SETTINGS = {
    "diffaug": ("diffaugment_policy", "diffaugment_translation_ratio", "diffaugment_cutout_ratio"),
    "ada": ("ada_pipeline", "ada_hue_max", "ada_skip", "augment_p", "augment_adjust", "ada_target",
            "augment_speed_kimg", "ada_interval"),
}


@dataclass
class GANConfig:
    """What the training engine needs to know about any model.

    Model files subclass this with their architecture fields; the engine reads only these.
    """

    resolution: int = 64
    channels: int = 3
    latent_dim: int = 128
    conditional: bool = False
    num_classes: int = 0  # filled from the dataset's class folders when conditional
    batch_size: int = 16
    # Loss pair name from keras_gans.losses.LOSS_PAIRS and the optimizers.
    loss: LossChoice = "nonsaturating"
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    # Penalties. r1_weight multiplies the batch mean of ||grad D(x)||^2 (StyleGAN's gamma / 2);
    # with lazy regularization it is applied every r1_interval D steps, scaled by the interval.
    r1_weight: float = 0.0
    r1_interval: int = 1
    # Lazy regularization (StyleGAN2, appendix B): with r1_interval = k > 1, D's Adam runs at
    # lr * c and betas ** c, c = k / (k + 1), so that its momentum horizon matches the k + 1
    # gradient evaluations it sees every k steps.
    lazy_r1_adam_scaling: bool = True
    gradient_penalty: GradientPenaltyChoice = "none"
    gradient_penalty_weight: float = 10.0
    drift_weight: float = 0.0
    n_critic: int = 1
    # Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise of this std
    # added to every discriminator input, annealed linearly to zero over instance_noise_kimg
    # thousand images (0: constant).
    instance_noise_std: float = 0.0
    instance_noise_kimg: float = 0.0
    # AC-GAN (Odena et al. 2017): >0 means the discriminator outputs [logit, class_logits] and
    # both networks add this weight times the auxiliary classification loss.
    auxiliary_classifier_weight: float = 0.0
    # Weight of the fake-image term in D's classification loss. 1.0 is the paper (D maximises L_C
    # on reals and fakes). 0.0 trains D's classifier on real images only: it can then no longer
    # learn the generator's own cues for each class, so G must paint what separates the classes
    # in the real data.
    auxiliary_fake_weight: float = 1.0
    # Progressive growing (Karras et al. 2018): training starts at progressive_start_resolution and
    # doubles up to `resolution`; each new resolution fades in over fade_kimg, then trains for
    # stable_kimg (thousands of images shown). See keras_gans.training.progressive.
    progressive: bool = False
    progressive_start_resolution: int = 4
    fade_kimg: float = 600.0
    stable_kimg: float = 600.0
    # Augmentation of everything the discriminator sees (keras_gans.augment): "diffaug" is
    # DiffAugment (Zhao et al. 2020) with the transforms of diffaugment_policy; translation
    # shifts by up to diffaugment_translation_ratio of the side and cutout blanks a square of
    # diffaugment_cutout_ratio of the side (the paper's 1/8 and 1/2).
    augment: AugmentChoice = "none"
    diffaugment_policy: str = "color,translation,cutout"
    diffaugment_translation_ratio: float = 0.125
    diffaugment_cutout_ratio: float = 0.5
    # "ada" is adaptive discriminator augmentation (Karras et al. 2020): every transform of
    # ada_pipeline with one probability p, which starts at augment_p and, with augment_adjust,
    # moves every ada_interval steps toward keeping r_t = E[sign(D(real))] at ada_target, fast
    # enough to go from 0 to 1 in augment_speed_kimg thousand images (the paper's 500 suits
    # runs of tens of thousands of kimg, not a 40-kimg CPU run). p is saved in checkpoints.
    # ada_hue_max bounds the hue rotations to +-ada_hue_max half-turns (the paper's 1: any hue);
    # short runs can take rotated palettes from it (docs/quality.md's leak checks). ada_skip
    # leaves out named transforms of the pipeline (comma-separated, e.g. "rotate90,rotate"),
    # like the reference implementation's per-transform multipliers set to 0.
    ada_pipeline: AdaPipelineChoice = "bgc"
    ada_hue_max: float = 1.0
    ada_skip: str = ""
    augment_p: float = 0.0
    augment_adjust: bool = True
    ada_target: float = 0.6
    augment_speed_kimg: float = 20.0
    ada_interval: int = 4
    # Self-supervised discriminator (FastGAN, Liu et al. 2021): >0 means the discriminator also
    # outputs reconstructions of the real images it sees, and their perceptual + L1 distance
    # (keras_gans.losses.fastgan_reconstruction_loss) is added to its loss with this weight.
    reconstruction_weight: float = 0.0
    # Mode seeking (Mao et al. 2019, MSGAN): >0 adds this weight times 1 / (d_I / d_z) to G's
    # loss, where d_I and d_z are the mean absolute differences of pairs of fakes of the same
    # class and of their latents (keras_gans.losses.mode_seeking_loss). It fights a conditional
    # generator that paints one picture per class whatever its z.
    mode_seeking_weight: float = 0.0
    # >1: every batch comes in runs of this many images of one class, and the fakes, drawn for
    # the reals' labels, in the same runs (keras_gans.data.pipeline.class_run_indices). Set it to
    # the minibatch standard deviation's group size and D sees the variety *within* a class, so a
    # conditional generator cannot paint one picture per class. Conditional models only.
    class_run_length: int = 0
    # Generator averaging and style-based extras (ignored by models without mapping network).
    ema_halflife_kimg: float = 0.0  # 0 disables the EMA generator
    ema_rampup: float = 0.0  # >0: half-life limited to images_seen * ema_rampup (StyleGAN2)
    style_mixing_prob: float = 0.0
    w_avg_beta: float = 0.995
    # Execution.
    # Reals and fakes through D as one batch (same results unless D has batch normalization).
    joint_discriminator_batch: bool = True
    # Reuse the D step's fakes for the G step (one generator forward per step instead of two;
    # G still sees the updated D). Off keeps independent latents for the two updates.
    share_fakes: bool = False
    mixed_precision: bool = False  # mixed_bfloat16 compute, float32 variables
    jit_compile: bool = False
    steps_per_execution: int = 1

    @property
    def model_name(self) -> str:
        return MODEL_NAME_OF_CONFIG.get(type(self), type(self).__name__)

    def __post_init__(self):
        # Checked whenever a config is made or changed (dataclasses.replace runs __init__ too),
        # so a mistyped transform fails when the configuration is resolved, before any run folder.
        resolution = self.resolution
        # Each model checks its own range when it is built; this catches 0 and sizes like 48 early.
        if not isinstance(resolution, int) or resolution < 1 or resolution & (resolution - 1):
            raise ConfigError(f"resolution must be a power of two (e.g. 32, 64, 128, 256), got {resolution!r}")
        for name in ("batch_size", "latent_dim", "channels", "n_critic", "steps_per_execution", "r1_interval"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        for name in ("g_learning_rate", "d_learning_rate"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.class_run_length < 0:
            raise ConfigError(f"class_run_length must be 0 (off) or a run length, got {self.class_run_length!r}")
        if self.class_run_length > 1:
            if not self.conditional:
                raise ConfigError("class_run_length orders batches by class; it needs conditional=true (class subfolders)")
            if self.batch_size % self.class_run_length:
                raise ConfigError(
                    f"class_run_length {self.class_run_length} must divide batch_size {self.batch_size}, "
                    "so that every batch holds whole runs of one class"
                )
        if not 0.0 <= self.augment_p <= 1.0:
            raise ConfigError(f"augment_p: {self.augment_p} is not a probability (0 to 1)")
        if not -1.0 <= self.ada_target <= 1.0:
            raise ConfigError(
                f"ada_target: {self.ada_target} is outside -1 to 1, where r_t = E[sign(D(real))] lies "
                "(the paper's 0.6 is the default)"
            )
        if not 0.0 <= self.ada_hue_max <= 1.0:
            raise ConfigError(
                f"ada_hue_max: {self.ada_hue_max} is outside 0 to 1 (half-turns of hue; 1 allows any hue, 0 none)"
            )
        if self.augment_speed_kimg <= 0 or self.ada_interval < 1:
            raise ConfigError("augment_speed_kimg must be > 0 and ada_interval >= 1")
        for name in ("diffaugment_translation_ratio", "diffaugment_cutout_ratio"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"{name}: {getattr(self, name)} is not a fraction of the image side between 0 and 1")
        unknown = [n for n in (x.strip() for x in self.diffaugment_policy.split(",")) if n and n not in DIFFAUGMENT_TRANSFORMS]
        if unknown:
            raise ConfigError(
                f"diffaugment_policy: unknown transform(s) {', '.join(map(repr, unknown))}; "
                f"choose from {', '.join(DIFFAUGMENT_TRANSFORMS)}"
            )
        self.ada_transforms()
        self._check_augment_settings_used()

    def _check_augment_settings_used(self):
        """Refuse settings of an augmentation that is not on, which would otherwise be silently ignored.

        "Given" means different from this model's default, so presets and saved configs that keep
        the defaults pass, while ``--set ada_target=0.4`` without ``augment=ada`` does not. A
        setting typed on the command line with its default value is caught by
        :func:`refuse_typed_settings_unused`.
        """
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.default is not dataclasses.MISSING}
        _refuse_augment_settings_unused(self, [name for name in defaults if getattr(self, name) != defaults[name]])

    def ada_transforms(self) -> tuple[str, ...]:
        """The transforms of ada_pipeline that ada_skip does not leave out, in the pipeline's order."""
        pipeline = ADA_PIPELINES[self.ada_pipeline]
        skipped = [name.strip() for name in self.ada_skip.split(",") if name.strip()]
        foreign = [name for name in skipped if name not in pipeline]
        if foreign:
            raise ConfigError(
                f"ada_skip: {', '.join(map(repr, foreign))} not in ada_pipeline {self.ada_pipeline!r}, "
                f"whose transforms are {', '.join(pipeline)}"
            )
        kept = tuple(name for name in pipeline if name not in skipped)
        if not kept:
            raise ConfigError(f"ada_skip leaves nothing of ada_pipeline {self.ada_pipeline!r}; use augment=none instead")
        return kept


@dataclass(frozen=True)
class ModelEntry:
    name: str
    config_class: type
    build_generator: Callable[[Any], Any]
    build_discriminator: Callable[[Any], Any]
    description: str = ""
    # The model's own checks of a configuration (resolution range, widths, conditional form), the
    # ones its builders run too; check_model_config runs them before a run folder is touched.
    check: Callable[[Any], None] | None = None


# What `python -m keras_gans.train` trains when it is given no model, preset or config
# (docs/quality.md has the measurements behind each choice):
# - on a folder of images, FastGAN: it paints better than StyleGAN per CPU-minute from about 20
#   minutes on, and far better per image (the default run shows 40 kimg);
# - with --conditional on a folder (FastGAN has no conditional form) and on the built-in emoji,
#   which come in classes, the class-conditional StyleGAN, which paints varied faces in the ten
#   minutes the first run should take, where unconditional models collapse onto a few.
DEFAULT_PRESET = "fastgan-64"
DEFAULT_CONDITIONAL_PRESET = "stylegan-conditional-64"
DEFAULT_BUILTIN_PRESET = DEFAULT_CONDITIONAL_PRESET

MODELS: dict[str, ModelEntry] = {}
MODEL_NAME_OF_CONFIG: dict[type, str] = {}
PRESETS: dict[str, tuple[str, Callable[[], GANConfig], str]] = {}
DEFAULT_PRESETS: dict[str, str] = {}  # model name -> the preset `--model NAME` starts from


def register_model(name, config_class, build_generator, build_discriminator, description="", check=None):
    MODELS[name] = ModelEntry(name, config_class, build_generator, build_discriminator, description, check)
    MODEL_NAME_OF_CONFIG[config_class] = name


def check_model_config(config: GANConfig) -> None:
    """The model's checks that need the whole configuration (a width list against the resolution,
    a model without conditional form asked for one); ConfigError if one fails. The dataclass
    checks each setting when it is made; these wait until every source (preset, file, flags) has
    been applied, since a preset's widths and a flag's resolution only agree at the end."""
    entry = MODELS.get(config.model_name)
    if entry is not None and entry.check is not None:
        entry.check(config)


def register_preset(name: str, model: str, make_config: Callable[[], GANConfig], description: str, default: bool = False):
    """Register a named preset; ``default=True`` makes it what ``--model MODEL`` alone starts from."""
    PRESETS[name] = (model, make_config, description)
    if default:
        DEFAULT_PRESETS[model] = name


def model_default_config(model: str) -> GANConfig:
    """The starting config of ``--model MODEL``: its default preset, else the dataclass defaults."""
    entry = get_model(model)
    preset = DEFAULT_PRESETS.get(model)
    return preset_config(preset) if preset else entry.config_class()


def preset_model(name: str) -> str:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return PRESETS[name][0]


def get_model(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def preset_config(name: str) -> GANConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return PRESETS[name][1]()


def config_fields(config_class) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(config_class)}


def _coerce(name: str, value, annotation):
    """Turn a value from a file or the command line into the field's declared type."""
    hints = annotation if not isinstance(annotation, str) else None
    origin = typing.get_origin(hints)
    args = typing.get_args(hints)
    if hints is None:
        return value
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{name}: {value!r} is not one of: {', '.join(map(str, args))}")
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        for candidate in args:
            if candidate is type(None):
                continue
            try:
                return _coerce(name, value, candidate)
            except (ValueError, TypeError):
                continue
        raise ConfigError(f"{name}: cannot read {value!r} as {hints}")
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else list(value)
        item_type = args[0] if args else str
        return tuple(_coerce(name, item.strip() if isinstance(item, str) else item, item_type) for item in items)
    try:
        if hints is bool:
            if isinstance(value, str):
                lowered = value.lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hints in (int, float, str):
            if hints is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return hints(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: {value!r} is not a valid {hints.__name__}") from None
    return value


def _refuse_augment_settings_unused(config: GANConfig, names) -> None:
    for augment, settings in AUGMENT_SETTINGS.items():
        given = [name for name in settings if name in names]
        if given and config.augment != augment:
            listed = ", ".join(f"{name}={getattr(config, name)!r}" for name in given)
            several = len(given) > 1
            raise ConfigError(
                f"{listed}: {'these settings apply' if several else 'this setting applies'} only with "
                f"augment={augment}, but augment is {config.augment!r}; set augment={augment}, or drop "
                f"{'them' if several else 'it'} (otherwise {'they' if several else 'it'} would be ignored)"
            )


def refuse_typed_settings_unused(config: GANConfig, typed) -> None:
    """Refuse settings typed by hand (``--set``, flags) that the resolved ``config`` would ignore.

    :class:`GANConfig` itself can only tell a setting that differs from its default; a user who
    types ``--set ada_target=0.6`` without ``augment=ada`` means something too, though 0.6 is
    the default, and is told so instead of training without ADA.
    """
    _refuse_augment_settings_unused(config, {key.replace("-", "_") for key in typed})


def apply_overrides(config: GANConfig, overrides: dict[str, Any], source: str) -> GANConfig:
    """A copy of ``config`` with ``overrides`` applied; unknown keys are an error naming ``source``."""
    return apply_layers(config, [(overrides, source)])


def apply_layers(config: GANConfig, layers: list[tuple[dict[str, Any], str]]) -> GANConfig:
    """A copy of ``config`` with each (overrides, source) layer applied in order (later wins).

    The layers are merged before the copy is made, so the checks of :class:`GANConfig` see the
    finished configuration: a config file's ``ada_target`` with ``--augment ada`` on the command
    line is fine, though the file alone would have set an ADA setting without ADA.
    """
    hints = typing.get_type_hints(type(config))
    fields = config_fields(type(config))
    changes = {}
    for overrides, source in layers:
        for key, value in overrides.items():
            name = key.replace("-", "_")
            if name not in fields:
                raise ConfigError(
                    f"{source}: {type(config).__name__} has no setting {key!r}; "
                    f"known settings: {', '.join(sorted(fields))}"
                )
            changes[name] = _coerce(name, value, hints.get(name))
    return dataclasses.replace(config, **changes)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Settings from a TOML or JSON file (a flat table; a [model] or [config] table also works)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except Exception as error:  # both parsers raise their own error types
        raise ConfigError(f"cannot parse {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings at the top level")
    for table in ("model", "config"):
        if isinstance(data.get(table), dict):
            data = {**{k: v for k, v in data.items() if k != table}, **data[table]}
    return data


def config_to_dict(config: GANConfig) -> dict[str, Any]:
    values = dataclasses.asdict(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def config_from_dict(model: str, values: dict[str, Any]) -> GANConfig:
    entry = get_model(model)
    return apply_overrides(entry.config_class(), values, source=f"saved {model} config")


def config_differences(old: GANConfig, new: GANConfig) -> list[str]:
    """Human-readable lines for every setting that differs (model name included)."""
    lines = []
    if type(old) is not type(new):
        lines.append(f"model: {old.model_name} -> {new.model_name}")
        return lines
    old_values, new_values = config_to_dict(old), config_to_dict(new)
    for key in old_values:
        if old_values[key] != new_values[key]:
            lines.append(f"{key}: {old_values[key]!r} -> {new_values[key]!r}")
    return lines


def format_config(config: GANConfig, title: str | None = None) -> str:
    values = config_to_dict(config)
    width = max(len(k) for k in values)
    head = title or f"{config.model_name} configuration"
    lines = [head, "-" * len(head)]
    lines += [f"{key.ljust(width)}  {value}" for key, value in values.items()]
    return "\n".join(lines)


def list_presets() -> list[tuple[str, str, str]]:
    return [(name, model, description) for name, (model, _, description) in sorted(PRESETS.items())]


def default_field(value):
    """A dataclass default for mutable values (tuples are fine as plain defaults)."""
    return field(default_factory=lambda: value)
