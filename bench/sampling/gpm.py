"""GPM (GPU Performance Monitoring, Hopper and later): what the SMs did over a window.

NVML's `utilization.gpu` is the share of time in which any kernel ran: one small kernel at
a time reads 100 %. GPM counts, between two samples of the GPU's counters, the percent of
SMs that were busy (`sm_active_pct`), of resident warps against the SMs' maximum
(`sm_occupancy_pct`), of time the tensor pipes worked (`tensor_active_pct`) and of the
DRAM bandwidth used (`dram_bw_util_pct`). `GpmWindow` takes a sample when a window starts
and one when it finishes, for the window's values, and on request intermediate pairs at
least `MIN_PAIR_SECONDS` apart, for a series.

Where GPM cannot be read (a GPU before Hopper, bindings or a driver without it, MIG mode,
no permission), the reading says why in `reason`; nothing is raised.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from types import ModuleType

from bench.sampling.budget import Budget

# (name recorded, pynvml's metric id constant)
GPM_METRICS = (
    ("sm_active_pct", "NVML_GPM_METRIC_SM_UTIL"),
    ("sm_occupancy_pct", "NVML_GPM_METRIC_SM_OCCUPANCY"),
    ("tensor_active_pct", "NVML_GPM_METRIC_ANY_TENSOR_UTIL"),
    ("dram_bw_util_pct", "NVML_GPM_METRIC_DRAM_BW_UTIL"),
)
# NVML computes rates over the time between the two samples; pairs closer than this are noise.
MIN_PAIR_SECONDS = 0.1
WINDOW_OPEN = "the window is still open"


@dataclasses.dataclass(frozen=True)
class GpmReading:
    """One GPU's GPM metrics over a window, in percent; None where not measured, with `reason`."""

    supported: bool
    reason: str | None = None
    sm_active_pct: float | None = None
    sm_occupancy_pct: float | None = None
    tensor_active_pct: float | None = None
    dram_bw_util_pct: float | None = None

    def to_json(self) -> dict:
        """The reading as `extra_info["gpm"]` holds it."""
        return dataclasses.asdict(self)


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def unsupported_reason(nvml: ModuleType, handle) -> str | None:
    """Why GPM cannot be read on this device, or None when it can. Raises `NVMLError`."""
    if not hasattr(nvml, "nvmlGpmQueryDeviceSupport"):
        return "GPM not recorded: these pynvml bindings have no GPM functions (nvidia-ml-py too old)"
    get_mig_mode = getattr(nvml, "nvmlDeviceGetMigMode", None)
    if get_mig_mode is not None:
        try:
            current_mode, _pending_mode = get_mig_mode(handle)
        except nvml.NVMLError:  # GPUs without MIG answer NotSupported: not in MIG mode
            current_mode = None
        if current_mode == nvml.NVML_DEVICE_MIG_ENABLE:
            return "GPM not recorded: MIG mode is enabled (GPM per GPU instance is not read)"
    try:
        support = nvml.nvmlGpmQueryDeviceSupport(handle)
    except nvml.NVMLError_FunctionNotFound as error:
        return f"GPM not recorded: this driver has no GPM ({_error_text(error)})"
    if not support.isSupportedDevice:
        return "GPM not recorded: this GPU does not support GPM (Hopper and later do)"
    return None


class GpmWindow:
    """GPM of one GPU between `start()` and `finish()`, with an optional series in between.

    Four NVML samples are allocated at start and freed at finish: the first, the last, and
    two that take turns for the intermediate pairs. Every call is made under one lock, so the
    sampling thread and the caller never use a sample at the same time.
    """

    def __init__(self, nvml: ModuleType, handle, note: Callable[[str], None], label: str = "gpu",
                 budget: Budget | None = None, min_pair_s: float = MIN_PAIR_SECONDS):
        self._nvml = nvml
        self._handle = handle
        self._note = note
        self._label = label
        self._budget = budget or Budget()
        self._min_pair_s = min_pair_s
        self._lock = threading.Lock()
        self._samples: list = []
        self._first = self._last = None
        self._turns: tuple = ()
        self._previous = None
        self._previous_s = 0.0
        self._series_failed = False
        self.reading = GpmReading(supported=False, reason=WINDOW_OPEN)

    def start(self) -> None:
        """Check support, allocate the samples and take the first one."""
        nvml = self._nvml
        with self._lock:
            try:
                reason = unsupported_reason(nvml, self._handle)
                if reason is not None:
                    self.reading = GpmReading(supported=False, reason=reason)
                    return
                for _ in range(4):
                    self._samples.append(nvml.nvmlGpmSampleAlloc())
                self._first, self._last, *turns = self._samples
                self._turns = tuple(turns)
                nvml.nvmlGpmSampleGet(self._handle, self._first)
            except nvml.NVMLError as error:
                self._free()
                self.reading = GpmReading(supported=False, reason=f"GPM not recorded: {_error_text(error)}")
                return
            self._previous, self._previous_s = self._first, time.perf_counter()

    @property
    def running(self) -> bool:
        """Whether the first sample was taken and the window is not finished."""
        return self._first is not None

    def sample(self, now_s: float) -> dict[str, float]:
        """The metrics since the previous sample, when at least `min_pair_s` ago and the budget allows.

        {} otherwise, and once a pair has failed (noted once).
        """
        with self._lock:
            if (self._first is None or self._series_failed or now_s - self._previous_s < self._min_pair_s
                    or not self._budget.due(now_s)):
                return {}
            started_cpu_s = time.thread_time()
            current = self._turns[0] if self._previous is not self._turns[0] else self._turns[1]
            try:
                self._nvml.nvmlGpmSampleGet(self._handle, current)
                values, _failures = self._metrics(self._previous, current)  # a failed metric: a gap
            except self._nvml.NVMLError as error:
                self._series_failed = True
                self._note(f"{self._label} GPM series not recorded ({_error_text(error)})")
                return {}
            self._budget.spent(now_s, time.thread_time() - started_cpu_s)
            self._previous, self._previous_s = current, now_s
            return values

    def finish(self) -> GpmReading:
        """Take the last sample, compute the window's metrics, free the samples."""
        with self._lock:
            if self._first is None:
                return self.reading
            try:
                self._nvml.nvmlGpmSampleGet(self._handle, self._last)
                values, failures = self._metrics(self._first, self._last)
            except self._nvml.NVMLError as error:
                self.reading = GpmReading(supported=False, reason=f"GPM not recorded: {_error_text(error)}")
            else:
                reason = "; ".join(failures) if failures else None
                self.reading = GpmReading(supported=True, reason=reason, **values)
            finally:
                self._free()
            return self.reading

    def _metrics(self, sample1, sample2) -> tuple[dict[str, float], list[str]]:
        """GPM metrics between two samples: ({name: percent}, [failed metric and why])."""
        nvml = self._nvml
        request = nvml.c_nvmlGpmMetricsGet_t()
        request.version = nvml.NVML_GPM_METRICS_GET_VERSION
        request.numMetrics = len(GPM_METRICS)
        request.sample1 = sample1
        request.sample2 = sample2
        for slot, (_, metric_id) in enumerate(GPM_METRICS):
            request.metrics[slot].metricId = getattr(nvml, metric_id)
        nvml.nvmlGpmMetricsGet(request)
        values, failures = {}, []
        for slot, (name, _) in enumerate(GPM_METRICS):
            metric = request.metrics[slot]
            if metric.nvmlReturn != nvml.NVML_SUCCESS:
                failures.append(f"{name} not recorded (NVML return code {metric.nvmlReturn})")
                continue
            values[name] = float(metric.value)
        return values, failures

    def _free(self) -> None:
        for sample in self._samples:
            try:
                self._nvml.nvmlGpmSampleFree(sample)
            except self._nvml.NVMLError as error:  # nothing more to do with it; say so once
                self._note(f"{self._label} GPM sample not freed ({_error_text(error)})")
        self._samples = []
        self._first = self._last = self._previous = None
        self._turns = ()
