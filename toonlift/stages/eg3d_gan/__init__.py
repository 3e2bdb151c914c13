"""EG3D GAN training: dual discrimination, R1, density regularisation, blur fade-in and EMA, as NVlabs' EG3D trains.

Needs from the generator: ``CameraConditioned`` and ``Exportable``, plus the EG3D generator's own parts (tri-planes
and decoder, for the density regulariser), i.e. the ``eg3d`` backbone; from the discriminator: a camera-conditioned
dual discriminator (``eg3d_dual``). Data: batches that are dicts with ``image`` ``[B, 3, H, W]`` in ``[-1, 1]`` and
each image's camera under ``cond`` ``[B, 25]``.

Parts: :mod:`.regularizers` (blur schedule, Gaussian blur, density total variation, dual R1), :mod:`.module`
(``EG3DGANModule``, registry name ``eg3d_gan``).
"""
