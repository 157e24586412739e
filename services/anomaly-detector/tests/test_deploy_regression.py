"""Deploy regression: a burst soon after a deploy of the same application names that deploy."""

from __future__ import annotations

T0 = 1_800_000_000.0
MIN = 60.0


def test_burst_after_a_deploy_names_it_and_not_the_decoy_of_another_service(stream) -> None:
    suspect_id = stream.deploy("api", T0 - 5 * MIN, rev="a1b2c3d4e5f6a7b8")
    stream.deploy("billing", T0 - 1 * MIN, namespace="payments")  # closer in time, unrelated
    stream.burst(20, T0, every=3.0)

    [regression] = stream.of("deploy_regression")
    assert regression.phase == "started"
    assert stream.of("alert_storm") == [], "one anomaly for the burst, not two"
    suspect = regression.suspect
    assert suspect is not None
    assert (suspect.application, suspect.revision) == ("api", "a1b2c3d4e5f6a7b8")
    assert suspect.deployment_event_id == suspect_id
    assert suspect.seconds_before == 5 * MIN
    assert suspect.topology == "application"
    assert regression.score == suspect.score and 0.7 < suspect.score <= 1.0
    assert regression.evidence["suspect_application"] == "api"
    assert regression.evidence["deployed_before_burst"] == "5m"
    assert "5m after api was deployed (revision a1b2c3d4e5f6)" in regression.summary


def test_deploy_an_hour_before_the_burst_is_not_named(stream) -> None:
    stream.deploy("api", T0 - 60 * MIN)
    stream.burst(20, T0, every=3.0)
    assert stream.of("deploy_regression") == []
    [storm] = stream.of("alert_storm", "started")
    assert storm.suspect is None


def test_decoy_deploy_of_another_service_alone_is_not_named(stream) -> None:
    stream.deploy("billing", T0 - 2 * MIN, namespace="payments")
    stream.burst(20, T0, every=3.0)
    assert stream.of("deploy_regression") == []
    assert [s.suspect for s in stream.of("alert_storm")] == [None]


def test_right_after_a_deploy_a_small_burst_is_enough(stream, make_stream) -> None:
    stream.deploy("api", T0 - 3 * MIN)
    stream.burst(3, T0, every=10.0)
    assert len(stream.of("deploy_regression", "started")) == 1

    without_deploy = make_stream()
    without_deploy.burst(3, T0, every=10.0)
    assert without_deploy.of("deploy_regression") == without_deploy.of("alert_storm") == []


def test_same_application_beats_a_later_deploy_of_a_neighbour_in_the_namespace(stream) -> None:
    stream.deploy("api", T0 - 10 * MIN)
    stream.deploy("frontend", T0 - 1 * MIN)  # same namespace "shop", another application
    stream.burst(20, T0, every=3.0)
    [regression] = stream.of("deploy_regression", "started")
    assert regression.suspect is not None and regression.suspect.application == "api"


def test_a_deploy_in_the_same_namespace_is_named_when_it_is_the_only_one(stream) -> None:
    stream.deploy("shop-config", T0 - 2 * MIN)
    stream.burst(20, T0, every=3.0)
    [regression] = stream.of("deploy_regression", "started")
    assert regression.suspect is not None
    assert (regression.suspect.application, regression.suspect.topology) == (
        "shop-config",
        "namespace",
    )
    assert regression.suspect.score < 0.8


def test_burst_that_began_before_the_deploy_does_not_name_it(stream) -> None:
    stream.burst(2, T0 - 4 * MIN, every=10.0)  # the rollout started at T0 - 2 min
    stream.deploy("api", T0 - 1 * MIN)
    stream.burst(20, T0, every=3.0)
    assert stream.of("deploy_regression") == []


def test_closer_deploys_score_higher(make_stream) -> None:
    scores = []
    for minutes in (1, 10, 25):
        stream = make_stream()
        stream.deploy("api", T0 - minutes * MIN)
        stream.burst(20, T0, every=3.0)
        [regression] = stream.of("deploy_regression", "started")
        assert regression.suspect is not None
        scores.append(regression.suspect.score)
    assert scores[0] > scores[1] > scores[2]


def test_the_regression_ends_like_a_storm_and_keeps_its_suspect(stream) -> None:
    stream.deploy("api", T0 - 5 * MIN)
    stream.burst(20, T0, every=3.0)
    [ended] = stream.tick(T0 + 3600)
    [started] = stream.of("deploy_regression", "started")
    assert (ended.kind, ended.phase, ended.key) == ("deploy_regression", "ended", started.key)
    assert ended.suspect == started.suspect


def test_deploy_triggers_that_are_not_deploys_are_ignored(stream) -> None:
    stream.detectors.on_deploy(
        "on-health-degraded", "api", "shop", "rev", "ev", None, None, T0 - 60
    )
    stream.burst(20, T0, every=3.0)
    assert stream.of("deploy_regression") == []


def test_a_deploy_reported_after_its_storm_began_turns_the_storm_into_a_regression(
    stream,
) -> None:
    stream.burst(20, T0, every=3.0)  # the storm starts before the deploy event arrives
    [storm] = stream.of("alert_storm", "started")
    late = stream.detectors.on_deploy(
        "on-deployed", "api", "shop", "rev-9", "deploy-late", T0 - 4 * MIN, T0 - 3 * MIN, T0 + 90
    )
    [regression] = late
    assert (regression.kind, regression.phase) == ("deploy_regression", "started")
    assert (
        regression.suspect is not None and regression.suspect.deployment_event_id == "deploy-late"
    )
    assert regression.suspect.seconds_before == 3 * MIN
    assert regression.window_start == storm.window_start
    assert regression.evidence["deploy_reported"].startswith("after the burst had started")

    ended = stream.tick(T0 + 3600)
    assert sorted((f.kind, f.key) for f in ended) == sorted(
        [("deploy_regression", regression.key), ("alert_storm", storm.key)]
    ), "both anomalies end with the storm"
    assert all(f.phase == "ended" and f.suspect == regression.suspect for f in ended)


def test_a_late_deploy_of_another_service_changes_nothing(stream) -> None:
    stream.burst(20, T0, every=3.0)
    other = stream.detectors.on_deploy(
        "on-deployed", "billing", "payments", "r", "d", T0 - 4 * MIN, T0 - 3 * MIN, T0 + 90
    )
    assert other == []
    [ended] = stream.tick(T0 + 3600)
    assert ended.kind == "alert_storm"
