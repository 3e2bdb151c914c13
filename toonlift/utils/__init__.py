"""Small helpers shared by plugins and modules (file I/O, checkpoints, images)."""
