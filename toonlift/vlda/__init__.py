"""Stage 3 (VLDA): viewpoint, lighting, depth and albedo networks that lift one GAN image to a 3D avatar."""
