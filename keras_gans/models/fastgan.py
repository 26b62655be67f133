"""FastGAN (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity
Few-shot Image Synthesis", ICLR; figures 3 and 4), a few-shot model that learns in CPU-minutes.

Generator (fig. 3): z -> a 4x4 map -> one upsampling block per doubling (nearest upsampling,
3x3 convolution, batch norm, GLU; every other block twice, with noise) -> 1x1 convolution ->
tanh. Skip-layer excitation (SLE) lets each map from 64x64 on be gated channel-wise by the map
at 1/16 of its size, a cheap long skip that carries global structure to the fine layers.

Discriminator (fig. 4): residual downsampling blocks to 8x8 with SLE from the map 8x its size,
and a second path that sees the image at half size; both give a 5x5 map of logits. It is
self-supervised: three small decoders rebuild the whole image from the 8x8 features, the
half-size image from the second path's features, and a random quarter of the image from a
quarter of the 16x16 features, with a perceptual distance plus L1 (keras_gans.losses.
fastgan_reconstruction_loss). Only real images are reconstructed.

Every convolution of both networks is spectrally normalised, as in the reference code; hinge
loss; Adam 2e-4 with betas (0.5, 0.999); DiffAugment with colour and translation.
Widths follow the reference code's per-resolution multipliers of ``generator_width`` (ngf)
and ``discriminator_width`` (ndf).
"""
from __future__ import annotations

from dataclasses import dataclass
import keras

from keras_gans.config import AugmentChoice, GANConfig, LossChoice, register_model, register_preset
from keras_gans.layers import GLU, LeakyReLU, NoiseInjection, RandomQuarterCrop, SNConv2D, SNDense, batch_normalization
from keras_gans.models.common import check_resolution, described_generator, float32_logits, image_input, latent_inputs, require_unconditional

# Channels per resolution, as multiples of ngf / ndf (the reference code's nfc_multi).
GENERATOR_MULTIPLIERS = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
DISCRIMINATOR_MULTIPLIERS = {4: 16, 8: 16, 16: 8, 32: 4, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}


@dataclass
class FastGANConfig(GANConfig):
    resolution: int = 256
    latent_dim: int = 256
    generator_width: int = 64  # ngf
    discriminator_width: int = 64  # ndf
    width_max: int = 1024  # no map wider than this (CPU presets narrow the low resolutions)
    # Width (ndf) of the discriminator's decoders; 0 = discriminator_width, as in the reference.
    # Their first convolutions are as wide as D's 8x8 and 16x16 maps, which at 64x64 costs more
    # than the rest of D: the CPU presets make them narrower.
    decoder_width: int = 0
    batch_size: int = 8
    loss: LossChoice = "hinge"
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    augment: AugmentChoice = "diffaug"
    diffaugment_policy: str = "color,translation"
    reconstruction_weight: float = 1.0
    # The reference code's EMA keeps 0.999 of the average per step of 8 images: 5.5 kimg.
    ema_halflife_kimg: float = 5.5
    ema_rampup: float = 0.05
    noise: bool = True  # per-pixel noise in the doubled upsampling blocks


def _widths(config, multipliers, base):
    return {res: max(8, min(config.width_max, int(m * base))) for res, m in multipliers.items()}


def _batch_norm(name):
    # PyTorch's BatchNorm2d defaults: momentum 0.1 there is 0.9 here.
    return batch_normalization(momentum=0.9, epsilon=1e-5, name=name)


def _glu_conv(x, filters, name, noise=False):
    """3x3 convolution to 2 * filters, (noise), batch norm, GLU."""
    x = SNConv2D(2 * filters, 3, use_bias=False, name=f"{name}_conv")(x)
    if noise:
        x = NoiseInjection(name=f"{name}_noise")(x)
    return GLU(name=f"{name}_glu")(_batch_norm(f"{name}_bn")(x))


def up_block(x, filters, name, doubled=False, noise=True):
    """Nearest upsampling then one GLU convolution, or two with noise (the reference's UpBlockComp)."""
    x = keras.layers.UpSampling2D(2, name=f"{name}_up")(x)
    x = _glu_conv(x, filters, f"{name}_a", noise=doubled and noise)
    if doubled:
        x = _glu_conv(x, filters, f"{name}_b", noise=noise)
    return x


def skip_layer_excitation(small, big, name):
    """SLE (fig. 3): the small map, pooled to 4x4, gates the big map's channels."""
    size = small.shape[1]
    x = small if size == 4 else keras.layers.AveragePooling2D(size // 4, name=f"{name}_pool")(small)
    x = SNConv2D(big.shape[-1], 4, padding="valid", use_bias=False, name=f"{name}_conv4")(x)
    x = keras.layers.Activation("swish", name=f"{name}_swish")(x)
    x = SNConv2D(big.shape[-1], 1, use_bias=False, name=f"{name}_conv1")(x)
    x = keras.layers.Activation("sigmoid", name=f"{name}_gate")(x)
    return keras.layers.Multiply(name=name)([big, x])


def check_config(config: FastGANConfig) -> None:
    check_resolution(config, "fastgan", minimum=64)
    require_unconditional(config, "fastgan")


def build_generator(config: FastGANConfig) -> keras.Model:
    check_config(config)
    inputs, z, _ = latent_inputs(config)
    widths = _widths(config, GENERATOR_MULTIPLIERS, config.generator_width)
    # The reference's 4x4 transposed convolution of a 1x1 input is a dense layer.
    x = SNDense(4 * 4 * 2 * widths[4], use_bias=False, name="init_dense")(z)
    x = keras.layers.Reshape((4, 4, 2 * widths[4]), name="init_reshape")(x)
    x = GLU(name="init_glu")(_batch_norm("init_bn")(x))
    features = {4: x}
    resolution = 4
    while resolution < config.resolution:
        resolution *= 2
        doubled = resolution in (8, 32, 128, 512)
        x = up_block(x, widths[resolution], f"up{resolution}", doubled=doubled, noise=config.noise)
        if 64 <= resolution <= 512:
            x = skip_layer_excitation(features[resolution // 16], x, f"sle{resolution // 16}_{resolution}")
        features[resolution] = x
    x = SNConv2D(config.channels, 3 if resolution == 1024 else 1, use_bias=False, name="to_rgb")(x)
    image = keras.layers.Activation("tanh", dtype="float32", name="image")(x)
    return described_generator(inputs, image, config, "fastgan_generator")


def _leaky(x, name):
    return LeakyReLU(0.2, name=name)(x)


def down_block(x, filters, name):
    """4x4 stride-2 convolution, batch norm, LeakyReLU(0.2)."""
    x = SNConv2D(filters, 4, strides=2, use_bias=False, name=f"{name}_conv")(x)
    return _leaky(_batch_norm(f"{name}_bn")(x), f"{name}_lrelu")


def residual_down_block(x, filters, name):
    """The reference's DownBlockComp: a strided path and an average-pooled 1x1 path, averaged."""
    main = down_block(x, filters, f"{name}_main")
    main = SNConv2D(filters, 3, use_bias=False, name=f"{name}_main2_conv")(main)
    main = _leaky(_batch_norm(f"{name}_main2_bn")(main), f"{name}_main2_lrelu")
    direct = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    direct = SNConv2D(filters, 1, use_bias=False, name=f"{name}_direct_conv")(direct)
    direct = _leaky(_batch_norm(f"{name}_direct_bn")(direct), f"{name}_direct_lrelu")
    return keras.layers.Average(name=name)([main, direct])


def decoder(x, widths, size, channels, name):
    """The reference's SimpleDecoder: GLU upsampling blocks from 8x8 to ``size``, 3x3 conv, tanh."""
    resolution = x.shape[1]
    while resolution < size:
        resolution *= 2
        x = up_block(x, widths[resolution], f"{name}_up{resolution}")
    x = SNConv2D(channels, 3, name=f"{name}_to_rgb")(x)
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def build_discriminator(config: FastGANConfig) -> keras.Model:
    check_config(config)
    inputs, image, _ = image_input(config)
    widths = _widths(config, DISCRIMINATOR_MULTIPLIERS, config.discriminator_width)
    # Above 256x256 strided convolutions bring the image down to 256 first, as the reference does.
    x, resolution = image, config.resolution
    if resolution > 256:
        while resolution > 256:
            resolution //= 2
            x = SNConv2D(widths[resolution * 2], 4, strides=2, use_bias=False, name=f"from_rgb{resolution}_conv")(x)
            if resolution < config.resolution // 2:
                x = _batch_norm(f"from_rgb{resolution}_bn")(x)
            x = _leaky(x, f"from_rgb{resolution}_lrelu")
    else:
        x = _leaky(SNConv2D(widths[resolution], 3, use_bias=False, name="from_rgb_conv")(x), "from_rgb_lrelu")
    features = {resolution: x}
    while resolution > 8:
        resolution //= 2
        x = residual_down_block(x, widths[resolution], f"down{resolution}")
        if resolution * 8 in features:
            x = skip_layer_excitation(features[resolution * 8], x, f"sle{resolution * 8}_{resolution}")
        features[resolution] = x
    logits_big = SNConv2D(widths[8], 1, use_bias=False, name="logits_big_conv1")(x)
    logits_big = _leaky(_batch_norm("logits_big_bn")(logits_big), "logits_big_lrelu")
    logits_big = SNConv2D(1, 4, padding="valid", use_bias=False, name="logits_big")(logits_big)

    # The second path: the image at half size, down to 8x8 with plain blocks, 4x wider per size.
    small = keras.layers.AveragePooling2D(2, name="half_size")(image)
    if small.shape[1] > 128:
        small = keras.layers.Resizing(128, 128, interpolation="area", name="small_resize")(small)
    resolution = small.shape[1] // 2
    y = _leaky(SNConv2D(widths[4 * resolution], 4, strides=2, use_bias=False, name="small_from_rgb")(small), "small_lrelu")
    while resolution > 8:
        resolution //= 2
        y = down_block(y, widths[4 * resolution], f"small_down{resolution}")
    logits_small = SNConv2D(1, 4, padding="valid", use_bias=False, name="logits_small")(y)

    logits = keras.layers.Concatenate(axis=1, name="logits_maps")(
        [keras.layers.Flatten(name=f"flatten_{n}")(t) for n, t in (("big", logits_big), ("small", logits_small))]
    )
    logits = float32_logits(logits)
    if config.reconstruction_weight <= 0:
        return keras.Model(inputs, logits, name="fastgan_discriminator")
    # The decoders rebuild the image at half size (128x128 at 256x256, as in the reference).
    size = min(config.resolution // 2, 128)
    decoder_widths = _widths(config, DISCRIMINATOR_MULTIPLIERS, config.decoder_width or config.discriminator_width)
    whole = decoder(features[8], decoder_widths, size, config.channels, "decoded_whole")
    small_whole = decoder(y, decoder_widths, size, config.channels, "decoded_small")
    crop, quarter = RandomQuarterCrop(name="quarter_crop")(features[16])
    part = decoder(crop, decoder_widths, size, config.channels, "decoded_quarter")
    return keras.Model(inputs, [logits, whole, small_whole, part, quarter], name="fastgan_discriminator")


register_model("fastgan", FastGANConfig, build_generator, build_discriminator, "FastGAN (Liu et al. 2021)", check_config)


def fastgan_64() -> FastGANConfig:
    # Narrow enough to show faces within minutes on two CPU cores (see docs/quality.md).
    return FastGANConfig(
        resolution=64, generator_width=16, discriminator_width=16, decoder_width=4, steps_per_execution=4
    )


def fastgan_128() -> FastGANConfig:
    return FastGANConfig(
        resolution=128, generator_width=16, discriminator_width=16, decoder_width=8, steps_per_execution=4
    )


def fastgan_256() -> FastGANConfig:
    # The reference code's widths (ngf = ndf = 64) and batch 8: a GPU preset.
    return FastGANConfig(resolution=256)


register_preset("fastgan-64", "fastgan", fastgan_64, "FastGAN at 64x64, narrowed for a CPU", default=True)
register_preset("fastgan-128", "fastgan", fastgan_128, "FastGAN at 128x128, narrowed for a CPU")
register_preset("fastgan-256", "fastgan", fastgan_256, "FastGAN at 256x256 with the reference code's widths")
