"""A timed round includes the device's work: kernels run after their launch returns."""

import textwrap

from tests.gpu import requires_cuda

pytestmark = requires_cuda


def test_a_timed_round_includes_a_kernel_of_known_duration(pytester):
    """`torch.cuda._sleep(cycles)` spins the GPU for a number of clock cycles while the
    launch returns at once: measured first with CUDA events, then timed by `timed_rounds`,
    each round must last at least as long as the kernel."""
    pytester.makepyfile(test_sleep_kernel=textwrap.dedent("""\
        import torch
        from bench.timing import timed_rounds

        CYCLES = 50_000_000  # tens of ms at GPU clocks

        def kernel_seconds(device):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda._sleep(CYCLES)  # warm: the first launch loads the module
            torch.cuda.synchronize(device)
            start.record()
            torch.cuda._sleep(CYCLES)
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0  # ms -> s

        def test_round_includes_the_kernel(benchmark):
            device = torch.device("cuda", 0)
            seconds = kernel_seconds(device)
            assert seconds > 0.005, seconds  # long enough to tell apart from a launch
            timed_rounds(benchmark, lambda: torch.cuda._sleep(CYCLES), device, rounds=3)
            assert len(benchmark.stats.stats.data) == 3
            # Clocks can rise between the measurement and the rounds: allow a tenth.
            assert min(benchmark.stats.stats.data) >= 0.9 * seconds
        """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
