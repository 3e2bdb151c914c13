"""``toonlift stylise``: one-shot 3D-aware stylisation from one exemplar with Your3dEmoji or 3DArtmator.

Parts: :mod:`.inputs` (exemplar/input images and world renders with their cameras), :mod:`.edits` (expression
directions in the original 3D generator), :mod:`.outputs` (rotation GIF, mesh, edits, style degrees),
:mod:`.command` (the command line).
"""
