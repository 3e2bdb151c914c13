"""EG3D tri-plane generator and dual discriminator in pure PyTorch (NVlabs/eg3d's architecture, toonlift layers).

One idea per module: :mod:`.camera` (the 25-number label, orbit cameras), :mod:`.rays`, :mod:`.triplane`
(plane sampling), :mod:`.decoder`, :mod:`.depth_sampling`, :mod:`.marcher`, :mod:`.renderer`, :mod:`.planes`
(tri-plane synthesis), :mod:`.mapping`, :mod:`.superres`, :mod:`.backbone` (``eg3d``), :mod:`.discriminator`
(``eg3d_dual``), :mod:`.convert` (official pickles to safetensors). docs/eg3d.md describes them.
"""

from toonlift.plugins.eg3d.backbone import EG3DBackbone

__all__ = ["EG3DBackbone"]
