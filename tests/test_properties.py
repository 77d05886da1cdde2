"""Properties: any text or JSON is a goal or a one-line goal error, reference spots keep the
README's limits (0.50 to 0.68 m from the base, within 150 degrees of x, 0.32 m apart), and
settings take values in range or name the field."""
import json
import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import main
from planner.config import PlannerSettings, meta
from tasks.goals import TASKS, GoalError, goal_from_json, parse_goal, sample_goal
from tasks.reference import Reference

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_a_goal_or_a_goal_error(text):
    try:
        goal = parse_goal(text)
    except GoalError as e:
        assert len(str(e)) < 300
        return
    assert goal.task in TASKS
    assert parse_goal(str(goal)) == goal  # what is shown reads back as the same goal
    assert goal_from_json(goal.to_json()) == goal


WORDS = st.sampled_from(["red", "green", "blue", "yellow", "purple", "on", ",", " ", "tallest", "", "Red", "on on"])


@settings(max_examples=400, deadline=None)
@given(st.lists(WORDS, max_size=12))
def test_any_goal_like_text_is_a_goal_or_a_goal_error(words):
    text = " ".join(words)
    try:
        goal = parse_goal(text)
    except GoalError:
        return
    assert parse_goal(str(goal)) == goal


KEYS = ["order", "pairs", "tallest", "on", "at", "clear", "block", "x", "y", "yaw_deg"]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
                    | st.sampled_from(["red", "green", "blue", "yellow"]) | st.floats(-1, 1),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_is_a_goal_or_a_goal_error(value):
    try:
        goal = goal_from_json(json.dumps(value))
    except GoalError:
        return
    assert goal_from_json(goal.to_json()) == goal


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["steps", "candidates", "guide_scale", "max_checks", "smooth", "extra_segments", "cond_scale"]),
       st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True)))
def test_planner_settings_take_a_value_in_range_or_name_the_field(name, value):
    m = meta(PlannerSettings, name)
    if isinstance(m["default"], int) and not isinstance(value, int):
        return
    try:
        s = PlannerSettings(**{name: value, "mover": None})
    except ValueError as e:
        assert str(e).startswith(name) and "must be" in str(e)
        return
    assert m["low"] <= getattr(s, name) <= m["high"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_candidates_text_is_a_count_in_range_or_a_one_line_refusal(text):
    parse = main.field_type(PlannerSettings, "candidates")
    try:
        value = parse(text)
    except main.argparse.ArgumentTypeError as e:
        assert "\n" not in str(e) and len(str(e)) < 120
        return
    assert 1 <= value <= 1024


def test_every_sampled_goal_round_trips():
    rng = np.random.default_rng(0)
    for task in TASKS:
        for _ in range(20):
            g = sample_goal(task, rng)
            assert parse_goal(str(g)) == g


def _spot(r: float, degrees: float) -> str:
    a = math.radians(degrees)
    return f"{r * math.cos(a):.3f},{r * math.sin(a):.3f}"


@settings(max_examples=300, deadline=None)
@given(st.floats(0.40, 0.80), st.floats(-180, 180))
def test_a_spot_is_in_reach_exactly_from_050_to_068_m_within_150_degrees(r, degrees):
    text = f"red at {_spot(r, degrees)}"
    x, y = (float(v) for v in text.split(" at ")[1].split(","))
    r, degrees = math.hypot(x, y), math.degrees(math.atan2(y, x))  # as written, to the millimetre
    assume(min(abs(r - 0.50), abs(r - 0.68)) > 1e-6 and abs(abs(degrees) - 150) > 1e-6)
    inside = 0.50 <= r <= 0.68 and abs(degrees) <= 150
    try:
        goal = parse_goal(text)
    except GoalError as e:
        assert not inside and "out of reach" in str(e) and "0.50 to 0.68 m" in str(e) and "150 degrees" in str(e)
        return
    assert inside and isinstance(goal, Reference) and parse_goal(str(goal)) == goal


@settings(max_examples=200, deadline=None)
@given(st.floats(-60, 60), st.floats(15, 50), st.floats(0.52, 0.66))
def test_two_spots_must_lie_032_m_apart(degrees, turn, r):
    a = np.round(0.59 * np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]), 3)
    b = np.round(r * np.array([math.cos(math.radians(degrees + turn)), math.sin(math.radians(degrees + turn))]), 3)
    apart = float(np.linalg.norm(a - b))  # both in reach: only the separation is at stake
    assume(abs(apart - 0.32) > 1e-6)
    text = f"red at {a[0]:.3f},{a[1]:.3f}; green at {b[0]:.3f},{b[1]:.3f}"
    try:
        parse_goal(text)
    except GoalError as e:
        assert apart < 0.32 and "two blocks at one spot" in str(e) and "closer than 0.32 m" in str(e)
        return
    assert apart >= 0.32


def test_the_limits_at_their_edges():
    for text in ("red at 0.500,0.000", "red at 0.680,0.000", "red at -0.519,0.302", "red at 0.55,0; green at 0.55,0.32"):
        parse_goal(text)
    for text, message in (("red at 0.499,0.000", "out of reach"), ("red at 0.681,0.000", "out of reach"),
                          ("red at -0.521,0.298", "out of reach"),  # 150.2 degrees
                          ("red at 0.55,0; green at 0.55,0.319", "two blocks at one spot")):
        try:
            parse_goal(text)
        except GoalError as e:
            assert message in str(e), text
        else:
            raise AssertionError(f"{text!r} was accepted")
