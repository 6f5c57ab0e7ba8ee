#!/bin/sh
# Rendered by busybox httpd on each request: the greeting and the worker's latest ticks.
echo "Content-Type: text/html"
echo
echo "<!doctype html><title>stackfile quickstart</title>"
echo "<h1>${GREETING:-hello}</h1><pre>"
wget -q -O - "${DATA_URL}" 2>&1
echo "</pre>"
