"""API prices and token estimates, for the cost report and the ``--max-cost`` hard stop.

Prices are USD per 1M tokens (standard tier, no caching discount) as known when this table was
written on 2026-11-23. Prices change: check the provider's pricing page, and pass
``--price-in``/``--price-out`` to override. A model missing from the table has an unknown cost;
``--max-cost`` then refuses to run until prices are given explicitly.

Image token counts follow OpenAI's published rules: "tile" models (gpt-4o, gpt-4.1) charge 85
tokens for a ``detail=low`` image (plus 170 per 512-px tile at ``high``), gpt-4o-mini charges
2833 (+5667 per tile), and "patch" models (gpt-4.1-mini/nano) charge one token per 32×32 patch
times a model factor. Text is estimated at 4 characters per token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES_WRITTEN = "2026-11-23"

# model: (USD per 1M input tokens, USD per 1M output tokens)
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
}
BATCH_API_DISCOUNT = 0.5

# model: ("tile", base, per tile) or ("patch", factor, max patches)
_IMAGE_RULES: dict[str, tuple[str, float, float]] = {
    "gpt-4o": ("tile", 85, 170),
    "gpt-4o-mini": ("tile", 2833, 5667),
    "gpt-4.1": ("tile", 85, 170),
    "gpt-4.1-mini": ("patch", 1.62, 1536),
    "gpt-4.1-nano": ("patch", 2.46, 1536),
}


def _family(model: str, table: dict) -> str | None:
    """Longest table key that ``model`` starts with (``gpt-4o-2024-08-06`` -> ``gpt-4o``)."""
    hits = [k for k in table if model == k or model.startswith(k + "-")]
    return max(hits, key=len) if hits else None


@dataclass(frozen=True)
class Price:
    usd_in: float
    usd_out: float
    source: str

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.usd_in + tokens_out * self.usd_out) / 1e6


def price_for(model: str, price_in: float | None = None, price_out: float | None = None,
              batch_api: bool = False) -> Price | None:
    """The price to charge, or None when unknown (neither in the table nor given)."""
    if price_in is not None and price_out is not None:
        return Price(price_in, price_out, "given")
    fam = _family(model, PRICES)
    if fam is None:
        return None
    usd_in, usd_out = PRICES[fam]
    usd_in = price_in if price_in is not None else usd_in
    usd_out = price_out if price_out is not None else usd_out
    scale = BATCH_API_DISCOUNT if batch_api else 1.0
    return Price(usd_in * scale, usd_out * scale, f"table {PRICES_WRITTEN}" + (", Batch API -50%" if batch_api else ""))


def image_tokens(model: str, size: int, detail: str = "low") -> int | None:
    """Input tokens one ``size``×``size`` image costs, or None for a model without a known rule."""
    fam = _family(model, _IMAGE_RULES)
    if fam is None:
        return None
    kind, a, b = _IMAGE_RULES[fam]
    if kind == "patch":
        return int(math.ceil(min((size / 32) ** 2, b) * a))
    if detail == "low":
        return int(a)
    side = min(size, 2048)
    side = min(side, 768) if side > 768 else side
    tiles = math.ceil(side / 512) ** 2
    return int(a + b * tiles)


def text_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def estimate_request(model: str, prompt_text: str, n_images: int, size: int, detail: str,
                     n_examples: int = 0) -> tuple[int, int] | None:
    """(input, output) tokens one request of ``n_images`` faces is expected to use."""
    per_image = image_tokens(model, size, detail)
    if per_image is None:
        return None
    shots = n_examples * (per_image + text_tokens(prompt_text) + 12)
    tokens_in = shots + n_images * per_image + text_tokens(prompt_text) + 10
    tokens_out = 8 * n_images + 4  # '"image_12": "surprise", ' is about 8 tokens
    return tokens_in, tokens_out
