"""The approval API: plans, their evidence, approve / reject / propose, behind bearer roles."""
