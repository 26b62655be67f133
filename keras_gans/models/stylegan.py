"""StyleGAN (Karras et al. 2019, "A Style-Based Generator Architecture for GANs"), as in the
article's Keras code: mapping network -> w, a learned constant, one g_block per doubling with
noise and AdaIN, and a residual downsampling discriminator.

Two options from StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN"): ``style_block="modulated"`` replaces AdaIN by weight modulation/demodulation (sec.
2.2, which removes the droplet artefacts), and ``generator_output="skip"`` sums an RGB output of
every resolution, upsampled (fig. 7b), instead of one toRGB at the end.

Reads top to bottom like fig. 1b: mapping network, synthesis network, full generator
(with truncation), discriminator, presets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import keras

from keras_gans.config import ConfigError, GANConfig, LossChoice, register_model, register_preset
from keras_gans.layers import (
    AdaIN,
    BroadcastLatent,
    ConstantInput,
    EqualizedConv2D,
    EqualizedDense,
    LeakyReLU,
    MinibatchStdDev,
    ModulatedConv2D,
    NoiseImage,
    NoiseInjection,
    NoiseProjection,
    PixelNorm,
    ReplicaDropout,
    SelectLatent,
    Truncation,
    UpSampling2D,
)
from keras_gans.models.common import described_generator

ARTICLE_WIDTHS = (512, 384, 256, 192, 128, 64, 32, 16)
ARTICLE_DISCRIMINATOR_WIDTHS = (16, 32, 64, 128, 192, 256, 384, 512)


@dataclass
class StyleGANConfig(GANConfig):
    latent_dim: int = 512
    style_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    # Synthesis widths: the constant's channels, then one entry per doubling (4x4 -> 8x8 ...).
    # Empty: min(width_max, width_base // resolution) at each resolution.
    constant_channels: int = 0
    synthesis_widths: tuple[int, ...] = ()
    # "formula": min(width_max, width_base // resolution); "article": the article's width tables
    # at any resolution (a 4x4 block as wide as the image, then 512, 384, 256, 192, 128, 64, 32, 16
    # ending at 16; D 16, 32, 64, 128, 192, 256, ...). Explicit widths above win over both.
    width_rule: Literal["formula", "article"] = "formula"
    width_base: int = 8192
    width_max: int = 512
    initial_block: bool = True  # the paper's 4x4 conv layer before the first doubling
    # The 4x4 block's first layer: the constant itself, styled (StyleGAN), or a 3x3 conv of it
    # (the article's g_block without upsampling).
    initial_block_conv: bool = False
    # "learned": a learned 4x4 constant (StyleGAN); "dense": Dense(4*4*C) of the number 1 (the article).
    constant_input: Literal["learned", "dense"] = "learned"
    # One style vector for both convolutions of a block (the article) instead of one per conv.
    one_style_per_block: bool = False
    # "gaussian": per-layer Gaussian noise with a per-channel strength (StyleGAN); "cropped-uniform":
    # one uniform noise image per sample, centre-cropped for each resolution and added through a
    # 1x1 convolution (the article's).
    noise_source: Literal["gaussian", "cropped-uniform"] = "gaussian"
    # AdaIN's scale and bias: "fused" is one affine of w, scale starting at 1 (StyleGAN);
    # "separate" is the article's two Dense layers, the scale's bias starting at 0, the offset's at 1.
    adain_affine: Literal["fused", "separate"] = "fused"
    # "linear" images (StyleGAN) or 2 * sigmoid - 1 (the article's sigmoid, mapped to [-1, 1]).
    output_activation: Literal["linear", "sigmoid"] = "linear"
    # Mapping network: PixelNorm of z first (StyleGAN; the article feeds z as drawn), and a
    # LeakyReLU after its last layer (StyleGAN; the article ends in a linear layer).
    mapping_normalize_z: bool = True
    mapping_final_activation: bool = True
    # Discriminator widths, one residual block per halving from the full resolution down to 4x4.
    discriminator_widths: tuple[int, ...] = ()
    # The formula's (or the article's) discriminator widths times this. A wider D overfits a small
    # set sooner, which augmentation then holds back: stylegan-small-set doubles it.
    discriminator_width_multiplier: int = 1
    # Where each discriminator block halves the resolution: after both convolutions ("end") or
    # between them ("middle", a quarter of the second convolution's cost).
    discriminator_downsample: Literal["end", "middle"] = "end"
    discriminator_skip: bool = True  # a pooled 1x1 skip around every block (residual); the article has none
    discriminator_dense_units: int = 0  # the article's Dense(128) before the score; 0: none
    discriminator_dropout: float = 0.0
    minibatch_std_group: int = 0  # 0: no minibatch standard deviation layer
    equalized_lr: bool = True
    upsample_interpolation: Literal["nearest", "bilinear", "bicubic", "area"] = "bilinear"
    # "adain": StyleGAN's AdaIN after each conv (the article); "modulated": StyleGAN2's weight
    # modulation and demodulation.
    style_block: Literal["adain", "modulated"] = "adain"
    # "last": one toRGB at the end (StyleGAN); "skip": toRGB at every resolution, summed (StyleGAN2).
    generator_output: Literal["last", "skip"] = "last"
    noise_inputs: bool = True
    leaky_relu_slope: float = 0.2
    truncation_cutoff: int | None = 8
    # StyleGAN defaults (paper, sec. 4): non-saturating + R1, mixing 0.9, EMA generator.
    loss: LossChoice = "nonsaturating"
    r1_weight: float = 5.0
    style_mixing_prob: float = 0.9
    ema_halflife_kimg: float = 10.0
    g_learning_rate: float = 2e-3
    d_learning_rate: float = 2e-3

    @property
    def num_doublings(self) -> int:
        return int(math.log2(self.resolution)) - 2

    @property
    def num_blocks(self) -> int:
        return self.num_doublings + (1 if self.initial_block else 0)

    @property
    def num_style_layers(self) -> int:
        return self.num_blocks * (1 if self.one_style_per_block else 2)

    def style_index(self, block: int, half: int) -> int:
        """The style vector the ``half``-th (0 or 1) convolution of the ``block``-th block reads."""
        return block if self.one_style_per_block else 2 * block + half


def validate(config: StyleGANConfig) -> None:
    resolution = config.resolution
    if config.style_block not in ("adain", "modulated"):
        raise ConfigError(f"style_block must be 'adain' or 'modulated', got {config.style_block!r}")
    if config.generator_output not in ("last", "skip"):
        raise ConfigError(f"generator_output must be 'last' or 'skip', got {config.generator_output!r}")
    if resolution < 16 or resolution > 1024 or resolution & (resolution - 1):
        raise ConfigError(f"StyleGAN resolution must be a power of two from 16 to 1024, got {resolution}")
    if config.synthesis_widths and len(config.synthesis_widths) != config.num_doublings:
        raise ConfigError(
            f"synthesis_widths needs {config.num_doublings} entries at {resolution}x{resolution}, "
            f"got {len(config.synthesis_widths)}"
        )
    if config.discriminator_widths and len(config.discriminator_widths) != config.num_doublings:
        raise ConfigError(
            f"discriminator_widths needs {config.num_doublings} entries at {resolution}x{resolution}, "
            f"got {len(config.discriminator_widths)}"
        )
    if config.discriminator_width_multiplier < 1:
        raise ConfigError(f"discriminator_width_multiplier must be at least 1, got {config.discriminator_width_multiplier}")
    if config.discriminator_widths and config.discriminator_width_multiplier != 1:
        raise ConfigError("discriminator_widths are given explicitly, so discriminator_width_multiplier would be "
                         "ignored; set one of the two")
    if config.style_block == "modulated" and config.adain_affine != "fused":
        raise ConfigError("adain_affine='separate' shapes AdaIN; it has no meaning with style_block='modulated'")
    if config.initial_block_conv and not config.initial_block:
        raise ConfigError("initial_block_conv=true needs initial_block=true (it shapes the 4x4 block)")


def width_at(config: StyleGANConfig, resolution: int) -> int:
    return min(config.width_max, config.width_base // resolution)


def synthesis_widths(config: StyleGANConfig) -> tuple[int, list[int]]:
    """(constant channels, widths of the blocks at 8, 16, ... resolution)."""
    sizes = [4 * 2 ** (i + 1) for i in range(config.num_doublings)]
    if config.width_rule == "article":
        widths = list(config.synthesis_widths) or list(ARTICLE_WIDTHS[-config.num_doublings:])
        return config.constant_channels or config.resolution, widths
    widths = list(config.synthesis_widths) or [width_at(config, size) for size in sizes]
    constant = config.constant_channels or width_at(config, 4)
    return constant, widths


def discriminator_widths(config: StyleGANConfig) -> list[int]:
    if config.discriminator_widths:
        return list(config.discriminator_widths)
    if config.width_rule == "article":
        widths = list(ARTICLE_DISCRIMINATOR_WIDTHS[: config.num_doublings])
    else:
        widths = [width_at(config, 4 * 2 ** (i + 1)) for i in reversed(range(config.num_doublings))]
    return [width * config.discriminator_width_multiplier for width in widths]


# --- Mapping network: z -> w ----------------------------------------------------------------------

def build_mapping(config: StyleGANConfig) -> keras.Model:
    z = keras.Input((config.latent_dim,), name="z")
    inputs, x = [z], (PixelNorm(name="normalize_z")(z) if config.mapping_normalize_z else z)
    if config.conditional:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        embedding = keras.layers.Embedding(config.num_classes, config.latent_dim, name="class_embedding")(label)
        x = keras.layers.Concatenate(name="z_and_class")([x, PixelNorm(name="normalize_class")(embedding)])
    for index in range(config.mapping_layers):
        x = EqualizedDense(
            config.style_dim,
            lr_multiplier=config.mapping_lr_multiplier,
            equalized=config.equalized_lr,
            name=f"mapping_dense_{index}",
        )(x)
        if index < config.mapping_layers - 1 or config.mapping_final_activation:
            x = LeakyReLU(config.leaky_relu_slope, name=f"mapping_lrelu_{index}")(x)
    return keras.Model(inputs if config.conditional else z, x, name="mapping")


# --- Synthesis network: ws -> image ---------------------------------------------------------------

def noise_crops(ws, config: StyleGANConfig) -> dict[int, object]:
    """The article's noise: one uniform image per sample, centre-cropped to every resolution
    ({resolution: crop}); empty for StyleGAN's per-layer noise."""
    if not config.noise_inputs or config.noise_source != "cropped-uniform":
        return {}
    crops = {config.resolution: NoiseImage(config.resolution, name="noise_image")(ws)}
    size = config.resolution
    while size > 4:
        size //= 2
        crops[size] = keras.layers.Cropping2D(size // 2, name=f"noise_crop_{size}")(crops[2 * size])
    return crops


def add_noise(x, filters, config, name, crop):
    if not config.noise_inputs:
        return x
    if crop is None:
        return NoiseInjection(name=f"{name}_noise")(x)
    # The article's noise branch: a 1x1 convolution of the crop, starting at zero.
    noise = NoiseProjection(filters, name=f"{name}_noise")(crop)
    return keras.layers.Add(name=f"{name}_add_noise")([x, noise])


def styled_conv(x, ws, style_index, filters, config, name, crop=None):
    """3x3 conv, noise, style, LeakyReLU (one half of a g_block); returns (x, its w)."""
    w = SelectLatent(style_index, name=f"{name}_w")(ws)
    if config.style_block == "modulated":
        # The style scales the conv's input channels; bias 1 starts every scale at one.
        style = EqualizedDense(x.shape[-1], gain=1.0, bias_initial_value=1.0, name=f"{name}_style")(w)
        x = ModulatedConv2D(filters, 3, gain=math.sqrt(2.0), name=f"{name}_conv")([x, style])
        x = add_noise(x, filters, config, name, crop)
        return LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu")(x), w
    x = EqualizedConv2D(filters, 3, equalized=config.equalized_lr, name=f"{name}_conv")(x)
    return styled_activation(x, w, filters, config, name, crop), w


def styled_activation(x, w, filters, config, name, crop=None):
    x = add_noise(x, filters, config, name, crop)
    if config.adain_affine == "separate":
        # The article's two affines: the scale's bias starts at 0 and the offset's at 1.
        scale = EqualizedDense(filters, equalized=config.equalized_lr, name=f"{name}_scale")(w)
        offset = EqualizedDense(filters, bias_initial_value=1.0, equalized=config.equalized_lr, name=f"{name}_offset")(w)
        x = AdaIN(name=f"{name}_adain")([x, scale, offset])
    else:
        # One affine of w gives the AdaIN scale (around 1) and bias: one matmul instead of two.
        style = EqualizedDense(2 * filters, gain=1.0, equalized=config.equalized_lr, name=f"{name}_style")(w)
        x = AdaIN(scale_offset=1.0, name=f"{name}_adain")([x, style])
    return LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu")(x)


def to_rgb(x, w, config, name):
    if config.style_block == "modulated":
        style = EqualizedDense(x.shape[-1], gain=1.0, bias_initial_value=1.0, name=f"{name}_style")(w)
        return ModulatedConv2D(config.channels, 1, demodulate=False, name=name)([x, style])
    return EqualizedConv2D(config.channels, 1, gain=1.0, equalized=config.equalized_lr, name=name)(x)


def g_block(x, ws, block, filters, config, name, crop=None, upsample=True):
    if upsample:
        x = UpSampling2D(interpolation=config.upsample_interpolation, name=f"{name}_upsample")(x)
    x, _ = styled_conv(x, ws, config.style_index(block, 0), filters, config, f"{name}a", crop)
    return styled_conv(x, ws, config.style_index(block, 1), filters, config, f"{name}b", crop)


def build_synthesis(config: StyleGANConfig) -> keras.Model:
    ws = keras.Input((config.num_style_layers, config.style_dim), name="ws")
    constant_channels, widths = synthesis_widths(config)
    crops = noise_crops(ws, config)
    x = ConstantInput(constant_channels, from_dense=config.constant_input == "dense", name="constant")(ws)
    skip = config.generator_output == "skip"
    block, image, w = 0, None, None
    if config.initial_block:
        # A modulated convolution cannot style the constant without convolving it.
        if config.initial_block_conv or config.style_block == "modulated":
            x, w = g_block(x, ws, 0, constant_channels, config, "block4", crops.get(4), upsample=False)
        else:  # StyleGAN: the constant is styled directly, then one conv
            first = SelectLatent(config.style_index(0, 0), name="block4a_w")(ws)
            x = styled_activation(x, first, constant_channels, config, "block4a", crops.get(4))
            x, w = styled_conv(x, ws, config.style_index(0, 1), constant_channels, config, "block4b", crops.get(4))
        block = 1
        if skip:
            image = to_rgb(x, w, config, "to_rgb_4")
    for index, filters in enumerate(widths):
        size = 4 * 2 ** (index + 1)
        x, w = g_block(x, ws, block, filters, config, f"block{size}", crops.get(size))
        block += 1
        if skip:
            rgb = to_rgb(x, w, config, f"to_rgb_{size}")
            if image is not None:
                upsampled = UpSampling2D(interpolation="bilinear", name=f"rgb_upsample_{size}")(image)
                rgb = keras.layers.Add(name=f"rgb_sum_{size}")([upsampled, rgb])
            image = rgb
    if not skip:
        image = to_rgb(x, w, config, "to_rgb")
    if config.output_activation == "sigmoid":
        image = keras.layers.Activation("sigmoid", name="sigmoid")(image)
        image = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus_one_one")(image)
    image = keras.layers.Activation("linear", dtype="float32", name="image")(image)
    return keras.Model(ws, image, name="synthesis")


# --- Generator: z -> mapping -> truncation -> synthesis -------------------------------------------

def build_generator(config: StyleGANConfig) -> keras.Model:
    validate(config)
    mapping, synthesis = build_mapping(config), build_synthesis(config)
    inputs = [keras.Input((config.latent_dim,), name="z")]
    if config.conditional:
        inputs.append(keras.Input((), dtype="int32", name="label"))
    w = mapping(inputs if config.conditional else inputs[0])
    ws = BroadcastLatent(config.num_style_layers, name="broadcast")(w)
    ws = Truncation(config.truncation_cutoff, name="truncation")(ws)
    return described_generator(
        inputs if config.conditional else inputs[0], synthesis(ws), config, "stylegan_generator",
        mapping="mapping", synthesis="synthesis", truncation="truncation",
    )


# --- Discriminator: residual downsampling blocks, dense score -------------------------------------

def d_block(x, filters, config, name):
    """Two 3x3 convolutions and a 2x average pool, with a pooled 1x1 skip added to the output
    (``discriminator_skip``; the article's d_block has none).

    discriminator_downsample="end" pools after both convolutions (StyleGAN's residual block);
    "middle" pools between them, so the second runs at half resolution for a quarter of its cost,
    as in the article's d_block and StyleGAN2's downsampling convolution. The skip pools before
    its 1x1 convolution: both are linear, so the order changes nothing but the cost.
    """
    if config.discriminator_skip:
        residual = keras.layers.AveragePooling2D(2, name=f"{name}_skip_pool")(x)
        residual = EqualizedConv2D(filters, 1, gain=1.0, use_bias=False, equalized=config.equalized_lr, name=f"{name}_skip")(residual)
    x = EqualizedConv2D(filters, 3, equalized=config.equalized_lr, name=f"{name}_conv0")(x)
    x = LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu0")(x)
    if config.discriminator_downsample == "middle":
        x = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    x = EqualizedConv2D(filters, 3, equalized=config.equalized_lr, name=f"{name}_conv1")(x)
    x = LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu1")(x)
    if config.discriminator_downsample == "end":
        x = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    if not config.discriminator_skip:
        return x
    return keras.layers.Add(name=f"{name}_add")([x, residual])


def build_discriminator(config: StyleGANConfig) -> keras.Model:
    validate(config)
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    x = image
    for filters in discriminator_widths(config):
        x = d_block(x, filters, config, f"dblock{x.shape[1]}")
    if config.minibatch_std_group:
        x = MinibatchStdDev(config.minibatch_std_group, name="minibatch_stddev")(x)
        x = EqualizedConv2D(x.shape[-1] - 1, 3, equalized=config.equalized_lr, name="final_conv")(x)
        x = LeakyReLU(config.leaky_relu_slope, name="final_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if config.discriminator_dense_units:
        x = EqualizedDense(config.discriminator_dense_units, equalized=config.equalized_lr, name="dense")(x)
        x = LeakyReLU(config.leaky_relu_slope, name="dense_lrelu")(x)
    if config.discriminator_dropout:
        x = ReplicaDropout(config.discriminator_dropout, name="dropout")(x)
    inputs = [image]
    if config.conditional:
        # Projection discriminator (Miyato & Koyama 2018): score += <embed(y), features>.
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        score = EqualizedDense(1, gain=1.0, equalized=config.equalized_lr, name="score")(x)
        embedded = keras.layers.Embedding(config.num_classes, x.shape[-1], name="class_projection")(label)
        projection = keras.layers.Dot(axes=1, name="projection")([embedded, x])
        score = keras.layers.Add(name="conditional_score")([score, projection])
    else:
        score = EqualizedDense(1, gain=1.0, equalized=config.equalized_lr, name="score")(x)
    score = keras.layers.Activation("linear", dtype="float32", name="logit")(score)
    return keras.Model(inputs if config.conditional else image, score, name="stylegan_discriminator")


register_model("stylegan", StyleGANConfig, build_generator, build_discriminator, "StyleGAN (Karras et al. 2019)", validate)


# --- Presets ----------------------------------------------------------------------------------------

def article_preset(resolution: int = 256) -> StyleGANConfig:
    """The article's network and training recipe, at any power-of-two resolution, layer for layer
    (tests/models/test_stylegan.py holds the article's layer table at 64x64). Three differences,
    all deliberate (docs/models.md): 8 mapping layers where the article has 4, RGB out of
    2 * sigmoid - 1 where the article's sigmoid paints YCbCr in [0, 1], and the noise image
    drawn inside the generator (a NoiseImage layer) rather than fed as an input."""
    return StyleGANConfig(
        resolution=resolution,
        latent_dim=512,
        style_dim=512,
        mapping_layers=8,
        mapping_lr_multiplier=0.1,
        mapping_normalize_z=False,
        mapping_final_activation=False,
        # A 4x4 block of width R (two styled 3x3 convs) on Dense(4*4*R) of the number 1; the
        # article's widths follow --resolution when it changes the preset's.
        width_rule="article",
        constant_input="dense",
        initial_block=True,
        initial_block_conv=True,
        one_style_per_block=True,
        noise_source="cropped-uniform",
        adain_affine="separate",
        output_activation="sigmoid",
        # d_block: conv3x3 -> LeakyReLU -> AveragePooling -> conv3x3 -> LeakyReLU, no skip.
        discriminator_downsample="middle",
        discriminator_skip=False,
        discriminator_dense_units=128,
        discriminator_dropout=0.2,
        equalized_lr=False,
        leaky_relu_slope=0.01,
        batch_size=4,
        loss="least-squares",
        r1_weight=50.0,
        r1_interval=1,
        style_mixing_prob=0.4,
        g_learning_rate=1e-4,
        d_learning_rate=1e-4,
        adam_beta1=0.0,
        adam_beta2=0.99,
        ema_halflife_kimg=10.0,
        truncation_cutoff=None,
        # One generator forward pass serves the D and the G update (G still trains through the
        # updated D); --set share_fakes=false draws separate latents for each, as the article does.
        share_fakes=True,
        steps_per_execution=4,
    )


def cpu_64_preset() -> StyleGANConfig:
    """Tuned for image quality per CPU-minute at 64x64 (see docs/quality.md)."""
    return StyleGANConfig(
        resolution=64,
        latent_dim=128,
        style_dim=128,
        mapping_layers=8,
        mapping_lr_multiplier=0.01,
        # The article's widths at 64x64 (128 at 8x8 down to 16 at 64x64) with a 128-channel start:
        # the full-resolution layers dominate the cost on a CPU, so they stay narrow.
        width_base=1024,
        width_max=128,
        initial_block=True,
        share_fakes=True,
        minibatch_std_group=4,
        batch_size=16,
        loss="nonsaturating",
        # StyleGAN2-ADA's rule gamma = 0.0002 * resolution^2 / batch gives 0.05 here, and
        # r1_weight is gamma / 2. The earlier 0.5 (gamma 1) over-smoothed D: on the built-in
        # faces the sheet sharpened and KID fell by a fifth in the same 4 minutes (docs/quality.md).
        r1_weight=0.025,
        r1_interval=4,
        style_mixing_prob=0.9,
        g_learning_rate=2.5e-3,
        d_learning_rate=2.5e-3,
        ema_halflife_kimg=2.0,
        ema_rampup=0.05,
        truncation_cutoff=4,
        steps_per_execution=4,
    )


def small_set_preset() -> StyleGANConfig:
    """For a folder of a few hundred images: DiffAugment (colour, translation, cutout) with a
    discriminator twice as wide as stylegan-cpu-64's, which the augmentation keeps from memorising
    the set, and stylegan-conditional-64's two mapping layers, batch 8 and learning rates 1.5e-3.
    On 403 paintings at 128x128, 40 kimg, seed 0, its KID was 33% lower than the same recipe's
    without augmentation in one invocation on a Zen 4, as on a Zen 5 (FID 140 against 180), and 3%
    higher on a Zen 3 (docs/quality.md, "All three in one invocation on a Zen 4" and "Four seeds in
    one invocation"); over four seeds DiffAugment paid from 80 kimg on. The wider D costs about
    1.9x per image."""
    return replace(
        cpu_64_preset(), augment="diffaug", discriminator_width_multiplier=2,
        mapping_layers=2, batch_size=8, g_learning_rate=1.5e-3, d_learning_rate=1.5e-3,
    )


register_preset("stylegan-article", "stylegan", article_preset, "the article's StyleGAN: MSE + R1 50, batch 4, 256x256 by default")
register_preset("stylegan-cpu-64", "stylegan", cpu_64_preset, "StyleGAN tuned for quality per CPU-minute at 64x64 (what --model stylegan starts from)", default=True)
register_preset("stylegan-small-set", "stylegan", small_set_preset,
                "StyleGAN with DiffAugment and a discriminator twice as wide, for a folder of a few hundred images")


def conditional_64_preset() -> StyleGANConfig:
    """stylegan-cpu-64 with class conditioning: a class embedding joins z in the mapping network
    and the discriminator adds a projection term (Miyato & Koyama 2018). num_classes comes from
    the dataset's class subfolders.

    Two mapping layers (StyleGAN2-ADA's setting for small sets) and batch 8: on the built-in
    faces, in the same 8 minutes, KID 0.230 against 0.306 for stylegan-cpu-64's 8 layers and
    batch 16, and more classes painted apart (docs/quality.md, "Two mapping layers and batch 8").
    Learning rates 1.5e-3 instead of 2.5e-3: at batch 8 the faces come out cleaner, KID 0.180
    against 0.229 in the same minutes (docs/quality.md, "Learning rates 1.5e-3")."""
    return replace(
        cpu_64_preset(), conditional=True, mapping_layers=2, batch_size=8, g_learning_rate=1.5e-3, d_learning_rate=1.5e-3
    )


register_preset(
    "stylegan-conditional-64",
    "stylegan",
    conditional_64_preset,
    "class-conditional StyleGAN at 64x64 (class embedding in the mapping, projection discriminator)",
)
