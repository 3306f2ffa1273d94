"""Exercise greenlove's GPU path on a real NVIDIA GPU (about 5 minutes).

    PYTHONPATH=src python scripts/gpu_check.py

(a) ~20 s of training measured with the NVML energy counter and, at the same time, by polling
    power (nvmlDeviceGetPowerUsage and the instant-power field every 50 ms, trapezoid-integrated);
(b) 5 epochs timed with torch.cuda.synchronize at the edges and 5 without;
(c) greenlove.estimate for a run of >= 2 minutes, then that run for real: predicted vs actual.

Needs only torch, numpy and nvidia-ml-py (plus greenlove's own dependencies).
"""

from __future__ import annotations

import math
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

TARGET_EPOCH_S = 2.0       # one epoch of the check's training on this GPU
ENERGY_WINDOW_S = 20.0     # length of the energy comparison (a)
FULL_RUN_S = 125.0         # the predicted-then-trained run (c) lasts at least 2 minutes
POLL_PERIOD_S = 0.05
BATCH_SIZE, IN_DIM, WIDTH, DEPTH, CLASSES = 1024, 512, 6144, 5, 10


def make_training(device: torch.device) -> tuple[nn.Module, torch.optim.Optimizer, Callable, int]:
    """An MLP heavy enough to be GPU-bound, its optimizer, train_epoch, and batches per epoch
    sized so one epoch takes about TARGET_EPOCH_S on this GPU."""
    layers: list[nn.Module] = [nn.Linear(IN_DIM, WIDTH), nn.ReLU()]
    for _ in range(DEPTH - 1):
        layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, CLASSES)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    def train_epoch(loader: DataLoader) -> None:
        model.train()
        for x, y in loader:
            step(x.to(device, non_blocking=True), y.to(device, non_blocking=True))

    # Calibrate on device-resident batches: the loader adds CPU work that overlaps the GPU's.
    x = torch.randn(BATCH_SIZE, IN_DIM, device=device)
    y = torch.randint(0, CLASSES, (BATCH_SIZE,), device=device)
    for _ in range(5):
        step(x, y)   # cuBLAS handles, allocator, clocks ramping up
    torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(20):
        step(x, y)
    torch.cuda.synchronize(device)
    per_batch_s = (time.perf_counter() - t0) / 20
    batches = int(min(max(TARGET_EPOCH_S / per_batch_s, 20), 600))
    print(f"model: MLP {IN_DIM}->{WIDTH}x{DEPTH}->{CLASSES}, batch {BATCH_SIZE}: "
          f"{per_batch_s * 1e3:.2f} ms per batch on the GPU -> {batches} batches per epoch")
    return model, opt, train_epoch, batches


class PowerPoller(threading.Thread):
    """Polls power every POLL_PERIOD_S: (perf_counter s, averaged W, instant W or nan)."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        super().__init__(daemon=True)
        self.nvml, self.handle = nvml, handle
        self.samples: list[tuple[float, float, float]] = []
        self._stop_event = threading.Event()
        self.field = getattr(nvml, "NVML_FI_DEV_POWER_INSTANT", None)

    def _instant_w(self) -> float:
        if self.field is None:
            return math.nan
        value = self.nvml.nvmlDeviceGetFieldValues(self.handle, [self.field])[0]
        return value.value.uiVal / 1000 if value.nvmlReturn == 0 else math.nan

    def run(self) -> None:
        while not self._stop_event.is_set():
            now = time.perf_counter()
            average_w = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000
            self.samples.append((now, average_w, self._instant_w()))
            self._stop_event.wait(POLL_PERIOD_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def energy_j(self, t0: float, t1: float) -> tuple[float, float, int]:
        """Trapezoid integral over [t0, t1] (s) of the averaged and the instant power: J, J, n."""
        t = np.array([s[0] for s in self.samples])
        inside = (t > t0) & (t < t1)
        grid = np.concatenate([[t0], t[inside], [t1]])
        result = []
        for column in (1, 2):
            watts = np.interp(grid, t, np.array([s[column] for s in self.samples]))
            result.append(float(np.sum((watts[1:] + watts[:-1]) / 2 * np.diff(grid))))
        return result[0], result[1], int(inside.sum())


def energy_comparison(train_epoch: Callable, loader: DataLoader, meter: Any, poller: PowerPoller,
                      device: torch.device) -> None:
    print(f"\n(a) energy of ~{ENERGY_WINDOW_S:.0f} s of training: NVML counter vs power polling")
    counter = meter.method == "nvml-energy-counter"
    torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    e0 = meter.read().energy_j if counter else None
    epochs = 0
    while time.perf_counter() - t0 < ENERGY_WINDOW_S:
        train_epoch(loader)
        epochs += 1
    torch.cuda.synchronize(device)
    t1 = time.perf_counter()
    e1 = meter.read().energy_j if counter else None
    time.sleep(2 * POLL_PERIOD_S)   # let the poller take a sample after t1
    poller.stop()
    average_j, instant_j, n = poller.energy_j(t0, t1)
    print(f"    window {t1 - t0:.2f} s, {epochs} epochs, {n} power samples "
          f"({(t1 - t0) / max(n, 1) * 1e3:.0f} ms apart on average)")
    print(f"    power polling, nvmlDeviceGetPowerUsage : {average_j:10.1f} J "
          f"(mean {average_j / (t1 - t0):.1f} W)")
    print("    power polling, instant-power field     : "
          + (f"{instant_j:10.1f} J (mean {instant_j / (t1 - t0):.1f} W)" if math.isfinite(instant_j)
             else "n/a (field not supported)"))
    if e0 is None or e1 is None:
        print(f"    NVML energy counter: n/a (greenlove chose {meter.method!r})")
        return
    counter_j = e1 - e0
    print(f"    NVML energy counter (greenlove meter)  : {counter_j:10.1f} J "
          f"(mean {counter_j / (t1 - t0):.1f} W)")
    print(f"    ratio PowerUsage-integral / counter     : {average_j / counter_j:.4f}")
    if math.isfinite(instant_j):
        print(f"    ratio instant-integral / counter        : {instant_j / counter_j:.4f}")


def sync_vs_nosync(train_epoch: Callable, loader: DataLoader, device: torch.device) -> float:
    """(b): returns the median synchronised epoch time (s)."""
    print("\n(b) 5 epochs timed with and without torch.cuda.synchronize at the edges")
    synced = []
    for _ in range(5):
        torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        train_epoch(loader)
        torch.cuda.synchronize(device)
        synced.append(time.perf_counter() - t0)
    unsynced = []
    torch.cuda.synchronize(device)   # start both series from an idle GPU
    for _ in range(5):
        t0 = time.perf_counter()
        train_epoch(loader)
        unsynced.append(time.perf_counter() - t0)
    torch.cuda.synchronize(device)
    print("    with sync    (s): " + ", ".join(f"{s:.3f}" for s in synced) + f"  total {sum(synced):.3f} s")
    print("    without sync (s): " + ", ".join(f"{s:.3f}" for s in unsynced)
          + f"  total {sum(unsynced):.3f} s")
    print(f"    first epoch without sync / median with sync: "
          f"{unsynced[0] / statistics.median(synced):.3f} (below 1: time stopped before the GPU finished)")
    return statistics.median(synced)


def predicted_vs_actual(greenlove: Any, train_epoch: Callable, loader: DataLoader, model: nn.Module,
                        opt: torch.optim.Optimizer, meter: Any, epoch_s: float,
                        device: torch.device) -> None:
    epochs = max(1, math.ceil(FULL_RUN_S / epoch_s))
    print(f"\n(c) greenlove.estimate for {epochs} epochs (~{epochs * epoch_s:.0f} s), then the real run")
    t0 = time.perf_counter()
    report = greenlove.estimate(train_epoch, loader, epochs=epochs, restore=(model, opt), progress=False)
    print(f"    estimate took {time.perf_counter() - t0:.1f} s")
    print(report)
    counter = meter.method == "nvml-energy-counter"
    torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    e0 = meter.read().energy_j if counter else None
    for _ in range(epochs):
        train_epoch(loader)
    torch.cuda.synchronize(device)
    actual_s = time.perf_counter() - t0
    e1 = meter.read().energy_j if counter else None
    time_s = report.prediction.time_s
    print(f"    predicted time: {time_s.point:.1f} s [{time_s.low:.1f}, {time_s.high:.1f}] "
          f"({time_s.confidence:.0%})")
    print(f"    actual time   : {actual_s:.1f} s  -> error {(time_s.point - actual_s) / actual_s:+.1%}, "
          f"{'inside' if time_s.low <= actual_s <= time_s.high else 'OUTSIDE'} the interval")
    actual_j = e1 - e0 if e0 is not None and e1 is not None else None
    if actual_j is not None:
        print(f"    actual GPU energy (NVML counter): {actual_j:.0f} J = {actual_j / 3.6e6:.5f} kWh "
              f"(mean {actual_j / actual_s:.1f} W)")
    energy = report.prediction.energy
    if energy is None:
        print("    predicted energy: n/a (no device could be measured)")
        return
    total = energy.energy_kwh
    print(f"    predicted energy, all devices: {total.point:.5f} kWh [{total.low:.5f}, "
          f"{total.high:.5f}] ({energy.method})")
    for device in energy.devices:
        print(f"      {device.name} ({device.method}): {device.energy_kwh:.5f} kWh, "
              f"mean {device.mean_power_w or float('nan'):.1f} W, idle "
              f"{device.idle_power_w or float('nan'):.1f} W")
    gpu = next((d for d in energy.devices if d.name == meter.name), None)
    if actual_j is not None and gpu is not None:
        print(f"    predicted / actual energy of {meter.name}: {gpu.energy_kwh * 3.6e6 / actual_j:.3f}")


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is available to torch (torch.cuda.is_available() is False); "
              "run it on a machine with an NVIDIA GPU and a CUDA build of torch.", file=sys.stderr)
        return 2
    # Imported after the CUDA check so that the check's message never depends on them.
    import pynvml

    import greenlove
    from greenlove.measure.devices.base import MeterError
    from greenlove.measure.devices.nvml import open_nvidia_meters

    started = time.perf_counter()
    try:
        meters = open_nvidia_meters()
    except MeterError as error:
        print(f"gpu_check: {error}", file=sys.stderr)
        return 2
    pynvml.nvmlInit()   # our own reference for the raw polling; NVML counts inits
    try:
        print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
              f"driver {pynvml.nvmlSystemGetDriverVersion()}, greenlove {greenlove.__version__}")
        for meter in meters:
            print(f"  {meter.name}: method {meter.method}, power limit "
                  f"{getattr(meter, 'tdp_w', None)} W, note: {meter.note or '-'}")
        device = torch.device("cuda", 0)
        meter = meters[0]
        torch_uuid = str(getattr(torch.cuda.get_device_properties(0), "uuid", ""))
        if torch_uuid and hasattr(meter, "uuid"):
            same = meter.uuid.removeprefix("GPU-") == torch_uuid.removeprefix("GPU-")
            print(f"  cuda:0 is {meter.name} by UUID: {same} (torch {torch_uuid}, NVML {meter.uuid})")
        if not hasattr(meter, "uuid"):
            print(f"gpu_check: {meter.name} cannot be measured: {meter.note}", file=sys.stderr)
            return 2
        handle = pynvml.nvmlDeviceGetHandleByUUID(meter.uuid)

        model, opt, train_epoch, batches = make_training(device)
        data = TensorDataset(torch.randn(batches * BATCH_SIZE, IN_DIM),
                             torch.randint(0, CLASSES, (batches * BATCH_SIZE,)))
        loader = DataLoader(data, batch_size=BATCH_SIZE, shuffle=True, drop_last=True)
        train_epoch(loader)   # warm-up epoch, untimed
        poller = PowerPoller(pynvml, handle)
        poller.start()
        energy_comparison(train_epoch, loader, meter, poller, device)
        epoch_s = sync_vs_nosync(train_epoch, loader, device)
        predicted_vs_actual(greenlove, train_epoch, loader, model, opt, meter, epoch_s, device)
    finally:
        for meter in meters:
            meter.close()
        pynvml.nvmlShutdown()
    print(f"\ngpu_check finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
