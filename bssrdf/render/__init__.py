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
"""

from .camera import OrthographicCamera, PerspectiveCamera
from .geometry import Plane, Sphere, SurfaceSamples
from .lights import DirectionalLight, PointLight
from .materials import DipoleProfile, LambertianBRDF, Profile, TabulatedProfile, hemispherical_transmittance
from .mesh import Mesh, box, icosphere, load_obj, write_obj
from .output import srgb_encode, tonemap, write_exr, write_npy, write_png
from .pipeline import METHODS, IrradianceSamples, RenderResult, exitance, irradiance_samples, render
from .scene import Hits, Scene
from .specular import Specular, specular_radiance

__all__ = [
    "DipoleProfile", "DirectionalLight", "Hits", "IrradianceSamples", "LambertianBRDF", "METHODS", "Mesh",
    "OrthographicCamera", "PerspectiveCamera", "Plane", "PointLight", "Profile", "RenderResult", "Scene",
    "Specular", "Sphere", "SurfaceSamples", "TabulatedProfile", "box", "exitance",
    "hemispherical_transmittance", "icosphere", "irradiance_samples", "load_obj", "render",
    "specular_radiance", "srgb_encode", "tonemap", "write_exr", "write_npy", "write_obj", "write_png",
]
