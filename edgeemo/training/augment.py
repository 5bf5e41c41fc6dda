"""Batch augmentation on tensors: one affine warp (rotation, scale, shift, flip), light
photometric jitter and random erasing. All randomness comes from one ``torch.Generator``
so a seeded run repeats exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotation_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    shift: float = 0.08  # fraction of the image size
    hflip: float = 0.5
    brightness: float = 0.1  # fraction of the 0..1 pixel range
    contrast: float = 0.2
    erase_p: float = 0.25
    erase_area: tuple[float, float] = (0.02, 0.15)
    lowres_p: float = 0.0  # share of faces downscaled and upscaled again (small faces in photos, soft focus)
    lowres_scale: tuple[float, float] = (0.4, 0.8)


PRESETS: dict[str, AugmentConfig] = {
    "crops": AugmentConfig(),
    # Faces cut from photos by a detector: looser framing, harder light, small and soft faces.
    "photos": AugmentConfig(rotation_deg=15.0, scale=(0.85, 1.2), shift=0.1, brightness=0.2, contrast=0.35,
                            lowres_p=0.3),
}


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Augment a normalised NCHW float batch; returns a new tensor of the same shape."""
    n, _, h, w = x.shape

    def uniform(lo: float, hi: float, size: int = n) -> torch.Tensor:
        return torch.rand(size, generator=gen) * (hi - lo) + lo

    angle = uniform(-cfg.rotation_deg, cfg.rotation_deg) * (math.pi / 180.0)
    scale = uniform(*cfg.scale)
    flip = torch.where(torch.rand(n, generator=gen) < cfg.hflip, -1.0, 1.0)
    tx, ty = uniform(-cfg.shift, cfg.shift) * 2, uniform(-cfg.shift, cfg.shift) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Pad with the per-image mean so the border does not look like a black frame.
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    out = F.grid_sample(x - mean, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + mean

    if cfg.contrast or cfg.brightness:
        c = uniform(1 - cfg.contrast, 1 + cfg.contrast).view(n, 1, 1, 1)
        b = uniform(-cfg.brightness, cfg.brightness).view(n, 1, 1, 1)
        # Inputs are normalised with std ≈ 0.25, so a shift of b pixel-range is b / 0.25.
        out = (out - mean) * c + mean + b / 0.25

    if cfg.lowres_p > 0:
        out = _lowres(out, cfg, gen)

    if cfg.erase_p > 0:
        do = torch.rand(n, generator=gen) < cfg.erase_p
        area = uniform(*cfg.erase_area) * h * w
        aspect = torch.exp(uniform(math.log(0.3), math.log(3.3)))
        eh = torch.clamp((area * aspect).sqrt().round().long(), 1, h - 1)
        ew = torch.clamp((area / aspect).sqrt().round().long(), 1, w - 1)
        y0 = (torch.rand(n, generator=gen) * (h - eh + 1).float()).long()
        x0 = (torch.rand(n, generator=gen) * (w - ew + 1).float()).long()
        ys = torch.arange(h).view(1, h, 1)
        xs = torch.arange(w).view(1, 1, w)
        mask = (
            (ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1))
            & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1))
            & do.view(n, 1, 1)
        )
        noise = torch.randn(out.shape, generator=gen)
        out = torch.where(mask.unsqueeze(1), noise, out)
    return out


def _lowres(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Resample a random share of the batch down to one random scale and back up (one scale per batch)."""
    n, _, h, w = x.shape
    pick = torch.rand(n, generator=gen) < cfg.lowres_p
    lo, hi = cfg.lowres_scale
    s = float(torch.rand(1, generator=gen)) * (hi - lo) + lo
    if not pick.any():
        return x
    small = F.interpolate(x[pick], size=(max(8, round(h * s)), max(8, round(w * s))), mode="area")
    x = x.clone()
    x[pick] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return x
