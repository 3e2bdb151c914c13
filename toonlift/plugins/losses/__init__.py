"""Losses (entry-point group ``toonlift.losses``); the interface is in :mod:`.base`."""
