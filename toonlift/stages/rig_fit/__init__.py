"""Coarse 3DMM reconstruction (seed 002, Sec. 3.2): a CNN regresses the ``head_rig`` latent of a face image and is
trained with the paper's loss ``w_l L_lan + w_p L_photo + w_r L_reg`` through the rig's differentiable render.

Needs from the backbone: the ``head_rig`` backbone itself (its latent layout, landmarks and mesh render); no
capability protocol covers a morphable model's coefficients yet. Parts: :mod:`.regressor` (the CNN),
:mod:`.losses` (Eq. 3-6 and the optional supervised term), :mod:`.module` (``RigFitModule``).
"""
