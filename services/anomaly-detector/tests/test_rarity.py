"""Rare and novel signatures per service."""

from __future__ import annotations

T0 = 1_800_000_000.0
DAY = 86400.0


def test_a_never_seen_critical_alert_is_a_novel_signature(stream) -> None:
    [novel] = stream.fire("fp-1", T0, alertname="CertificateExpired")
    assert novel.kind == "rare_signature"
    assert novel.phase == "started"
    assert novel.score == 0.9  # the critical severity's score
    assert novel.evidence["seen_before"] == "never"
    assert novel.members == ["fp-1"]
    assert novel.sig.alertname == "CertificateExpired" and novel.sig.service == "api"
    assert novel.summary.startswith("New alert: CertificateExpired on api (shop)")


def test_more_alerts_of_a_novel_signature_say_nothing_new(stream) -> None:
    stream.burst(8, T0, every=20.0, alertname="CertificateExpired")
    assert len(stream.of("rare_signature")) == 1


def test_the_same_alert_name_on_another_service_is_novel_there(stream) -> None:
    stream.fire("fp-1", T0, alertname="OOMKilled")
    stream.fire("fp-2", T0 + 1, alertname="OOMKilled", service="billing")
    assert [f.sig.service for f in stream.of("rare_signature")] == ["api", "billing"]


def test_a_known_name_at_a_new_severity_is_novel(stream) -> None:
    stream.fire("fp-1", T0, alertname="DiskFull", severity="warning")
    stream.fire("fp-2", T0 + 1, alertname="DiskFull", severity="critical")
    assert [f.evidence["severity"] for f in stream.of("rare_signature")] == ["warning", "critical"]


def test_seldom_seen_signature_is_rare_again_after_weeks(stream) -> None:
    stream.fire("fp-1", T0, alertname="BackupFailed")
    stream.fire("fp-2", T0 + 30 * DAY, alertname="BackupFailed")
    novel, rare = stream.of("rare_signature")
    assert rare.evidence["seen_before"] == "1 times, last 720.0h ago"
    assert rare.score < novel.score
    assert rare.summary.startswith("Rare alert")


def test_a_signature_seen_every_day_is_not_rare(stream) -> None:
    for day in range(30):
        stream.fire(f"fp-{day}", T0 + day * DAY, alertname="NightlyJobSlow")
    assert len(stream.of("rare_signature")) == 1  # only the first ever


def test_nothing_is_reported_rare_while_learning(make_stream) -> None:
    stream = make_stream(rare={"learning_seconds": DAY})
    stream.fire("fp-0", T0, alertname="First")
    stream.fire("fp-1", T0 + 3600, alertname="Second")
    stream.fire("fp-2", T0 + 2 * DAY, alertname="Third")
    assert [f.sig.alertname for f in stream.of("rare_signature")] == ["Third"]
