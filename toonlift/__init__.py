"""toonlift: a face (a StyleGAN latent or a real photo) to a 3D cartoon avatar with controllable expressions.

Importing the package imports no plugin and no torch; see :mod:`toonlift.registry` for the plugin kinds.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
