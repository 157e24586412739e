"""One router per source; `ingestor.api` mounts them."""
