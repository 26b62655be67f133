"""Polite, resumable collectors for painting and anime-illustration datasets.

Run ``python -m scrapers paintings ...`` or ``python -m scrapers safebooru ...``; see docs/scrapers.md.
"""

__version__ = "0.1.0"
