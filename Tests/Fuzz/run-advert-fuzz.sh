#!/bin/sh
# Fuzz the VRRP advert decoder with libFuzzer for a bounded time (FUZZ_SECONDS, default 60).
# Builds in .build-fuzz; a crash lands in .build-fuzz/advert-artifacts/ and belongs, with its fix, in
# Tests/VRRPTests/Fixtures/advert-corpus/, which the unit tests replay.
set -eu
cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-60}"
scratch=.build-fuzz
corpus=Tests/VRRPTests/Fixtures/advert-corpus
mkdir -p "$scratch/advert-corpus" "$scratch/advert-artifacts"
Tests/Fuzz/build-addresses.sh "$scratch"
swiftc -swift-version 6 -sanitize=fuzzer,address -parse-as-library -g -O -package-name directord -module-name AdvertFuzz \
    -I "$scratch/modules" -L "$scratch/modules" -lAddresses \
    Sources/VRRP/*.swift Tests/Fuzz/AdvertFuzz/*.swift -o "$scratch/advert-fuzz" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }
test -x "$scratch/advert-fuzz"
echo "fuzzing the VRRP advert decoder for ${seconds}s"
"$scratch/advert-fuzz" -max_total_time="$seconds" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/advert-artifacts/" -print_final_stats=1 "$scratch/advert-corpus" "$corpus"
