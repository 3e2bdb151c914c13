"""Stage 1: fine-tune a generator on a cartoon data set while it keeps the base model's structure.

Needs from the generator: ``NoiseInputs`` (the same noise maps for ``G`` and ``G_base``), ``FeatureTaps`` (the
structure loss over ``structure_feature_names(n)``, the blended grid's ``swap_features``) and ``Exportable`` (the
exported ``G_ema``). Needs from the discriminator: ``FreezableBlocks`` when ``freeze_d > 0``, and ``Exportable`` to
export it. A generator without ``FeatureTaps`` can still train from scratch with ``structure.weight: 0``.

Parts: :mod:`.module` (``FinetuneModule``), :mod:`.arguments` (its checks at construction), :mod:`.sampling` (the
random draws of an iteration), :mod:`.evaluation` (FID/KID/LPIPS and grids), :mod:`.adaptive_augment` (ADA),
:mod:`.export` (``toonlift export-generator``).
"""
