"""Render one synthetic seismic section (uint8, TGS-like) from a salt layout.

Physics, in short: a layered log-impedance model (random bed thickness and contrasts, lateral
amplitude variation) is deformed by folding, growth, faults and salt drag, salt (high impedance,
weakly chaotic inside) replaces the sediments, and the reflectivity (vertical derivative of
log-impedance) is convolved with a Ricker wavelet. Steep dips and salt flanks are attenuated (as
limited migration aperture does), sub-salt amplitudes are dimmed, band-limited noise and a
low-frequency background are added, and the amplitude is mapped to uint8 around mid-grey.
Everything is computed on the whole section, so neighbouring tiles stay continuous.
"""

from __future__ import annotations

import cv2
import numpy as np

from saltseg.synth.salt import SaltLayout, smooth_noise_1d

F32 = np.float32


def ricker(period: float) -> np.ndarray:
    """Ricker wavelet sampled per pixel with dominant period `period` px (peak normalised to 1)."""
    half = int(np.ceil(1.5 * period))
    t = np.arange(-half, half + 1, dtype=np.float64)
    a = (np.pi * t / period) ** 2
    return ((1 - 2 * a) * np.exp(-a)).astype(F32)


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, int], sy: float, sx: float
) -> np.ndarray:
    """Unit-std Gaussian random field with correlation lengths ~(sy, sx) px.

    Drawn on a coarse grid and upsampled, so wide correlations cost almost nothing.
    """
    h, w = shape
    step_y, step_x = max(1.0, sy / 2), max(1.0, sx / 2)
    ch, cw = int(np.ceil(h / step_y)) + 2, int(np.ceil(w / step_x)) + 2
    coarse = rng.standard_normal((ch, cw), dtype=F32)
    coarse = cv2.GaussianBlur(coarse, (0, 0), sigmaX=1.0, sigmaY=1.0)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return field / max(float(field.std()), 1e-6)


def column_filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every column with a 1-D kernel (vertical convolution)."""
    return cv2.filter2D(
        image, -1, kernel.reshape(-1, 1)[::-1].copy(), borderType=cv2.BORDER_REFLECT
    )


def impedance_log(rng: np.random.Generator, n: int, period: float) -> np.ndarray:
    """1-D log-impedance over stratigraphic depth: beds with random thickness and contrast."""
    mean_bed = period * rng.uniform(0.25, 1.0)
    beds = rng.gamma(1.5, mean_bed / 1.5, size=int(2 * n / mean_bed) + 16) + 0.5
    tops = np.cumsum(beds)
    values = rng.standard_normal(tops.size).astype(F32)
    marker = rng.random(tops.size) < 0.04  # occasional bright marker beds
    values[marker] *= 3.0
    # sand/shale cycles: a slow component gives bundles of similar beds
    values += 0.6 * np.interp(tops, np.arange(n), smooth_noise_1d(rng, n, 6 * period, 1.0))
    return values[np.searchsorted(tops, np.arange(n, dtype=np.float64))]


def strat_depth(
    rng: np.random.Generator, shape: tuple[int, int], diapirs: np.ndarray, period: float
) -> np.ndarray:
    """Stratigraphic depth u(y, x): which bed each pixel shows after folding, faults and drag."""
    h, w = shape
    y = np.arange(h, dtype=F32)[:, None]
    x = np.arange(w, dtype=F32)[None, :]
    u = np.broadcast_to(y, (h, w)).astype(F32, copy=True)
    u += F32(rng.normal(0, 0.3)) * (x - w / 2)  # regional dip
    u += F32(rng.normal(0, 0.15)) * (y - h / 2) * (x - w / 2) / w  # growth: beds thicken sideways
    for _ in range(rng.integers(1, 4)):  # folds, growing with depth
        wavelength = float(np.exp(rng.uniform(np.log(100), np.log(2000))))
        amp = rng.uniform(0, 0.08) * wavelength
        phase = rng.uniform(0, 2 * np.pi)
        u += F32(amp) * np.sin(2 * np.pi * x / wavelength + phase) * (0.4 + y / h)
    u += smooth_field(rng, shape, 3 * period, 6 * period) * F32(rng.uniform(0.2, 0.2 * period))
    if rng.random() < 0.5:  # chaotic facies (mass-transport deposits) in patches
        patches = np.clip(smooth_field(rng, shape, 40 * period, 80 * period) - 0.5, 0, 1)
        scramble = smooth_field(rng, shape, rng.uniform(0.7, 2) * period, 2 * period)
        u += F32(rng.uniform(0.3, 1.2) * period) * patches * scramble
    for _ in range(rng.poisson(1.5)):  # normal faults with a throw that dies out at the tips
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        tan = np.tan(np.radians(rng.uniform(15, 45))) * rng.choice([-1, 1])
        half_len = rng.uniform(0.3, 1.0) * h
        throw = rng.uniform(2, 4) * period * rng.choice([-1, 1]) / 3
        taper = np.clip(1 - ((y - y0) / half_len) ** 2, 0, None)
        u += F32(throw) * taper * ((x - x0 - (y - y0) * tan) > 0)
    if diapirs.any():  # drag: beds next to (and above) diapirs are bent upwards
        dist = cv2.distanceTransform((~diapirs).astype(np.uint8), cv2.DIST_L2, 5)
        reach = rng.uniform(3, 12) * period
        u += F32(rng.uniform(0.4, 1.5) * reach) * np.exp(-dist / F32(reach))
    return u


def dip_cosine(field: np.ndarray) -> np.ndarray:
    """|cos| of the dip of the iso-lines of `field` (1 = flat, 0 = vertical)."""
    gx = cv2.Sobel(field, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(field, cv2.CV_32F, 0, 1, ksize=3)
    return np.abs(gy) / (np.sqrt(gx * gx + gy * gy) + F32(1e-6))


def render_section(rng: np.random.Generator, salt: SaltLayout) -> np.ndarray:
    """Render the uint8 seismic image for one section (same shape as the salt mask)."""
    full_h, full_w = salt.mask.shape
    # Sections differ in scale like TGS tiles do: render small, then upsample (zoomed, blurrier).
    # TGS images are also squeezed sideways (steeper apparent dips, faster lateral change than
    # a 1:1 display): render wider by `aspect`, then shrink horizontally.
    zoom = float(np.exp(rng.uniform(0, np.log(4.0))))
    aspect = float(np.exp(rng.uniform(0, np.log(2.5))))
    h, w = max(8, round(full_h / zoom)), max(8, round(full_w * aspect / zoom))
    period = float(np.exp(rng.uniform(np.log(4.5), np.log(12.0))))
    shape = (h, w)
    salt_f = cv2.resize(salt.mask.astype(F32), (w, h), interpolation=cv2.INTER_AREA)
    diapirs = cv2.resize(salt.diapirs.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0

    u = strat_depth(rng, shape, diapirs, period)
    u0 = int(np.floor(u.min())) - 2
    n_u = int(np.ceil(u.max())) - u0 + 4
    strat = np.repeat(impedance_log(rng, n_u, period)[:, None], w, axis=1)
    # lateral variation: beds brighten, dim and pinch out along strike
    strat *= 1 + F32(rng.uniform(0.2, 0.6)) * smooth_field(rng, (n_u, w), 1.5, 80)
    strat += F32(rng.uniform(0.2, 0.5)) * smooth_field(rng, (n_u, w), 1.0, 25)
    map_x = np.broadcast_to(np.arange(w, dtype=F32)[None, :], shape).copy()
    sediments = cv2.remap(strat, map_x, u - F32(u0), cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)

    contrast = rng.uniform(2.5, 6.0)  # top of salt: several times the typical bed contrast
    chaos = smooth_field(rng, shape, rng.uniform(1.5, 3), rng.uniform(1.5, 4))
    salt_imp = F32(contrast) + F32(rng.uniform(0.1, 0.3)) * chaos
    log_imp = sediments * (1 - salt_f) + salt_imp * salt_f
    # water column above the sea floor: no reflectivity, a strong sea-floor reflection
    cols = (np.arange(w) + 0.5) * full_w / w - 0.5
    floor = np.interp(cols, np.arange(full_w), salt.seafloor).astype(F32) * F32(h / full_h)
    rows = np.arange(h, dtype=F32)[:, None]
    water = np.clip(floor[None, :] - rows + 0.5, 0, 1) * (floor[None, :] > 0)
    log_imp = log_imp * (1 - water) - F32(rng.uniform(2.5, 5.0)) * water

    kernel = np.convolve(ricker(period), [1.0, -1.0]).astype(F32)  # d/dy, then the wavelet
    amp = column_filter(log_imp, kernel)
    amp = cv2.GaussianBlur(amp, (0, 0), sigmaX=rng.uniform(0.5, 1.5), sigmaY=0.3)

    # limited aperture: steep beds and steep salt flanks are imaged weakly
    att_sed = cv2.GaussianBlur(dip_cosine(u), (0, 0), 2.0) ** F32(rng.uniform(0.7, 1.5))
    salt_blur = cv2.GaussianBlur(salt_f, (0, 0), 0.5 * period)
    band = np.clip(_edge_band(salt_blur, 0.5 * period), 0, 1)
    att_salt = 1 - band * (1 - dip_cosine(salt_blur) ** F32(rng.uniform(1.0, 2.5)))
    att = np.where(salt_f > 0.5, F32(1), att_sed) * att_salt
    # sub-salt shadow: everything below salt is dimmer
    below = np.maximum.accumulate(salt_f > 0.5, axis=0) & (salt_f <= 0.5)
    shadow = cv2.GaussianBlur(below.astype(F32), (0, 0), period)
    att *= 1 - F32(rng.uniform(0.2, 0.6)) * shadow
    amp *= att

    signal_std = float(amp[salt_f < 0.5].std()) if (salt_f < 0.5).any() else float(amp.std())
    signal_std = max(signal_std, 1e-6)
    # salt interior: weak vertical streaks (migration smear)
    streaks = smooth_field(rng, shape, rng.uniform(4, 12) * period, rng.uniform(1, 5))
    amp += F32(rng.uniform(0.05, 0.35) * signal_std) * streaks * salt_f
    # noise: level varies between sections and patchily within them (low-fold, poor imaging)
    level = float(np.exp(rng.uniform(np.log(0.15), np.log(1.5))))
    patchy = np.clip(1 + F32(rng.uniform(0, 0.8)) * smooth_field(rng, shape, 150, 300), 0.2, None)
    local = patchy * (1 - F32(rng.uniform(0.3, 0.7)) * salt_f) * (1 + shadow) * (1 - 0.8 * water)
    amp += F32(level * signal_std) * _noise(rng, shape, period) * local
    depth_gain = 1 + F32(rng.uniform(-0.4, 0.4)) * (np.arange(h, dtype=F32)[:, None] / h - 0.5)
    amp *= depth_gain

    outside = amp[salt_f < 0.5] if (salt_f < 0.5).any() else amp
    grey = amp * F32(rng.uniform(24, 40) / max(float(outside.std()), 1e-6))
    # low-frequency background: shifts whole tiles lighter or darker, as in TGS
    grey += F32(rng.uniform(6, 26)) * smooth_field(rng, shape, 80, 300)
    grey += F32(rng.normal(0, 20)) * cv2.GaussianBlur(salt_f, (0, 0), 2.0)  # salt interior level
    sideways = cv2.INTER_AREA if w > full_w else cv2.INTER_CUBIC
    grey = cv2.resize(grey, (full_w, h), interpolation=sideways)
    grey = cv2.resize(grey, (full_w, full_h), interpolation=cv2.INTER_CUBIC)
    grey += F32(128 + rng.normal(0, 4))
    grey += rng.standard_normal(grey.shape, dtype=F32) * F32(rng.uniform(0.3, 2.0))
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def _edge_band(blurred: np.ndarray, sigma: float) -> np.ndarray:
    """~1 near a boundary of a step blurred with `sigma`, ~0 away from it."""
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3) / 8
    # the peak gradient of a unit step blurred with sigma is 1 / (sigma * sqrt(2 pi))
    return np.sqrt(gx * gx + gy * gy) * F32(sigma * np.sqrt(2 * np.pi))


def _noise(rng: np.random.Generator, shape: tuple[int, int], period: float) -> np.ndarray:
    """Unit-std noise mixing four looks of real data: band-limited (layer-like) noise,
    isotropic speckle, vertical streaks (acquisition footprint) and crossing steep swings
    (migration artifacts)."""
    layered = column_filter(rng.standard_normal(shape, dtype=F32), ricker(period))
    layered = cv2.GaussianBlur(layered, (0, 0), sigmaX=rng.uniform(0.5, 2.0), sigmaY=0.3)
    speckle = cv2.GaussianBlur(
        rng.standard_normal(shape, dtype=F32), (0, 0), rng.uniform(0.5, 0.25 * period + 0.5)
    )
    streaks = smooth_field(rng, shape, rng.uniform(3, 10) * period, rng.uniform(1, 3))
    angle = rng.uniform(35, 75)
    swings = sum(_oriented(rng, shape, period, sign * angle) for sign in (-1, 1))
    weights = rng.dirichlet([1.0, 1.0, 0.5, 1.5]).astype(F32)
    parts = (layered, speckle, streaks, swings)
    mix = sum(wt * p / max(float(p.std()), 1e-6) for wt, p in zip(weights, parts, strict=True))
    return mix / max(float(mix.std()), 1e-6)


def _oriented(
    rng: np.random.Generator, shape: tuple[int, int], period: float, degrees: float
) -> np.ndarray:
    """Noise smeared along one direction (degrees from horizontal): short dipping events."""
    size = int(2 * round(2 * period) + 1)
    kernel = np.zeros((size, size), F32)
    c, r = size // 2, size // 2
    dx, dy = r * np.cos(np.radians(degrees)), r * np.sin(np.radians(degrees))
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    kernel = cv2.GaussianBlur(kernel, (0, 0), 0.2 * period + 0.5)
    return cv2.filter2D(rng.standard_normal(shape, dtype=F32), -1, kernel)
