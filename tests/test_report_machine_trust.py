"""reports.analysis.machine_trust: a machine's run is as trusted as its worst case."""

from __future__ import annotations

from reports.analysis.analyse import analyse
from reports.page import words as say
from tests.typed_cases import CPU, busy_cpu, epoch, loader, step


def test_a_run_is_as_trusted_as_its_worst_case_and_unassessed_files_say_so():
    noisy = [loader(CPU, 20_000, trust="ok"), step(CPU, 2_000, device="cpu", trust="noisy"),
             epoch(CPU, 1_900, device="cpu", trust="ok")]
    assert analyse(noisy).trust[CPU].level == "noisy"
    assert analyse(busy_cpu()).trust[CPU].level is None
    assert say.trust_line(analyse(busy_cpu()).trust[CPU]).startswith("not assessed")
