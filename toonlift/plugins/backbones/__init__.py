"""Generator backbones (entry-point group ``toonlift.backbones``); the interface is in :mod:`.base`."""
