"""The closed loop's replanning logic.

The planner and executor here are small honest fakes: a point robot on a line that walks 1 cm
per step towards the goal of its latest plan, and that a wall stops for the first few plans.
They exercise stall detection and bounded replanning; the real Meta-World loop is tested in
the Meta-World tests.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from avdc_core import Commands, InputDataError, PlanFailedError, SegmentTarget, SolveError, StepReport
from avdc_core.runner import StallDetector, run_episode
from avdc_core.spec import ReplanConfig


class CountingPlanner:
    def __init__(self):
        self.calls = 0

    def plan(self, observation, text, target, mode="object", seed=0):
        self.calls += 1
        return SimpleNamespace(trajectory=SimpleNamespace(residuals_px=np.array([0.0, 0.5])),
                               points_world=np.zeros((1, 3)), timings_s={"generate": 0.5, "solve": 0.25})


class FailingPlanner(CountingPlanner):
    """Cannot plan its first ``failures`` calls (the target is hidden), then plans normally."""

    def __init__(self, failures):
        super().__init__()
        self.failures = failures

    def plan(self, observation, text, target, mode="object", seed=0):
        if self.calls < self.failures:
            self.calls += 1
            raise SolveError(f"tracks never move (call {self.calls})")
        return super().plan(observation, text, target, mode, seed)


class PointRobot:
    motion_mode = "object"

    def __init__(self, goal_m=0.2, blocked_plans=0, wall_m=0.05, plan_length_m=1.0):
        self.goal_m, self.blocked_plans, self.wall_m = goal_m, blocked_plans, wall_m
        self.plan_length_m = plan_length_m
        self.position_m = 0.0
        self.plans = 0
        self.retreats = 0

    def reset(self, seed):
        self.position_m = 0.0
        return "observation"

    def observe(self):
        return "observation"

    def task_text(self):
        return "reach the goal"

    def segment_target(self):
        return SegmentTarget("robot")

    def commands(self, trajectory, points, observation):
        self.plans += 1
        return Commands("line", {"goal_m": min(self.goal_m, self.position_m + self.plan_length_m)})

    def execute(self, commands):
        step = 0
        while abs(commands.data["goal_m"] - self.position_m) > 1e-9:
            limit = self.wall_m if self.plans <= self.blocked_plans else np.inf
            move = np.clip(commands.data["goal_m"] - self.position_m, -0.01, 0.01)
            self.position_m = min(self.position_m + move, limit)
            step += 1
            yield StepReport(step, np.array([self.position_m, 0, 0]),
                             success=abs(self.position_m - self.goal_m) < 1e-6)

    def retreat(self):
        """Back off 3 cm, one centimetre per step."""
        self.retreats += 1
        for _ in range(3):
            self.position_m -= 0.01
            yield StepReport(0, np.array([self.position_m, 0, 0]), success=False)


def test_stall_detector_fires_after_the_window_without_movement():
    detector = StallDetector(stall_steps=3, stall_mm=1.0)
    positions = [0.0, 0.01, 0.02, 0.02, 0.0205, 0.0205, 0.0205]
    fired = [detector.update(np.array([p, 0, 0])) for p in positions]
    assert fired == [False, False, False, False, False, True, True]


def test_episode_succeeds_without_replanning_when_nothing_blocks():
    planner, robot = CountingPlanner(), PointRobot()
    result = run_episode(planner, robot, ReplanConfig(), seed=0)
    assert (result.success, result.end, result.replans, planner.calls) == (True, "success", 0, 1)
    assert result.steps == 20


def test_stall_triggers_a_replan_from_the_new_observation():
    planner, robot = CountingPlanner(), PointRobot(blocked_plans=2)
    config = ReplanConfig(stall_steps=4, stall_mm=1.0)
    result = run_episode(planner, robot, config, seed=0)
    assert result.success and result.replans == 2 and planner.calls == 3
    assert result.plan_stage_seconds == {"generate": 1.5, "solve": 0.75}  # summed over the 3 plans
    assert result.plan_primitives == ["line"] * 3  # the commands' kind: they name no mode
    # plan 1: 5 steps to the wall + 4 still ones; plan 2 starts at the wall: 5 still reports
    # fill the window; plan 3: 15 steps to the goal
    assert result.steps == (5 + 4) + 5 + 15


def test_replanning_is_bounded():
    planner, robot = CountingPlanner(), PointRobot(blocked_plans=100)
    result = run_episode(planner, robot, ReplanConfig(max_replans=3, stall_steps=2), seed=0)
    assert not result.success and result.end == "replan_limit"
    assert planner.calls == 4 and result.replans == 3


def test_plan_that_runs_out_without_success_is_replanned():
    planner, robot = CountingPlanner(), PointRobot(plan_length_m=0.05)
    result = run_episode(planner, robot, ReplanConfig(max_replans=5), seed=0)
    assert result.success and planner.calls == 4 and result.replans == 3


def test_step_limit_ends_the_episode():
    planner, robot = CountingPlanner(), PointRobot(goal_m=1.0)
    result = run_episode(planner, robot, ReplanConfig(max_steps=30), seed=0)
    assert not result.success and result.end == "step_limit" and result.steps == 30


@pytest.mark.parametrize("mm, fires", [(0.5, False), (2.0, True)])
def test_stall_threshold_is_in_millimetres(mm, fires):
    detector = StallDetector(stall_steps=1, stall_mm=mm)
    detector.update(np.zeros(3))
    assert detector.update(np.array([0.001, 0, 0])) is fires


def test_failed_plan_retreats_and_counts_as_a_replan():
    planner, robot = FailingPlanner(failures=2), PointRobot()
    result = run_episode(planner, robot, ReplanConfig(), seed=0)
    assert (result.success, result.replans, planner.calls, robot.retreats) == (True, 2, 3, 2)
    # two retreats of 3 steps each take the robot 6 cm back: 26 steps to the 20 cm goal
    assert result.steps == 2 * 3 + 26
    assert result.plan_failures == ["plan 0: tracks never move (call 1)",
                                    "plan 1: tracks never move (call 2)"]


def test_episode_where_no_attempt_can_plan_ends_as_plan_failed():
    planner, robot = FailingPlanner(failures=100), PointRobot()
    result = run_episode(planner, robot, ReplanConfig(max_replans=2), seed=0)
    assert not result.success and result.end == "plan_failed" and planner.calls == 3
    assert len(result.plan_failures) == 3 and result.plan_residuals_px == [] and result.plan_primitives == []


def test_plan_failure_is_an_input_data_error_and_solve_errors_are_plan_failures():
    assert issubclass(PlanFailedError, InputDataError)
    assert issubclass(SolveError, PlanFailedError) and SolveError.exit_code == PlanFailedError.exit_code
