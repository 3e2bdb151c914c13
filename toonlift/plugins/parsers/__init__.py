"""Face parsers (entry-point group ``toonlift.face_parsers``); the interface is in :mod:`.base`."""
