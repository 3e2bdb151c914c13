"""Pure math: small functions of tensors with no module state, each tested on its own. Never imports Lightning."""
