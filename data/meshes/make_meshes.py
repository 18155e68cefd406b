"""Regenerate the meshes in this folder: ``python data/meshes/make_meshes.py``.

icosphere_r10_s2.obj: an icosahedron subdivided twice (320 triangles, 162 vertices, all on the
sphere), radius 10 mm about the origin, radial vertex normals; lengths in mm. Made by
:func:`bssrdf.render.icosphere` (no third-party model).
"""

from __future__ import annotations

from pathlib import Path

from bssrdf.render import icosphere, write_obj


def main() -> None:
    here = Path(__file__).resolve().parent
    mesh = icosphere(radius=10.0, subdivisions=2, smooth=True)
    write_obj(here / "icosphere_r10_s2.obj", mesh,
              comment="icosphere: radius 10 mm, 2 subdivisions, radial vertex normals\n"
                      "made by data/meshes/make_meshes.py (bssrdf.render.icosphere)")


if __name__ == "__main__":
    main()
