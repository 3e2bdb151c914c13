"""The "toon+" domain (a stronger toon shape whose eyes lie outside the photo prior) and mixed-domain batches."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.stages.rig_fit.module import NEEDED, true_latent
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.synthetic.identity_basis import IDENTITY_NAMES
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.synthetic.toon import domain_identity, toon_identity, toon_plus_identity

EYE = IDENTITY_NAMES.index("eye_size")


def test_domain_identity_keeps_the_old_domains_and_puts_toon_plus_eyes_outside_the_photo_prior() -> None:
    ident = sample_params(3, range(256)).identity
    torch.testing.assert_close(domain_identity(ident, "photo"), ident)
    for d in ("cartoon", "ink"):
        torch.testing.assert_close(domain_identity(ident, d), toon_identity(ident))
    plus = domain_identity(ident, "toon+")
    torch.testing.assert_close(plus, toon_plus_identity(ident))
    # the photo prior is clipped to +-2.5 sd; toon+ eyes are at least 4.25 sd (5.5 - 0.5 * 2.5) on every face,
    # cartoon eyes start at 1.7 sd (3.2 - 0.6 * 2.5)
    assert plus[:, EYE].min() >= 4.25 - 1e-5 and toon_identity(ident)[:, EYE].min() < plus[:, EYE].min()


def test_toon_plus_renders_larger_eyes_than_cartoon() -> None:
    params = sample_params(5, range(4))
    r = FaceRenderer()
    width = {}
    for d in ("cartoon", "toon+"):
        lm = r(params, d, 64, ("landmarks",))["landmarks"]
        # eye height: upper lid (37, 38) to lower lid (41, 40) of the right eye, in pixels
        width[d] = (lm[:, [41, 40], 1] - lm[:, [37, 38], 1]).abs().mean(1)
    assert (width["toon+"] > 1.2 * width["cartoon"]).all(), width


def test_a_mixed_batch_is_each_domain_rendered_alone() -> None:
    mixed = SyntheticFaces("photo,cartoon,toon+", 32, 6, 4, NEEDED)
    batch = mixed.render(list(range(6)))
    assert batch["domain_index"].tolist() == [0, 1, 2, 0, 1, 2]
    for j, d in enumerate(("photo", "cartoon", "toon+")):
        alone = SyntheticFaces(d, 32, 6, 4, NEEDED).render([j, j + 3])
        for k in ("image", "landmarks", "mask"):
            torch.testing.assert_close(batch[k][[j, j + 3]], alone[k])
        lat = true_latent({k: v[[j, j + 3]] for k, v in batch.items()} | {"domain_index": torch.zeros(2).long()}, d)
        torch.testing.assert_close(true_latent(batch, "photo,cartoon,toon+")[[j, j + 3]], lat)


def test_bad_mixtures_are_refused() -> None:
    with pytest.raises(ConfigError, match="comma-separated"):
        SyntheticFaces("photo,toon++", 32, 4, 0)
