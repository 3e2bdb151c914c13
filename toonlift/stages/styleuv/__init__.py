"""StyleFaceUV (seed 003) on toonlift: a detailed, view-consistent 3D face for every latent of a StyleGAN2.

Parts (``docs/styleuv.md``): ``pairs`` / ``build_pairs`` (style codes with rig coefficients), ``coeff_mlp``
(``F_3D`` and the ridge baseline), ``oversample`` (the inverted pairs' share of F_3D's batches), ``yaw`` (the SVM
direction ``d`` and ``F_yaw``), ``train_parts``, ``uv_generator`` (the StyleGAN2 synthesis with a diffuse +
displacement UV head), ``uv_render`` (the head rig drawn with those maps), ``module`` (``StyleUVModule``, registry
``styleuv``) and ``command`` (``toonlift styleuv``; ``photo_input`` for ``--image``).
Needs a StyleGAN2 generator (``synthesis`` with feature taps) and the ``head_rig`` model.
"""
