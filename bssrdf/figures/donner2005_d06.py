"""Donner & Jensen 2005: a back-lit thin slab (parchment-like) rendered with the dipole, the multipole and
a Monte Carlo reference.

Light from behind a thin slab reaches the viewer through transmission, which the multipole (Donner &
Jensen 2005) models with T(r) and the dipole (Jensen et al. 2001) does not have: a dipole-based
renderer (Jensen & Buhler 2002) sums the back face's irradiance with R_d at the Euclidean distance
through the slab. The scene: a slab in air lit from behind by a directional light through a mask
with four windows (slots of decreasing width), seen from the front with an orthographic camera, all
rendered by :mod:`bssrdf.render` with the same samples and the same Fresnel terms; only the profile
differs:

* dipole: :class:`bssrdf.render.DipoleProfile` (no T; Euclidean distances across the slab);
* multipole: :class:`bssrdf.render.TabulatedProfile` of :func:`bssrdf.export.table.profile_table`
  (R(r) on the lit face, T(r_∥) on the other);
* Monte Carlo: the tracer's R(r) and T(r) of the same slab for a normally incident pencil beam,
  tabulated by :func:`bssrdf.render.table_from_mc`. By the translation invariance of a flat slab
  under normal collimated light, the exitance of any illumination pattern is the pattern convolved
  with T(r), which the renderer's sum evaluates: so this is the reference image of the scene for
  light arriving along the normal. It enters through the renderer's own Fresnel and exitance
  convention (per unit power entering, (1/π) F_t(η, cos θ_o) on exit), so the three images compare
  the transport profiles, not the BSSRDF's angular terms.

Units: mm, mm⁻¹; radiance in W mm⁻² sr⁻¹ for an irradiance of 1 W mm⁻² on a plane facing the light.
"""

from __future__ import annotations

import numpy as np

from ..medium import Medium
from ._core import Context, Output

ID = "d06"
PAPER = "donner2005"
NAME = "back_lit_slab"
TITLE = "A back-lit thin slab (parchment-like): dipole, multipole and Monte Carlo reference images"
PHOTONS = 1_000_000

# Parchment-like: σ's = 10 mm⁻¹ (ℓ ≈ 0.1 mm), forward scattering, yellowish (absorbs blue most).
MEDIUM = Medium(sigma_a=[0.03, 0.05, 0.12], sigma_s=50.0, g=0.8, eta=1.5)
THICKNESS = 0.5                      # mm (≈ 5ℓ)
N_AROUND = 1.0                       # air on both sides
SLOTS = ((-4.0, 2.0), (-1.25, 1.0), (0.75, 0.5), (2.25, 0.25))   # windows: (centre x, width) [mm]
SLOT_HALF_HEIGHT = 2.0               # mm
MASK_GAP = 1.0                       # mm between the slab's back face and the mask
VIEW = (12.0, 6.0)                   # mm, width × height of the orthographic view, centred on (0, 0)
PIXELS = (160, 80)
SPACING = 0.05                       # mm between irradiance samples on each face (d/10)
MARGIN = 3.5                         # mm of slab beyond the view on every side (> T's truncation radius)
LIT_FRACTION = 0.05                  # deviations are measured where the MC image > this × its lit level
SAMPLE_SEED = 7
METHOD = "clustered"                 # pass 2: within 0.15% of the truncated sum's lit level here (measured)


def _mask(half_x: float, half_y: float, z: float):
    """Occluder rectangles at depth ``z`` covering a wide area except the windows of :data:`SLOTS`."""
    from .. import render

    big_x, big_y = 2.0 * half_x, 2.0 * half_y
    n = (0, 0, 1)
    h = SLOT_HALF_HEIGHT
    parts = [render.Plane((0.0, h + big_y / 2, z), n, (big_x, big_y / 2)),       # above the windows
             render.Plane((0.0, -h - big_y / 2, z), n, (big_x, big_y / 2))]      # below
    edges = [-big_x]
    for c, w in SLOTS:
        edges += [c - w / 2, c + w / 2]
    edges.append(big_x)
    for a, b in zip(edges[0::2], edges[1::2], strict=True):                      # between the windows
        parts.append(render.Plane(((a + b) / 2, 0.0, z), n, ((b - a) / 2, h)))
    return parts


def _rim_distance(hx: float, hy: float) -> float:
    """Smallest distance [mm] from a window of the mask to the slab's rim."""
    return min(min(hx - abs(c) - w / 2 for c, w in SLOTS), hy - SLOT_HALF_HEIGHT)


def _scene():
    from .. import render

    hx, hy = VIEW[0] / 2 + MARGIN, VIEW[1] / 2 + MARGIN
    slab = render.Slab((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (hx, hy), THICKNESS)
    light = render.DirectionalLight((0.0, 0.0, 1.0), 1.0)       # travels along +z: from behind
    return render.Scene([slab], [light], _mask(hx, hy, -THICKNESS - MASK_GAP)), (hx, hy)


def make(ctx: Context) -> Output:
    from .. import render
    from ..export.table import profile_table
    from ..profiles import multipole

    scene, (hx, hy) = _scene()
    cam = render.OrthographicCamera((0.0, 0.0, 10.0), (0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0),
                                    view_height=VIEW[1], width=PIXELS[0], height=PIXELS[1])
    n_samples = int(round(2 * (2 * hx / SPACING) * (2 * hy / SPACING)))
    results = render.simulate_slab(MEDIUM, THICKNESS, ctx.n_photons(), n_above=N_AROUND, n_below=N_AROUND,
                                   seed=ctx.seed, backend=ctx.backend, progress=ctx.progress)
    mc_table = render.table_from_mc(results)
    profiles = {
        "dipole": render.DipoleProfile(MEDIUM, N_AROUND,
                                       backend="auto" if ctx.backend in ("auto", "cuda") else ctx.backend),
        "multipole": render.TabulatedProfile(profile_table(MEDIUM, thickness=THICKNESS, n_above=N_AROUND,
                                                           n_below=N_AROUND)),
        "Monte Carlo": render.TabulatedProfile(mc_table),
    }
    images, timings = {}, {}
    for name, prof in profiles.items():
        res = render.render(scene, cam, prof, n_samples=n_samples, seed=SAMPLE_SEED, method=METHOD,
                            backend="numpy")
        images[name] = res.image
        timings[name] = sum(res.timings.values())

    # the lit level: the MC image at the centre of the widest window, per channel
    x = ((np.arange(PIXELS[0]) + 0.5) / PIXELS[0] - 0.5) * VIEW[0]
    y = (0.5 - (np.arange(PIXELS[1]) + 0.5) / PIXELS[1]) * VIEW[1]
    row = PIXELS[1] // 2
    c0, w0 = SLOTS[0]
    core = (np.abs(x - c0) < 0.25 * w0)[None, :] & (np.abs(y) < 0.5 * SLOT_HALF_HEIGHT)[:, None]
    ref = images["Monte Carlo"]
    level = ref[core].mean(axis=0)                                       # (3,)
    region = ref > LIT_FRACTION * level
    devs = {}
    for name in ("multipole", "dipole"):
        img = images[name]
        rel = np.where(region, np.abs(img / np.where(region, ref, 1.0) - 1.0), 0.0)
        absd = np.abs(img - ref) / level
        k = np.unravel_index(np.argmax(rel), rel.shape)
        devs[name] = {"rel": float(rel[k]), "at_x": float(x[k[1]]), "at_y": float(y[k[0]]),
                      "channel": int(k[2]), "abs": float(absd.max()),
                      "centre": (img[core].mean(axis=0) / level).tolist()}

    T_mp = np.ravel(multipole.total_T(MEDIUM, THICKNESS, N_AROUND, N_AROUND))
    T_mc = np.asarray(mc_table.total_T)
    T_err = np.array([res.stderr("T_total") / (1.0 - res.R_specular) for res in results])
    T_dip = profiles["dipole"].tail(THICKNESS)
    fig = _draw(images, x, y, row, level, devs, results)

    med = MEDIUM
    stp = np.ravel(med.sigma_t_prime)
    mfp = 1.0 / stp
    names = ("red", "green", "blue")
    sig_t_d = float(np.ravel(med.sigma_t)[0]) * THICKNESS
    md, dd = devs["multipole"], devs["dipole"]
    max_dev = (f"multipole vs MC {md['rel']:.1%} ({names[md['channel']]}, x = {md['at_x']:.2f} mm, "
               f"y = {md['at_y']:.2f} mm); dipole vs MC {dd['rel']:.1%} ({names[dd['channel']]}, x = "
               f"{dd['at_x']:.2f} mm): relative, over pixels where the MC image exceeds "
               f"{LIT_FRACTION:.0%} of its lit level")
    slots = ", ".join(f"{w:g} mm at x = {c:g} mm" for c, w in SLOTS)
    caption = (
        f"A thin parchment-like slab in air (n = {N_AROUND:g} on both sides), {THICKNESS:g} mm thick and "
        f"{2 * hx:g} mm × {2 * hy:g} mm (its thin sides ignored), lit from behind by a directional light "
        f"along its normal (irradiance 1 W mm⁻²) through a mask {MASK_GAP:g} mm behind it with four windows "
        f"{2 * SLOT_HALF_HEIGHT:g} mm tall ({slots}), seen from the front by an orthographic camera "
        f"({VIEW[0]:g} mm × {VIEW[1]:g} mm, {PIXELS[0]} × {PIXELS[1]} pixels). Medium: σa "
        f"{', '.join(f'{v:g}' for v in np.ravel(med.sigma_a))} mm⁻¹ (R, G, B), σs "
        f"{float(np.ravel(med.sigma_s)[0]):g} mm⁻¹, g {float(np.ravel(med.g)[0]):g}, η "
        f"{float(np.ravel(med.eta)[0]):g} (σ's {float(np.ravel(med.sigma_s_prime)[0]):g} mm⁻¹, ℓ = 1/σ't "
        f"{', '.join(f'{v:.4f}' for v in mfp)} mm: d ≈ {THICKNESS / mfp[1]:.1f} ℓ; α' "
        f"{', '.join(f'{v:.4f}' for v in np.ravel(med.albedo_prime))}). Rendered by bssrdf.render "
        f"(Jensen & Buhler 2002's two passes; {n_samples:,} irradiance samples, {SPACING:g} mm apart on "
        f"each face, sample seed {SAMPLE_SEED}; the clustered sum, tail 1e-3, within 0.15% of the lit "
        f"level of the truncated sum here) with three profiles and nothing else different. Left: the "
        f"dipole (Jensen et al. 2001), which has no T(r): the back face's samples "
        f"are summed with R_d at the Euclidean distance √(r² + d²) across the slab (it lets through "
        f"∫_d^∞ 2πρ R_d dρ = {', '.join(f'{v:.4f}' for v in T_dip)} of the power entering, per channel). "
        f"Middle: the multipole (Donner & Jensen 2005; tabulated, bssrdf.export.table), R(r) on the lit "
        f"face and T(r_∥) through the slab (total T {', '.join(f'{v:.4f}' for v in T_mp)}). Right: the "
        f"Monte Carlo reference: bssrdf.mc's R(r) and T(r) of the same slab for a normally incident pencil "
        f"beam ({results[0].n_photons:,} photons per channel, seeds "
        f"{', '.join(str(r.seed) for r in results)}, {mc_table.grid['n_bins']} radial bins of "
        f"{mc_table.grid['bin_width']:.4g} mm to {mc_table.grid['r_max']:.3g} mm; total T "
        f"{', '.join(f'{v:.4f}' for v in T_mc)} ± {', '.join(f'{v:.4f}' for v in T_err)}), per unit power "
        f"entering (÷ (1 − R_specular)), the unscattered beam removed (e^(−σt d) = e^(−{sig_t_d:.3g}) "
        f"here), single scattering kept in T (at most σs d e^(−σt d) of it) and left out of R (not seen "
        f"here). A flat slab under normal collimated light is translation invariant, so the image of any "
        f"illumination pattern is the pattern convolved with T(r): the renderer's sum with the MC profile "
        f"is the reference image. The MC profile enters through the renderer's own Fresnel and exitance "
        f"convention (F_t(η, cos θ_i) in, (1/π) F_t(η, cos θ_o) out), as the models do, so the images "
        f"compare the transport profiles. All three images share one exposure (the MC's lit level maps "
        f"to 0.8). Below: the scanline y = {y[row]:.3f} mm through the windows, per channel (MC: points; "
        f"multipole: solid; dipole: dashed), and each model's deviation from MC in units of the MC's lit "
        f"level (the centre of the 2 mm window: {', '.join(f'{v:.4g}' for v in level)} W mm⁻² sr⁻¹). "
        f"Largest deviations over the pixels where the MC image exceeds {LIT_FRACTION:.0%} of its lit level "
        f"(the windows and their blurred edges; every pixel is ≥ {MARGIN:g} mm and every window ≥ "
        f"{_rim_distance(hx, hy):g} mm from the slab's rim, farther than T's truncation radius "
        f"{profiles['multipole'].transmission.radius(1e-3):.2f} mm, so the ignored sides play no part; all "
        f"the light has scattered many times: where diffusion applies): "
        f"multipole {md['rel']:.1%} relative ({md['abs']:.1%} of the lit level anywhere in the image), "
        f"dipole {dd['rel']:.1%} relative ({dd['abs']:.1%} of the lit level). At the centre of the 2 mm "
        f"window model/MC = multipole {', '.join(f'{v:.3f}' for v in md['centre'])}, dipole "
        f"{', '.join(f'{v:.3f}' for v in dd['centre'])} (R, G, B). Render times (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + "."
    )
    data = {"x": x, "y": y, "scanline_row": np.array(row), "lit_level": level,
            "image_dipole": images["dipole"].astype(np.float32),          # float32: half the file
            "image_multipole": images["multipole"].astype(np.float32),
            "image_mc": images["Monte Carlo"].astype(np.float32),
            "mc_table_r": mc_table.r, "mc_table_T": mc_table.T,
            "mc_table_R": mc_table.R, "mc_T_r_stderr": np.stack([r.stderr("T_r") for r in results], axis=1),
            "mc_r_edges": results[0].r_edges, "total_T_multipole": T_mp, "total_T_mc": T_mc,
            "total_T_mc_stderr": T_err, "transmitted_dipole": T_dip}
    units = {"x": "mm", "y": "mm", "scanline_row": "pixel row", "lit_level": "W mm^-2 sr^-1",
             "image_dipole": "W mm^-2 sr^-1", "image_multipole": "W mm^-2 sr^-1", "image_mc": "W mm^-2 sr^-1",
             "mc_table_r": "mm", "mc_table_T": "mm^-2 per unit power entering",
             "mc_table_R": "mm^-2 per unit power entering",
             "mc_T_r_stderr": "mm^-2 per unit incident power", "mc_r_edges": "mm",
             "total_T_multipole": "fraction of power entering", "total_T_mc": "fraction of power entering",
             "total_T_mc_stderr": "fraction of power entering",
             "transmitted_dipole": "fraction of power entering"}
    params = {"medium": {k: np.ravel(getattr(MEDIUM, k)).tolist()
                         for k in ("sigma_a", "sigma_s", "g", "eta")},
              "thickness_mm": THICKNESS, "n_around": N_AROUND, "slots_mm": [list(s) for s in SLOTS],
              "slot_height_mm": 2 * SLOT_HALF_HEIGHT, "mask_gap_mm": MASK_GAP, "view_mm": list(VIEW),
              "pixels": list(PIXELS), "slab_half_size_mm": [hx, hy], "sample_spacing_mm": SPACING,
              "n_samples": n_samples, "sample_seed": SAMPLE_SEED, "method": METHOD,
              "photons": [r.n_photons for r in results], "seeds": [r.seed for r in results],
              "lit_fraction": LIT_FRACTION, "deviations": devs}
    return Output(fig, data, units, caption, max_dev, params)


def _draw(images, x, y, row, level, devs, results):
    from matplotlib.figure import Figure

    from ..render import tonemap

    fig = Figure(figsize=(12.0, 8.2), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=(1.0, 1.25, 0.75))
    exposure = 0.8 / float(np.max(level))
    extent = (x[0] - (x[1] - x[0]) / 2, x[-1] + (x[1] - x[0]) / 2, y[-1] - (y[0] - y[1]) / 2,
              y[0] + (y[0] - y[1]) / 2)
    titles = {"dipole": "dipole (Jensen 2001): R_d across the slab",
              "multipole": "multipole (Donner & Jensen 2005): T(r)",
              "Monte Carlo": f"Monte Carlo reference ({results[0].n_photons:,} photons/channel)"}
    for k, name in enumerate(("dipole", "multipole", "Monte Carlo")):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(tonemap(images[name], exposure), extent=extent, interpolation="nearest")
        ax.axhline(y[row], color="w", lw=0.5, ls=":")
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("x [mm]", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.set_ylabel("y [mm]", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    axd = fig.add_subplot(grid[2, :], sharex=ax)
    colors = ("C3", "C2", "C0")
    for c, col in enumerate(colors):
        mc = images["Monte Carlo"][row, :, c]
        ax.plot(x, mc, "o", ms=2.2, mfc="none", mew=0.6, color=col, label=f"Monte Carlo, {'RGB'[c]}")
        ax.plot(x, images["multipole"][row, :, c], "-", lw=1.2, color=col, label=f"multipole, {'RGB'[c]}")
        ax.plot(x, images["dipole"][row, :, c], "--", lw=1.0, color=col, label=f"dipole, {'RGB'[c]}")
        axd.plot(x, (images["multipole"][row, :, c] - mc) / level[c], "-", lw=1.0, color=col)
        axd.plot(x, (images["dipole"][row, :, c] - mc) / level[c], "--", lw=0.9, color=col)
    ax.set_ylabel("radiance [W mm⁻² sr⁻¹]")
    ax.set_title(f"scanline y = {y[row]:.2f} mm; deviations where MC > 5% of lit: multipole "
                 f"{devs['multipole']['rel']:.1%}, dipole {devs['dipole']['rel']:.1%}", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="upper right")
    ax.grid(True, lw=0.3, alpha=0.5)
    axd.axhline(0.0, color="k", lw=0.6)
    axd.set_ylabel("(model − MC) / MC lit level", fontsize=8)
    axd.set_xlabel("x [mm]")
    axd.grid(True, lw=0.3, alpha=0.5)
    axd.set_xlim(x[0], x[-1])
    fig.suptitle("Donner & Jensen 2005: a back-lit parchment-like slab (d = 0.5 mm ≈ 5ℓ) through four "
                 "windows", fontsize=10)
    return fig
