"""Landmark detectors (entry-point group ``toonlift.landmark_detectors``): the world's ground truth and dlib's
68-point predictor, all answering in the iBUG 68-point layout (``docs/rig.md``)."""
