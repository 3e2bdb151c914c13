"""Feature extractors for distribution metrics (group ``toonlift.feature_extractors``); see :mod:`.base`."""
