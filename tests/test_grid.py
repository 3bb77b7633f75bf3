import pytest
import torch

from bench import grid as grid_module
from bench.grid import GridError, case_id, default_grid, grid_from_options, worker_counts


def test_quick_preset_covers_all_groups_cpu_two_batch_sizes_and_two_worker_counts():
    grid = default_grid("quick")
    assert "cpu" in grid.devices
    assert len(grid.batch_sizes) == 2
    assert len(grid.workers) == 2
    for group in ("loader", "forward", "train_step", "epoch"):
        assert grid.cases(group), group


def test_worker_counts_start_at_the_tutorials_and_stop_at_the_usable_cores():
    assert worker_counts(2, 3) == (0, 2)
    assert worker_counts(16, 5) == (0, 2, 4, 8, 16)
    assert worker_counts(16, 3) == (0, 2, 16)
    assert worker_counts(6, 5) == (0, 2, 4, 6)


def test_the_device_pipeline_gets_no_worker_or_pinned_cases():
    grid = grid_from_options("quick", workers="0,2", loaders="pil,device")
    loader_cases = grid.cases("loader")
    assert {case["num_workers"] for case in loader_cases if case["loader"] == "device"} == {0}
    assert {case["num_workers"] for case in loader_cases if case["loader"] == "pil"} == {0, 2}
    assert all(case["num_workers"] == 0 for case in grid.cases("epoch") if case["loader"] == "device")


def test_axis_options_override_the_preset():
    grid = grid_from_options("standard", devices="cpu", models="tutorial", batch_sizes="8,8,32",
                             workers="1", loaders="tensor", epoch_images=512)
    assert grid.devices == ("cpu",)
    assert grid.models == ("tutorial",)
    assert grid.batch_sizes == (8, 32)
    assert grid.workers == (1,)
    assert grid.loaders == ("tensor",)
    assert grid.epoch_images == 512


@pytest.fixture
def one_gpu(monkeypatch):
    """This machine as a one-GPU machine, for the grid's choices (nothing runs on it)."""
    monkeypatch.setattr(grid_module, "available_devices", lambda: ["cpu", "cuda:0"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)


def test_cuda_means_cuda_zero(one_gpu):
    assert grid_from_options("quick", devices="cuda,cuda:0,cpu").devices == ("cuda:0", "cpu")


def test_fixed_epoch_images_turn_sizing_off():
    assert grid_from_options("quick").epoch_round_seconds is not None
    grid = grid_from_options("quick", epoch_images=64)
    assert grid.epoch_images == 64
    assert grid.epoch_round_seconds is None


def test_named_batch_sizes_run_on_the_cpu_above_the_presets_cap():
    assert all(case["batch_size"] <= 512 for case in grid_from_options("standard", devices="cpu").cases("forward"))
    grid = grid_from_options("standard", devices="cpu", batch_sizes="4096")
    for group in ("forward", "train_step", "epoch"):
        assert {case["batch_size"] for case in grid.cases(group)} == {4096}, group


def test_named_transforms_all_run_in_epochs():
    assert {case["transform"] for case in grid_from_options("standard").cases("epoch")} == {"tutorial"}
    grid = grid_from_options("standard", transforms="tutorial,augmented")
    assert {case["transform"] for case in grid.cases("epoch")} == {"tutorial", "augmented"}


def test_pinned_memory_follows_the_named_devices(one_gpu):
    assert {case["pin_memory"] for case in grid_from_options("standard").cases("loader")} == {False, True}
    assert {case["pin_memory"] for case in grid_from_options("standard", devices="cpu").cases("loader")} == {False}


def test_what_a_preset_trims_is_listed():
    notes = grid_from_options("standard", devices="cpu").left_out()
    assert any("cpu: batch sizes 4096 are left out" in note for note in notes)
    assert any("transform 'tutorial' only" in note for note in notes)
    assert not any("cpu: batch sizes" in note
                   for note in grid_from_options("standard", devices="cpu", batch_sizes="4096").left_out())


def test_a_named_device_that_is_absent_is_refused(one_gpu):
    with pytest.raises(GridError, match="--bench-devices: cuda:1 is not available; this machine has: cpu, cuda:0"):
        grid_from_options("quick", devices="cuda:1")


def test_the_smoke_preset_covers_every_group_with_the_tutorials_settings_and_a_large_device_batch(one_gpu):
    grid = default_grid("smoke")
    epochs = grid.cases("epoch")
    threads = grid.default_threads
    assert {"model": "tutorial", "device": "cpu", "loader": "pil", "transform": "tutorial", "batch_size": 4,
            "num_workers": 2, "threads": threads, "compile": "eager"} in epochs
    assert {"model": "tutorial", "device": "cuda:0", "loader": "device", "transform": "tutorial",
            "batch_size": 16_384, "num_workers": 0, "threads": threads, "compile": "eager"} in epochs
    assert not [case for case in epochs if case["batch_size"] == 16_384 and case["loader"] != "device"]
    assert not [case for case in epochs if case["device"] == "cpu" and case["batch_size"] > 4]
    for group in ("loader", "forward", "train_step", "epoch"):
        assert grid.cases(group), group
    # One compiled case: the train step of the first GPU at the large batch (the anchor's), fp32 NCHW.
    compiled = [case for group in ("train_step", "epoch") for case in grid.cases(group) if case["compile"] != "eager"]
    assert compiled == [{"model": "tutorial", "device": "cuda:0", "batch_size": 16_384, "threads": threads,
                         "amp": False, "channels_last": False, "compile": "default"}]


def compiled_ids(grid, group: str) -> list[str]:
    return [grid.case_id(case) for case in grid.cases(group) if case["compile"] != "eager"]


def test_the_quick_preset_compiles_one_train_step_on_the_cpu_and_says_so():
    grid = grid_from_options("quick", devices="cpu")
    assert compiled_ids(grid, "train_step") == ["tutorial-cpu-bs128-fp32-nchw-compiled"]
    assert compiled_ids(grid, "epoch") == []
    assert {case["compile"] for case in grid.cases("epoch")} == {"eager"}
    assert any("torch.compile (default) runs only in train_step cases at batch 128" in note
               for note in grid.left_out())


def test_the_compile_axis_ends_the_ids_of_train_steps_and_epochs_and_leaves_other_groups_alone():
    grid = grid_from_options("quick", devices="cpu", batch_sizes="128", loaders="device")
    assert [grid.case_id(case) for case in grid.cases("train_step")] == [
        "tutorial-cpu-bs128-fp32-nchw-eager", "tutorial-cpu-bs128-fp32-nchw-compiled"]
    assert [grid.case_id(case) for case in grid.cases("epoch")] == ["tutorial-cpu-device-tutorial-bs128-w0-eager"]
    for group in ("loader", "forward", "ddp"):
        assert all("compile" not in case for case in grid.cases(group)), group


def test_the_standard_preset_compiles_train_steps_and_device_pipeline_epochs():
    grid = grid_from_options("standard", devices="cpu")
    steps = grid.cases("train_step")
    assert {case["compile"] for case in steps} == {"eager", "default"}
    assert len(steps) == 2 * len([case for case in steps if case["compile"] == "eager"])
    assert {case["loader"] for case in grid.cases("epoch") if case["compile"] == "default"} == {"device"}


def test_the_full_preset_adds_max_autotune_on_cuda_only(one_gpu):
    grid = default_grid("full")
    modes = {(case["device"], case["compile"]) for case in grid.cases("train_step")}
    assert ("cuda:0", "max-autotune") in modes
    assert ("cpu", "max-autotune") not in modes
    assert "compiled_max-autotune" in case_id({"compile": "max-autotune"})


def test_named_compile_modes_run_in_every_train_step_and_epoch_case():
    grid = grid_from_options("quick", devices="cpu", batch_sizes="4,16", compile_modes="default")
    for group in ("train_step", "epoch"):
        cases = grid.cases(group)
        assert cases, group
        assert {case["compile"] for case in cases} == {"default"}, group
    assert not any("torch.compile" in note for note in grid.left_out())
    both = grid_from_options("quick", devices="cpu", compile_modes="eager,default,eager")
    assert {case["compile"] for case in both.cases("epoch")} == {"eager", "default"}


@pytest.mark.parametrize(("options", "message"), [
    ({"preset": "huge"}, "--bench-sweep: 'huge' is not one of: auto, smoke, quick, standard, full"),
    ({"models": "vgg"}, "--bench-models: 'vgg' is not one of: tutorial, resnet18"),
    ({"loaders": "pil,dali"}, "--bench-loaders: 'dali' is not one of: pil, tensor, device"),
    ({"batch_sizes": "4,big"}, "--bench-batch-sizes: 'big' is not a valid int"),
    ({"batch_sizes": "0"}, "batch sizes must be at least 1"),
    ({"workers": "-1"}, "--bench-workers: '-1' must not be negative"),
    ({"devices": "tpu"}, "--bench-devices: 'tpu' is not a device"),
    ({"devices": ","}, "--bench-devices is empty"),
    ({"epoch_images": 0}, "--bench-epoch-images: 0 must be at least 1"),
    ({"compile_modes": "jit"}, "--bench-compile: 'jit' is not one of: eager, default, max-autotune"),
])
def test_invalid_options_name_the_option_and_the_valid_values(options, message):
    options = {"preset": "quick", **options}
    with pytest.raises(GridError) as error:
        grid_from_options(options.pop("preset"), **options)
    assert message in str(error.value)


def test_case_ids_are_short_and_readable():
    assert case_id({"model": "tutorial", "device": "cpu", "loader": "pil", "batch_size": 4,
                    "num_workers": 2}) == "tutorial-cpu-pil-bs4-w2"
    assert case_id({"amp": True, "channels_last": False, "pin_memory": True}) == "bf16-nchw-pinned"


def test_ddp_on_the_cpu_runs_the_small_model_unless_models_are_named():
    grid = grid_from_options("standard", devices="cpu")
    assert {case["model"] for case in grid.cases("ddp")} == {"tutorial"}
    assert any("ddp on the CPU runs tutorial only" in note for note in grid.left_out())
    named = grid_from_options("standard", devices="cpu", models="tutorial,resnet18")
    assert {case["model"] for case in named.cases("ddp")} == {"tutorial", "resnet18"}


def test_the_threads_axis_names_a_thread_count_in_ids_only_where_it_is_not_the_default():
    grid = grid_from_options("quick", devices="cpu", batch_sizes="128", loaders="tensor", workers="0",
                             threads="1,2", default_threads=2)
    assert grid.default_threads == 2
    assert grid.threads == (1, 2)
    ids = [grid.case_id(case) for case in grid.cases("epoch")]
    assert ids == ["tutorial-cpu-tensor-tutorial-bs128-w0-t1-eager", "tutorial-cpu-tensor-tutorial-bs128-w0-eager"]
    assert [grid.case_id(case) for case in grid.cases("forward")] == ["tutorial-cpu-bs128-t1", "tutorial-cpu-bs128"]
    assert all("threads" not in case for case in grid.cases("loader"))  # the loader's workers have their own


def test_one_thread_count_sets_the_sweeps_threads_and_no_axis():
    grid = grid_from_options("quick", devices="cpu", threads="1", default_threads=2)
    assert (grid.default_threads, grid.threads) == (1, ())
    assert {case["threads"] for case in grid.cases("train_step")} == {1}
    with pytest.raises(GridError, match="--bench-threads: thread counts must be at least 1"):
        grid_from_options("quick", threads="0,2")


def test_repeats_and_the_budget_are_checked():
    assert grid_from_options("quick").repeats == 2
    assert grid_from_options("quick", repeats=1).repeats == 1
    with pytest.raises(GridError, match="--bench-repeats: 0 must be at least 1"):
        grid_from_options("quick", repeats=0)
    with pytest.raises(GridError, match="--bench-budget: -5 must be a positive number of seconds"):
        grid_from_options("auto", budget_seconds=-5)


def test_the_auto_preset_offers_its_search_every_pipeline_batch_and_worker_count_with_threads():
    grid = grid_from_options("auto", devices="cpu", default_threads=2)
    assert grid.cases("loader") == []
    assert grid.cases("forward") == []
    epochs = grid.cases("epoch")
    assert grid.reference in epochs
    assert {key: grid.reference[key] for key in ("loader", "batch_size", "num_workers")} == {
        "loader": "pil", "batch_size": 4, "num_workers": 2}
    assert {case["loader"] for case in epochs} == {"pil", "tensor", "device"}
    assert not [case for case in epochs if case["loader"] == "device" and case["num_workers"]]
    # threads with workers: cores minus workers, and fewer (bench.search.threads_for)
    assert {(case["num_workers"], case["threads"]) for case in epochs if case["loader"] == "tensor"} == {
        (0, 2), (0, 1), (2, 1)}
