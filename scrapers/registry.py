"""Source keys, genres and defaults for the command line."""
from __future__ import annotations

from . import artic, cleveland, commons, met, safebooru, wikiart

SOURCES = {module.KEY: module for module in (met, artic, cleveland, commons, wikiart, safebooru)}
PAINTING_SOURCES = ("met", "artic", "cleveland", "commons", "wikiart")
DEFAULT_PAINTING_SOURCES = ("met", "artic", "cleveland", "commons")
# Never picked by default: must be named in --source.
OPT_IN_SOURCES = ("wikiart",)
GENRES = ("portrait", "still-life", "landscape", "cityscape")
