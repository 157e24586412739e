"""The alert detectors together: one call per alert or deploy, one per tick, state as JSON.

Every call takes event time (epoch seconds) from the caller; nothing here reads a clock. State
is kept in bounded tables (least recently used evicted); `changes()` lists what to write to the
state store since the last call, and `restore()` loads it back after a restart.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from anomaly_detector.domain.deploys import Deploy, RecentDeploys
from anomaly_detector.domain.findings import Finding
from anomaly_detector.domain.fingerprints import FlapTracker, FpState
from anomaly_detector.domain.params import DetectorParams
from anomaly_detector.domain.rarity import RareSignatures, RareState
from anomaly_detector.domain.signature import Sig, rare_key, severity_of, signature_of
from anomaly_detector.domain.storms import SigState, StormDetector
from anomaly_detector.domain.table import Table

META = "m"


class AlertDetectors:
    """Storms, deploy regressions, flapping, transient and rare signatures over alert events."""

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        limits = params.limits
        scores, default = params.severity_scores, params.default_severity_score
        self.deploys = RecentDeploys(params.deploy, limits.applications)
        self.storms = StormDetector(params.storm, params.deploy, self.deploys.suspect)
        self.flaps = FlapTracker(params.flapping, scores, default)
        self.rare = RareSignatures(params.rare, scores, default)
        self.ignore = frozenset(params.rare.ignore_labels)
        self.open_storms: set[str] = set()
        self.open_flaps: set[str] = set()
        self.sigs: Table[SigState] = Table(
            limits.signatures, lambda key, _: self.open_storms.discard(key)
        )
        self.fps: Table[FpState] = Table(
            limits.fingerprints, lambda key, _: self.open_flaps.discard(key)
        )
        self.rares: Table[RareState] = Table(limits.rare_signatures)
        self.first_seen: float | None = None
        self._meta_dirty = False

    def on_alert(
        self,
        fingerprint: str,
        firing: bool,
        labels: dict[str, str],
        starts_at: float,
        ends_at: float | None,
    ) -> list[Finding]:
        """One alert state (firing or resolved) -> what it reveals."""
        fp = self.fps.get(fingerprint)
        if fp is None:
            sig = signature_of(labels)
            fp = self.flaps.new_state(sig, rare_key(sig, labels, self.ignore), severity_of(labels))
            self.fps.put(fingerprint, fp)
        if not firing:
            if fp.starts_at == float("-inf"):  # its firing was never seen (or was evicted)
                fp.starts_at, fp.firing = starts_at, True
            self.fps.dirty.add(fingerprint)
            found = self.flaps.on_resolved(
                fp, fingerprint, starts_at, starts_at if ends_at is None else ends_at
            )
            return self._transient(fp.sig_key, found) if found else found
        if starts_at <= fp.starts_at:
            return []  # a re-send of a firing already counted, or an older one
        self.fps.dirty.add(fingerprint)
        if self.first_seen is None:
            self.first_seen, self._meta_dirty = starts_at, True
        out = self.flaps.on_firing(fp, fingerprint, starts_at)
        if fp.flap_since is None:
            self.open_flaps.discard(fingerprint)
        else:
            self.open_flaps.add(fingerprint)
        learning = starts_at - self.first_seen < self.p.rare.learning_seconds
        rare = self.rares.get(fp.rare_key)
        known = rare is not None
        rare, finding = self.rare.on_firing(
            rare, fp.rare_key, fp.sig_key, fp.severity, fingerprint, starts_at, learning
        )
        if known:
            self.rares.dirty.add(fp.rare_key)
        else:
            self.rares.put(fp.rare_key, rare)
        if finding is not None:
            out.append(finding)
        st = self.sigs.get(fp.sig_key)
        if st is None:
            st = self.storms.new_state(Sig.from_key(fp.sig_key), self._apps(labels))
            self.sigs.put(fp.sig_key, st)
        else:
            self.sigs.dirty.add(fp.sig_key)
        out += self.storms.on_firing(st, fingerprint, starts_at)
        if st.storm is None:
            self.open_storms.discard(fp.sig_key)
        else:
            self.open_storms.add(fp.sig_key)
        return out

    def _transient(self, sig_key: str, found: list[Finding]) -> list[Finding]:
        """Report a transient alert, unless its storm says it, or its signature's cooldown."""
        st = self.sigs.entries.get(sig_key)
        if st is None:
            return found
        self.sigs.dirty.add(sig_key)
        if st.storm is not None:
            st.storm.self_resolved += 1  # the storm's end counts them
            return []
        [transient] = found
        if transient.at - st.transient_at < self.p.flapping.transient_cooldown_seconds:
            st.transient_held += 1
            return []
        held, st.transient_at, st.transient_held = st.transient_held, transient.at, 0
        evidence = {**transient.evidence, "not_reported_since_last": str(held)}
        return [replace(transient, evidence=evidence)]

    def _apps(self, labels: dict[str, str]) -> tuple[str, ...]:
        """The label values that may name the alert's Argo CD application."""
        found = (labels.get(name) for name in self.p.deploy.application_labels)
        return tuple(dict.fromkeys(v for v in found if v))

    def on_deploy(
        self,
        trigger: str,
        application: str,
        namespace: str,
        revision: str,
        event_id: str,
        started: float | None,
        finished: float | None,
        at: float,
    ) -> list[Finding]:
        """Remember a deploy (other application events are ignored); a storm already open that
        began after it (the deploy was reported late) becomes a deploy regression naming it."""
        if not self.deploys.relevant(trigger):
            return []
        end = finished if finished is not None else at
        begin = started if started is not None else min(end, at)
        self.deploys.observe(Deploy(application, namespace, revision, event_id, begin, end))
        out: list[Finding] = []
        for key in self.open_storms:  # few: only the storms going on right now
            st = self.sigs.entries.get(key)
            storm = None if st is None else st.storm
            if st is None or storm is None or storm.suspect is not None:
                continue
            suspect = self.deploys.suspect(st.sig, st.apps, storm.started, storm.score)
            if suspect is not None and suspect.deployment_event_id == event_id:
                out.append(self.storms.blame(st, suspect, at))
                self.sigs.dirty.add(key)
        return out

    def tick(self, now: float) -> list[Finding]:
        """Storms and flapping episodes whose end has come by `now`."""
        out: list[Finding] = []
        for key in list(self.open_storms):
            st = self.sigs.entries.get(key)
            ended = [] if st is None else self.storms.due(st, now)
            if ended:
                out += ended
                self.sigs.dirty.add(key)
            if st is None or st.storm is None:
                self.open_storms.discard(key)
        for fingerprint in list(self.open_flaps):
            fp = self.fps.entries.get(fingerprint)
            over = None if fp is None else self.flaps.due(fp, fingerprint, now)
            if over is not None:
                out.append(over)
                self.fps.dirty.add(fingerprint)
            if fp is None or fp.flap_since is None:
                self.open_flaps.discard(fingerprint)
        return out

    def changes(self) -> list[tuple[str, Any]]:
        """State keys and JSON-ready values changed since the last call (None: delete)."""
        out: list[tuple[str, Any]] = []
        changed, evicted = self.sigs.drain()
        for key, st in changed:
            out.append(("s|" + key, st.dump()))
            if st.base_dirty:
                out.append(("b|" + key, st.baseline.dump_means()))
                st.base_dirty = False
        out += [(p + key, None) for key in evicted for p in ("s|", "b|")]
        fps, fps_gone = self.fps.drain()
        out += [("f|" + key, fp.dump()) for key, fp in fps]
        out += [("f|" + key, None) for key in fps_gone]
        rares, rares_gone = self.rares.drain()
        out += [("r|" + key, rare.dump()) for key, rare in rares]
        out += [("r|" + key, None) for key in rares_gone]
        deploys = self.deploys
        out += [("d|" + app, [d.dump() for d in deploys.by_app[app]]) for app in deploys.dirty]
        out += [("d|" + app, None) for app in deploys.evicted]
        deploys.dirty.clear()
        deploys.evicted.clear()
        if self._meta_dirty:
            out.append((META, {"first_seen": self.first_seen}))
            self._meta_dirty = False
        return out

    def restore(self, key: str, value: Any) -> None:
        """Load one state entry written by `changes()`; call `reindex()` after the last one."""
        prefix, _, name = key.partition("|")
        if key == META:
            self.first_seen = value["first_seen"]
        elif prefix in ("s", "b"):
            st = self.sigs.entries.get(name)
            if st is None:
                st = self.storms.new_state(Sig.from_key(name), ())
                self.sigs.restore(name, st)
            if prefix == "s":
                st.load(value)
            else:
                st.baseline.load_means(value)
        elif prefix == "f":
            self.fps.restore(name, FpState.load(value, self.p.flapping.min_cycles))
        elif prefix == "r":
            self.rares.restore(name, RareState.load(value))
        elif prefix == "d":
            self.deploys.restore(name, value)

    def reindex(self) -> None:
        """Rebuild the open storm and flapping sets after `restore()`."""
        self.open_storms = {k for k, st in self.sigs.entries.items() if st.storm is not None}
        self.open_flaps = {k for k, fp in self.fps.entries.items() if fp.flap_since is not None}
