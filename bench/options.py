"""cifarbench's command-line options: the `--benchmark` switch and the sweep's `--bench-*` axes and settings.

Registered by the plugin (`bench.plugin.pytest_addoption`); read with `config.getoption`.
Every value is checked before the first case (`bench.plugin.pytest_configure`), and a bad one
is a usage error that names the fix.
"""

from __future__ import annotations

from bench.grid import DEFAULT_BUDGET_SECONDS, DEFAULT_PRESET


def add_options(parser) -> None:
    """Register every option in the `cifarbench` group of `parser` (pytest's)."""
    group = parser.getgroup("cifarbench", "cifarbench benchmark sweep")
    group.addoption("--benchmark", action="store_true", default=False,
                    help="run the benchmark sweep in bench/ (the tests are not run)")
    group.addoption("--bench-sweep",
                    help=f"the preset: auto (an adaptive search within --bench-budget), or a grid: smoke, quick, "
                         f"standard or full (default: {DEFAULT_PRESET})")
    group.addoption("--bench-budget", type=float,
                    help=f"seconds the auto preset's search may take (default: {DEFAULT_BUDGET_SECONDS:.0f})")
    group.addoption("--bench-profile", help="deprecated name of --bench-sweep")
    group.addoption("--bench-devices", help="comma-separated devices: cpu, cuda, cuda:N")
    group.addoption("--bench-models", help="comma-separated models: tutorial, resnet18")
    group.addoption("--bench-batch-sizes", help="comma-separated batch sizes, e.g. 4,128")
    group.addoption("--bench-workers", help="comma-separated DataLoader worker counts, e.g. 0,2,8")
    group.addoption("--bench-loaders", help="comma-separated input pipelines: pil, tensor, device")
    group.addoption("--bench-transforms", help="comma-separated transforms: tutorial, augmented")
    group.addoption("--bench-compile",
                    help="comma-separated torch.compile modes for train_step and epoch cases: eager, default, "
                         "max-autotune (default: the preset's)")
    group.addoption("--bench-world-sizes", help="comma-separated ddp world sizes (processes), e.g. 1,2,4")
    group.addoption("--bench-epoch-images", type=int,
                    help="images per timed epoch, exactly (whole batches), every round; fewer than "
                         "50,000 are projected to a full epoch")
    group.addoption("--bench-threads",
                    help="torch's CPU intra-op threads: one count for the sweep (default: the usable cores, or "
                         "what a cgroup CPU limit allows), or a comma-separated axis, e.g. 1,2,4")
    group.addoption("--bench-target-accuracy", type=float,
                    help="the converge group's target test accuracy, 0..1 (default: the data set's, bench/recipe.py)")
    group.addoption("--bench-lr", type=float,
                    help="the converge group's learning rate after its warm-up, every batch size (default: the "
                         "tutorial's 0.001 at batch 4, scaled with the batch: bench/recipe.py)")
    group.addoption("--bench-seeds", type=int,
                    help="seeds each converge configuration trains with (default: the preset's)")
    group.addoption("--bench-repeats", type=int,
                    help="run every case this many times, interleaved, for an interval that holds from one run "
                         "to the next (default: the preset's)")
    group.addoption("--bench-label", help="name of this machine in the results, e.g. the instance shape")
    group.addoption("--bench-results", default="results",
                    help="folder for result files and the report (default: results)")
    group.addoption("--bench-data-dir",
                    help="real CIFAR-10 folder (holds cifar-10-batches-py); default $CIFAR10_ROOT, "
                         "else synthetic data")
    group.addoption("--bench-download", action="store_true", default=False,
                    help="download CIFAR-10 into --bench-data-dir if it is not there")
    group.addoption("--bench-sample-interval", type=float, default=0.1,
                    help="utilization sampling period in seconds (default: 0.1)")
    group.addoption("--bench-price-per-hour", type=float,
                    help="price of this machine per hour, for cost per epoch in the report")
    group.addoption("--bench-no-report", action="store_true", default=False,
                    help="do not build the HTML report at the end")
    group.addoption("--bench-no-peak", action="store_true", default=False,
                    help="skip the peak-matmul microbenchmark in the machine facts")
    group.addoption("--bench-trace", action="store_true", default=False,
                    help="record a torch.profiler trace of a few steps of each epoch case (after its timed "
                         "rounds) under <results>/traces/")
    group.addoption("--bench-no-preflight", action="store_true", default=False,
                    help="skip the one-second check of how busy the machine is before the first case")


def chosen_preset(config) -> tuple[str, str | None]:
    """The preset and a deprecation note when it came from --bench-profile."""
    sweep_option, profile_option = config.getoption("bench_sweep"), config.getoption("bench_profile")
    if profile_option is not None and sweep_option is None:
        return profile_option, "--bench-profile is deprecated: use --bench-sweep (same preset names)"
    return sweep_option or DEFAULT_PRESET, None
