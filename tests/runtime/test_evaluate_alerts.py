"""`dms eval alerts`: scoring runtime alerts against the simulator's ground-truth events."""
import json

import pytest

from dms.runtime.evaluate_alerts import evaluate_alerts, perception_from_label


@pytest.fixture(scope="module")
def scenario_dataset(tmp_path_factory):
    """Two mock-rendered sequences: one with a microsleep, one attentive driver."""
    from dms.cli.main import main
    out = tmp_path_factory.mktemp("alerts") / "ds"
    rc = main(["simulate", f"out={out}", "renderer=mock", "resolution=[128,96]", "modalities=[rgb]",
               "sequences.presets=[microsleep,attentive]", "sequences.count=2", "sequences.duration_s=12",
               "sequences.fps=10", "crops.eye.count=0", "crops.mouth.count=0", "crops.frame.count=0",
               "workers=1", "progress=false"])
    assert rc == 0
    return out


def test_oracle_perception_detects_the_microsleep_without_false_alerts(scenario_dataset):
    from dms.fusion import get_profile
    res = evaluate_alerts(str(scenario_dataset), perception="labels")
    assert res["perception"] == "labels" and res["sequences"] == 2
    micro = res["overall"]["per_event_type"]["microsleep"]
    assert micro["n_events"] == 1 and micro["detection_rate"] == 1.0
    # the alert comes after the closure threshold of the profile, and not much later (lids take ~0.1 s to close)
    threshold_s = get_profile("euro_ncap_2026").microsleep_min_s
    assert threshold_s <= micro["latency_s"]["max"] <= threshold_s + 0.5
    attentive = [s for s in res["per_sequence"] if "microsleep" not in s["events"]][0]
    assert attentive["alerts_raised"] == []
    assert res["overall"]["false_alerts"] == 0


def test_oracle_perception_mirrors_the_label(scenario_dataset):
    from dms.data.dataset import open_dataset
    seq = next(iter(open_dataset(scenario_dataset).sequences()))
    closed = [lab for lab in seq.labels if lab.eyes_closed][0]
    p = perception_from_label(closed, 123)
    assert p.t_ns == 123 and p.eye_closed_prob == 1.0 and p.gaze_zone == closed.gaze_zone
    assert p.eye_openness_left == closed.eye_openness_left


def test_cli_json_last_line_with_models(scenario_dataset, dms_cli):
    rc, out, err = dms_cli("eval", "alerts", scenario_dataset, "--json", "--max-sequences", "1")
    assert rc == 0, err[-2000:]
    res = json.loads(out.strip().splitlines()[-1])
    assert res["perception"] == "models" and res["sequences"] == 1
    assert {"false_alerts_per_hour", "per_event_type"} <= set(res["overall"])


def test_cli_rejects_unknown_perception_mode(scenario_dataset, dms_cli):
    rc, _, err = dms_cli("eval", "alerts", scenario_dataset, "--perception", "psychic")
    assert rc == 2 and "invalid choice" in err
