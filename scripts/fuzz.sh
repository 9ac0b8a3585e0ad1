#!/bin/bash
# make fuzz: build the libFuzzer targets under fuzz/ with clang and run each for FUZZ_SECONDS.
set -u
cd "$(dirname "$0")/.."
echo "no fuzz targets yet"
