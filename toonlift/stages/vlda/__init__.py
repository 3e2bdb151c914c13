"""Stage 3 (VLDA): viewpoint, lighting, depth and albedo networks that lift one generated face to a 3D avatar.

Needs from the generator: ``MappingSplit`` (step 2's offset encoder works in the mapping network's hidden space).
Needs from the discriminator: ``BlockFeatures`` (step 2's feature loss). The renderer is a depth-map renderer
(``DepthMapRenderer``).

Parts: :mod:`.module` (``VLDAModule``), :mod:`.phases` (each phase's loss), :mod:`.reconstructor` and
:mod:`.networks` (the four networks and their losses), :mod:`.projector` (step 2), :mod:`.schedule` (the resumable
state machine), :mod:`.vlda_params`, :mod:`.ellipsoid` and :mod:`.latent_projection` (Stage-3 math),
:mod:`.inputs`/:mod:`.outputs`/:mod:`.variants` (files), :mod:`.evaluation`, :mod:`.render_metrics`,
:mod:`.rendered_views` (scores), and :mod:`.synthetic_truth`/:mod:`.invert_synthetic` (inverted synthetic faces with
true depth, the benchmark's ground truth).
"""
