"""Face identity encoders (entry-point group ``toonlift.identity_encoders``); interface in :mod:`.base`."""
