"""Model files register themselves (and their presets) on import."""
from keras_gans.models import stylegan  # noqa: F401
