"""Test support: local servers, fakes of outside services, event builders, service processes."""
