"""Jensen et al. 2001, the BRDF vs BSSRDF renderings: the same lit sphere of each measured material
shaded with a Lambertian BRDF and with the dipole BSSRDF.

For five Table 1 materials (marble, skim milk, whole milk, ketchup, skin 1; :mod:`bssrdf.materials`) one
sphere under one distant light from behind-left, rendered twice with :mod:`bssrdf.render`: with the dipole
BSSRDF (:class:`bssrdf.render.DipoleProfile`, two-pass method of Jensen & Buhler 2002) and with the
Lambertian BRDF that reflects the same power under normal incidence
(:meth:`bssrdf.render.LambertianBRDF.matching`). Both images of a material share one exposure. Below them,
the radiance along the horizontal line through the sphere's centre (log scale), and in the caption the
fraction of the BSSRDF image's radiance in pixels the light does not reach (where the BRDF image is black).

Units: lengths in mm, σ in mm⁻¹, irradiance in W mm⁻², radiance in W mm⁻² sr⁻¹.
"""

from __future__ import annotations

import numpy as np

from .. import materials, render
from . import _render as rf
from ._core import Context, Output
from ._jensen2001 import new_figure

ID = "j05"
PAPER = "jensen2001"
NAME = "brdf_vs_bssrdf"
TITLE = "BRDF vs BSSRDF: a lit sphere of five Table 1 materials, Lambertian and dipole"
PHOTONS = 20_000     # irradiance samples on the sphere (pass 1), per material

# material → sphere radius [mm]: one size for all, 0.5–2.7 red-channel diffusion lengths 1/σtr, so that
# light visibly crosses the sphere (the paper rendered its objects at such scales)
MATERIALS = {"marble": 10.0, "skimmilk": 10.0, "wholemilk": 10.0, "ketchup": 10.0, "skin1": 10.0}
LABELS = {"marble": "marble", "skimmilk": "skim milk", "wholemilk": "whole milk", "ketchup": "ketchup",
          "skin1": "skin 1"}
LIGHT_DIRECTION = (1.0, -0.35, -0.45)   # the way the light travels: from the left, from behind, from above
IRRADIANCE = 1.0                        # [W mm⁻²] on a plane facing the light
PIXELS = 160                            # image side at the default sample count
DISTANCE = 8.0                          # camera distance in sphere radii (on −y, looking at the centre)
FOV = 17.0                              # vertical field of view [degrees]
EXPOSURE_PEAK = 0.9                     # the BRDF image's brightest channel maps to this (before sRGB)


def make(ctx: Context) -> Output:
    n_samples, scale = rf.samples_and_scale(ctx, PHOTONS)
    px = rf.image_size(PIXELS, scale)
    rows, data, units = [], {}, {}
    for k, (name, radius) in enumerate(MATERIALS.items()):
        medium = materials.get(name)
        bssrdf = render.DipoleProfile(medium, backend="auto")
        brdf = render.LambertianBRDF.matching(bssrdf)
        scene = render.Scene(objects=[render.Sphere((0.0, 0.0, 0.0), radius)],
                             lights=[render.DirectionalLight(LIGHT_DIRECTION, IRRADIANCE)])
        cam = render.PerspectiveCamera(eye=(0.0, -DISTANCE * radius, 0.0), look_at=(0.0, 0.0, 0.0),
                                       fov=FOV, width=px, height=px)
        seed = ctx.seed + k
        sub, t_sub = rf.timed_render(scene, cam, bssrdf, ctx, n_samples, seed)
        lam, t_lam = rf.timed_render(scene, cam, brdf, ctx, n_samples, seed)
        hit = sub.hit
        unlit = hit & np.all(lam.image <= 0.0, axis=-1)        # the light does not reach these directly
        lit = hit & ~unlit
        total = sub.image[hit].sum(axis=0)
        frac_unlit = sub.image[unlit].sum(axis=0) / total
        ratio_lit = sub.image[lit].sum(axis=0) / lam.image[lit].sum(axis=0)
        exposure = EXPOSURE_PEAK / float(lam.image.max())
        rows.append(dict(name=name, radius=radius, medium=medium, sub=sub, lam=lam, exposure=exposure,
                         frac_unlit=frac_unlit, ratio_lit=ratio_lit, rho=brdf.rho, seconds=(t_sub, t_lam),
                         r_trunc=sub.radius, n_samples=len(sub.samples.area), seed=seed,
                         sigma_tr=np.asarray(medium.sigma_tr), spacing=float(np.sqrt(sub.samples.area[0]))))
        data.update({f"{name}/bssrdf": sub.image.astype(np.float32),
                     f"{name}/brdf_centre_row": lam.image[px // 2],
                     f"{name}/unlit": unlit,
                     f"{name}/fraction_unlit": frac_unlit, f"{name}/ratio_lit": ratio_lit})
        units.update({f"{name}/bssrdf": "W mm^-2 sr^-1 (linear radiance, H x W x RGB, float32)",
                      f"{name}/brdf_centre_row": "W mm^-2 sr^-1 (W x RGB), the BRDF image's middle row (the "
                                                 "image is rho/pi E cos(theta_i) on the hit pixels)",
                      f"{name}/unlit": "bool (hit pixels the light does not reach directly)",
                      f"{name}/fraction_unlit": "1 (R, G, B): BSSRDF radiance in unlit pixels / in all",
                      f"{name}/ratio_lit": "1 (R, G, B): BSSRDF / BRDF radiance summed over lit pixels"})

    fig = _draw(rows, px)
    per = "; ".join(
        f"{LABELS[r['name']]} (sphere radius {r['radius']:g} mm, σtr·radius "
        f"{rf.fmt3(r['sigma_tr'] * r['radius'], '.2g')}, exposure {r['exposure']:.3g}): unlit fraction "
        f"{rf.fmt3(r['frac_unlit'], '.1%')}, lit BSSRDF/BRDF "
        f"{rf.fmt3(r['ratio_lit'], '.2f')}" for r in rows)
    times = ", ".join(f"{LABELS[r['name']]} {r['seconds'][0]:.1f} s" for r in rows)
    r0 = rows[0]
    radii = set(MATERIALS.values())
    sizes = (f"{radii.pop():g} mm for every material" if len(radii) == 1 else
             ", ".join(f"{LABELS[n]} {v:g} mm" for n, v in MATERIALS.items()))
    red = [float(r["sigma_tr"][0] * r["radius"]) for r in rows]
    red_lo, red_hi = min(red), max(red)
    light = ", ".join(f"{v:.2f}" for v in np.asarray(LIGHT_DIRECTION) / np.linalg.norm(LIGHT_DIRECTION))
    spacings = sorted({f"{r['spacing']:.2f}" for r in rows})
    spacing = spacings[0] if len(spacings) == 1 else ", ".join(f"{r['spacing']:.2f}" for r in rows)
    rhos = "; ".join(f"{LABELS[r['name']]} {rf.fmt3(r['rho'])}" for r in rows)
    caption = (
        "The same sphere rendered with the dipole BSSRDF (top row) and with a Lambertian BRDF (middle row) "
        "of five materials of Jensen et al. 2001, Table 1 (σ's, σa per RGB channel in mm⁻¹ from "
        "bssrdf.materials; η 1.3, marble 1.5; air outside). Scene scale: sphere radius "
        f"{sizes} — {red_lo:.1f}–{red_hi:.1f} diffusion lengths 1/σtr of the red channel (σtr·radius "
        "below), so that light crosses a good part of the sphere, as at the "
        f"scales the paper rendered. One distant white light of irradiance {IRRADIANCE:g} W mm⁻² travelling "
        f"along ({light}) (from behind-left and above; the camera looks along +y from {DISTANCE:g} radii, "
        f"vertical field of view {FOV:g}°, {px}×{px} pixels, one ray per pixel). BSSRDF: Jensen & Buhler "
        "2002's two passes (bssrdf.render.render, method None = the backend's default evaluator, backend "
        f"{ctx.backend!r}): {r0['n_samples']:,} irradiance samples on the sphere (Fibonacci lattice under a "
        f"random rotation; seed {ctx.seed} + material index, {ctx.seed}–{ctx.seed + len(rows) - 1}; these "
        f"samples are the figure's 'photons' setting; spacing {spacing} mm), L = F_t(η, cos θ_o) Σ R_d(|x_o "
        "− x_i|) E_t,i A_i / π with E_t = F_t(η, cos θ_i) E cos θ_i and chord distances. BRDF: ρ/π E cos "
        "θ_i with ρ = F_t(η, 1) T_h(η) R_tot per channel (the same radiosity as the BSSRDF for a flat slab "
        f"lit along its normal): ρ = {rhos}. No Monte Carlo. Both images of a material share one exposure "
        f"(the BRDF image's brightest channel → {EXPOSURE_PEAK:g}; linear radiance × exposure, clamped, sRGB "
        "transfer curve). Bottom panels: radiance along the horizontal line through the sphere's centre "
        "(solid BSSRDF, dashed BRDF, per channel). Measured, per material: the fraction of the BSSRDF "
        "image's radiance (summed over the sphere's pixels, R / G / B) in pixels that the light does not "
        "reach (where the BRDF is black), and the BSSRDF/BRDF ratio of the radiance summed over the lit "
        f"pixels: {per}. The BRDF's unlit half is exactly black; the BSSRDF carries light around the "
        "terminator and through the sphere, most in the channels of smallest σtr (red in skin and ketchup), "
        "and softens the lit side's shading. The lit ratio is below 1 because part of the light that enters "
        "the lit side leaves from the unlit side, and because the BSSRDF's entry transmittance "
        "F_t(η, cos θ_i) falls at oblique incidence, where the matched BRDF's albedo (set at normal "
        f"incidence) does not. Render times (BSSRDF, pass 1 + 2): {times}."
    )
    params = {"materials": {n: {"sphere_radius_mm": v} for n, v in MATERIALS.items()},
              "light_direction": list(LIGHT_DIRECTION), "irradiance_W_mm2": IRRADIANCE,
              "pixels": px, "camera_distance_radii": DISTANCE, "fov_deg": FOV,
              "n_samples": r0["n_samples"], "seeds": [r["seed"] for r in rows], "photons": n_samples,
              "exposures": {r["name"]: r["exposure"] for r in rows}, "backend": ctx.backend,
              "method": "renderer default (None)"}
    return Output(fig, data, units, caption, "", params)


def _draw(rows, px):
    fig = new_figure(figsize=(2.3 * len(rows), 7.4))
    axes = fig.subplots(3, len(rows), height_ratios=(1.0, 1.0, 0.9))
    mid = px // 2
    colours = ("#d62728", "#2ca02c", "#1f77b4")
    for j, r in enumerate(rows):
        e = r["exposure"]
        rf.show_image(axes[0, j], rf.tonemapped(r["sub"].image, e),
                      f"{LABELS[r['name']]}, radius {r['radius']:g} mm\nBSSRDF (dipole)")
        rf.show_image(axes[1, j], rf.tonemapped(r["lam"].image, e), f"BRDF (Lambertian), exposure {e:.3g}")
        axes[1, j].set_xlabel(f"unlit fraction {rf.fmt3(r['frac_unlit'], '.0%')}", fontsize=7.5)
        ax = axes[2, j]
        x = (np.arange(px) + 0.5) / px * 2.0 - 1.0
        row_s = r["sub"].image[mid]
        row_l = r["lam"].image[mid]
        hit = r["sub"].hit[mid]
        for c in range(3):
            ax.semilogy(x[hit], row_s[hit, c], "-", color=colours[c], lw=1.1)
            ok = hit & (row_l[:, c] > 0)
            ax.semilogy(x[ok], row_l[ok, c], "--", color=colours[c], lw=0.9)
        top = max(row_s.max(), row_l.max())
        ax.set_ylim(top * 1e-4, top * 2.0)
        ax.set_xlim(-1, 1)
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("image x (half-widths)", fontsize=7.5)
        ax.tick_params(labelsize=7)
        if j == 0:
            ax.set_ylabel("L [W mm⁻² sr⁻¹]\n(solid BSSRDF, dashed BRDF)", fontsize=7.5)
    fig.suptitle("Jensen et al. 2001: BSSRDF (top) vs BRDF (middle), one exposure per material; radiance "
                 "through the centre (bottom)", fontsize=10)
    return fig
