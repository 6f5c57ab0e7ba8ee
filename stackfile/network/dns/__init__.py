"""The embedded DNS server: one detached process per network, answering on the bridge gateway."""
