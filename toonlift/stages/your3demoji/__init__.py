"""Your3dEmoji (seed 001): one-shot 3D-aware cartoon avatars from one exemplar.

Needs: a StyleGAN2 photo generator and its discriminator (``BlockFeatures``) for the 2D branch, the ``eg3d``
generator for the 3D branch. Parts: :mod:`.branches` (JoJoGAN fine-tune, PTI generator tuning, dual branch),
:mod:`.pipeline` (``Your3dEmoji``, settings, ``Avatar`` with style degrees), :mod:`.module` (``your3demoji``).
"""
