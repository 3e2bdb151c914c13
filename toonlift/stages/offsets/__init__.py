"""Stage 2: identity-preserving expression offsets (SeFa start, then the paper's optimisation of ``L_m``).

Needs from the generator: ``StyleModulation`` (SeFa's closed-form directions; not needed when a ``directions_file``
is given). Needs from each cartoon generator shown beside it: ``FeatureTaps`` when it is drawn with a feature swap.

Parts: :mod:`.module` (``OffsetModule``), :mod:`.offset_optimizer` (the batched optimisation, usable without
Lightning), :mod:`.directions` (where ``n*`` comes from), :mod:`.evaluation` (expression change vs identity drift).
"""
