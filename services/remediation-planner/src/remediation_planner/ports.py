"""What the planner needs of the outside world: key/value state (a compacted topic in
production, memory in unit tests)."""

from cc.kafka.state import StateStore

__all__ = ["StateStore"]
