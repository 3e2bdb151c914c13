"""The pipeline's stages, one package each, above the plugins and below the CLI and demo.

* :mod:`toonlift.stages.finetune` -- Stage 1: fine-tune a generator into a cartoon twin (structure loss, ADA,
  FreezeD), then blend the two by layer swapping.
* :mod:`toonlift.stages.offsets` -- Stage 2: SeFa directions refined into identity-preserving expression offsets.
* :mod:`toonlift.stages.vlda` -- Stage 3: VLDA, GAN2Shape-style 3D reconstruction of one generated face.

Each package's docstring says at its top which backbone capabilities
(:mod:`toonlift.plugins.backbones.capabilities`) its LightningModule needs; the module checks them once, at
construction, and refuses a backbone that lacks one with one message.
"""
