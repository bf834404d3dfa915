#!/bin/sh
# Builds Sources/Addresses as an instrumented static module in SCRATCH/modules, for the fuzz targets that import it
# (their own sources are compiled as one module with swiftc, outside SwiftPM).
set -eu
scratch="$1"
mkdir -p "$scratch/modules"
swiftc -swift-version 6 -sanitize=fuzzer,address -parse-as-library -g -O -package-name directord \
    -module-name Addresses -emit-module -emit-module-path "$scratch/modules/Addresses.swiftmodule" \
    -emit-library -static -o "$scratch/modules/libAddresses.a" Sources/Addresses/*.swift
