"""What one training step asks of the hardware: FLOPs, bytes moved, precision, model family.

FLOPs are counted by torch.utils.flop_counter.FlopCounterMode around one real step (forward,
backward, optimizer): matmuls, convolutions and attention, forward and backward. Element-wise
work (activations, norms, the optimizer update) is not counted as FLOPs; it is memory-bound and
shows up in the byte estimate instead.

Bytes per step are an estimate, not a measurement (no portable counter exists):
  weights      2 x W      read in forward and again in backward (W = bytes of all parameters)
  gradients    1 x Wt     written in backward (Wt = bytes of trainable parameters)
  optimizer    3 x Wt     read weights and gradients, write weights
             + 2 x S      read and write its state; S measured from the optimizer's state after the
                          step (Adam at fp32: S = 8 bytes/param, so 16 bytes/param of state traffic)
  activations  2 x A      A = output bytes of every leaf module in forward: written once in forward,
                          read once in backward
Limits: the activation term is a lower bound: gradients of activations (about as large again),
functional ops inside a module's forward (attention scores, F.relu) and autocast's weight copies
are not counted, and caches absorb part of the traffic of small tensors. So the estimate leans
towards compute-bound; it places a workload on the roofline, it does not time it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp64"]
Family = Literal["conv", "transformer", "recurrent", "other"]
FAMILIES: tuple[str, ...] = ("conv", "transformer", "recurrent", "other")
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp64")

ACTIVATION_PASSES = 2       # written in forward, read in backward (see module docstring)
OPTIMIZER_WEIGHT_PASSES = 3  # read weights, read gradients, write weights
# A family is named only when its modules hold at least this share of the non-embedding parameters;
# below it (an MLP with one small conv, say) the workload is "other".
FAMILY_MIN_SHARE = 0.10

_DTYPE_PRECISION: dict[torch.dtype, Precision] = {
    torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16", torch.float64: "fp64",
}


@dataclass(frozen=True)
class WorkloadProfile:
    """One training step: flops_per_step (FLOP), bytes_per_step (bytes, estimated), precision,
    family, and how the family was decided ("inferred from modules: ..." or "given")."""

    flops_per_step: float
    bytes_per_step: float
    precision: str
    family: str
    family_source: str
    bytes_detail: str = ""
    ops_per_step: int = 0        # eager ops dispatched in the step (0: not counted)

    @property
    def arithmetic_intensity(self) -> float:
        """FLOP per byte moved; inf when no bytes were estimated."""
        return self.flops_per_step / self.bytes_per_step if self.bytes_per_step > 0 else float("inf")


def _tf32_enabled() -> bool:
    return bool(torch.backends.cuda.matmul.allow_tf32)


def _active_autocast_dtype(device_type: str) -> torch.dtype | None:
    """The autocast dtype in force right now for device_type, or None when autocast is off."""
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return None
    except (TypeError, AttributeError):
        # torch < 2.4: one flag and dtype per device type, no device argument.
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
        return None


def detect_precision(model: nn.Module, autocast_dtype: torch.dtype | None = None) -> str:
    """Precision the step's matmuls run at: "fp32", "tf32", "bf16", "fp16" (or "fp64").

    Autocast wins over parameter dtype (autocast_dtype given, or autocast enabled right now on the
    model's device type). fp32 parameters on a CUDA device give "tf32" when TF32 matmuls are
    allowed, or when the model has convolutions and cuDNN TF32 is allowed (torch's default).
    """
    params = list(model.parameters())
    device_type = params[0].device.type if params else "cpu"
    if autocast_dtype is None:
        autocast_dtype = _active_autocast_dtype(device_type)
    if autocast_dtype is not None:
        return _DTYPE_PRECISION.get(autocast_dtype, "fp32")
    if not params:
        return "fp32"
    counts: dict[torch.dtype, int] = {}
    for p in params:
        counts[p.dtype] = counts.get(p.dtype, 0) + p.numel()
    dtype = max(counts, key=lambda d: counts[d])
    precision = _DTYPE_PRECISION.get(dtype, "fp32")
    if precision == "fp32" and device_type == "cuda":
        # cuDNN convolutions run TF32 by default (torch.backends.cudnn.allow_tf32 = True) even
        # when TF32 matmuls are off, so a conv model on an Ampere-or-newer GPU is a TF32 workload.
        has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())
        if _tf32_enabled() or (has_conv and torch.backends.cudnn.allow_tf32):
            return "tf32"
    return precision


def _module_family(module: nn.Module, *, by_name: bool) -> Family | None:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return "recurrent"
    if isinstance(module, (nn.MultiheadAttention, nn.Transformer, nn.TransformerEncoder,
                           nn.TransformerDecoder, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        return "transformer"
    # User and library attention blocks (BertAttention, GPT2Attention, SelfAttention, ...). The root
    # is not matched by name: a model class called "AttentionUNet" is still mostly convolutions.
    if by_name and "attention" in type(module).__name__.lower():
        return "transformer"
    return None


def _param_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def infer_family(model: nn.Module) -> tuple[str, str]:
    """(family, reason) from the module types, by parameter count.

    A module recognised as conv / transformer / recurrent claims all parameters below it (the
    Linear layers inside an attention block are transformer work). Embedding tables are left out
    of the count: lookups cost no FLOPs. Ties and parameter-free attention go by module count.
    """
    claimed: dict[str, int] = {}
    instances: dict[str, int] = {}
    type_counts: dict[str, int] = {}

    def walk(module: nn.Module, is_root: bool) -> None:
        family = _module_family(module, by_name=not is_root)
        if family is not None:
            claimed[family] = claimed.get(family, 0) + _param_count(module)
            instances[family] = instances.get(family, 0) + 1
            name = type(module).__name__
            type_counts[name] = type_counts.get(name, 0) + 1
            return
        for child in module.children():
            walk(child, False)

    walk(model, True)
    embedding = sum(_param_count(m) for m in model.modules()
                    if isinstance(m, (nn.Embedding, nn.EmbeddingBag)))
    total = max(_param_count(model) - embedding, 0)
    if not instances:
        return "other", "inferred from modules: no conv, attention or recurrent module"
    family = max(instances, key=lambda f: (claimed[f], instances[f]))
    share = claimed[family] / total if total else 1.0
    kinds = ", ".join(f"{n} {name}" for name, n in sorted(type_counts.items(), key=lambda kv: -kv[1]))
    if claimed[family] > 0 and share < FAMILY_MIN_SHARE:
        return "other", (f"inferred from modules: {kinds} hold only {share:.0%} of the non-embedding "
                         f"parameters (< {FAMILY_MIN_SHARE:.0%})")
    return family, f"inferred from modules: {kinds} ({share:.0%} of non-embedding parameters)"


def _tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    return 0


def _optimizer_state_bytes(optimizers: Iterable[torch.optim.Optimizer]) -> int:
    total = 0
    for optimizer in optimizers:
        for state in optimizer.state.values():
            # Scalar entries (Adam's "step") are bookkeeping, not per-parameter traffic.
            total += sum(v.numel() * v.element_size() for v in state.values()
                         if isinstance(v, torch.Tensor) and v.dim() > 0)
    return total


class _OpCounter(TorchDispatchMode):
    """Counts the aten ops a step dispatches (each one an eager kernel launch on a GPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        self.count += 1
        return func(*args, **(kwargs or {}))


class StepProfiler:
    """Profiles whatever runs between start() and stop() on this thread as one training step.

    The step really trains: the caller restores model and optimizer state afterwards if needed.
    ``precision``: None detects it (autocast seen during the forward, else parameter dtype);
    ``family``: None infers it from the model's modules.
    """

    def __init__(self, model: nn.Module, *, precision: str | None = None,
                 family: str | None = None) -> None:
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if family is not None and family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        self.model, self.precision, self.family = model, precision, family
        self._activation_bytes = 0
        self._autocast_seen: list[torch.dtype] = []
        self._optimizers: dict[int, torch.optim.Optimizer] = {}
        self._handles: list[Any] = []
        self._counter: FlopCounterMode | None = None
        self.started = False
        self._leaves = [m for m in model.modules() if next(m.children(), None) is None]

    def _on_forward(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._activation_bytes += _tensor_bytes(output)
        if not self._autocast_seen:
            for device_type in ("cuda", "cpu"):
                dtype = _active_autocast_dtype(device_type)
                if dtype is not None:
                    self._autocast_seen.append(dtype)
                    break

    def _on_optimizer_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._optimizers[id(optimizer)] = optimizer

    def start(self) -> StepProfiler:
        if self.started:
            raise RuntimeError("a StepProfiler profiles one step")
        self.started = True
        self._handles = [m.register_forward_hook(self._on_forward) for m in self._leaves]
        # A global hook sees whichever torch.optim optimizer the step uses, without asking for it.
        self._handles.append(register_optimizer_step_post_hook(self._on_optimizer_step))
        self._counter = FlopCounterMode(display=False)
        self._counter.__enter__()
        self._ops = _OpCounter()
        self._ops.__enter__()
        return self

    def stop(self) -> None:
        """Leave the FLOP counter and remove every hook (idempotent, safe after an error)."""
        counter, self._counter = self._counter, None
        ops, self._ops = getattr(self, "_ops", None), None
        try:
            if ops is not None:
                ops.__exit__(None, None, None)
                self._op_count = ops.count
            if counter is not None:
                counter.__exit__(None, None, None)
                self._flops = float(counter.get_total_flops())
        finally:
            for handle in self._handles:
                handle.remove()
            self._handles = []

    def result(self) -> WorkloadProfile:
        model = self.model
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        trainable_bytes = sum(p.numel() * p.element_size() for p in model.parameters()
                              if p.requires_grad)
        state_bytes = _optimizer_state_bytes(self._optimizers.values())
        activation_bytes = self._activation_bytes
        total = (2 * weight_bytes + trainable_bytes + OPTIMIZER_WEIGHT_PASSES * trainable_bytes
                 + 2 * state_bytes + ACTIVATION_PASSES * activation_bytes)
        optimizer_note = (", ".join(type(o).__name__ for o in self._optimizers.values())
                          if self._optimizers
                          else "no torch.optim step seen: a stateless update assumed")
        detail = (f"weights 2x{weight_bytes} B + grads {trainable_bytes} B + optimizer "
                  f"{OPTIMIZER_WEIGHT_PASSES}x{trainable_bytes} B + state 2x{state_bytes} B "
                  f"({optimizer_note}) + activations {ACTIVATION_PASSES}x{activation_bytes} B over "
                  f"{len(self._leaves)} leaf modules")
        precision = self.precision or detect_precision(
            model, self._autocast_seen[0] if self._autocast_seen else None)
        if self.family is None:
            family, family_source = infer_family(model)
        else:
            family, family_source = self.family, "given"
        return WorkloadProfile(flops_per_step=getattr(self, "_flops", 0.0),
                               bytes_per_step=float(total), precision=precision, family=family,
                               family_source=family_source, bytes_detail=detail,
                               ops_per_step=getattr(self, "_op_count", 0))


def profile_training_step(step: Callable[[], None], *, model: nn.Module, precision: str | None = None,
                          family: str | None = None) -> WorkloadProfile:
    """Run `step` once (forward + backward + optimizer on one batch) and profile it."""
    profiler = StepProfiler(model, precision=precision, family=family).start()
    try:
        step()
    finally:
        profiler.stop()
    return profiler.result()
