"""Discriminators (entry-point group ``toonlift.discriminators``); the interface is in :mod:`.base`."""
