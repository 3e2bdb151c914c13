"""Renderers (entry-point group ``toonlift.renderers``); the interface is in :mod:`.base`."""
