"""LightningDataModules (entry-point group ``toonlift.datamodules``)."""
