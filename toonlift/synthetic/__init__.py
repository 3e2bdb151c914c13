"""The synthetic face world: procedural 3D heads rendered as photo, cartoon and ink images with full ground truth.

Public entry points (imported from their modules; importing this package imports nothing heavy):

* :func:`toonlift.synthetic.head_model.build_head_model` -> :class:`~toonlift.synthetic.head_model.HeadModel`
* :func:`toonlift.synthetic.sampler.sample_params` -> :class:`~toonlift.synthetic.sampler.FaceParams`
* :class:`toonlift.synthetic.render.FaceRenderer` (images + depth, normals, mask, parts, albedo, landmarks, ...)
* :class:`toonlift.synthetic.dataset.SyntheticFaces` and ``toonlift.datamodules.synthetic_faces``
* :class:`toonlift.synthetic.analyser.FaceAnalyser` (the shipped face analyser)

See ``docs/synthetic.md``.
"""
