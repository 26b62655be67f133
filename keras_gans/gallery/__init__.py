"""The AI Art Gallery: a static site of a run's paintings (``site``) and the ASGI app that serves
it and paints new ones live (``server``). ``python -m keras_gans.gallery build|serve``."""
