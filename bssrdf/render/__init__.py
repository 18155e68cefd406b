"""A small renderer for translucent objects (Jensen & Buhler 2002's two-pass method).

Lengths in mm, profiles in mm⁻², irradiance in W mm⁻², radiance in W mm⁻² sr⁻¹ (any radiometric
unit in place of W). See :mod:`bssrdf.render.pipeline` for the method and the equations,
:mod:`bssrdf.render.mesh` for triangle meshes (OBJ files, ``icosphere``, ``box``) and
:mod:`bssrdf.render.specular` for the optional GGX surface reflection (``render(...,
specular=Specular(roughness=0.3))``).

>>> import bssrdf
>>> from bssrdf import render
>>> scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
...                      lights=[render.DirectionalLight(direction=(0, -1, -1), irradiance=1.0)])
>>> camera = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), width=64, height=64)
>>> profile = render.DipoleProfile(bssrdf.materials.get("skimmilk"))
>>> result = render.render(scene, camera, profile, n_samples=20_000)
>>> result.image.shape
(64, 64, 3)

Thin objects lit from behind: a :class:`Slab` (two faces, d apart) with a profile that has T(r), the
multipole of Donner & Jensen 2005 (:class:`TabulatedProfile` of a slab's
:func:`bssrdf.export.table.profile_table`); :func:`mc_slab_profile` gives the Monte Carlo reference:

>>> from bssrdf.export.table import profile_table
>>> paper = bssrdf.Medium(sigma_a=0.05, sigma_s=50.0, g=0.8, eta=1.5)
>>> slab = render.Scene(objects=[render.Slab((0, 0, 0), (0, 0, 1), (5.0, 5.0), 0.5)],
...                     lights=[render.DirectionalLight(direction=(0, 0, 1))])     # from behind
>>> front = render.OrthographicCamera((0, 0, 10), (0, 0, 0), up=(0, 1, 0), width=8, height=8)
>>> multipole = render.TabulatedProfile(profile_table(paper, thickness=0.5))
>>> render.render(slab, front, multipole, n_samples=20_000).image.shape
(8, 8, 1)
"""

from .camera import OrthographicCamera, PerspectiveCamera
from .geometry import BACK, FRONT, Plane, Slab, Sphere, SurfaceSamples
from .lights import DirectionalLight, PointLight
from .materials import DipoleProfile, LambertianBRDF, Profile, TabulatedProfile, hemispherical_transmittance
from .mesh import Mesh, box, icosphere, load_obj, write_obj
from .output import srgb_encode, tonemap, write_exr, write_npy, write_png
from .pipeline import METHODS, IrradianceSamples, RenderResult, exitance, irradiance_samples, render
from .reference import mc_slab_profile, simulate_slab, table_from_mc
from .scene import Hits, Scene
from .specular import Specular, specular_radiance

__all__ = [
    "BACK", "DipoleProfile", "DirectionalLight", "FRONT", "Hits", "IrradianceSamples", "LambertianBRDF",
    "METHODS", "Mesh", "OrthographicCamera", "PerspectiveCamera", "Plane", "PointLight", "Profile",
    "RenderResult", "Scene", "Slab", "Specular", "Sphere", "SurfaceSamples", "TabulatedProfile", "box",
    "exitance", "hemispherical_transmittance", "icosphere", "irradiance_samples", "load_obj",
    "mc_slab_profile", "render", "simulate_slab", "specular_radiance", "srgb_encode", "table_from_mc",
    "tonemap", "write_exr", "write_npy", "write_obj", "write_png",
]
