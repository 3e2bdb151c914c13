"""Exporters: meshes to OBJ (+ MTL + PNG), GLB and PLY files that open correctly in common viewers."""
