import pytest

from bench.grid import GridError, case_id, default_grid, grid_from_options, worker_counts


def test_quick_profile_covers_all_groups_cpu_two_batch_sizes_and_two_worker_counts():
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


def test_axis_options_override_the_profile():
    grid = grid_from_options("standard", devices="cpu", models="tutorial", batch_sizes="8,8,32",
                             workers="1", loaders="tensor", epoch_images=512)
    assert grid.devices == ("cpu",)
    assert grid.models == ("tutorial",)
    assert grid.batch_sizes == (8, 32)
    assert grid.workers == (1,)
    assert grid.loaders == ("tensor",)
    assert grid.epoch_images == 512


def test_cuda_means_cuda_zero():
    assert grid_from_options("quick", devices="cuda,cuda:0,cpu").devices == ("cuda:0", "cpu")


@pytest.mark.parametrize(("options", "message"), [
    ({"profile": "huge"}, "--bench-profile: 'huge' is not one of: quick, standard, full"),
    ({"models": "vgg"}, "--bench-models: 'vgg' is not one of: tutorial, resnet18"),
    ({"loaders": "pil,dali"}, "--bench-loaders: 'dali' is not one of: pil, tensor, device"),
    ({"batch_sizes": "4,big"}, "--bench-batch-sizes: 'big' is not a valid int"),
    ({"batch_sizes": "0"}, "batch sizes must be at least 1"),
    ({"workers": "-1"}, "--bench-workers: '-1' must not be negative"),
    ({"devices": "tpu"}, "--bench-devices: 'tpu' is not a device"),
    ({"devices": ","}, "--bench-devices is empty"),
    ({"epoch_images": 0}, "--bench-epoch-images: 0 must be at least 1"),
])
def test_invalid_options_name_the_option_and_the_valid_values(options, message):
    options = {"profile": "quick", **options}
    with pytest.raises(GridError) as error:
        grid_from_options(options.pop("profile"), **options)
    assert message in str(error.value)


def test_case_ids_are_short_and_readable():
    assert case_id({"model": "tutorial", "device": "cpu", "loader": "pil", "batch_size": 4,
                    "num_workers": 2}) == "tutorial-cpu-pil-bs4-w2"
    assert case_id({"amp": True, "channels_last": False, "pin_memory": True}) == "bf16-nchw-pinned"
