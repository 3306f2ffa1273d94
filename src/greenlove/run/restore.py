"""Snapshot and restore of everything the benchmark may change in the user's process.

The benchmark trains the user's real model with the user's real optimizer, so afterwards the
model, optimizer, RNG streams (Python, NumPy, torch CPU, CUDA, MPS) and the loader's own
generator are put back exactly as they were, so that the real run starts as it would have.
"""

from __future__ import annotations

import copy
import random
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def _detached_copy(value: Any) -> Any:
    """Deep copy of a state dict; tensors are cloned to CPU so a GPU model's memory is not doubled."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, Mapping):
        items = [(k, _detached_copy(v)) for k, v in value.items()]
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, (list, tuple)):
        return type(value)(_detached_copy(v) for v in value)
    return copy.deepcopy(value)


def _copy_state_dict(state: Mapping[str, Any]) -> Any:
    copied = _detached_copy(state)
    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        copied._metadata = copy.deepcopy(metadata)
    return copied


@dataclass
class _ModuleExtras:
    """What a module's state_dict leaves out: train/eval flags and the gradients."""

    training: list[tuple[torch.nn.Module, bool]]
    grads: list[tuple[torch.nn.Parameter, torch.Tensor | None]]

    @classmethod
    def capture(cls, module: torch.nn.Module) -> _ModuleExtras:
        return cls(
            training=[(m, m.training) for m in module.modules()],
            grads=[(p, None if p.grad is None else p.grad.detach().clone())
                   for p in module.parameters()],
        )

    def apply(self) -> None:
        for m, flag in self.training:
            m.training = flag
        for p, grad in self.grads:
            p.grad = grad


@dataclass
class RngState:
    python: Any
    numpy: Any
    torch_cpu: torch.Tensor
    cuda: list[torch.Tensor] | None
    mps: torch.Tensor | None

    @classmethod
    def capture(cls) -> RngState:
        cuda = None
        # Only when the user's code already initialised CUDA: greenlove never initialises it.
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            cuda = torch.cuda.get_rng_state_all()
        mps = None
        mps_backend = getattr(torch.backends, "mps", None)
        if mps_backend is not None and mps_backend.is_available():
            try:
                mps = torch.mps.get_rng_state()
            except RuntimeError:
                mps = None
        return cls(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda, mps)

    def apply(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch_cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        if self.mps is not None:
            torch.mps.set_rng_state(self.mps)


@dataclass
class UserState:
    """A snapshot of the user's stateful objects, RNGs and loader generator."""

    objects: list[tuple[Any, Any]]
    extras: list[_ModuleExtras]
    rng: RngState
    generators: list[tuple[torch.Generator, torch.Tensor]] = field(default_factory=list)

    @classmethod
    def capture(cls, objects: Iterable[Any],
                generators: Iterable[torch.Generator | None] = ()) -> UserState:
        objects = list(objects)
        return cls(
            objects=[(obj, _copy_state_dict(obj.state_dict())) for obj in objects],
            extras=[_ModuleExtras.capture(o) for o in objects if isinstance(o, torch.nn.Module)],
            rng=RngState.capture(),
            generators=[(g, g.get_state()) for g in generators if g is not None],
        )

    def apply(self) -> None:
        """Put everything back; runs every step even if one fails, then re-raises the first."""
        error = self.apply_all()
        if error is not None:
            raise error

    def apply_all(self) -> Exception | None:
        """Put everything back, every step even if one fails; returns the first failure."""
        first_error: Exception | None = None
        steps = [lambda o=o, s=s: o.load_state_dict(s) for o, s in self.objects]
        steps += [extra.apply for extra in self.extras]
        steps += [lambda g=g, s=s: g.set_state(s) for g, s in self.generators]
        steps.append(self.rng.apply)
        for step in steps:
            try:
                step()
            except Exception as error:  # keep restoring the rest
                first_error = first_error or error
        return first_error


def restore_warnings(restore: tuple[Any, ...]) -> list[str]:
    """What the benchmark will change and not put back, given the ``restore`` objects."""
    if not restore:
        return ["restore was not given, so the benchmark's training stays in your model and "
                "optimizer (weights, optimizer steps, schedulers); pass restore=(model, "
                "optimizer, ...) to have them put back."]
    if any(isinstance(o, torch.nn.Module) for o in restore) \
            and not any(isinstance(o, torch.optim.Optimizer) for o in restore):
        return ["restore holds a model but no optimizer: the model is put back, but an "
                "optimizer the epoch steps is left advanced (its moments and step count); add "
                "it to restore=(model, optimizer)."]
    return []
