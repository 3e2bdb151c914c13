"""Built-in plugins, one sub-package per kind, each with an abstract ``base.py``.

Plugins hold architecture and state; they never import a LightningModule.
"""
