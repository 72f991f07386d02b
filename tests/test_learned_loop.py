"""The learned loop: what a model was trained on travels with it, evaluation refuses those seeds,
checkpoints ship in fp16, and the GPU training benchmark runs (at toy size, on the CPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from avdc_cli.main import main
from avdc_core import SpecError
from avdc_core.evaluation import EpisodeJob, check_unseen_seeds
from avdc_core.registry import Registry
from avdc_core.spec import resolve_spec
from avdc_plugins.generators.video_diffusion.checkpoint import VideoDiffusionModel, read_card
from avdc_plugins.generators.video_diffusion.train import train

from models import random_card_model, tiny_config
from paths import ROOT


@pytest.fixture(scope="module")
def trained_on_seed_7(tmp_path_factory):
    """A 2-step model trained on one real handle-press/corner demonstration, simulator seed 7."""
    pytest.importorskip("metaworld")
    from avdc_plugins.simulators.metaworld.collect import collect_demonstrations

    root = tmp_path_factory.mktemp("learned")
    collect_demonstrations(["handle-press"], ["corner"], 1, root / "data", resolution=(80, 60), first_seed=7)
    config = tiny_config(root / "run", steps=2)
    config = config.model_copy(update={"data": config.data.model_copy(update={"root": root / "data"})})
    train(config, progress=False)
    return root / "run" / "model.safetensors"


def _generated_spec(checkpoint: Path) -> dict:
    spec = yaml.safe_load((ROOT / "specs" / "metaworld-generated.yaml").read_text())
    spec["generator"]["params"]["checkpoint"] = str(checkpoint)
    spec["executor"]["params"] = {"task": "handle-press", "camera": "corner"}
    return spec


def test_the_card_lists_the_episodes_and_seeds_a_model_was_trained_on(trained_on_seed_7):
    card = read_card(trained_on_seed_7)
    assert card.data.episodes == 1
    assert card.data.seeds == {"handle-press/corner": [7]}
    assert card.step == 2 and card.train_seconds > 0


def test_evaluating_on_a_training_seed_is_refused_and_other_seeds_pass(trained_on_seed_7):
    resolved = resolve_spec(_generated_spec(trained_on_seed_7), Registry.discover())
    with pytest.raises(SpecError, match=r"trained on seeds .*handle-press/corner: 7\b"):
        check_unseen_seeds(resolved, [EpisodeJob("handle-press", "corner", s) for s in range(10)])
    check_unseen_seeds(resolved, [EpisodeJob("handle-press", "corner", s) for s in range(8, 18)])
    check_unseen_seeds(resolved, [EpisodeJob("handle-press", "corner2", 7)])  # another camera's seed 7


def test_avdc_eval_refuses_training_seeds_before_running_anything(trained_on_seed_7, tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_generated_spec(trained_on_seed_7)))
    code = main(["eval", str(spec), "--tasks", "handle-press", "--cameras", "corner", "--seeds", "8",
                 "--out", str(tmp_path / "eval")])
    assert code == SpecError.exit_code
    assert "--first-seed" in capsys.readouterr().err
    assert not (tmp_path / "eval" / "episodes").exists()


def test_fp16_checkpoint_is_half_the_size_and_samples_like_the_float32_one(tmp_path):
    model = random_card_model()
    full = model.save(tmp_path / "full.safetensors")
    half = model.save(tmp_path / "half.safetensors", dtype=torch.float16)
    assert 0.45 < half.stat().st_size / full.stat().st_size < 0.55
    loaded = VideoDiffusionModel.load(half)
    assert all(p.dtype == torch.float32 for p in loaded.unet.parameters())
    rgb = np.random.default_rng(0).integers(0, 255, (*model.card.unet.image_size, 3), dtype=np.uint8)
    text = np.ones(model.card.unet.text_dim, np.float32)
    a, b = (m.generate(rgb, text, torch.Generator().manual_seed(0), 4) for m in (model, loaded))
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0


def test_gpu_training_benchmark_runs_at_toy_size_on_the_cpu(capsys):
    spec = importlib.util.spec_from_file_location("bench_train_gpu", ROOT / "benchmarks" / "bench_train_gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--toy", "--steps", "4", "--warmup", "1", "--clips", "3"])
    assert figures["steps"] == 4 and figures["device"] == "cpu" and figures["mixed_precision"] == "no"
    assert figures["steps_per_second"] > 0 and np.isfinite(figures["loss_last10"])
    assert "steps/s" in capsys.readouterr().out


SHIPPED = ROOT / "models" / "metaworld-cpu" / "model.safetensors"


def test_shipped_model_imagines_the_task_closer_to_the_expert_than_a_still_video():
    """One plan video from the model in the repository, on an episode it was not trained on:
    where the expert moves pixels, the imagined frames are nearer the expert's than frame 0 is."""
    pytest.importorskip("metaworld")
    from avdc_core import BuildContext
    from avdc_core.datasets import resize_rgb
    from avdc_plugins.generators.oracle import OracleGenerator
    from avdc_plugins.generators.unet_diffusion import UnetDiffusionGenerator

    from episodes import metaworld_episode

    generator = UnetDiffusionGenerator(UnetDiffusionGenerator.Config(checkpoint=str(SHIPPED), sample_steps=10),
                                       BuildContext())
    card = generator.model.card
    assert card.data.seeds and all(0 not in seeds for seeds in card.data.seeds.values())
    with metaworld_episode("door-close", "corner", seed=0) as (executor, observation):
        video = generator.generate(observation, executor.task_text(), seed=0)
        expert = OracleGenerator(OracleGenerator.Config(), BuildContext()).generate(observation, "door close")
    assert video.frames.shape == (8, 240, 320, 3)
    np.testing.assert_array_equal(video.frames[0], observation.rgb)
    small = [np.stack([resize_rgb(f, *card.unet.image_size) for f in v.frames]).astype(float)
             for v in (expert, video)]
    moving = np.abs(small[0][1:] - small[0][:1]).max(axis=-1) > 10
    imagined_error = np.abs(small[1][1:] - small[0][1:]).max(axis=-1)[moving].mean()
    still_error = np.abs(small[0][:1] - small[0][1:]).max(axis=-1)[moving].mean()
    assert moving.mean() > 0.02 and imagined_error < 0.7 * still_error


@pytest.mark.slow
def test_a_generated_video_episode_succeeds_end_to_end(tmp_path):
    """The shipped model imagines every plan of a real closed-loop episode (unseen seed), with
    real DIS flow, the se3 solver and the Meta-World executor; the task's success flag ends it."""
    pytest.importorskip("metaworld")
    from avdc_core.evaluation import EvalOptions, run_episode_job
    from avdc_core.spec import read_yaml

    spec = ROOT / "specs" / "metaworld-generated.yaml"
    job = EpisodeJob("handle-press", "corner", 9, {"task": "handle-press", "camera": "corner"})
    record = run_episode_job(job, EvalOptions(read_yaml(spec), spec.parent, tmp_path))
    assert record["end"] == "success", record
    assert record["plan_stage_seconds"]["generate"] > 0


NAVIGATION = ROOT / "models" / "miniworld-cpu" / "model.safetensors"


def test_shipped_navigation_model_plans_from_an_unseen_start_and_eval_refuses_its_training_seeds(tmp_path, capsys):
    """The 64x64 navigation model imagines a plan from a MiniWorld observation at the executor's
    128x128; `avdc eval` will not test it on a seed it was trained on. (How well it navigates is
    measured by `avdc eval specs/miniworld-generated.yaml`, see README; it is not asserted here.)"""
    if importlib.util.find_spec("miniworld") is None:
        pytest.skip("miniworld is not installed")
    from avdc_core import BuildContext
    from avdc_plugins.executors.miniworld import MiniWorldExecutor
    from avdc_plugins.generators.unet_diffusion import UnetDiffusionGenerator

    generator = UnetDiffusionGenerator(UnetDiffusionGenerator.Config(checkpoint=str(NAVIGATION)), BuildContext())
    assert generator.model.card.unet.image_size == (64, 64) and generator.model.card.tasks == ["red box"]
    executor = MiniWorldExecutor(MiniWorldExecutor.Config(task="one-room"), BuildContext())
    try:
        observation = executor.reset(seed=0)
        video = generator.generate(observation, executor.task_text(), seed=0)
    finally:
        executor.close()
    assert video.frames.shape == (8, 128, 128, 3)
    np.testing.assert_array_equal(video.frames[0], observation.rgb)
    assert main(["eval", str(ROOT / "specs" / "miniworld-generated.yaml"), "--tasks", "one-room", "--seeds", "1",
                 "--first-seed", "1000", "--out", str(tmp_path / "eval")]) != 0
    assert "was trained on seeds this evaluation would test (one-room/agent: 1000)" in capsys.readouterr().err
