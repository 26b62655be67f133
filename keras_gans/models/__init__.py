"""Model files register themselves (and their presets) on import."""
from keras_gans.models import stylegan  # noqa: F401
from keras_gans.models import acgan, dcgan, dragan, fastgan, pggan, sngan, wgan_gp  # noqa: F401
