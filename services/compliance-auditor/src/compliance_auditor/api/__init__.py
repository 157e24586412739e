"""The auditor's HTTP API (audit search, verify; KPI and report routers plug in)."""
