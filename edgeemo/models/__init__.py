"""Model registry: the paper's four models and edgeemo's own, with their preprocessing and recipes.

The registry itself is plain data (the runtime core reads its names, see
:data:`edgeemo.model_files.REGISTRY_NAMES`); building a model needs torch
(``pip install 'edgeemo[train]'``), imported only by :meth:`ModelSpec.build`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import EdgeemoError, require
from ..preprocess import Preprocess

FER_GRAY = Preprocess(size=(48, 48), channels=1, mean=(0.5076,), std=(0.2544,))
# Grayscale faces replicated to RGB, normalised like torchvision's ImageNet models.
IMAGENET_RGB = Preprocess(
    size=(48, 48), channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)


@dataclass(frozen=True)
class Recipe:
    """A model's default training schedule (every value can be overridden on the CLI)."""

    epochs: int
    lr: float
    optimizer: str = "sgd"
    batch_size: int = 128
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    patience: int = 10


@dataclass(frozen=True)
class ModelSpec:
    name: str
    network: str  # "module:Class" in edgeemo.models, imported (with torch) when the model is built
    preprocess: Preprocess
    recipe: Recipe
    description: str

    def build(self, **kwargs):
        """A new, untrained torch module of this model."""
        require("torch", "train", "Building or training a model")
        module, _, cls = self.network.partition(":")
        return getattr(importlib.import_module(f".{module}", __name__), cls)(**kwargs)


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("edgenet", "edgenet:EdgeNet", FER_GRAY, Recipe(epochs=40, lr=0.1),
                  "edgeemo's residual 4-stage CNN, ~100 M MACs (the shipped default, trained on FER+ votes)"),
        ModelSpec("fastnet", "edgenet:FastNet", FER_GRAY, Recipe(epochs=40, lr=0.1),
                  "edgenet at half the width per stage, ~25 M MACs (the shipped 'fast' model)"),
        ModelSpec("widenet", "edgenet:WideNet", FER_GRAY, Recipe(epochs=40, lr=0.1),
                  "edgenet at twice the width per stage, ~400 M MACs: a teacher to distil into edgenet"),
        ModelSpec("deepnet", "edgenet:DeepNet", FER_GRAY, Recipe(epochs=40, lr=0.1),
                  "edgenet deeper and narrower at the same ~100 M MACs: 11 convs, a fourth stage at 3x3"),
        ModelSpec("cnn1", "cnn:CNN1", FER_GRAY, Recipe(epochs=30, lr=0.05),
                  "paper's small custom CNN: 3 conv stages + FC"),
        ModelSpec("cnn2", "cnn:CNN2", FER_GRAY, Recipe(epochs=40, lr=0.05),
                  "paper's deeper custom CNN: 4 double-conv stages + FC"),
        ModelSpec("resnet50", "resnet:ResNet50", IMAGENET_RGB, Recipe(epochs=30, lr=0.05),
                  "ResNet-50, torchvision layout"),
        ModelSpec("vgg16", "vgg:VGG16", IMAGENET_RGB, Recipe(epochs=30, lr=0.01),
                  "VGG-16 (config D), torchvision feature layout, compact head"),
    )
}
PAPER_MODELS: tuple[str, ...] = ("cnn1", "cnn2", "resnet50", "vgg16")


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise EdgeemoError(
            f"unknown model {name!r}; choose one of {', '.join(REGISTRY)} or give a checkpoint path"
        ) from None


def build_model(name: str):
    """A new, untrained torch module of the registry model ``name`` (needs torch)."""
    spec = get_spec(name)
    return spec.build(in_channels=spec.preprocess.channels)


__all__ = ["REGISTRY", "PAPER_MODELS", "ModelSpec", "Recipe", "get_spec", "build_model"]
