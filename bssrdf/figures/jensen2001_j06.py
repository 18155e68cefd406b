"""Jensen et al. 2001, light diffusing across a shadow boundary: a flat slab half in shadow.

A large plane of a Table 1 material (skin 1, ketchup; :mod:`bssrdf.materials`) lit along its normal by a
distant light, with an occluder above casting a sharp shadow over x > 0. Rendered with
:mod:`bssrdf.render` from above (orthographic, a strip across the edge) with the dipole BSSRDF and with
the matching Lambertian BRDF: the BRDF's edge is a step, the BSSRDF carries light into the shadow. The
radiance across the edge is compared with the exact half-plane integral of the dipole,

    L(x₀) = F_t(η,1)² E/π · [R_tot − I(|x₀|)] (lit side),  F_t(η,1)² E/π · I(x₀) (shadow side),
    I(a) = ∫_a^∞ 2πr R_d(r) arccos(a/r)/π dr,

the integral of R_d over the lit half-plane seen from x₀ (as in tests/test_render.py).

Units: lengths in mm, σ in mm⁻¹, irradiance in W mm⁻², radiance in W mm⁻² sr⁻¹.
"""

from __future__ import annotations

import numpy as np

from .. import materials, render
from ..fresnel import F_t
from . import _render as rf
from ._core import Context, Output
from ._jensen2001 import new_figure

ID = "j06"
PAPER = "jensen2001"
NAME = "shadow_boundary"
TITLE = "Light diffusing across a shadow boundary: BSSRDF vs BRDF on a half-shadowed slab, vs exact"
PHOTONS = 160_000     # irradiance samples on skin's plane (pass 1; ketchup's twice as many)

MATERIALS = {"skin1": 1.0, "ketchup": 2.0}   # material → samples in PHOTONS (ketchup's plane is larger)
LABELS = {"skin1": "skin 1", "ketchup": "ketchup"}
HALF_WINDOW = 8.0      # [mm] the strip shows x = −8 … 8 mm
PIXELS = (256, 16)     # strip width × height [pixels] at the default sample count (square pixels)
IRRADIANCE = 1.0       # [W mm⁻²], light along −z (the plane's normal is +z)
OCCLUDER_HEIGHT = 1.0  # [mm] above the plane
CAMERA_HEIGHT = 50.0   # [mm]
PROBES = (-1.0, 1.0, 2.0)   # [mm] positions at which the caption quotes L / L_lit


def half_plane_integral(profile, a: np.ndarray, upper: float) -> np.ndarray:
    """I(a) = ∫_a^∞ 2r R(r) arccos(a/r) dr for distances ``a`` ≥ 0 (P,) [mm] → (P, C): the part of the
    profile's integral over the half-plane x > a seen from the origin (truncated at ``upper`` mm)."""
    from scipy.integrate import quad_vec

    a = np.asarray(a, dtype=np.float64)

    def f(u):
        r = a + u
        with np.errstate(invalid="ignore", divide="ignore"):
            ang = np.arccos(np.clip(np.where(r > 0, a / r, 0.0), 0.0, 1.0))
        return 2.0 * r[:, None] * profile.R(r) * ang[:, None]

    value, _ = quad_vec(f, 0.0, upper, epsrel=1e-9, epsabs=1e-13, limit=2000)
    return value


def make(ctx: Context) -> Output:
    n_samples, scale = rf.samples_and_scale(ctx, PHOTONS)
    w_px, h_px = rf.image_size(PIXELS[0], scale), max(2, int(round(PIXELS[1] * max(scale, 0.5))))
    pixel = 2.0 * HALF_WINDOW / w_px
    x = (np.arange(w_px) + 0.5) * pixel - HALF_WINDOW          # pixel centres [mm]
    light = render.DirectionalLight((0.0, 0.0, -1.0), IRRADIANCE)
    cam = render.OrthographicCamera(eye=(0.0, 0.0, CAMERA_HEIGHT), look_at=(0.0, 0.0, 0.0),
                                    up=(0.0, 1.0, 0.0),
                                    view_height=h_px * pixel, width=w_px, height=h_px)
    rows, data, units = [], {"x": x}, {"x": "mm (pixel centres across the edge; shadow for x > 0)"}
    for k, (name, factor) in enumerate(MATERIALS.items()):
        medium = materials.get(name)
        prof = render.DipoleProfile(medium, backend="auto")
        brdf = render.LambertianBRDF.matching(prof)
        r_t = prof.radius()               # the renderer's default truncation (tail 1e-3)
        hx, hy = r_t + HALF_WINDOW + 1.0, r_t + h_px * pixel / 2 + 1.0
        plane = render.Plane((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (hx, hy))
        occluder = render.Plane((hx, 0.0, OCCLUDER_HEIGHT), (0.0, 0.0, 1.0), (hx, 2.0 * hy))
        scene = render.Scene(objects=[plane], lights=[light], occluders=[occluder])
        seed = ctx.seed + k
        n = max(1, int(round(n_samples * factor)))
        sub, t_sub = rf.timed_render(scene, cam, prof, ctx, n, seed)
        lam, _ = rf.timed_render(scene, cam, brdf, ctx, n, seed)
        ft = F_t(1.0, prof.eta)
        level = ft * ft * IRRADIANCE / np.pi                    # L per unit of ∫R over the lit area
        inner = half_plane_integral(prof, np.abs(x), upper=10.0 * r_t)
        exact = level * np.where(x[:, None] < 0, prof.total()[None, :] - inner, inner)
        lit_level = level * prof.total()                        # far on the lit side
        line = sub.image.mean(axis=0)                           # rows are equivalent: their mean
        dev_line = np.abs(line - exact) / lit_level
        dev_pix = np.abs(sub.image - exact[None]) / lit_level
        probes = {p: np.array([np.interp(p, x, exact[:, c]) for c in range(3)]) / lit_level for p in PROBES}
        probes_r = {p: np.array([np.interp(p, x, line[:, c]) for c in range(3)]) / lit_level for p in PROBES}
        rows.append(dict(name=name, medium=medium, prof=prof, sub=sub, lam=lam, exact=exact, line=line,
                         lit_level=lit_level, dev_line=dev_line, dev_pix=dev_pix, r_t=r_t, half=(hx, hy),
                         n=len(sub.samples.area), spacing=float(np.sqrt(sub.samples.area[0])), seed=seed,
                         seconds=t_sub, probes=probes, probes_r=probes_r,
                         exposure=0.9 / float(lam.image.max())))
        data.update({f"{name}/bssrdf": sub.image.astype(np.float32),
                     f"{name}/brdf": lam.image.astype(np.float32),
                     f"{name}/exact": exact,
                     f"{name}/bssrdf_row_mean": line})
        units.update({f"{name}/bssrdf": "W mm^-2 sr^-1 (H x W x RGB, float32)",
                      f"{name}/brdf": "W mm^-2 sr^-1 (H x W x RGB, float32)",
                      f"{name}/exact": "W mm^-2 sr^-1 (W x RGB), exact half-plane integral at pixel centres",
                      f"{name}/bssrdf_row_mean": "W mm^-2 sr^-1 (W x RGB), mean over the strip's rows"})

    fig = _draw(rows, x, h_px * pixel)
    worst = max(rows, key=lambda r: r["dev_line"].max())
    i, c = np.unravel_index(int(np.argmax(worst["dev_line"])), worst["dev_line"].shape)
    max_dev = (f"mean of the strip's {h_px} rows: "
               f"{worst['dev_line'].max():.2%} of the lit level at x = {x[i]:+.2f} mm, channel {'RGB'[c]} "
               f"[{LABELS[worst['name']]}]")
    per = []
    for r in rows:
        i, c = np.unravel_index(int(np.argmax(r["dev_line"])), r["dev_line"].shape)
        quotes = ", ".join(f"x = {p:+g} mm: {rf.fmt3(r['probes_r'][p], '.1%')} "
                           f"(exact {rf.fmt3(r['probes'][p], '.1%')})"
                           for p in PROBES)
        per.append(
            f"{LABELS[r['name']]} (σtr {rf.fmt3(np.asarray(r['medium'].sigma_tr))} mm⁻¹; plane "
            f"{2 * r['half'][0]:.1f} × {2 * r['half'][1]:.1f} mm, {r['n']:,} samples on a jittered grid, "
            f"spacing {r['spacing']:.3f} mm, seed {r['seed']}; truncation radius {r['r_t']:.1f} mm; BSSRDF "
            f"render {r['seconds']:.1f} s): L/L_lit at {quotes}; largest deviation from exact "
            f"{r['dev_line'].max():.2%} of the lit level (row mean, at x = {x[i]:+.2f} mm, {'RGB'[c]}), "
            f"single pixels {r['dev_pix'].max():.2%}")
    eta = rows[0]["prof"].eta                  # 1.3 for both materials
    boost = float(F_t(1.0, eta)[0] / render.hemispherical_transmittance(eta)[0])
    caption = (
        "A flat slab half in shadow. A plane (normal +z) of each material of Jensen et al. 2001, Table 1 "
        "(bssrdf.materials; η 1.3, air above) lit along its normal by a distant white light of irradiance "
        f"{IRRADIANCE:g} W mm⁻²; an occluder {OCCLUDER_HEIGHT:g} mm above it (not seen by the camera) shades "
        "x > 0 with a sharp edge at x = 0. The plane extends the renderer's truncation radius (tail 1e-3 of "
        "R_tot) + 1 mm beyond the strip on every side, so it stands for an infinite slab. Orthographic view "
        f"from above of a strip x = ±{HALF_WINDOW:g} mm, {w_px}×{h_px} pixels of {pixel:.3f} mm; strips "
        "drawn stretched vertically. Top: the dipole BSSRDF (bssrdf.render.render, Jensen & Buhler 2002's "
        f"two passes, method None = the backend's default evaluator, backend {ctx.backend!r}; the irradiance "
        "samples are the figure's 'photons' setting); middle: the Lambertian BRDF of the same radiosity "
        "(LambertianBRDF.matching, ρ = F_t(η,1) T_h(η) R_tot), one exposure per material (the BRDF's "
        "brightest channel → 0.9, clamp, sRGB). The BRDF's edge is a step; the BSSRDF carries light into "
        "the shadow and loses it on the lit side near the edge, over a distance set by 1/σtr: the red "
        "channel, least absorbed, spreads farthest, so the edge has a red fringe. Bottom: radiance across "
        "the edge, the strip's row mean (points) against the exact half-plane integral of the dipole "
        "(lines), L = F_t(η,1)² E/π · [R_tot − I(|x|)] on the lit side and F_t(η,1)² E/π · I(x) in the "
        "shadow with I(a) = ∫_a^∞ 2πr R_d(r) arccos(a/r)/π dr (adaptive quadrature), and the BRDF (dashed; "
        f"seen along the normal the BSSRDF is brighter than the BRDF by F_t(η,1)/T_h(η) = {boost:.3f}: both "
        "have the same radiosity, but the BSSRDF's radiance goes as F_t(η, cos θ_o), largest along the "
        "normal, the BRDF's is uniform); residual panel: (rendered − "
        "exact)/L_lit. Per material: " + "; ".join(per) + ". No Monte Carlo (the reference is the exact "
        "integral of the same dipole; it checks the renderer's quadrature, sampling and truncation, not the "
        "dipole itself)."
    )
    params = {"materials": list(MATERIALS), "half_window_mm": HALF_WINDOW, "pixels": [w_px, h_px],
              "pixel_mm": pixel, "irradiance_W_mm2": IRRADIANCE, "occluder_height_mm": OCCLUDER_HEIGHT,
              "n_samples": [r["n"] for r in rows], "photons": n_samples, "seeds": [r["seed"] for r in rows],
              "plane_half_sizes_mm": [list(r["half"]) for r in rows], "backend": ctx.backend,
              "method": "renderer default (None)", "truncation_radius_mm": [r["r_t"] for r in rows]}
    return Output(fig, data, units, caption, max_dev, params,
                  reference="rendered vs the exact half-plane integral")


def _draw(rows, x, strip_mm):
    fig = new_figure(figsize=(5.2 * len(rows), 7.6))
    axes = fig.subplots(4, len(rows), height_ratios=(0.32, 0.32, 1.5, 0.6), sharex="col", squeeze=False)
    colours = ("#d62728", "#2ca02c", "#1f77b4")
    half = x[-1] + 0.5 * (x[1] - x[0])
    ext = (-half, half, -strip_mm / 2, strip_mm / 2)
    every = max(1, len(x) // 64)
    for j, r in enumerate(rows):
        e = r["exposure"]
        for ax, img, what in ((axes[0, j], r["sub"].image, "BSSRDF (dipole)"),
                              (axes[1, j], r["lam"].image, "BRDF (Lambertian)")):
            rf.show_image(ax, rf.tonemapped(img, e), extent=ext, aspect="auto")
            ax.set_yticks([])
            ax.set_ylabel(what, fontsize=7.5, rotation=0, ha="right", va="center")
        axes[0, j].set_title(f"{LABELS[r['name']]}: plane lit along its normal, occluder over x > 0 "
                             f"(exposure {e:.3g})", fontsize=8.5)
        ax = axes[2, j]
        lit = r["lit_level"]
        for c in range(3):
            ax.semilogy(x, r["exact"][:, c] / lit[c], "-", color=colours[c], lw=1.2)
            ax.semilogy(x[::every], r["line"][::every, c] / lit[c], "o", color=colours[c], ms=2.6, mfc="none")
            ax.semilogy(x, np.maximum(r["lam"].image.mean(axis=0)[:, c] / lit[c], 1e-30), "--",
                        color=colours[c], lw=0.8)
        ax.set_ylim(1e-4, 4.0)
        ax.axvline(0.0, color="k", lw=0.6)
        ax.grid(True, alpha=0.3)
        ax.set_ylabel("L / L_lit (per channel)", fontsize=8)
        ax.text(0.02, 0.04, "lines: exact half-plane integral\npoints: rendered (row mean)\ndashed: BRDF",
                transform=ax.transAxes, fontsize=7, va="bottom",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8"})
        ax.text(0.98, 0.96, "shadow →", transform=ax.transAxes, fontsize=8, ha="right", va="top")
        ax.text(0.02, 0.96, "← lit", transform=ax.transAxes, fontsize=8, ha="left", va="top")
        axr = axes[3, j]
        for c in range(3):
            axr.plot(x, (r["line"][:, c] - r["exact"][:, c]) / lit[c], "-", color=colours[c], lw=0.9)
        axr.axhline(0.0, color="k", lw=0.5)
        axr.grid(True, alpha=0.3)
        axr.set_ylabel("(rendered − exact)\n/ L_lit", fontsize=8)
        axr.set_xlabel("x [mm] (edge at 0)", fontsize=8)
        for a in axes[2:, j]:
            a.tick_params(labelsize=7)
    fig.suptitle("Jensen et al. 2001: light diffusing across a shadow boundary (BSSRDF vs BRDF; exact "
                 "half-plane integral)", fontsize=10)
    return fig
