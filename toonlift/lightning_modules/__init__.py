"""LightningModules: thin wiring of plugins, steps and logging (group ``toonlift.modules``)."""
